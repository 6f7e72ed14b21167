"""The ``opencode`` agent kind.

Launch flags: ``--session ID`` (or ``--continue``) to resume, ``--model``, the prompt after the
backend's ``prompt_flag``; MCP injection through an ``OPENCODE_CONFIG`` file in the run dir naming
Argus's server, with the token substituted by opencode from ``ARGUS_MCP_TOKEN``. Resume rule: the
session id is found in opencode's own storage for the worktree (worktrees of one repository share
an opencode project, so ``--continue`` alone could pick another task's session).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from argus.kernel.api import atomic_write, hookimpl

from ..api import AgentKind, AgentLaunch
from .common import MCP_TOKEN_ENV, model_and_prompt, split_command
from .generic import BUSY, WAITING


def opencode_session_for(worktree: str, limit: int = 500) -> str | None:
    """The newest opencode session whose directory is ``worktree``, from opencode's storage
    (``$XDG_DATA_HOME/opencode/storage/session/<project>/ses_*.json``)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    root = base / "opencode" / "storage" / "session"
    try:
        files = sorted(root.glob("*/ses_*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for path in files[:limit]:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        ident = info.get("id") if isinstance(info, dict) and info.get("directory") == worktree else None
        if isinstance(ident, str):
            return ident
    return None


def config_path(launch: AgentLaunch) -> Path:
    """The launch's opencode config file (in the run dir)."""
    return Path(launch.run_dir) / "opencode.json"


def build_argv(launch: AgentLaunch) -> list[str]:
    """``opencode [template args] [--session ID | --continue] [--model M] [--prompt PROMPT]``, and
    the config file naming Argus's MCP server (``{env:ARGUS_MCP_TOKEN}``: the token stays in the
    environment)."""
    exe, rest = split_command(launch)
    resume = (["--session", launch.session_id] if launch.session_id else ["--continue"]) if launch.resume else []
    server = {"type": "remote", "url": launch.mcp_url, "enabled": True,
              "headers": {"Authorization": "Bearer {env:" + MCP_TOKEN_ENV + "}"}}
    atomic_write(config_path(launch), json.dumps({"$schema": "https://opencode.ai/config.json",
                                                  "mcp": {"argus": server}}).encode(), 0o600)
    return [exe, *rest, *resume, *model_and_prompt(launch)]


def build_env(launch: AgentLaunch) -> dict[str, str]:
    """``OPENCODE_CONFIG``: the file :func:`build_argv` wrote."""
    return {"OPENCODE_CONFIG": str(config_path(launch))}


OPENCODE = AgentKind(name="opencode", command="opencode", prompt_flag="--prompt", build_argv=build_argv,
                     build_env=build_env,
                     executables=("opencode",), waiting=WAITING, busy=BUSY, resume_without_id=True,
                     find_session=opencode_session_for)


@hookimpl(tryfirst=True)
def argus_agent_kinds() -> list[AgentKind]:
    """opencode."""
    return [OPENCODE]
