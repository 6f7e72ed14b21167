"""Artifacts: files an agent produced (HTML report, PDF, markdown, image, text) shown in Argus Web.

An agent registers a file inside its worktree (``artifact_register``); the manifest lives in
``task_artifacts``. The REST routes serve only registered names, re-checking on every read that the
file is still a regular file inside the worktree (a symlink swapped in later is refused), so there
is no path traversal. HTML (and SVG) is served with a sandboxing Content-Security-Policy, and every
artifact with ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Database, Invalid, NotFound, TooLarge, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from .service import TaskService

MAX_SIZE = 25 * 1024 * 1024
MAX_PER_TASK = 200
TYPES = ("html", "pdf", "markdown", "image", "text")
TYPE_ALIASES = {"htm": "html", "md": "markdown", "img": "image", "txt": "text", "png": "image",
                "jpg": "image", "jpeg": "image", "gif": "image", "svg": "image", "webp": "image"}
EXT_TYPES = {".html": "html", ".htm": "html", ".pdf": "pdf", ".md": "markdown", ".markdown": "markdown",
             ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".svg": "image",
             ".webp": "image"}
SANDBOX_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
               "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; media-src data: blob:; "
               "connect-src 'none'; form-action 'none'; frame-ancestors 'self'; base-uri 'none'")
MIME = {"markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8",
        "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def infer_type(name: str) -> str:
    """The artifact type implied by a file name's extension (``text`` when unknown)."""
    return EXT_TYPES.get(os.path.splitext(name)[1].lower(), "text")


def normalize_type(value: object, name: str) -> str:
    """A valid type from the caller's ``type`` (or the file name when omitted)."""
    if value in (None, ""):
        return infer_type(name)
    if not isinstance(value, str):
        raise Invalid("type must be a string")
    v = value.strip().lower()
    if "/" in v:  # a MIME type
        v = {"text/html": "html", "application/pdf": "pdf", "text/markdown": "markdown"}.get(
            v, "image" if v.startswith("image/") else "text")
    v = TYPE_ALIASES.get(v, v)
    if v not in TYPES:
        raise Invalid(f"type must be one of {', '.join(TYPES)}")
    return v


def inside(root: Path, path: Path) -> bool:
    """Whether resolved ``path`` is inside resolved ``root`` (not the root itself)."""
    return path != root and root in path.parents


def content_type(artifact: dict[str, Any]) -> str:
    """The Content-Type an artifact is served with."""
    kind = artifact["type"]
    if kind == "image":
        guessed = mimetypes.guess_type(artifact["name"])[0]
        return guessed if guessed and guessed.startswith("image/") else "application/octet-stream"
    return MIME.get(kind, "application/octet-stream")


