"""The lifecycle of existing tasks: stop, resume, restart, switch conversation, start a held task,
delete; and the flags a user sets (archived, pinned, name, status).

Statuses move pending → in_progress → in_review → complete; a stop moves a task at work to
in_review (``session_events.py`` reads the exits). Each operation holds the task's lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Conflict, Invalid, NotFound, utcnow

from . import claude_sessions, worktrees
from .backends import Backends
from .coordination import EndIntents, TaskLocks
from .launcher import Launcher
from .projects import Projects
from .slug import check_name
from .store import STATUSES, Store
from .view import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session, TokenService
    from pluggy import HookRelay

log = logging.getLogger(__name__)


class Lifecycle:
    """Operations on existing tasks and their agents."""

    def __init__(self, *, store: Store, view: TaskView, projects: Projects, backends: Backends,
                 launcher: Launcher, locks: TaskLocks, intents: EndIntents, hook: HookRelay, tokens: TokenService,
                 publish: Callable[[str, dict[str, Any]], None]) -> None:
        """``tokens`` revokes a deleted task's tokens; ``hook`` calls ``argus_task_deleted``."""
        self.store = store
        self.view = view
        self.projects = projects
        self.backends = backends
        self.launcher = launcher
        self.locks = locks
        self.intents = intents
        self.hook = hook
        self.tokens = tokens
        self.publish = publish

    async def _terminate(self, session: Session, **kwargs: Any) -> None:
        """End a live session on purpose (its exit does not complete the task)."""
        self.intents.stopping.add(session.id)
        await session.terminate(**kwargs)

    # -- agents ----------------------------------------------------------------------------

    async def stop(self, task_id: str) -> dict[str, Any]:
        """Stop the agent (SIGHUP → TERM → KILL); a task at work moves to in_review, a complete one stays."""
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            session = self.view.live_session(row)
            # Only a task still at work (or waiting for its usage limit) goes to review; a complete (or
            # already reviewed) one keeps its status.
            status = "in_review" if row["status"] in ("in_progress", "pending", "limit") else row["status"]
            if session is None:
                if row["status"] in ("in_progress", "limit"):
                    self.store.update_task(task_id, status=status, ended_at=utcnow())
                    self.view.changed(task_id)
                return self.view.get(task_id)
            await self._terminate(session)
            ended = (row["ended_at"] or utcnow()) if status == "complete" else utcnow()
            self.store.update_task(task_id, status=status, ended_at=ended)
            self.view.changed(task_id)
            return self.view.get(task_id)

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Re-spawn a stopped agent, resuming its conversation (in_review → in_progress)."""
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            if self.view.live_session(row) is not None:
                raise Conflict("the agent is already running")
            if row["archived"]:
                raise Conflict("unarchive the task before resuming it")
            never_started = row["session_id"] is None
            hold = self.launcher.hold_reason(row) if never_started else None
            if hold:
                raise Conflict(f"the task is held back: {hold}")
            await self.launcher.spawn(row, resume=not never_started and self.launcher.resumable(row))
            return self.view.get(task_id)

    async def restart(self, task_id: str) -> dict[str, Any]:
        """Re-spawn the session in the same worktree (killing a live one first)."""
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            session = self.view.live_session(row)
            if session is not None:
                await self._terminate(session)
            resume = row["session_id"] is not None and self.launcher.resumable(row)
            await self.launcher.spawn(self.view.get(task_id), resume=resume)
            return self.view.get(task_id)

    async def switch_claude_session(self, task_id: str, session_id: str) -> dict[str, Any]:
        """Resume another of the worktree's Claude conversations: stop the agent, remember the id,
        start the backend's resume command with it (kinds with ``conversations`` only)."""
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            if not self.backends.kind_of(self.backends.get(row["backend"])).conversations:
                raise Invalid("only Claude backends have sessions to switch between")
            if row["archived"]:
                raise Conflict("unarchive the task before resuming it")
            claude_sessions.check_session(row["worktree_path"], session_id)
            session = self.view.live_session(row)
            if session is not None:
                await self._terminate(session)
            self.store.update_task(task_id, agent_session_id=session_id)
            await self.launcher.spawn(self.view.get(task_id), resume=True)
            return self.view.get(task_id)

    async def start_pending(self, task_id: str) -> None:
        """Start a task that was held back (its dependencies are now complete)."""
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            if row["status"] != "pending" or self.view.live_session(row) is not None:
                return
            await self.launcher.spawn(row, resume=False)

    async def stop_all(self) -> list[str]:
        """Stop every running session."""
        stopped = []
        for row in self.store.tasks(archived="all"):
            if self.view.live_session(row) is not None:
                await self.stop(row["id"])
                stopped.append(row["id"])
        return stopped

    # -- deletion --------------------------------------------------------------------------

    async def repo_of(self, row: dict[str, Any]) -> str | None:
        """The task's repository: its project's path, else found from the worktree itself
        (the project may have been removed from config.toml); None when neither exists."""
        try:
            return str(self.projects.get(row["project"])["path"])
        except NotFound:
            pass
        if os.path.isdir(row["worktree_path"]):
            res = await worktrees.git(row["worktree_path"], "rev-parse", "--path-format=absolute",
                                      "--git-common-dir")
            if res.ok and res.stdout.strip():
                return os.path.dirname(res.stdout.strip().rstrip("/"))
        return None

    async def delete(self, task_id: str, *, force: bool) -> None:
        """Kill the agent, remove worktree and branch (409 on unsaved work unless force)."""
        async with self.locks.hold(task_id):
            await self._delete(task_id, force=force)

    async def _delete(self, task_id: str, *, force: bool) -> None:
        row = self.view.get(task_id)
        before = self.view.to_json(row)
        repo = await self.repo_of(row)
        meta = json.loads(row["meta"] or "{}")
        run_dir = self.launcher.run_dir(task_id)
        # Files Argus generated in the worktree (a .mcp.json) are not the user's work: set them
        # aside for the check, and put them back if the delete is refused.
        aside = run_dir / "generated-aside"
        moved: list[tuple[str, Path]] = []
        for i, path in enumerate(meta.get("generated", [])):
            if os.path.exists(path):
                aside.mkdir(parents=True, exist_ok=True)
                target = aside / f"{i}-{os.path.basename(path)}"
                os.replace(path, target)
                moved.append((path, target))
        if not force and repo is not None:
            reason = await worktrees.worktree_dirty(repo, row["worktree_path"], row["branch"],
                                                    row["base_branch"])
            if reason:
                for original, target in moved:
                    os.replace(target, original)
                raise Conflict(f"task {row['name']!r} has unsaved work ({reason}); pass ?force=1 to delete anyway",
                               reason=reason)
        session = self.view.live_session(row)
        if session is not None:
            await self._terminate(session, grace=2.0)
        if repo is not None:
            await worktrees.remove_worktree(repo, row["worktree_path"], row["branch"], force=True,
                                            base_branch=row["base_branch"])
        shutil.rmtree(run_dir, ignore_errors=True)
        self.tokens.revoke_task(task_id)
        for sid in {*meta.get("sessions", []), *([row["session_id"]] if row["session_id"] else [])}:
            await self.launcher.forget(sid)
            self.launcher.remove_log(sid)
        self.store.delete_task(task_id)
        self.publish("task.deleted", {"id": task_id})
        self.hook.argus_task_deleted(task=before)

    async def prune_completed(self) -> dict[str, Any]:
        """Delete completed tasks whose worktrees hold no unsaved work; report the skipped ones."""
        deleted, skipped = [], []
        for row in self.store.tasks(status="complete", archived="all"):
            try:
                await self.delete(row["id"], force=False)
                deleted.append(row["id"])
            except Conflict as exc:
                skipped.append({"id": row["id"], "reason": exc.extra.get("reason", exc.message)})
            except NotFound:
                continue
        for proj in self.projects.all():
            try:
                await worktrees.prune_worktrees(proj["path"])
            except Exception:
                log.debug("worktree prune failed for %s", proj["name"], exc_info=True)
        return {"deleted": deleted, "skipped": skipped}

    # -- flags -----------------------------------------------------------------------------

    def _update(self, task_id: str, **fields: Any) -> dict[str, Any]:
        self.store.update_task(task_id, **fields)
        self.view.changed(task_id)
        return self.view.get(task_id)

    def set_archived(self, task_id: str, archived: bool | None) -> dict[str, Any]:
        """Archive/unarchive (None toggles)."""
        row = self.view.get(task_id)
        return self._update(task_id, archived=int((not row["archived"]) if archived is None else bool(archived)))

    def set_pinned(self, task_id: str, pinned: bool | None) -> dict[str, Any]:
        """Pin/unpin (None toggles)."""
        row = self.view.get(task_id)
        return self._update(task_id, pinned=int((not row["pinned"]) if pinned is None else bool(pinned)))

    def rename(self, task_id: str, name: Any) -> dict[str, Any]:
        """Change the display name only (slug, branch and worktree stay)."""
        self.view.get(task_id)
        return self._update(task_id, name=check_name(name))

    def set_status(self, task_id: str, status: Any) -> dict[str, Any]:
        """Set the status directly (the TUI's s/S, the PWA's status menu)."""
        row = self.view.get(task_id)
        if status not in STATUSES or status == "limit":  # limit: only usage-limit detection sets it
            raise Invalid(f"status must be one of {', '.join(s for s in STATUSES if s != 'limit')}")
        fields: dict[str, Any] = {"status": status}
        if status == "complete":
            fields["ended_at"] = row["ended_at"] or utcnow()
        return self._update(task_id, **fields)
