"""Scanning a directory tree for git repositories (the projects quick-add)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import trio
from argus.kernel.api import Invalid

# Directory names scan_repos never descends into (besides every hidden directory).
SKIP_DIRS = frozenset(
    {"node_modules", "venv", "env", "virtualenv", "__pycache__", "site-packages", "bower_components"}
)
PROGRESS_EVERY = 200  # scan_repos reports progress every this many directories



def _head_branch(gitdir: Path) -> str:
    """Read the branch name out of a HEAD-like file (``ref: refs/.../name``); "" when detached."""
    try:
        head = gitdir.read_text(errors="replace").strip()
    except OSError:
        return ""
    for prefix in ("ref: refs/heads/", "ref: refs/remotes/origin/"):
        if head.startswith(prefix):
            return head[len(prefix) :]
    return ""


def _repo_branch(repo: Path) -> str:
    """Default branch of a found repo, read from files (no git process per repo)."""
    dotgit = repo / ".git"
    if dotgit.is_file():  # a linked worktree or submodule: "gitdir: <path>"
        try:
            line = dotgit.read_text(errors="replace").strip()
        except OSError:
            return ""
        if not line.startswith("gitdir:"):
            return ""
        gitdir = Path(line[len("gitdir:") :].strip())
        gitdir = gitdir if gitdir.is_absolute() else (repo / gitdir)
        return _head_branch(gitdir / "HEAD")
    return _head_branch(dotgit / "refs" / "remotes" / "origin" / "HEAD") or _head_branch(dotgit / "HEAD")


def _is_venv(path: str) -> bool:
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def _walk_repos(
    root_dir: str,
    max_depth: int,
    limit: int,
    progress: Callable[[int, str], None] | None,
) -> list[dict[str, str]]:
    """Blocking breadth-first walk (runs in a worker thread); see :func:`scan_repos`."""
    root = Path(root_dir).expanduser()
    if not root.is_dir():
        raise Invalid(f"not a directory: {root_dir}")
    root = root.resolve()
    found: list[dict[str, str]] = []
    seen = 0
    queue: list[tuple[str, int]] = [(os.fspath(root), 0)]
    while queue and len(found) < limit:
        batch, queue = queue, []
        for path, depth in batch:
            seen += 1
            if seen % PROGRESS_EVERY == 0:
                trio.from_thread.check_cancelled()
                if progress is not None:
                    trio.from_thread.run_sync(progress, seen, path)
            if os.path.lexists(os.path.join(path, ".git")):
                name = os.path.basename(path)
                found.append({"name": name, "path": path, "branch": _repo_branch(Path(path))})
                if len(found) >= limit:
                    break
                continue  # never descend into a repository
            if depth >= max_depth:
                continue
            try:
                with os.scandir(path) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue  # unreadable: skip
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                if _is_venv(entry.path):
                    continue
                queue.append((entry.path, depth + 1))
    if progress is not None:
        trio.from_thread.run_sync(progress, seen, os.fspath(root))
    return found


async def scan_repos(
    root: str,
    max_depth: int = 4,
    on_progress: Callable[[int, str], None] | None = None,
    limit: int = 500,
) -> list[dict[str, str]]:
    """Find git repositories (directories holding a ``.git``) under ``root``.

    Does not descend into a repository it found, into hidden directories, ``node_modules`` or
    Python virtualenvs, nor follow symlinks; looks at most ``max_depth`` levels below ``root``
    and stops after ``limit`` repositories. ``on_progress(dirs_seen, current_dir)`` is called (in
    the trio thread) every few hundred directories and once at the end. Returns
    ``[{"name", "path", "branch"}]`` sorted by path, ``branch`` being ``origin/HEAD``'s branch or
    the checked-out one ("" when detached). Invalid when ``root`` is not a directory.
    """
    if not root or "\x00" in root:
        raise Invalid("no directory to scan")
    found = await trio.to_thread.run_sync(_walk_repos, root, max(0, max_depth), max(1, limit), on_progress)
    return sorted(found, key=lambda r: r["path"])