def headers_for(artifact: dict[str, Any]) -> dict[str, str]:
    """Security headers: nosniff always; the sandbox CSP for anything a browser could run."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
               "Content-Disposition": f"inline; filename*=UTF-8''{_quote(artifact['name'])}",
               "Referrer-Policy": "no-referrer"}
    ctype = content_type(artifact)
    if artifact["type"] == "html" or "svg" in ctype or "html" in ctype:
        headers["Content-Security-Policy"] = SANDBOX_CSP
    return headers


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class Artifacts:
    """The manifest of registered artifacts and safe access to their bytes."""

    def __init__(self, svc: TaskService) -> None:
        self.svc = svc
        self.db: Database = svc.store.db

    def list(self, task_id: str) -> list[dict[str, Any]]:
        """Registered artifacts of a task: ``name, title, type, size, path, created_at``."""
        self.svc.get(task_id)
        return self.db.query("SELECT name, title, type, size, path, created_at FROM task_artifacts "
                             "WHERE task_id = ? ORDER BY rowid", (task_id,))

    def _resolve(self, task: dict[str, Any], raw: str) -> tuple[Path, str]:
        """``raw`` (absolute or worktree-relative) as a resolved path inside the worktree."""
        root = Path(task["worktree_path"]).resolve()
        if "\x00" in raw:
            raise Invalid("path contains a NUL byte")
        candidate = Path(raw) if os.path.isabs(raw) else Path(task["worktree_path"]) / raw
        try:
            resolved = candidate.resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no such file: {raw}") from None
        except (OSError, RuntimeError) as exc:
            raise Invalid(f"cannot resolve {raw}: {exc}") from None
        if not inside(root, resolved):
            raise Invalid(f"{raw} is outside the task's worktree ({task['worktree_path']})")
        return resolved, resolved.relative_to(root).as_posix()

    def register(self, task: dict[str, Any], path: Any, title: Any = None, type_: Any = None) -> dict[str, Any]:
        """Register a regular file of at most 25 MiB inside the task's worktree."""
        if not isinstance(path, str) or not path.strip():
            raise Invalid("path is required")
        if title is not None and not isinstance(title, str):
            raise Invalid("title must be a string")
        resolved, rel = self._resolve(task, path.strip())
        st = resolved.stat()
        if not stat.S_ISREG(st.st_mode):
            raise Invalid(f"{path} is not a regular file")
        if st.st_size > MAX_SIZE:
            raise TooLarge(f"{path} is {st.st_size} bytes; artifacts are at most {MAX_SIZE} bytes (25 MiB)")
        kind = normalize_type(type_, resolved.name)
        existing = self.db.one("SELECT name FROM task_artifacts WHERE task_id = ? AND path = ?", (task["id"], rel))
        if existing:
            name = existing["name"]
        else:
            if self.db.scalar("SELECT COUNT(*) FROM task_artifacts WHERE task_id = ?", (task["id"],)) >= MAX_PER_TASK:
                raise Invalid(f"a task may register at most {MAX_PER_TASK} artifacts")
            name = self._unique_name(task["id"], resolved.name)
        self.db.execute(
            "INSERT INTO task_artifacts (task_id, name, path, title, type, size, created_at) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(task_id, name) DO UPDATE SET title=excluded.title, type=excluded.type, size=excluded.size",
            (task["id"], name, rel, (title or "").strip() or resolved.name, kind, st.st_size, utcnow()))
        artifact = self.get(task["id"], name)
        self.svc.publish("artifact.registered", {"task_id": task["id"], "artifact": artifact})
        return artifact

    def _unique_name(self, task_id: str, base: str) -> str:
        stem, suffix = os.path.splitext(base)
        name, n = base, 1
        while self.db.one("SELECT 1 FROM task_artifacts WHERE task_id = ? AND name = ?", (task_id, name)):
            n += 1
            name = f"{stem}-{n}{suffix}"
        return name

    def get(self, task_id: str, name: str) -> dict[str, Any]:
        """One registered artifact, or NotFound (only the manifest is ever consulted)."""
        row = self.db.one("SELECT name, title, type, size, path, created_at FROM task_artifacts "
                          "WHERE task_id = ? AND name = ?", (task_id, name))
        if row is None:
            raise NotFound(f"no registered artifact {name!r} for task {task_id}")
        return row

    async def read(self, task_id: str, name: str) -> tuple[dict[str, Any], bytes]:
        """The artifact's record and bytes, re-checked against the worktree at read time."""
        task = self.svc.get(task_id)
        artifact = self.get(task_id, name)
        root = Path(task["worktree_path"]).resolve()
        resolved = (root / artifact["path"]).resolve()
        if not inside(root, resolved):
            raise NotFound(f"artifact {name!r} no longer points inside the worktree")

        def load() -> bytes:
            fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise Invalid("not a regular file")
                if st.st_size > MAX_SIZE:
                    raise TooLarge(f"artifact {name!r} grew past {MAX_SIZE} bytes")
                return fh.read(MAX_SIZE + 1)

        try:
            data = await trio.to_thread.run_sync(load)
        except FileNotFoundError:
            raise NotFound(f"artifact {name!r} was registered but its file is gone") from None
        except OSError as exc:
            raise NotFound(f"artifact {name!r} cannot be read: {exc.strerror or exc}") from None
        return artifact, data
