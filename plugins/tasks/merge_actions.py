"""The merge flow of a task as the REST API offers it: where its branch stands (``merge.preview``
plus the other live tasks whose changes overlap it) and the actions (``rebase``, ``merge``, ``pr``),
each under the task's lock, published as ``task.merge``."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from argus.kernel.api import Conflict, Invalid

from . import merge, worktrees
from .coordination import TaskLocks
from .store import Store
from .view import TaskView


class MergeActions:
    """Merge preview and actions of tasks."""

    def __init__(self, *, store: Store, view: TaskView, locks: TaskLocks,
                 repo_of: Callable[[dict[str, Any]], Awaitable[str | None]],
                 publish: Callable[[str, dict[str, Any]], None]) -> None:
        """``repo_of``: the repository of a task (the lifecycle's)."""
        self.store = store
        self.view = view
        self.locks = locks
        self._repo_of = repo_of
        self.publish = publish

    async def _repo(self, row: dict[str, Any]) -> str:
        repo = await self._repo_of(row)
        if repo is None or not os.path.isdir(row["worktree_path"]):
            raise Conflict("the task's repository or worktree is gone")
        return repo

    async def preview(self, task_id: str) -> dict[str, Any]:
        """Commits ahead/behind the base branch and the conflict preview (``merge.preview``)."""
        row = self.view.get(task_id)
        out = await merge.preview(await self._repo(row), row["worktree_path"], row["branch"], row["base_branch"])
        out["overlaps"] = await self._overlaps(row)
        return out

    async def _overlaps(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Other live tasks of the project whose changed files overlap this task's ("conflicts with")."""
        mine = await merge.changed_files(row["worktree_path"], row["base_branch"])
        found = []
        for other in self.store.tasks(project=row["project"]):
            if other["id"] == row["id"] or other["status"] == "complete" or not mine:
                continue
            shared = mine & await merge.changed_files(other["worktree_path"], other["base_branch"])
            if shared:
                found.append({"id": other["id"], "name": other["name"], "files": sorted(shared)})
        return found

    async def act(self, task_id: str, action: str, *, title: str | None = None,
                  body: str | None = None, remote: str = "origin") -> dict[str, Any]:
        """``rebase`` onto the base, ``merge`` into the base, or ``pr`` (push + ``gh pr create``)."""
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            repo = await self._repo(row)
            branch, base = row["branch"], row["base_branch"]
            if action == "rebase":
                result = await merge.rebase(row["worktree_path"], branch, base)
            elif action == "merge":
                async with worktrees.repo_lock(repo):
                    result = await merge.merge(repo, branch, base)
            elif action == "pr":
                result = await merge.pull_request(row["worktree_path"], branch, base, title or row["name"],
                                                  body if body is not None else row["prompt"], remote)
            else:
                raise Invalid("action must be one of rebase, merge, pr")
        self.publish("task.merge", {"id": task_id, **result})
        self.view.changed(task_id)
        return {**result, "merge": await self.preview(task_id)}
