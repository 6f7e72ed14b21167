"""Schedules: their table, their CRUD, and the one trio task that fires them.

Firing is two short transactions around the task creation. The first *claims* the fire: it
advances ``next_run_at`` (or disables a one-shot), stamps ``last_run_at`` and records the planned
task name in ``fire_name``. The second records ``last_task_id`` (or ``last_error``) and clears the
claim. A daemon killed between the two finds the claim at its next start and looks for the task by
its planned name: found, the bookkeeping is completed; not found, the task is created then. So a
kill -9 at any point of a fire yields exactly one task, never two.
"""

from __future__ import annotations

import builtins  # the class has a list() method: annotations after it say builtins.list
import logging
import os
import secrets
import signal
from datetime import UTC, datetime, tzinfo
from typing import Any

import trio
from argus.kernel.api import ArgusError, Database, Invalid, Kernel, Migration, NotFound, utcnow
from argus.plugins.tasks.api import CreateTask, tasks_of

from . import expr
from .models import ScheduleFields

log = logging.getLogger(__name__)

MIGRATIONS = [Migration("scheduler", 1, """
CREATE TABLE IF NOT EXISTS schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    schedule TEXT,
    run_once_at TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    next_run_at TEXT,
    last_run_at TEXT,
    last_task_id TEXT,
    last_error TEXT,
    fire_name TEXT,
    fire_at TEXT,
    fire_manual INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (enabled, next_run_at);
""")]

COLUMNS = ("id", "name", "project", "prompt", "backend", "schedule", "run_once_at", "enabled", "next_run_at",
           "last_run_at", "last_task_id", "last_error", "created_at", "updated_at")
MAX_SLEEP = 300.0  # re-read the wall clock at least this often (host suspend, clock changes)
FAULT_ENV = "ARGUS_SCHEDULER_FAULT"  # test-only: "claimed" or "created" kills the daemon at that step


