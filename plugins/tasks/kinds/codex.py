"""The ``codex`` agent kind: OpenAI Codex CLI.

Launch flags: ``codex resume ID [template args]`` to resume, ``-c mcp_servers.argus.url=...`` with
the token read from ``ARGUS_MCP_TOKEN``, ``-c notify=[...]`` reporting each finished turn to Argus,
``--model``. Resume rule: the session id comes from the first ``notify`` payload, else from Codex's
own rollout files for the worktree; a resume works without it (Codex picks the newest session).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from argus.kernel.api import hookimpl

from ..api import AgentKind, AgentLaunch
from ..limits import CODEX_USAGE_LIMIT
from .common import MCP_TOKEN_ENV, hook_argv, model_and_prompt, split_command

WAITING = r"^\s*[›>]\s|Ctrl\+J newline|send\s+⏎|\? for shortcuts"
BUSY = r"esc to interrupt|Working \("
_THREAD_ID = re.compile(r'"(?:thread-id|thread_id|session_id|session-id)"\s*:\s*"([0-9A-Za-z._:-]{8,128})"')


def codex_thread_id(payload: object) -> str | None:
    """The session id in a Codex ``notify`` payload (JSON text, possibly cut short), or None."""
    if not isinstance(payload, str) or "agent-turn-complete" not in payload:
        return None
    match = _THREAD_ID.search(payload)
    return match.group(1) if match else None


def codex_session_for(worktree: str, limit: int = 500) -> str | None:
    """The newest Codex session whose recorded cwd is ``worktree``, from its rollout files
    (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``, first line ``session_meta``)."""
    root = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex") / "sessions"
    try:
        files = sorted(root.glob("*/*/*/rollout-*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for path in files[:limit]:
        try:
            with open(path, encoding="utf-8") as fh:
                first = json.loads(fh.readline() or "{}")
        except (OSError, ValueError):
            continue
        meta = first.get("payload", first) if isinstance(first, dict) else {}
        ident = meta.get("id") if isinstance(meta, dict) and meta.get("cwd") == worktree else None
        if isinstance(ident, str):
            return ident
    return None


def build_argv(launch: AgentLaunch) -> list[str]:
    """``codex [resume ID] [template args] -c mcp_servers... -c notify=[...] [--model M] [PROMPT]``."""
    exe, rest = split_command(launch)
    resume = ["resume", launch.session_id] if (launch.resume and launch.session_id) else []
    return [exe, *resume, *rest,
            "-c", f'mcp_servers.argus.url="{launch.mcp_url}"',
            "-c", f'mcp_servers.argus.bearer_token_env_var="{MCP_TOKEN_ENV}"',
            "-c", "notify=" + json.dumps(hook_argv("Stop")), *model_and_prompt(launch)]


CODEX = AgentKind(name="codex", command="codex --dangerously-bypass-approvals-and-sandbox", build_argv=build_argv,
                  executables=("codex",), waiting=WAITING, busy=BUSY, resume_without_id=True,
                  find_session=codex_session_for, session_from_hook=codex_thread_id, usage_limit=CODEX_USAGE_LIMIT)


@hookimpl(tryfirst=True)
def argus_agent_kinds() -> list[AgentKind]:
    """OpenAI Codex CLI."""
    return [CODEX]
