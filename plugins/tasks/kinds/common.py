"""What the built-in agent kinds share: how an agent reports to Argus (the hook script, the MCP
server entry) and the tail of every command line (model, prompt).

Each launch carries the task's token (see ``docs/security.md``), never on the command line (argv
is readable by every local user): a Claude-style ``--mcp-config`` file (0600, in the 0700 run dir)
holds the ``Authorization`` header; Codex reads it from ``ARGUS_MCP_TOKEN``
(``bearer_token_env_var``); a generic CLI's ``.mcp.json`` names ``${ARGUS_MCP_TOKEN}``; the hook
script sends ``ARGUS_HOOK_TOKEN``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from argus.kernel.api import atomic_write

from ..api import AgentLaunch

MCP_TOKEN_ENV = "ARGUS_MCP_TOKEN"

# Reports an agent-side hook to the daemon. argv: EVENT [payload]; without a payload argument
# the payload is read from stdin (Claude Code hooks pass JSON there; Codex's notify appends it).
HOOK_SCRIPT = (
    "import sys,json,os,urllib.request as u\n"
    "e=sys.argv[1] if len(sys.argv)>1 else 'Stop'\n"
    "d=sys.argv[2] if len(sys.argv)>2 else ('' if sys.stdin.isatty() else sys.stdin.read())\n"
    "b=json.dumps({'event':e,'task_id':os.environ.get('ARGUS_TASK_ID',''),'payload':d[:4000]}).encode()\n"
    "h={'Content-Type':'application/json','Authorization':'Bearer '+os.environ.get('ARGUS_HOOK_TOKEN','')}\n"
    "u.urlopen(u.Request(os.environ['ARGUS_HOOK_URL'],data=b,headers=h),timeout=2)\n"
)


def hook_argv(event: str) -> list[str]:
    """A program that reports ``event`` to the daemon (stdlib Python only), as an argv."""
    return [sys.executable, "-c", HOOK_SCRIPT, event]


def hook_command(event: str) -> str:
    """A shell command that reports ``event`` to the daemon and never fails the caller."""
    return f"{shlex.join(hook_argv(event))} || true"


def mcp_server_entry(mcp_url: str, authorization: str) -> dict[str, Any]:
    """The ``mcpServers.argus`` entry of a Claude-style MCP config."""
    return {"type": "http", "url": mcp_url, "headers": {"Authorization": authorization}}


def write_mcp_config(launch: AgentLaunch) -> str:
    """A Claude-style ``--mcp-config`` file in the run dir (0600) carrying the launch's token."""
    path = Path(launch.run_dir) / "mcp.json"
    config = {"mcpServers": {"argus": mcp_server_entry(launch.mcp_url, f"Bearer {launch.token}")}}
    atomic_write(path, json.dumps(config).encode(), 0o600)
    return str(path)


def split_command(launch: AgentLaunch) -> tuple[str, list[str]]:
    """The backend's executable and the rest of its command template."""
    return launch.command[0], list(launch.command[1:])


def model_and_prompt(launch: AgentLaunch, *, model_flag: bool = True) -> list[str]:
    """``--model M`` (for CLIs that take it, when a model is set), then the prompt of a new launch:
    after the backend's ``prompt_flag``, or positional."""
    out = ["--model", launch.model] if (model_flag and launch.model) else []
    if launch.prompt:
        out += [launch.prompt_flag, launch.prompt] if launch.prompt_flag else [launch.prompt]
    return out
