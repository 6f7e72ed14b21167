"""Creating and removing task worktrees: branch, directory, registration, and their undo;
whether a worktree holds unsaved work."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable

import trio
from argus.kernel.api import Conflict, Invalid

from ..undo import UndoStack
from .git import (
    branch_exists,
    commit_exists,
    default_branch,
    git,
    git_ok,
    is_git_repo,
    is_worktree_root,
    lexists,
    same_path,
    validate_branch_name,
)


async def list_worktrees(repo: str | os.PathLike[str]) -> list[dict[str, str | bool]]:
    """``git worktree list --porcelain`` as ``[{"path", "head", "branch", "bare", "detached", "prunable"}]``.

    ``branch`` is the short name ("" when detached); the first entry is the main worktree.
    """
    out = await git_ok(repo, "worktree", "list", "--porcelain")
    result: list[dict[str, str | bool]] = []
    cur: dict[str, str | bool] | None = None
    for line in out.splitlines():
        if line.startswith("worktree "):
            cur = {
                "path": line[len("worktree ") :],
                "head": "",
                "branch": "",
                "bare": False,
                "detached": False,
                "prunable": False,
            }
            result.append(cur)
        elif cur is None:
            continue
        elif line.startswith("HEAD "):
            cur["head"] = line[len("HEAD ") :]
        elif line.startswith("branch "):
            cur["branch"] = line[len("branch ") :].removeprefix("refs/heads/")
        elif line in ("bare", "detached"):
            cur[line] = True
        elif line.startswith("prunable"):
            cur["prunable"] = True
    return result


async def _registered(repo: str | os.PathLike[str], worktree_path: str | os.PathLike[str]) -> bool:
    return any(same_path(str(w["path"]), worktree_path) for w in await list_worktrees(repo))


async def prune_worktrees(repo: str | os.PathLike[str]) -> None:
    """``git worktree prune``: forget worktrees whose directory is gone."""
    await git(repo, "worktree", "prune")


async def _delete_branch(repo: str | os.PathLike[str], branch: str) -> None:
    if await branch_exists(repo, branch):
        res = await git(repo, "branch", "-D", "--", branch)
        if not res.ok:
            raise Conflict(f"cannot delete branch {branch}: {res.error()}")


def _rmtree(path: str) -> None:
    """Delete ``path`` (a directory tree, a file or a link) if it exists; blocking."""

    def onerror(func: Callable[..., object], p: str, _exc: object) -> None:
        # read-only files (e.g. git objects, go module cache) block deletion: make writable, retry
        try:
            os.chmod(p, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
            func(p)
        except OSError:
            pass

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, onerror=onerror)  # onerror: the target is 3.11 (onexc is 3.12+)


async def _discard_worktree(repo: str, worktree_path: str) -> None:
    """Remove a worktree we own, whatever state it is in, then prune git's records."""
    if await _registered(repo, worktree_path):
        await git(repo, "worktree", "remove", "--force", "--force", worktree_path)
    await trio.to_thread.run_sync(_rmtree, worktree_path)
    await prune_worktrees(repo)


_REPO_LOCKS: dict[str, trio.Lock] = {}


def repo_lock(repo: str | os.PathLike[str]) -> trio.Lock:
    """One lock per repository: git's worktree bookkeeping is not safe under concurrent changes."""
    key = os.path.realpath(os.fspath(repo))
    lock = _REPO_LOCKS.get(key)
    if lock is None:
        lock = _REPO_LOCKS[key] = trio.Lock()
    return lock


async def create_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    base_branch: str,
    undo: UndoStack,
) -> None:
    """Create a worktree under the repository's lock (see :func:`_create_worktree`)."""
    async with repo_lock(repo):
        await _create_worktree(repo, worktree_path, branch, base_branch, undo)


