"""scheduler plugin: scheduled tasks (5-field cron, ``@daily``, ``@every 30m``, one-shot ``run_once_at``).

Each fire creates a fresh task through the tasks plugin. Surfaces: ``/api/schedules`` (REST),
``schedule_*`` (MCP tools), ``schedule.*`` events. See docs/scheduler.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from argus.kernel.api import BackgroundJob, Field, Kernel, Migration, SettingsSection, StashKey, hookimpl
from pydantic import BaseModel

from . import tools
from .models import ScheduleTaskField
from .routes import make_routes
from .service import MIGRATIONS, Scheduler

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

SCHEDULER = StashKey[Scheduler]()


class KernelHooks:
    """The hooks of one kernel's scheduler that receive no kernel (registered as ``scheduler.kernel``),
    so two daemons in one process keep their own schedules."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    @hookimpl
    def argus_event(self, event: Event) -> None:
        """A changed ``scheduler.time_zone`` re-times every cron schedule."""
        if event.type == "settings.updated" and event.data.get("section") == "scheduler":
            self.scheduler.retime()

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """A task a schedule started carries ``"schedule": {"id", "name"}`` (name None once deleted)."""
        extra = task.get("extra")
        sid = extra.get("schedule_id") if isinstance(extra, dict) else None
        if not isinstance(sid, str):
            return None
        row = self.scheduler.db.one("SELECT name FROM schedules WHERE id = ?", (sid,))
        return {"schedule": {"id": sid, "name": row["name"] if row else None}}


@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """The ``schedules`` table."""
    return MIGRATIONS


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """``[scheduler]``: the time zone cron expressions are evaluated in."""
    return [SettingsSection("scheduler", "Scheduler", [
        Field("time_zone", "string", "", "Time zone",
              "IANA zone for cron expressions (e.g. Europe/Paris); empty = the host's"),
    ])]


@hookimpl(optionalhook=True)
def argus_task_field_models() -> Mapping[str, type[BaseModel]]:
    """The ``schedule`` key of the Task JSON (a hook of the tasks plugin)."""
    return {"schedule": ScheduleTaskField}


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Routes and MCP tools; the scheduler in ``kernel.stash[SCHEDULER]``, its hooks on this kernel's manager."""
    scheduler = Scheduler(kernel)
    kernel.stash[SCHEDULER] = scheduler
    kernel.pm.register(KernelHooks(scheduler), name="scheduler.kernel")
    kernel.http.add_routes("scheduler", make_routes(scheduler))
    tools.register(kernel, scheduler)


@hookimpl
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """The firing loop."""
    scheduler = kernel.stash.get(SCHEDULER, None)
    return [scheduler.run] if scheduler is not None else []
