"""The ``pi`` agent kind: ``pi [template args] [--model M] [PROMPT]``; it finds Argus's MCP server in
a project-local ``.mcp.json`` written into the worktree."""

from __future__ import annotations

from argus.kernel.api import hookimpl

from ..api import AgentKind, AgentLaunch
from .common import model_and_prompt, split_command
from .generic import BUSY, WAITING


def build_argv(launch: AgentLaunch) -> list[str]:
    """``pi [template args] [--model M] [PROMPT]``."""
    exe, rest = split_command(launch)
    return [exe, *rest, *model_and_prompt(launch)]


PI = AgentKind(name="pi", command="pi", build_argv=build_argv, executables=("pi",), waiting=WAITING, busy=BUSY,
               reads_mcp_config=True)


@hookimpl(tryfirst=True)
def argus_agent_kinds() -> list[AgentKind]:
    """pi."""
    return [PI]
