"""The merge flow of a task's branch: where it stands against its base branch (commits ahead and
behind, a conflict preview with ``git merge-tree --write-tree``), and the actions: rebase onto the
base, merge into the base (fast-forward or a merge commit), push and open a pull request with ``gh``.

Every action refuses with a clear reason (``Conflict``, HTTP 409) and loses nothing: a failed
rebase or merge is aborted, a dirty worktree is never touched.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import trio
from argus.kernel.api import Conflict, Invalid

from . import worktrees


async def _lines(cwd: str, *args: str) -> list[str]:
    res = await worktrees.git(cwd, *args)
    if not res.ok:
        raise Invalid(f"git {args[0]} failed: {res.error()}")
    return [ln for ln in res.stdout.splitlines() if ln.strip()]


async def _dirty(path: str) -> list[str]:
    """Uncommitted changes (tracked or untracked) of a worktree, as porcelain lines."""
    return await _lines(path, "status", "--porcelain", "--untracked-files=normal")


async def _identity(repo: str) -> list[str]:
    """``-c`` options naming a committer when the repository has none configured (merge commits)."""
    if (await worktrees.git(repo, "config", "user.email")).ok:
        return []
    return ["-c", "user.name=Argus", "-c", "user.email=argus@localhost"]


async def base_worktree(repo: str, base: str) -> str | None:
    """The worktree where ``base`` is checked out (None when no worktree has it)."""
    for wt in await worktrees.list_worktrees(repo):
        if wt.get("branch") == base and not wt.get("bare"):
            return str(wt["path"])
    return None


async def conflicts(repo: str, base: str, branch: str) -> list[str]:
    """The files a merge of ``branch`` into ``base`` would conflict on (``git merge-tree``)."""
    res = await worktrees.git(repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", base, branch)
    if res.returncode == 0:
        return []
    if res.returncode == 1:  # conflicts: the tree id, then one conflicted path per line
        return [ln for ln in res.stdout.splitlines()[1:] if ln.strip()]
    raise Invalid(f"git merge-tree failed: {res.error()}")


async def preview(repo: str, worktree: str, branch: str, base: str) -> dict[str, Any]:
    """Commits ahead/behind ``base``, the conflict preview and what blocks each action."""
    behind, ahead = (int(n) for n in (await _lines(repo, "rev-list", "--left-right", "--count",
                                                   f"{base}...{branch}"))[0].split())
    commits = [dict(zip(("sha", "subject"), ln.split(" ", 1), strict=False))
               for ln in await _lines(repo, "log", "--format=%h %s", f"{base}..{branch}")]
    conflicted = await conflicts(repo, base, branch)
    base_wt = await base_worktree(repo, base)
    base_dirty = bool(base_wt and await _dirty(base_wt))
    task_dirty = os.path.isdir(worktree) and bool(await _dirty(worktree))
    return {
        "base": base, "branch": branch, "ahead": ahead, "behind": behind, "commits": commits,
        "conflicts": conflicted, "fast_forward": behind == 0 and ahead > 0,
        "base_worktree": base_wt, "base_dirty": base_dirty, "worktree_dirty": task_dirty,
        "gh": shutil.which("gh") is not None,
    }


async def changed_files(worktree: str, base: str) -> set[str]:
    """Files the task changed against ``base``: its commits and its uncommitted work."""
    if not os.path.isdir(worktree):
        return set()
    res = await worktrees.git(worktree, "diff", "--name-only", f"{base}...HEAD")
    files = {ln for ln in res.stdout.splitlines() if ln.strip()} if res.ok else set()
    for line in await _dirty(worktree):
        path = line[3:]
        files.add(path.split(" -> ", 1)[-1])
    return files


async def rebase(worktree: str, branch: str, base: str) -> dict[str, Any]:
    """Rebase the task's branch onto ``base`` in its worktree; a conflict aborts and refuses."""
    if await _dirty(worktree):
        raise Conflict("the task's worktree has uncommitted changes; commit or stash them before rebasing")
    res = await worktrees.git(worktree, *await _identity(worktree), "rebase", base)
    if not res.ok:
        files = await _lines(worktree, "diff", "--name-only", "--diff-filter=U")
        await worktrees.git(worktree, "rebase", "--abort")
        raise Conflict(f"rebasing {branch} onto {base} conflicts ({', '.join(files) or res.error()}); "
                       "nothing changed", conflicts=files)
    return {"action": "rebase", "head": (await _lines(worktree, "rev-parse", "HEAD"))[0]}