async def _create_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    base_branch: str,
    undo: UndoStack,
) -> None:
    """Create ``worktree_path`` on a new ``branch`` forked from ``base_branch`` (``git worktree add -b``).

    Registers on ``undo`` how to take it all back (remove the worktree with ``--force``, prune,
    delete the branch, remove parent directories this call created). Invalid when ``repo`` is not
    a repository, the branch name is bad or ``base_branch`` does not exist (``origin/<base>`` is
    used when only the remote branch exists); Conflict when ``branch`` or ``worktree_path`` already
    exist. On failure nothing is left behind.
    """
    if not await is_git_repo(repo):
        raise Invalid(f"not a git repository: {repo}")
    await validate_branch_name(repo, branch)
    if not base_branch:
        raise Invalid("no base branch given")
    path = _abs_path(worktree_path)
    if await branch_exists(repo, branch):
        raise Conflict(f"branch {branch} already exists in {repo}")
    if await lexists(path):
        raise Conflict(f"worktree path already exists: {path}")
    start = base_branch
    if not await commit_exists(repo, start):
        if await commit_exists(repo, f"origin/{base_branch}"):
            start = f"origin/{base_branch}"
        else:
            raise Invalid(f"base branch {base_branch!r} does not exist in {repo}")
    await prune_worktrees(repo)  # a stale record for this path would make `worktree add` refuse

    # Parent directories we create here are removed again on rollback (only if left empty).
    created_parents = await trio.to_thread.run_sync(_make_parents, path)

    async def remove_parents() -> None:
        await trio.to_thread.run_sync(_remove_empty_dirs, created_parents)

    async def remove_branch() -> None:
        await _delete_branch(repo, branch)

    async def remove_worktree_dir() -> None:
        async with repo_lock(repo):
            await _discard_worktree(repo, path)

    res = await git(repo, "worktree", "add", "--no-track", "-b", branch, "--", path, start)
    if not res.ok:
        # `worktree add` may have got halfway (branch made, checkout failed): clean up now.
        await _discard_worktree(repo, path)
        await _delete_branch(repo, branch)
        await remove_parents()
        message = res.error()
        if "already exists" in message or "already checked out" in message:
            raise Conflict(f"cannot create worktree: {message}")
        raise Invalid(f"cannot create worktree: {message}")
    # Reverse order on rollback: worktree first, then the branch it had checked out, then dirs.
    undo.push(remove_parents, f"remove created directories above {path}")
    undo.push(remove_branch, f"delete branch {branch}")
    undo.push(remove_worktree_dir, f"remove worktree {path}")


def _abs_path(path: str) -> str:
    """``~`` expanded, made absolute and normalised (string work, plus getcwd for relative paths)."""
    return os.path.abspath(os.path.expanduser(path))


def _make_parents(path: str) -> list[str]:
    """Create the missing parent directories of ``path``; return those created, deepest first."""
    created: list[str] = []
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return created


def _remove_empty_dirs(dirs: list[str]) -> None:
    """rmdir each of ``dirs`` in order, stopping at the first that is not empty."""
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError:
            break


async def worktree_dirty(
    repo: str,
    worktree_path: str,
    branch: str,
    base_branch: str | None = None,
) -> str | None:
    """Why removing this worktree would lose work, or None when it is safe.

    Counts uncommitted changes (modified, staged, untracked; not ignored) and commits on
    ``branch`` that are neither on ``base_branch`` (default: the repo's default branch) nor on any
    remote-tracking branch (when the base branch does not exist: commits no other branch holds).
    E.g. ``"3 uncommitted changes, 2 commits not on main"``.
    """
    reasons: list[str] = []
    if await is_worktree_root(worktree_path):
        res = await git(worktree_path, "status", "--porcelain")
        if res.ok:
            n = len([ln for ln in res.stdout.splitlines() if ln.strip()])
            if n:
                reasons.append(f"{n} uncommitted change{'s' if n != 1 else ''}")
    if branch and await branch_exists(repo, branch):
        base = base_branch
        if not base:
            try:
                base = await default_branch(repo)
            except Invalid:
                base = None
        # Work is safe once it is on the base branch or on any remote-tracking branch.
        exclude: list[str] = ["--remotes"]
        where = ""
        for rev in (base, f"origin/{base}") if base else ():
            if await commit_exists(repo, rev):
                exclude.append(rev)
                where = f"not on {base}"
                break
        if not where:  # no base to compare with: count what no other branch holds
            # (--exclude takes the name without refs/heads/ when it applies to --branches)
            exclude = [f"--exclude={branch}", "--branches", "--remotes"]
            where = "on no other branch"
        res = await git(repo, "rev-list", "--count", f"refs/heads/{branch}", "--not", *exclude)
        n = int(res.stdout.strip() or 0) if res.ok else 0
        if n:
            reasons.append(f"{n} commit{'s' if n != 1 else ''} {where}")
    return ", ".join(reasons) or None


