"""The ``claude`` agent kind: Claude Code.

Launch flags: ``--session-id ID`` for a new launch (ids assigned up front), ``--resume ID``,
``--mcp-config`` (a file holding the task token), ``--settings`` injecting Notification/Stop/
UserPromptSubmit hooks that report to Argus, the permission flags of ``defaults.permission_mode``
and ``--model``. Its conversations live in Claude Code's project store (switchable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from argus.kernel.api import atomic_write, hookimpl

from ..api import AgentKind, AgentLaunch
from ..limits import CLAUDE_USAGE_LIMIT
from .common import hook_command, model_and_prompt, split_command, write_mcp_config

PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypass-allow", "bypass-active")
PERMISSION_FLAGS = {
    "default": [],
    "acceptEdits": ["--permission-mode", "acceptEdits"],
    "plan": ["--permission-mode", "plan"],
    "bypass-allow": ["--allow-dangerously-skip-permissions"],
    "bypass-active": ["--dangerously-skip-permissions"],
}
WAITING = r"\? for shortcuts|^\s*[>❯]\s*$|Do you want to|\(y/n\)|Enter to confirm"
BUSY = r"esc to interrupt"


def claude_settings(hook_url: str) -> dict[str, Any]:
    """The ``--settings`` JSON injecting Notification/Stop/UserPromptSubmit hooks."""
    def hooks(event: str) -> list[dict[str, Any]]:
        return [{"hooks": [{"type": "command", "command": hook_command(event), "timeout": 5}]}]

    return {"hooks": {"Notification": hooks("Notification"), "Stop": hooks("Stop"),
                      "UserPromptSubmit": hooks("UserPromptSubmit")}}


def session_flags(launch: AgentLaunch) -> list[str]:
    """``--resume ID`` to resume, ``--session-id ID`` for a new launch (nothing without an id)."""
    sid = launch.session_id
    return ["--resume", sid] if (launch.resume and sid) else (["--session-id", sid] if sid else [])


def build_argv(launch: AgentLaunch) -> list[str]:
    """``claude [template args] --session-id|--resume ID --mcp-config F --settings F [permission
    flags] [--model M] [PROMPT]``."""
    exe, rest = split_command(launch)
    settings = Path(launch.run_dir) / "claude-settings.json"
    atomic_write(settings, json.dumps(claude_settings(launch.hook_url)).encode())
    return [exe, *rest, *session_flags(launch), "--mcp-config", write_mcp_config(launch),
            "--settings", str(settings), *PERMISSION_FLAGS.get(launch.permission_mode, []),
            *model_and_prompt(launch)]


CLAUDE = AgentKind(name="claude", command="claude", build_argv=build_argv, executables=("claude",),
                   waiting=WAITING, busy=BUSY, session_ids=True, token_in_env=False, conversations=True,
                   usage_limit=CLAUDE_USAGE_LIMIT)


@hookimpl(tryfirst=True)
def argus_agent_kinds() -> list[AgentKind]:
    """Claude Code."""
    return [CLAUDE]
