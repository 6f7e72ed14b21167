"""Resume when a usage limit resets: the ``limit`` status and its planned one-shot resume.

The idle detector matches the agent kind's :class:`~argus.plugins.tasks.limits.UsageLimit` on the
screen it already inspects (at output quiet, on output that arrived since its last report). A match
with a reset time marks the task ``limit``, stores a plan (``task_limit_resumes``: the reset, the
resume time = reset + ``[limits] resume_margin``) and publishes ``task.limit``.

One trio task sleeps until the earliest planned resume (woken when plans change; the plans are in
the database, so a daemon restart keeps them). At that time Argus types ``[limits]
continue_message`` into the agent if it still runs, or resumes the agent's conversation first (its
kind's resume rule) and types it once the agent waits for input; the task is ``in_progress`` again
(``task.limit_resumed``). Cancelling the plan (``DELETE /api/tasks/{id}/limit-resume``, the MCP
tool ``task_limit_cancel``), stopping the task, setting its status by hand or deleting it drops the
plan (``task.limit_cancelled``).
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Database, Field, NotFound, SettingsSection

if TYPE_CHECKING:  # pragma: no cover
    from .service import TaskService

log = logging.getLogger(__name__)

MAX_SLEEP = 300.0  # re-read the wall clock at least this often (host suspend, clock changes)
READY_WAIT = 60.0  # seconds a resumed agent gets to show its prompt before the message is typed anyway
READY_POLL = 0.2
REPEAT_GUARD = 600.0  # the message a resume answered, seen again this soon after, is the old one redrawn
DEFAULT_MARGIN = 60
DEFAULT_MESSAGE = "continue"

SETTINGS = SettingsSection("limits", "Usage limits", [
    Field("continue_message", "string", DEFAULT_MESSAGE, "Continue message",
          "Typed into an agent once its usage limit has reset"),
    Field("resume_margin", "int", DEFAULT_MARGIN, "Resume margin (seconds)",
          "How long after the announced reset time Argus resumes the agent", min=0, max=3600),
])


def _fmt(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class LimitResumes:
    """The usage-limit plans of one TaskService: detection callback, cancel, and the firing loop."""

    def __init__(self, svc: TaskService) -> None:
        self.svc = svc
        self._wake = trio.Event()
        self._fired: dict[str, tuple[str, float]] = {}  # task id → (message answered, trio time)

    @property
    def db(self) -> Database:
        """The kernel's database."""
        return self.svc.kernel.db

    # -- settings and reads ----------------------------------------------------------------

    def margin(self) -> int:
        """Seconds after the reset before the resume (``[limits] resume_margin``)."""
        try:
            return max(0, int(self.svc.kernel.settings.get("limits", "resume_margin")))
        except (NotFound, TypeError, ValueError):
            return DEFAULT_MARGIN

    def message(self) -> str:
        """The text typed into the agent (``[limits] continue_message``)."""
        try:
            text = str(self.svc.kernel.settings.get("limits", "continue_message"))
        except NotFound:
            text = ""
        return " ".join(text.split()) or DEFAULT_MESSAGE

    def plan(self, task_id: str) -> dict[str, Any] | None:
        """The planned resume of a task, or None."""
        return self.db.one("SELECT task_id, resets_at, resume_at, message, created_at FROM task_limit_resumes"
                           " WHERE task_id = ?", (task_id,))

    def fields(self, task_id: str) -> dict[str, Any]:
        """The Task JSON keys: ``limit_resets_at`` and ``limit_resume_at`` (null without a plan)."""
        plan = self.plan(task_id)
        return {"limit_resets_at": plan["resets_at"] if plan else None,
                "limit_resume_at": plan["resume_at"] if plan else None}

    def wake(self) -> None:
        """Make the loop re-read the earliest planned resume."""
        self._wake.set()

    # -- detection -------------------------------------------------------------------------

    def detected(self, session_id: str, reset_at: datetime, text: str) -> None:
        """The idle detector saw the usage-limit message ``text`` announcing ``reset_at``: plan the
        resume and mark the task ``limit`` (a working task only; a newer message re-plans)."""
        row = self.svc.store.task_by_session(session_id)
        if row is None or row["status"] not in ("in_progress", "limit"):
            return
        task_id = row["id"]
        answered = self._fired.get(task_id)
        if answered and answered[0] == text and trio.current_time() - answered[1] < REPEAT_GUARD:
            return
        now = datetime.now(UTC)
        resets = reset_at.astimezone(UTC)
        resume = max(resets, now) + timedelta(seconds=self.margin())
        self.db.execute(
            "INSERT INTO task_limit_resumes (task_id, resets_at, resume_at, message, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(task_id) DO UPDATE SET resets_at = excluded.resets_at, resume_at = excluded.resume_at,"
            " message = excluded.message, created_at = excluded.created_at",
            (task_id, _fmt(resets), _fmt(resume), text[:500], _fmt(now)))
        if row["status"] != "limit":
            self.svc.store.update_task(task_id, status="limit")
        log.info("task %s hit its usage limit; resuming at %s", task_id, _fmt(resume))
        self.svc.publish("task.limit", {"id": task_id, "resets_at": _fmt(resets), "resume_at": _fmt(resume),
                                        "message": text[:500]})
        self.svc.changed(task_id)
        self.wake()

    # -- cancel ----------------------------------------------------------------------------

    def _drop(self, task_id: str) -> bool:
        return bool(self.db.execute("DELETE FROM task_limit_resumes WHERE task_id = ?", (task_id,)).rowcount)

    def cancel(self, task_id: str) -> dict[str, Any]:
        """Cancel a task's planned resume (NotFound without one). A task still in ``limit`` goes back to
        ``in_progress`` while its agent runs (it waits for input), else to ``in_review``."""
        row = self.svc.get(task_id)
        if not self._drop(task_id):
            raise NotFound(f"task {task_id!r} has no planned limit resume")
        self.svc.publish("task.limit_cancelled", {"id": task_id, "reason": "cancelled"})
        if row["status"] == "limit":
            live = self.svc.live_session(row) is not None
            self.svc.store.update_task(task_id, status="in_progress" if live else "in_review")
        self.svc.changed(task_id)
        self.wake()
        return self.svc.get(task_id)

    def status_changed(self, task_id: str, old: str, new: str) -> None:
        """A task left ``limit`` (stopped, resumed or set by hand): its plan is dropped."""
        if old == "limit" and new != "limit" and self._drop(task_id):
            self.svc.publish("task.limit_cancelled", {"id": task_id, "reason": f"status {new}"})
            self.wake()

    # -- recovery and the loop -------------------------------------------------------------

    def recover(self) -> None:
        """At daemon start: watch the live agents of tasks in ``limit`` (their plans stay in the table)."""
        for row in self.svc.store.tasks(status="limit", archived="all"):
            session = self.svc.live_session(row)
            if session is not None:
                self.svc.watch(session, str(session.meta.get("kind") or "generic"))

    def _claim_due(self, now: datetime) -> list[dict[str, Any]]:
        """Remove and return the plans due at ``now`` (a plan fires once, even if its fire fails)."""
        with self.db.transaction():
            due = self.db.query("SELECT task_id, resets_at, resume_at, message FROM task_limit_resumes"
                                " WHERE resume_at <= ? ORDER BY resume_at", (_fmt(now),))
            for plan in due:
                self._drop(plan["task_id"])
        return due

    async def run(self) -> None:
        """Sleep until the earliest planned resume (or a change), start the due ones, repeat."""
        while True:
            self._wake = trio.Event()
            for plan in self._claim_due(datetime.now(UTC)):
                self.svc.kernel.spawn_background(functools.partial(self._fire, plan), f"limit:{plan['task_id']}")
            earliest = self.db.scalar("SELECT MIN(resume_at) FROM task_limit_resumes")
            if earliest is None:
                await self._wake.wait()
                continue
            delay = (_parse(earliest) - datetime.now(UTC)).total_seconds()
            with trio.move_on_after(min(max(delay, 0.0), MAX_SLEEP)):
                await self._wake.wait()

    async def _fire(self, plan: dict[str, Any]) -> None:
        """The limit has reset: type the continue message (resuming the agent first if it exited)."""
        task_id = plan["task_id"]
        row = self.svc.store.task(task_id)
        if row is None or row["status"] != "limit":
            return
        self._fired[task_id] = (plan["message"], trio.current_time())
        text = self.message()
        resumed = False
        try:
            if self.svc.live_session(row) is None:
                await self.svc.resume(task_id)  # the kind's resume rule; the task is in_progress again
                resumed = True
                await self._wait_ready(task_id)
            else:
                self.svc.store.update_task(task_id, status="in_progress")
            await self.svc.send_text(task_id, text)
        except Exception as exc:
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("could not resume task %s after its usage limit: %s", task_id, reason)
            fresh = self.svc.store.task(task_id)
            if fresh is not None and fresh["status"] in ("limit", "in_progress") \
                    and self.svc.live_session(fresh) is None:
                self.svc.store.update_task(task_id, status="in_review")
            self.svc.publish("task.limit_failed", {"id": task_id, "error": reason})
            self.svc.changed(task_id)
            return
        log.info("task %s resumed after its usage limit reset", task_id)
        self.svc.publish("task.limit_resumed", {"id": task_id, "resumed": resumed, "text": text})
        self.svc.changed(task_id)

    async def _wait_ready(self, task_id: str) -> None:
        """Wait (at most ``READY_WAIT``) until a freshly resumed agent waits for input."""
        with trio.move_on_after(READY_WAIT):
            while True:
                row = self.svc.store.task(task_id)
                if row is None:
                    raise NotFound(f"no task {task_id!r}")
                if self.svc.live_session(row) is not None and self.svc.is_idle(row):
                    return
                await trio.sleep(READY_POLL)
