"""Where the imitated CLIs record their sessions, so Argus can find them to resume (Codex's rollout
files, opencode's session storage). Written only when the matching variable is set, so tests never
write to the real home."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping


def _write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees no file or the whole file, never a part of it
    (a temporary dot-file next to it, then renamed)."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_codex_rollout(env: Mapping[str, str], session_id: str, cwd: str) -> None:
    """As Codex: record the session in ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``
    (first line ``session_meta`` with the id and cwd). Only when ``CODEX_HOME`` is set."""
    home = env.get("CODEX_HOME")
    if not home:
        return
    now = time.gmtime()
    folder = os.path.join(home, "sessions", time.strftime("%Y/%m/%d", now))
    try:
        os.makedirs(folder, exist_ok=True)
        name = f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S', now)}-{session_id}.jsonl"
        meta = {"type": "session_meta", "payload": {"id": session_id, "cwd": cwd, "originator": "codex_cli_rs"}}
        _write_atomically(os.path.join(folder, name), json.dumps(meta) + "\n")
    except OSError:
        pass


def write_opencode_session(env: Mapping[str, str], session_id: str, cwd: str, prompt: str) -> None:
    """As opencode: record the session in
    ``$XDG_DATA_HOME/opencode/storage/session/<project>/<id>.json`` (``id``, ``directory``).
    Only when ``XDG_DATA_HOME`` is set."""
    base = env.get("XDG_DATA_HOME")
    if not base:
        return
    folder = os.path.join(base, "opencode", "storage", "session", "fakeproject")
    try:
        os.makedirs(folder, exist_ok=True)
        now = int(time.time() * 1000)
        info = {"id": session_id, "directory": cwd, "title": prompt[:50], "time": {"created": now, "updated": now}}
        _write_atomically(os.path.join(folder, f"{session_id}.json"), json.dumps(info))
    except OSError:
        pass
