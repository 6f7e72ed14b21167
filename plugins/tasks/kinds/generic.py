"""The ``generic`` agent kind: what a backend's command runs as when no registered kind claims it.

Its prompt goes positionally or after the backend's ``prompt_flag`` (no ``--model``: an unknown CLI
may not take it); it finds Argus's MCP server in a project-local ``.mcp.json``. Not a registration:
it is the registry's fallback, and no plugin may take its name.
"""

from __future__ import annotations

from ..api import AgentKind, AgentLaunch
from .common import model_and_prompt, split_command

WAITING = r"\? for shortcuts|^\s*[>❯›$#]\s*$|\(y/n\)|\[Y/n\]"
BUSY = r"esc to interrupt"


def build_argv(launch: AgentLaunch) -> list[str]:
    """``COMMAND [template args] [PROMPT_FLAG] [PROMPT]``."""
    exe, rest = split_command(launch)
    return [exe, *rest, *model_and_prompt(launch, model_flag=False)]


GENERIC = AgentKind(name="generic", build_argv=build_argv, waiting=WAITING, busy=BUSY, reads_mcp_config=True)