async def merge(repo: str, branch: str, base: str) -> dict[str, Any]:
    """Merge ``branch`` into ``base``: fast-forward when possible, else a merge commit. Refuses
    when the base worktree is dirty or the merge would conflict."""
    if (await preview(repo, repo, branch, base))["ahead"] == 0:
        raise Conflict(f"{branch} has no commits that {base} lacks; nothing to merge")
    conflicted = await conflicts(repo, base, branch)
    if conflicted:
        raise Conflict(f"merging {branch} into {base} would conflict ({', '.join(conflicted)}); "
                       "rebase the task and resolve them first", conflicts=conflicted)
    ff = (await worktrees.git(repo, "merge-base", "--is-ancestor", base, branch)).ok
    wt = await base_worktree(repo, base)
    if wt is not None:
        dirty = await _dirty(wt)
        if dirty:
            raise Conflict(f"the worktree of {base} ({wt}) has uncommitted changes; commit or stash them "
                           "before merging", dirty=dirty)
        args = ["merge", "--ff-only", branch] if ff else [*await _identity(repo), "merge", "--no-ff", "--no-edit",
                                                          "-m", f"Merge branch '{branch}'", branch]
        res = await worktrees.git(wt, *args)
        if not res.ok:
            await worktrees.git(wt, "merge", "--abort")
            raise Conflict(f"git merge failed: {res.error()}; nothing changed")
    else:  # the base is checked out nowhere: move its ref (a merge commit made from merge-tree)
        old = (await _lines(repo, "rev-parse", base))[0]
        new = (await _lines(repo, "rev-parse", branch))[0]
        if not ff:
            tree = (await _lines(repo, "merge-tree", "--write-tree", base, branch))[0]
            new = (await _lines(repo, *await _identity(repo), "commit-tree", tree, "-p", old, "-p", new,
                                "-m", f"Merge branch '{branch}'"))[0]
        await _lines(repo, "update-ref", f"refs/heads/{base}", new, old)
    head = (await _lines(repo, "rev-parse", base))[0]
    return {"action": "merge", "fast_forward": ff, "head": head}


async def pull_request(worktree: str, branch: str, base: str, title: str, body: str,
                       remote: str = "origin") -> dict[str, Any]:
    """Push the branch to ``remote``; open a PR with ``gh`` when it is installed."""
    if not (await worktrees.git(worktree, "remote", "get-url", remote)).ok:
        raise Conflict(f"the repository has no remote {remote!r} to push to")
    res = await worktrees.git(worktree, "push", "-u", remote, f"{branch}:{branch}")
    if not res.ok:
        raise Conflict(f"git push failed: {res.error()}")
    gh = shutil.which("gh")
    if gh is None:
        return {"action": "pr", "pushed": True, "pr_url": None,
                "note": "gh is not installed: the branch is pushed; open the pull request on the forge"}
    proc = await trio.run_process([gh, "pr", "create", "--base", base, "--head", branch, "--title", title,
                                   "--body", body], cwd=worktree, capture_stdout=True, capture_stderr=True,
                                  check=False, stdin=b"")
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip() or out
        raise Conflict(f"the branch is pushed but gh pr create failed: {err}")
    urls = [w for w in out.split() if w.startswith(("http://", "https://"))]
    return {"action": "pr", "pushed": True, "pr_url": urls[-1] if urls else out}
