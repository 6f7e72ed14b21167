"""Views of a worktree for clients: status, diff, file listings.

Paths that come from clients (``?path=``, ``?dir=``) go through :func:`safe_join`, which refuses
anything that would leave the worktree."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import trio
from argus.kernel.api import Invalid, NotFound

from .git import (
    commit_exists,
    current_branch,
    git,
    is_worktree_root,
    lexists,
)

MAX_DIFF_BYTES = 4 * 1024 * 1024  # cap on a diff returned to a client
MAX_UNTRACKED_IN_DIFF = 200  # untracked files shown in a whole-worktree diff


MAX_NAME_BYTES = 255  # a file name (path component), as the file system counts it: UTF-8 bytes
MAX_PATH_BYTES = 4096


def check_path_length(rel: str, parts: list[str]) -> None:
    """Invalid for text that is not valid Unicode, a component over 255 bytes or a path over 4096."""
    try:
        total = len(rel.encode("utf-8"))
        longest = max((len(p.encode("utf-8")) for p in parts), default=0)
    except UnicodeEncodeError:
        raise Invalid("path is not valid Unicode text") from None
    if longest > MAX_NAME_BYTES:
        raise Invalid(f"a path component is longer than {MAX_NAME_BYTES} bytes")
    if total > MAX_PATH_BYTES:
        raise Invalid(f"path is longer than {MAX_PATH_BYTES} bytes")


def safe_join(root: str | os.PathLike[str], rel: str, *, follow_last: bool = True) -> Path:
    """Resolve client-supplied ``rel`` inside ``root`` and return the absolute path.

    Invalid("path escapes the worktree") for NUL bytes, absolute paths, any ``..`` component,
    and symlinks that lead outside ``root``. ``""`` and ``"."`` give
    ``root``. With ``follow_last=False`` the final component is not resolved (a symlink itself
    is returned, its parents still checked).
    """
    if not isinstance(rel, str) or "\x00" in rel:
        raise Invalid("path escapes the worktree")
    if rel.startswith("/") or os.path.isabs(rel):
        raise Invalid("path escapes the worktree")
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", ".")]
    if ".." in parts:
        raise Invalid("path escapes the worktree")
    check_path_length(rel, parts)
    base = Path(root).resolve()
    if not parts:
        return base
    if follow_last:
        target = base.joinpath(*parts).resolve()
    else:
        target = base.joinpath(*parts[:-1]).resolve() / parts[-1]
    if target != base and base not in target.parents:
        raise Invalid("path escapes the worktree")
    return target


def _rel_posix(rel: str) -> str:
    """Normalise a (validated) relative path: forward slashes, no ``.``/empty parts."""
    return "/".join(p for p in PurePosixPath(rel).parts if p not in ("", "."))


async def _require_worktree(worktree: str) -> None:
    if not await trio.Path(worktree).is_dir():
        raise NotFound(f"worktree is gone: {worktree}")
    if not await is_worktree_root(worktree):
        raise NotFound(f"not a git worktree: {worktree}")


async def _merge_base(worktree: str, base_branch: str | None) -> str | None:
    """The commit the worktree's branch forked from ``base_branch``; None if unknown."""
    if not base_branch:
        return None
    for rev in (base_branch, f"origin/{base_branch}"):
        if await commit_exists(worktree, rev):
            res = await git(worktree, "merge-base", "--end-of-options", rev, "HEAD")
            if res.ok and res.stdout.strip():
                return res.stdout.strip()
            return None
    return None


def _parse_porcelain_z(out: str) -> list[dict[str, str]]:
    """``git status --porcelain -z`` → ``[{"path", "status"}]`` (renames give the new path)."""
    files: list[dict[str, str]] = []
    items = out.split("\x00")
    i = 0
    while i < len(items):
        item = items[i]
        i += 1
        if len(item) < 4:
            continue
        xy, path = item[:2], item[3:]
        if "R" in xy or "C" in xy:
            i += 1  # the next item is the original path
        files.append({"path": path, "status": xy.strip() or xy})
    return files


async def git_status(worktree: str, base_branch: str) -> dict[str, object]:
    """The worktree's state: ``{"branch", "base_branch", "status", "files", "diff_stat", "ahead"}``.

    ``status`` is ``git status --porcelain`` text (untracked files listed one by one), ``files``
    the same as ``[{"path", "status"}]`` (``status`` is the porcelain XY code, trimmed: ``M``,
    ``A``, ``D``, ``R``, ``??``, ...), ``diff_stat`` ``git diff --stat`` of the working tree against
    where the branch forked from ``base_branch``, ``ahead`` the number of commits on the branch
    not on ``base_branch``. NotFound when the worktree is gone.
    """
    await _require_worktree(worktree)
    branch = await current_branch(worktree)
    text = await git(worktree, "status", "--porcelain", "--untracked-files=all")
    z = await git(worktree, "status", "--porcelain", "-z", "--untracked-files=all")
    base = await _merge_base(worktree, base_branch)
    diff_stat, ahead = "", 0
    if base:
        stat_res = await git(worktree, "diff", "--stat", base)
        diff_stat = stat_res.stdout if stat_res.ok else ""
        count = await git(worktree, "rev-list", "--count", f"{base}..HEAD")
        ahead = int(count.stdout.strip() or 0) if count.ok else 0
    return {
        "branch": branch,
        "base_branch": base_branch,
        "status": text.stdout if text.ok else "",
        "files": _parse_porcelain_z(z.stdout) if z.ok else [],
        "diff_stat": diff_stat,
        "ahead": ahead,
    }


