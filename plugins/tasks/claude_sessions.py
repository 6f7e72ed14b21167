"""A task's Claude Code conversations, for the agent view's session picker (``ctrl+r``).

Claude Code keeps one transcript per conversation in
``~/.claude/projects/<mangled cwd>/<session id>.jsonl`` (``$CLAUDE_CONFIG_DIR`` replaces
``~/.claude``), the cwd mangled by turning every character that is not a letter or digit into
``-``. Listing reads those files of the task's worktree; resuming sets the task's agent session id
to the chosen one and restarts the agent with the backend's resume command.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argus.kernel.api import Invalid, NotFound

MAX_SESSIONS = 200
TITLE_SCAN_LINES = 200
TITLE_SCAN_BYTES = 256 * 1024
TITLE_MAX = 120
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def claude_home() -> Path:
    """Claude Code's configuration directory."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".claude"


def mangle(path: str) -> str:
    """A cwd as Claude Code names its transcripts folder (``/a/b.c`` → ``-a-b-c``)."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


def transcripts_dirs(worktree: str) -> list[Path]:
    """The folders that may hold the worktree's transcripts (as given, and symlinks resolved)."""
    names = dict.fromkeys([mangle(worktree), mangle(str(Path(worktree).resolve()))])
    return [claude_home() / "projects" / name for name in names]


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text") or "") for part in content
                        if isinstance(part, dict) and part.get("type") == "text")
    return ""


def title_of(file: Path) -> str:
    """The conversation's first user prompt (or its summary line), on one short line."""
    try:
        with open(file, "rb") as fh:
            head = fh.read(TITLE_SCAN_BYTES)
    except OSError:
        return ""
    for raw in head.splitlines()[:TITLE_SCAN_LINES]:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("type") == "summary" and isinstance(entry.get("summary"), str):
            text = entry["summary"]
        elif entry.get("type") == "user" and isinstance(entry.get("message"), dict):
            text = _text_of(entry["message"].get("content"))
        else:
            continue
        flat = " ".join(text.split())
        if flat:
            return flat if len(flat) <= TITLE_MAX else flat[: TITLE_MAX - 1] + "…"
    return ""


def list_sessions(worktree: str, current: str | None) -> list[dict[str, Any]]:
    """The worktree's conversations, most recently used first."""
    found: dict[str, Path] = {}
    for folder in transcripts_dirs(worktree):
        if folder.is_dir():
            for file in folder.glob("*.jsonl"):
                if SESSION_ID.match(file.stem) and file.is_file():
                    found.setdefault(file.stem, file)
    rows = []
    for sid, file in found.items():
        st = file.stat()
        rows.append((st.st_mtime, {
            "id": sid, "title": title_of(file), "size": st.st_size, "current": sid == current,
            "modified_at": datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r[1] for r in rows[:MAX_SESSIONS]]


def check_session(worktree: str, session_id: str) -> str:
    """``session_id`` when it names one of the worktree's conversations (Invalid / NotFound if not)."""
    if not SESSION_ID.match(session_id):
        raise Invalid("session_id must be a Claude session id (letters, digits, '-' and '_')")
    if not any((folder / f"{session_id}.jsonl").is_file() for folder in transcripts_dirs(worktree)):
        raise NotFound(f"no Claude session {session_id} in this task's worktree")
    return session_id