def _guard_removal(repo: str, path: str) -> None:
    """Refuse to delete a path that is (or contains) the main repository or is another repo."""
    real, repo_real = os.path.realpath(path), os.path.realpath(repo)
    if real == "/" or real == repo_real or repo_real.startswith(real.rstrip("/") + "/"):
        raise Invalid(f"refusing to remove {path}: it holds the repository itself")
    if os.path.isdir(os.path.join(path, ".git")):
        raise Invalid(f"refusing to remove {path}: it is a repository, not a worktree")


async def remove_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    *,
    force: bool,
    base_branch: str | None = None,
) -> None:
    """Remove a worktree under the repository's lock (see :func:`_remove_worktree`)."""
    async with repo_lock(repo):
        await _remove_worktree(repo, worktree_path, branch, force=force, base_branch=base_branch)


async def _remove_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    *,
    force: bool,
    base_branch: str | None = None,
) -> None:
    """Remove a task's worktree and delete its branch.

    Unless ``force``, refuses with Conflict when the worktree has uncommitted changes or its branch
    has commits not on ``base_branch`` (default: the repo's default branch) nor pushed — the
    message says which (see :func:`worktree_dirty`). Tolerant of what is already gone: a missing
    directory, a stale directory git no longer knows, a missing branch, and (with ``force``) a
    missing repository. Ends with ``git worktree prune``. Invalid when ``worktree_path`` is the
    repository itself, contains it, or is another repository.
    """
    path = _abs_path(worktree_path)
    if not await is_git_repo(repo):
        if not force:
            raise Invalid(f"not a git repository: {repo} (remove with force to delete the worktree anyway)")
        # The project repository is gone: its worktree records went with it; drop the directory.
        _guard_removal(repo, path)
        await trio.to_thread.run_sync(_rmtree, path)
        return
    _guard_removal(repo, path)
    if not force:
        reason = await worktree_dirty(repo, path, branch, base_branch)
        if reason:
            raise Conflict(
                f"worktree has unsaved work ({reason}); commit and push it, or remove with force",
                reason=reason,
            )
    if await _registered(repo, path):
        await git(repo, "worktree", "remove", "--force", "--force", path)
    # Whatever is left: a directory git failed to remove, or a stale one git no longer knows.
    await trio.to_thread.run_sync(_rmtree, path)
    await prune_worktrees(repo)
    if branch and branch != base_branch:
        await _delete_branch(repo, branch)


async def unpushed_or_dirty_summary(
    repo: str,
    worktrees: Iterable[tuple[str, str, str | None]],
    max_parallel: int = 4,
) -> dict[str, str]:
    """For prune: ``{worktree_path: reason}`` for each ``(path, branch, base_branch)`` with unsaved work.

    Clean worktrees are absent from the result. Checks run concurrently, ``max_parallel`` at a time.
    """
    out: dict[str, str] = {}
    limiter = trio.CapacityLimiter(max(1, max_parallel))

    async def check(path: str, branch: str, base: str | None) -> None:
        async with limiter:
            reason = await worktree_dirty(repo, path, branch, base)
        if reason:
            out[path] = reason

    async with trio.open_nursery() as nursery:
        for path, branch, base in worktrees:
            nursery.start_soon(check, path, branch, base)
    return out
