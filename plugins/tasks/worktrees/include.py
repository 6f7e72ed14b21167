"""Copying ``.worktreeinclude`` entries (git-ignored files such as ``.env``) into a new worktree."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import trio
from argus.kernel.api import Invalid

from .git import (
    git,
    git_ok,
)
from .inspection import safe_join

WORKTREEINCLUDE = ".worktreeinclude"


def _parse_worktreeinclude(text: str) -> list[str]:
    return [ln.rstrip("\r") for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _copy_entries(repo: str, worktree: str, rels: list[str]) -> list[str]:
    """Copy ``rels`` (files, or ``dir/``) from repo into worktree; blocking, runs in a thread."""
    copied: list[str] = []
    for rel in rels:
        clean = rel.rstrip("/")
        try:
            src = safe_join(repo, clean, follow_last=False)
            dst = safe_join(worktree, clean, follow_last=False)
        except Invalid:
            continue
        if src == Path(repo).resolve() or dst == Path(worktree).resolve() or os.path.islink(dst):
            continue  # never write through a link
        if os.path.isdir(src) and not os.path.islink(src):
            if os.path.lexists(dst) and not dst.is_dir():
                continue
            shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
            copied.append(clean + "/")
        elif os.path.lexists(src):
            if dst.is_dir():
                continue  # never replace a directory with a file
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst, follow_symlinks=False)
            copied.append(clean)
    return copied


async def _ignored(repo: str, paths: Sequence[str]) -> set[str]:
    """The subset of ``paths`` git ignores (by .gitignore, info/exclude, core.excludesFile)."""
    if not paths:
        return set()
    data = b"".join(p.encode() + b"\x00" for p in paths)
    res = await git(repo, "check-ignore", "-z", "--stdin", stdin=data)
    return {p for p in res.stdout.split("\x00") if p}


async def copy_worktreeinclude(repo: str, worktree_path: str) -> list[str]:
    """Copy the files named by the repo's ``.worktreeinclude`` into a new worktree.

    ``.worktreeinclude`` holds gitignore-style patterns (one per line, ``#`` comments). An entry is
    copied when it exists in the main checkout, matches a pattern and is ignored by git (tracked
    files are already in the worktree; untracked but not ignored ones are not secrets to carry
    over). Relative paths are kept; nothing is written outside the worktree nor through a symlink
    that leaves it. Returns the copied relative paths (directories end with ``/``), sorted.
    """
    include = os.path.join(repo, WORKTREEINCLUDE)
    try:
        patterns = _parse_worktreeinclude(await trio.Path(include).read_text(errors="replace"))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return []
    if not patterns or not await trio.Path(worktree_path).is_dir():
        return []
    listed = await git_ok(
        repo, "ls-files", "-z", "--others", "--ignored", "--directory", f"--exclude-from={include}"
    )
    candidates = sorted({p for p in listed.split("\x00") if p})
    ignored = await _ignored(repo, candidates)
    chosen: list[str] = []
    partial_dirs: list[str] = []
    for rel in candidates:
        if rel in ignored:
            chosen.append(rel)
        elif rel.endswith("/"):
            partial_dirs.append(rel)  # matches, but only some of its files are ignored
    if partial_dirs:
        listed = await git_ok(
            repo,
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            f"--exclude-from={include}",
            "--",
            *partial_dirs,
            literal_pathspecs=True,
        )
        files = sorted({p for p in listed.split("\x00") if p})
        ignored = await _ignored(repo, files)
        chosen.extend(f for f in files if f in ignored)
    # Drop entries inside a directory that is copied whole.
    dirs = [d for d in chosen if d.endswith("/")]
    chosen = sorted({c for c in chosen if not any(c != d and c.startswith(d) for d in dirs)})
    return sorted(await trio.to_thread.run_sync(_copy_entries, repo, worktree_path, chosen))
