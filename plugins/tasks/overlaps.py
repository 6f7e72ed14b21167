"""The "conflicts with" mark: live tasks whose changed files overlap another live task's.

A task is *live* while it is not archived, not ``complete``, not hidden, and its worktree exists. Its changed
files are those of its commits against its base branch (``git diff --name-only <base>...HEAD``)
plus its uncommitted work (``git status --porcelain``), without the files Argus generated in the
worktree (a ``.mcp.json``). Two live tasks of the same project conflict when those sets meet.

Nothing is computed on the request path: a background job keeps the changed files of every live
task in memory, re-reading a task's after its events (created, idle, merged, forked, its status,
session or archive flag changed) and every task's on a slow timer (commits made by hand). The Task
JSON reads the cached answer as ``conflicts_with: [task ids]`` (``argus_task_fields``), and a
task whose mark changes is re-published as ``task.updated`` so clients redraw it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Event, hookimpl

from . import merge

if TYPE_CHECKING:  # pragma: no cover
    from .service import TaskService

log = logging.getLogger(__name__)

REFRESH_EVERY = 60.0  # seconds between full rescans (commits made outside Argus's events)
DEBOUNCE = 0.2  # seconds to gather a burst of events into one rescan
# The first full scan (a few git processes per live task) waits this long after start-up, so a
# daemon restart with many sessions re-attaches and serves its clients first; events queued
# meanwhile are covered by that scan.
FIRST_SCAN_DELAY = 5.0
QUEUE = 512
# Events after which the task named in them may have changed files (or stopped being live).
_TASK_EVENTS = {"task.created": "task", "task.idle": "id", "task.merge": "id", "task.forked": "id",
                "task.deleted": "id"}


def is_live(row: dict[str, Any]) -> bool:
    """Whether a task row takes part in the mark: not archived, not complete, with a worktree."""
    return (not row.get("archived") and row.get("status") != "complete"
            and bool(row.get("worktree_path")) and os.path.isdir(str(row["worktree_path"])))


def generated_files(row: dict[str, Any]) -> set[str]:
    """The files Argus generated in the task's worktree (recorded in its meta), relative to it."""
    try:
        meta = json.loads(row.get("meta") or "{}")
    except ValueError:
        return set()
    worktree = str(row.get("worktree_path") or "")
    listed = meta.get("generated", []) if isinstance(meta, dict) else []
    return {os.path.relpath(p, worktree) for p in listed if isinstance(p, str) and worktree}


def overlaps(files: dict[str, frozenset[str]], project_of: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """For each task in ``files``, the other tasks of its project whose files meet its own (sorted)."""
    out: dict[str, tuple[str, ...]] = {}
    ids = sorted(files)
    for tid in ids:
        mine = files[tid]
        out[tid] = tuple(other for other in ids if other != tid and mine
                         and project_of.get(other) == project_of.get(tid) and not mine.isdisjoint(files[other]))
    return out


class OverlapIndex:
    """The cached changed files and marks of one kernel's live tasks (a per-kernel pluggy plugin)."""

    def __init__(self, svc: TaskService, interval: float = REFRESH_EVERY,
                 first_scan_delay: float = FIRST_SCAN_DELAY) -> None:
        self.svc = svc
        self.interval = interval
        self.first_scan_delay = first_scan_delay
        self.files: dict[str, frozenset[str]] = {}
        self.marks: dict[str, tuple[str, ...]] = {}
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._send, self._receive = trio.open_memory_channel[str | None](QUEUE)

    # -- what triggers a rescan ----------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Bus listener (quick): queue the task an event names when its changed files may differ."""
        key = _TASK_EVENTS.get(event.type)
        task_id: Any = None
        if key == "task":
            task_id = (event.data.get("task") or {}).get("id")
        elif key is not None:
            task_id = event.data.get(key)
        elif event.type == "task.updated":
            task = event.data.get("task") or {}
            task_id = task.get("id")
            # Only what changes liveness or the agent's turn; this index's own re-publications
            # (the mark alone changed) are skipped, so they never loop.
            state = (task.get("archived"), task.get("status"), task.get("running"), task.get("session_id"))
            if self._seen.get(str(task_id)) == state:
                return
            self._seen[str(task_id)] = state
        if event.type == "task.deleted":
            self._seen.pop(str(task_id), None)
        if isinstance(task_id, str):
            self.queue(task_id)

    def queue(self, task_id: str | None) -> None:
        """Ask for a rescan of ``task_id`` (None: every task); dropped when the queue is full."""
        try:
            self._send.send_nowait(task_id)
        except trio.WouldBlock:
            pass

    async def worker(self) -> None:
        """Background job: a first full scan (after ``first_scan_delay``), then rescans on queued
        events and on the timer."""
        await trio.sleep(self.first_scan_delay)
        while True:  # what was queued meanwhile is part of the full scan
            try:
                self._receive.receive_nowait()
            except trio.WouldBlock:
                break
        await self._scan(None)
        while True:
            pending: set[str | None] = set()
            with trio.move_on_after(self.interval):
                pending.add(await self._receive.receive())
            if not pending:
                await self._scan(None)
                continue
            await trio.sleep(DEBOUNCE)
            while True:
                try:
                    pending.add(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            await self._scan(None if None in pending else {p for p in pending if p is not None})

    async def _scan(self, task_ids: set[str] | None) -> None:
        """:meth:`refresh`, logging a failure instead of ending the background job."""
        try:
            await self.refresh(task_ids)
        except Exception:
            log.exception("the conflicts-with scan failed")

    # -- the scan --------------------------------------------------------------------------------

    async def changed_files(self, row: dict[str, Any]) -> frozenset[str]:
        """The task's changed files against its base (commits and uncommitted work), without the
        files Argus generated in its worktree; empty when git cannot tell."""
        worktree = str(row["worktree_path"])
        try:
            files = await merge.changed_files(worktree, str(row["base_branch"]))
        except Exception as exc:  # a worktree removed mid-scan, a broken checkout
            log.debug("changed files of %s: %s", row.get("id"), exc)
            return frozenset()
        return frozenset(files - generated_files(row))

    async def refresh(self, task_ids: Iterable[str] | None) -> None:
        """Re-read the changed files of ``task_ids`` (None: every live task), recompute the marks,
        and re-publish the tasks whose mark changed."""
        wanted = None if task_ids is None else set(task_ids)
        # Hidden tasks (e.g. a hera team's workers) are part of the task that shows them, not rivals.
        rows = {r["id"]: r for r in self.svc.store.tasks(archived="all") if is_live(r) and self.svc.view.visible(r)}
        for tid, row in rows.items():
            if wanted is None or tid in wanted or tid not in self.files:
                self.files[tid] = await self.changed_files(row)
        self.files = {tid: f for tid, f in self.files.items() if tid in rows}
        marks = overlaps(self.files, {tid: str(r["project"]) for tid, r in rows.items()})
        before, self.marks = self.marks, {tid: m for tid, m in marks.items() if m}
        for tid in set(before) | set(self.marks):
            if before.get(tid, ()) != self.marks.get(tid, ()):
                self.svc.changed(tid)  # no-op for a deleted task

    # -- the Task JSON ---------------------------------------------------------------------------

    def conflicts_with(self, task_id: str) -> list[str]:
        """The live tasks whose changed files overlap this one's (cached; empty when none)."""
        return list(self.marks.get(task_id, ()))

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """``conflicts_with``: ids of other live tasks of the project changing the same files."""
        return {"conflicts_with": self.conflicts_with(str(task.get("id")))}