def _fault(step: str) -> None:
    """Test-only crash injection: SIGKILL this process at ``step`` when ARGUS_SCHEDULER_FAULT names it."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _dt(value: str | None) -> datetime | None:
    return expr.parse_time(value) if value else None


class Scheduler:
    """Schedules of one kernel: CRUD, run-now, and the firing loop (``run``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.db: Database = kernel.db
        self._wake = trio.Event()

    # -- helpers ---------------------------------------------------------------------------

    def tz(self) -> tzinfo:
        """The zone cron expressions are evaluated in (``scheduler.time_zone``, default the host's)."""
        try:
            name = str(self.kernel.settings.get("scheduler", "time_zone") or "")
        except ArgusError:
            name = ""
        try:
            return expr.zone(name)
        except Invalid:
            log.warning("unknown scheduler.time_zone %r; using the host's zone", name)
            return expr.host_zone()

    def wake(self) -> None:
        """Make the loop re-read the earliest ``next_run_at`` (after any change)."""
        self._wake.set()

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        self.kernel.events.publish(type_, data)

    def to_json(self, row: dict[str, Any]) -> dict[str, Any]:
        """The schedule as clients see it."""
        out = {k: row[k] for k in COLUMNS}
        out["enabled"] = bool(row["enabled"])
        out["kind"] = "once" if row["run_once_at"] else "cron"
        return out

    def row(self, schedule_id: Any) -> dict[str, Any]:
        """The row, or NotFound."""
        row = self.db.one("SELECT * FROM schedules WHERE id = ?", (schedule_id,)) \
            if isinstance(schedule_id, str) else None
        if row is None:
            raise NotFound(f"no schedule {schedule_id!r}")
        return row

    def get(self, schedule_id: Any) -> dict[str, Any]:
        """One schedule as JSON."""
        return self.to_json(self.row(schedule_id))

    def list(self) -> list[dict[str, Any]]:
        """Every schedule, oldest first."""
        return [self.to_json(r) for r in self.db.query("SELECT * FROM schedules ORDER BY created_at, id")]

    def _next_run(self, schedule: str | None, run_once_at: str | None, enabled: bool,
                  after: datetime | None = None) -> str | None:
        if not enabled:
            return None
        if run_once_at:
            return run_once_at
        assert schedule
        return expr.fmt(expr.next_after(schedule, after or _now(), self.tz()))

    def _check_project(self, name: str) -> None:
        try:
            known = {p.get("name") for p in tasks_of(self.kernel).projects()}
        except ArgusError:
            return
        if name not in known:
            raise Invalid(f"unknown project {name!r}")

    @staticmethod
    def _text(value: str | None, field: str, *, required: bool) -> str | None:
        if value is None:
            if required:
                raise Invalid(f"{field} is required")
            return None
        value = value.strip() if field != "prompt" else value
        if required and not value.strip():
            raise Invalid(f"{field} must not be empty")
        return value

    # -- CRUD ------------------------------------------------------------------------------

    def create(self, fields: ScheduleFields) -> dict[str, Any]:
        """Create a schedule (exactly one of ``schedule`` / ``run_once_at``)."""
        name = self._text(fields.name, "name", required=True)
        project = self._text(fields.project, "project", required=True)
        prompt = self._text(fields.prompt, "prompt", required=True)
        assert name is not None and project is not None and prompt is not None
        if (fields.schedule is None) == (fields.run_once_at is None):
            raise Invalid("give exactly one of schedule (cron, @daily, @every 30m) or run_once_at (RFC3339 UTC)")
        schedule = expr.validate(fields.schedule) if fields.schedule is not None else None
        once = expr.fmt(expr.parse_time(fields.run_once_at)) if fields.run_once_at is not None else None
        self._check_project(project)
        enabled = True if fields.enabled is None else fields.enabled
        now = utcnow()
        sid = "s_" + secrets.token_hex(4)
        self.db.execute(
            "INSERT INTO schedules (id, name, project, prompt, backend, schedule, run_once_at, enabled,"
            " next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sid, name, project, prompt, (fields.backend or "").strip(), schedule, once, int(enabled),
             self._next_run(schedule, once, enabled), now, now))
        out = self.get(sid)
        self.publish("schedule.created", {"schedule": out})
        self.wake()
        return out

    def update(self, schedule_id: Any, fields: ScheduleFields) -> dict[str, Any]:
        """Partial update; setting ``schedule`` clears ``run_once_at`` and vice versa."""
        row = self.row(schedule_id)
        if fields.schedule is not None and fields.run_once_at is not None:
            raise Invalid("give only one of schedule or run_once_at")
        changes: dict[str, Any] = {}
        for key in ("name", "project", "prompt"):
            value = self._text(getattr(fields, key), key, required=False)
            if value is not None:
                if not value.strip():
                    raise Invalid(f"{key} must not be empty")
                changes[key] = value
        if "project" in changes and changes["project"] != row["project"]:
            self._check_project(changes["project"])
        if fields.backend is not None:
            changes["backend"] = fields.backend.strip()
        if fields.schedule is not None:
            changes["schedule"] = expr.validate(fields.schedule)
            changes["run_once_at"] = None
        if fields.run_once_at is not None:
            changes["run_once_at"] = expr.fmt(expr.parse_time(fields.run_once_at))
            changes["schedule"] = None
        if fields.enabled is not None:
            changes["enabled"] = int(fields.enabled)
        timing = {"schedule", "run_once_at"} & set(changes) or \
            ("enabled" in changes and bool(changes["enabled"]) != bool(row["enabled"]))
        if timing:
            merged = {**row, **changes}
            changes["next_run_at"] = self._next_run(merged["schedule"], merged["run_once_at"],
                                                    bool(merged["enabled"]))
        if changes:
            changes["updated_at"] = utcnow()
            sets = ", ".join(f"{k} = ?" for k in changes)
            self.db.execute(f"UPDATE schedules SET {sets} WHERE id = ?", (*changes.values(), row["id"]))
        out = self.get(row["id"])
        self.publish("schedule.updated", {"schedule": out})
        self.wake()
        return out

    def delete(self, schedule_id: Any) -> None:
        """Remove a schedule; tasks it created stay."""
        row = self.row(schedule_id)
        self.db.execute("DELETE FROM schedules WHERE id = ?", (row["id"],))
        self.publish("schedule.deleted", {"id": row["id"], "name": row["name"]})
        self.wake()

    def retime(self) -> None:
        """Recompute every enabled cron schedule's next fire (after a time zone change)."""
        now = _now()
        for row in self.db.query("SELECT * FROM schedules WHERE enabled = 1 AND schedule IS NOT NULL"):
            nxt = self._next_run(row["schedule"], None, True, now)
            self.db.execute("UPDATE schedules SET next_run_at = ? WHERE id = ?", (nxt, row["id"]))
        self.wake()

    def preview(self, schedule: Any, count: int = 3) -> builtins.list[str]:
        """The next ``count`` fire times of an expression (RFC3339 UTC), or Invalid quoting it."""
        text = expr.validate(schedule)
        return [expr.fmt(t) or "" for t in expr.upcoming(text, _now(), self.tz(), count)]

    # -- firing ----------------------------------------------------------------------------

    async def run_now(self, schedule_id: Any) -> dict[str, Any]:
        """Fire out of cycle; the next regular fire is computed from now (no double fire)."""
        row = self.row(schedule_id)
        return await self._fire(row, manual=True)

    def _claim(self, row: dict[str, Any], *, manual: bool) -> dict[str, Any]:
        """Transaction 1: advance the schedule and record the planned task name."""
        now = _now()
        local = now.astimezone(self.tz())
        fire_name = f"{row['name']} {local:%Y-%m-%d %H:%M}"
        with self.db.transaction():
            fresh = self.db.one("SELECT * FROM schedules WHERE id = ?", (row["id"],))
            if fresh is None:
                raise NotFound(f"no schedule {row['id']!r}")
            one_shot = bool(fresh["run_once_at"])
            enabled = bool(fresh["enabled"]) and not one_shot
            nxt = self._next_run(fresh["schedule"], None, enabled, now) if enabled else None
            self.db.execute(
                "UPDATE schedules SET fire_name = ?, fire_at = ?, fire_manual = ?, last_run_at = ?,"
                " next_run_at = ?, enabled = ?, updated_at = ? WHERE id = ?",
                (fire_name, expr.fmt(now), int(manual), expr.fmt(now), nxt, int(enabled), utcnow(), row["id"]))
            claimed = self.db.one("SELECT * FROM schedules WHERE id = ?", (row["id"],))
        assert claimed is not None
        return claimed

    async def _fire(self, row: dict[str, Any], *, manual: bool) -> dict[str, Any]:
        """Claim, create the task, record the result. Returns the task JSON (raises on failure)."""
        claimed = self._claim(row, manual=manual)
        _fault("claimed")
        self.wake()
        return await self._create(claimed)

    async def _create(self, row: dict[str, Any]) -> dict[str, Any]:
        """Create the claimed fire's task and record it (transaction 2)."""
        manual = bool(row["fire_manual"])
        spec = CreateTask(prompt=row["prompt"], name=row["fire_name"], project=row["project"],
                          backend=row["backend"] or None, extra={"schedule_id": row["id"]})
        try:
            task = await tasks_of(self.kernel).create(spec)
        except Exception as exc:
            message = exc.message if isinstance(exc, ArgusError) else f"{type(exc).__name__}: {exc}"
            self.db.execute("UPDATE schedules SET last_error = ?, fire_name = NULL, fire_at = NULL,"
                            " updated_at = ? WHERE id = ?", (message, utcnow(), row["id"]))
            log.warning("schedule %s (%s) failed to fire: %s", row["id"], row["name"], message)
            self.publish("schedule.failed", {"id": row["id"], "name": row["name"], "error": message,
                                             "manual": manual})
            self.publish("schedule.updated", {"schedule": self.get(row["id"])})
            raise
        _fault("created")
        self._record(row, task["id"])
        self.publish("schedule.fired", {"id": row["id"], "name": row["name"], "task_id": task["id"],
                                        "task_name": task.get("name"), "project": row["project"],
                                        "manual": manual})
        self.publish("schedule.updated", {"schedule": self.get(row["id"])})
        return task

    def _record(self, row: dict[str, Any], task_id: str) -> None:
        self.db.execute("UPDATE schedules SET last_task_id = ?, last_error = NULL, fire_name = NULL,"
                        " fire_at = NULL, updated_at = ? WHERE id = ?", (task_id, utcnow(), row["id"]))

    async def recover(self) -> None:
        """Finish fires a killed daemon left claimed: record the task if it exists, else create it."""
        for row in self.db.query("SELECT * FROM schedules WHERE fire_name IS NOT NULL"):
            try:
                made = [t for t in tasks_of(self.kernel).list(project=row["project"], include_hidden=True)
                        if t.get("name") == row["fire_name"] and (t.get("created_at") or "") >= row["fire_at"]]
            except ArgusError:
                made = []
            if made:
                log.info("schedule %s: recorded task %s of an interrupted fire", row["id"], made[0]["id"])
                self._record(row, made[0]["id"])
                continue
            log.info("schedule %s: completing an interrupted fire", row["id"])
            try:
                await self._create(row)
            except Exception:  # recorded in last_error
                pass

    def _unstick(self, row: dict[str, Any]) -> None:
        """A fire that failed before it could advance the schedule disables it (no busy loop)."""
        fresh = self.db.one("SELECT next_run_at, enabled FROM schedules WHERE id = ?", (row["id"],))
        if fresh and fresh["enabled"] and fresh["next_run_at"] == row["next_run_at"]:
            self.db.execute("UPDATE schedules SET enabled = 0, next_run_at = NULL, last_error = ? WHERE id = ?",
                            ("disabled: the schedule could not be advanced", row["id"]))

    def _due(self, now: datetime) -> builtins.list[dict[str, Any]]:
        return self.db.query("SELECT * FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL"
                             " AND next_run_at <= ? ORDER BY next_run_at, id", (expr.fmt(now),))

    def _earliest(self) -> datetime | None:
        value = self.db.scalar("SELECT MIN(next_run_at) FROM schedules WHERE enabled = 1")
        return _dt(value)

    async def run(self) -> None:
        """The firing loop: sleep until the earliest ``next_run_at`` or a change, fire what is due.

        A schedule missed while the daemon was down is due once: its fire moves ``next_run_at``
        past now, so the missed slots are not replayed.
        """
        await self.recover()
        while True:
            self._wake = trio.Event()
            now = _now()
            for row in self._due(now):
                try:
                    await self._fire(row, manual=False)
                except Exception:  # recorded in last_error, logged
                    log.debug("fire of %s failed", row["id"], exc_info=True)
                    self._unstick(row)
            if self._due(_now()):
                continue
            earliest = self._earliest()
            if earliest is None:
                await self._wake.wait()
                continue
            delay = (earliest - datetime.now(UTC)).total_seconds()
            with trio.move_on_after(min(max(delay, 0.0), MAX_SLEEP)):
                await self._wake.wait()