async def _untracked(worktree: str, rel: str | None = None) -> list[str]:
    args = ["ls-files", "-z", "--others", "--exclude-standard"]
    if rel is not None:
        args += ["--", rel]
    res = await git(worktree, *args, literal_pathspecs=True)
    return [p for p in res.stdout.split("\x00") if p] if res.ok else []


async def _added_file_diff(worktree: str, rel: str) -> str:
    """An untracked file shown as all-added (``git diff --no-index /dev/null file``)."""
    res = await git(worktree, "diff", "--no-index", "--no-color", "--", "/dev/null", rel)
    return res.stdout if res.returncode in (0, 1) else ""


async def git_diff(worktree: str, base_branch: str, path: str | None = None) -> dict[str, object]:
    """A unified diff against where the branch forked from ``base_branch``: ``{"path", "diff", "truncated"}``.

    With ``path`` (validated by :func:`safe_join`): that one file — an untracked file appears as
    entirely added. Without: every change in the worktree (committed on the branch, staged,
    unstaged, and untracked files), ``path`` being null. Diffs over 4 MiB (or with more than 200
    untracked files) are cut and flagged ``truncated``. NotFound when the worktree is gone, or the
    file is gone and there is nothing to show.
    """
    await _require_worktree(worktree)
    base = await _merge_base(worktree, base_branch) or "HEAD"
    clipped = False
    has_head = await commit_exists(worktree, "HEAD")
    if path is not None:
        target = safe_join(worktree, path)
        rel = _rel_posix(path)
        if not rel:
            raise Invalid("path is the worktree itself; omit it for the whole diff")
        if rel in await _untracked(worktree, rel):
            diff = await _added_file_diff(worktree, rel)
        elif has_head:
            res = await git(worktree, "diff", "--no-color", base, "--", rel, literal_pathspecs=True)
            diff = res.stdout if res.ok else ""
        else:
            diff = ""
        if not diff and not await lexists(target):
            raise NotFound(f"no such file in the worktree: {path}")
        out_path: str | None = rel
    else:
        parts: list[str] = []
        if has_head:
            res = await git(worktree, "diff", "--no-color", base)
            parts.append(res.stdout if res.ok else "")
        size = sum(len(p) for p in parts)
        untracked = await _untracked(worktree)
        clipped = len(untracked) > MAX_UNTRACKED_IN_DIFF
        for rel in untracked[:MAX_UNTRACKED_IN_DIFF]:
            if size > MAX_DIFF_BYTES:
                break
            chunk = await _added_file_diff(worktree, rel)
            parts.append(chunk)
            size += len(chunk)
        diff = "".join(parts)
        out_path = None
    truncated = len(diff) > MAX_DIFF_BYTES or (path is None and clipped)
    if len(diff) > MAX_DIFF_BYTES:
        diff = diff[:MAX_DIFF_BYTES]
    return {"path": out_path, "diff": diff, "truncated": truncated}


def _list_dir(worktree: str, rel_dir: str) -> dict[str, object]:
    """Blocking body of :func:`list_files` (runs in a worker thread)."""
    if not os.path.isdir(worktree):
        raise NotFound(f"worktree is gone: {worktree}")
    root = Path(worktree).resolve()
    target = safe_join(root, rel_dir)
    rel = _rel_posix(rel_dir)
    if rel.split("/")[0] == ".git":
        raise Invalid("the .git directory is not listed")
    if not target.exists():
        raise NotFound(f"no such directory in the worktree: {rel_dir}")
    if not target.is_dir():
        raise Invalid(f"not a directory: {rel_dir}")
    entries: list[dict[str, object]] = []
    with os.scandir(target) as it:
        for entry in it:
            if entry.name == ".git":
                continue
            entry_rel = f"{rel}/{entry.name}" if rel else entry.name
            kind, size = "file", 0
            try:
                if entry.is_symlink():
                    try:  # a link counts as a directory only when it stays inside the worktree
                        resolved = safe_join(root, entry_rel)
                        is_dir = resolved.is_dir()
                    except Invalid:
                        is_dir = False
                    kind = "dir" if is_dir else "file"
                    size = 0 if is_dir else entry.stat(follow_symlinks=False).st_size
                elif entry.is_dir(follow_symlinks=False):
                    kind = "dir"
                else:
                    size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                pass
            entries.append(
                {"name": entry.name, "path": entry_rel, "type": kind, "size": None if kind == "dir" else size}
            )
    entries.sort(key=lambda e: (e["type"] != "dir", str(e["name"]).lower(), str(e["name"])))
    return {"dir": rel, "entries": entries}


async def list_files(worktree: str, rel_dir: str = "") -> dict[str, object]:
    """One directory of the worktree: ``{"dir", "entries": [{"name", "path", "type", "size"}]}``.

    ``type`` is ``"file"`` or ``"dir"``; ``size`` is bytes for files and null for directories;
    directories come first, then files, each by name (case-insensitive). ``.git`` is hidden.
    Invalid for paths leaving the worktree or naming a file; NotFound when the directory is missing.
    """
    return await trio.to_thread.run_sync(_list_dir, worktree, rel_dir or "")
