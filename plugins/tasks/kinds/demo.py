"""The ``demo`` agent kind: Argus's own demo agent (``argus-demo``), which looks like Claude Code from
the outside. Launched like Claude (session ids, ``--mcp-config``, ``--model``) but without the
settings hooks (it reports to ``ARGUS_HOOK_URL`` itself) and without permission flags."""

from __future__ import annotations

from argus.kernel.api import hookimpl

from ..api import AgentKind, AgentLaunch
from ..limits import CLAUDE_USAGE_LIMIT
from .claude import BUSY, WAITING, session_flags
from .common import model_and_prompt, split_command, write_mcp_config


def build_argv(launch: AgentLaunch) -> list[str]:
    """``argus-demo [template args] --session-id|--resume ID --mcp-config F [--model M] [PROMPT]``."""
    exe, rest = split_command(launch)
    return [exe, *rest, *session_flags(launch), "--mcp-config", write_mcp_config(launch),
            *model_and_prompt(launch)]


DEMO = AgentKind(name="demo", command="argus-demo", build_argv=build_argv, executables=("argus-demo",),
                 waiting=WAITING, busy=BUSY, session_ids=True, token_in_env=False, conversations=True,
                 usage_limit=CLAUDE_USAGE_LIMIT)


@hookimpl(tryfirst=True)
def argus_agent_kinds() -> list[AgentKind]:
    """The demo agent."""
    return [DEMO]
