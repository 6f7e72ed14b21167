"""Start-up reconciliation after a crash: what the database says against what exists.

A daemon killed during task creation can leave a row stuck in ``pending``, a worktree and branch
with no row, a branch alone, or an agent running in the supervisor that no task knows (a resume
would then start a second agent in the same worktree). At start, once sessions are re-attached:

1. Supervisor sessions: one whose task row has no live session is *adopted* (the crash hit
   between the spawn and the row update); one with no task, or whose task already runs another
   agent, is killed and forgotten.
2. Rows stuck in creation (left ``pending`` by an earlier daemon, never started, not held back by a
   launch gate or a dependency) are *rolled back*: worktree, branch, run files, tokens and row go, unless the
   worktree holds work (then the task moves to ``in_review`` for the user to look at).
3. Worktrees under ``$ARGUS_HOME/worktrees/<project>/`` with no task, and ``argus/*`` branches
   with no task and no worktree, are removed when they are provably Argus's (an ``argus/<slug>``
   branch) and hold nothing (no uncommitted change, no commit the base branch lacks); otherwise
   they are reported in the log and kept.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from argus.kernel.api import utcnow

from . import worktrees

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session

    from .service import TaskService

log = logging.getLogger(__name__)


def left_pending(svc: TaskService) -> set[str]:
    """The ids of the rows in ``pending`` with no session and no operation in flight, taken at start
    (synchronously, before this daemon can be mid-way through a creation of its own): the only
    candidates for a roll-back. A timestamp cannot tell them apart: ``created_at`` has one-second
    resolution, so a creation cut short in the second the daemon restarted looks like a new one."""
    return {row["id"] for row in svc.store.tasks(status="pending", archived="all")
            if not row["session_id"] and not svc.locks.busy(row["id"])}


async def reconcile(svc: TaskService, has_parents: Callable[[str], bool], sessions: Sequence[Session],
                    stale: Collection[str]) -> dict[str, list[str]]:
    """Run the three passes (module docstring) over the ``sessions`` re-attached at start and the
    ``stale`` rows (:func:`left_pending`: left in ``pending`` by an earlier daemon); tasks with a
    lifecycle operation in flight are left alone. Returns what was done, by kind, for logs and tests."""
    report: dict[str, list[str]] = {"adopted": [], "killed": [], "rolled_back": [], "kept": [],
                                    "removed_worktrees": [], "removed_branches": []}
    await _sessions(svc, sessions, report)
    await _stuck_creations(svc, has_parents, stale, report)
    await _strays(svc, report)
    done = {k: v for k, v in report.items() if v}
    if done:
        log.warning("start-up reconciliation: %s", json.dumps(done))
    else:
        log.info("start-up reconciliation: nothing to do")
    return report


async def _sessions(svc: TaskService, sessions: Sequence[Session], report: dict[str, list[str]]) -> None:
    for session in sessions:
        task_id = (session.meta or {}).get("task_id")
        if not session.alive or (isinstance(task_id, str) and svc.locks.busy(task_id)):
            continue
        row = svc.store.task(task_id) if isinstance(task_id, str) else None
        if row is not None and row["session_id"] == session.id:
            continue
        current = svc.live_session(row) if row is not None else None
        if row is not None and current is None and not row["archived"]:
            meta = json.loads(row["meta"] or "{}")
            meta["sessions"] = [*meta.get("sessions", []), session.id]
            svc.store.update_task(row["id"], session_id=session.id, status="in_progress", meta=json.dumps(meta),
                                  started_at=row["started_at"] or utcnow(), ended_at=None, exit_code=None)
            svc.watch(session, str(session.meta.get("kind") or "generic"))
            svc.changed(row["id"])
            report["adopted"].append(session.id)
            continue
        svc.intents.stopping.add(session.id)
        try:
            await session.terminate(grace=2.0)
        except Exception:
            log.debug("killing stray session %s failed", session.id, exc_info=True)
        await svc.launcher.forget(session.id)
        report["killed"].append(session.id)


async def _stuck_creations(svc: TaskService, has_parents: Callable[[str], bool], stale: Collection[str],
                           report: dict[str, list[str]]) -> None:
    for row in svc.store.tasks(status="pending", archived="all"):
        if row["session_id"] or row["id"] not in stale or svc.locks.busy(row["id"]) \
                or has_parents(row["id"]) or svc.launcher.hold_reason(row):
            continue
        repo = await svc.lifecycle.repo_of(row)
        path = row["worktree_path"]
        if repo is not None and os.path.isdir(path):
            reason = await worktrees.worktree_dirty(repo, path, row["branch"], row["base_branch"])
            if reason:
                svc.store.update_task(row["id"], status="in_review")
                svc.changed(row["id"])
                report["kept"].append(f"{row['id']}: {reason}")
                continue
        if repo is not None:
            await worktrees.remove_worktree(repo, path, row["branch"], force=True, base_branch=row["base_branch"])
        shutil.rmtree(svc.launcher.run_dir(row["id"]), ignore_errors=True)
        svc.kernel.tokens.revoke_task(row["id"])
        svc.store.delete_task(row["id"])
        svc.publish("task.deleted", {"id": row["id"]})
        report["rolled_back"].append(row["id"])


async def _strays(svc: TaskService, report: dict[str, list[str]]) -> None:
    rows = svc.store.tasks(archived="all")
    known_paths = {os.path.realpath(r["worktree_path"]) for r in rows if r["worktree_path"]}
    for project in svc.projects():
        repo = project.get("path") or ""
        if not repo or not await worktrees.is_git_repo(repo):
            continue
        base = project.get("branch") or await worktrees.default_branch(repo)
        branches = {r["branch"] for r in rows if r["project"] == project["name"]}
        folder = svc.kernel.paths.worktrees / project["name"]
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
        for entry in entries:
            if not entry.is_dir() or os.path.realpath(entry) in known_paths:
                continue
            branch = f"argus/{entry.name}"
            head = await worktrees.git(str(entry), "rev-parse", "--abbrev-ref", "HEAD")
            if not head.ok or head.stdout.strip() != branch or branch in branches:
                report["kept"].append(f"{entry}: not provably an Argus worktree")
                continue
            reason = await worktrees.worktree_dirty(repo, str(entry), branch, base)
            if reason:
                report["kept"].append(f"{entry}: {reason}")
                continue
            await worktrees.remove_worktree(repo, str(entry), branch, force=True, base_branch=base)
            report["removed_worktrees"].append(str(entry))
        listed = await worktrees.git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/argus/")
        used = await worktrees.git(repo, "worktree", "list", "--porcelain")
        checked_out = {line.split()[1].removeprefix("refs/heads/") for line in used.stdout.splitlines()
                       if line.startswith("branch ")} if used.ok else set()
        for branch in listed.stdout.split() if listed.ok else []:
            if branch in branches or branch in checked_out:
                continue
            nowhere = os.path.join(repo, ".git", "argus-no-worktree")  # only the branch's commits count
            reason = await worktrees.worktree_dirty(repo, nowhere, branch, base)
            if reason:
                report["kept"].append(f"{repo} {branch}: {reason}")
                continue
            res = await worktrees.git(repo, "branch", "-D", "--", branch)
            if res.ok:
                report["removed_branches"].append(f"{project['name']}:{branch}")
