"""Wire models of the scheduler's routes and tools (pydantic: types checked, unknown keys refused)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScheduleFields(BaseModel):
    """The writable fields of a schedule; every field optional (create checks what it needs)."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    name: str | None = None
    project: str | None = None
    prompt: str | None = None
    schedule: str | None = None
    run_once_at: str | None = None
    backend: str | None = None
    enabled: bool | None = None


class ScheduleCreate(ScheduleFields):
    """``schedule_create``: name, project and prompt are required."""

    name: str
    project: str
    prompt: str


class ScheduleUpdate(ScheduleFields):
    """``schedule_update``: the id plus the fields to change."""

    id: str


class NoArgs(BaseModel):
    """A tool without arguments."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class PreviewQuery(BaseModel):
    """``GET /api/schedules/preview?schedule=EXPR``."""
    model_config = ConfigDict(defer_build=True)

    schedule: str


class Out(BaseModel):
    """Base of the response models: a producer may add keys."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class Schedule(Out):
    """A schedule as clients see it (docs/scheduler.md)."""

    id: str
    name: str
    project: str
    prompt: str
    backend: str
    schedule: str | None
    run_once_at: str | None
    enabled: bool
    kind: str
    next_run_at: str | None
    last_run_at: str | None
    last_task_id: str | None
    last_error: str | None
    created_at: str
    updated_at: str


class ScheduleTaskField(Out):
    """The ``schedule`` object of a task a schedule started (absent on other tasks)."""

    id: str
    name: str | None = Field(description="null once the schedule was deleted")


class ScheduleReply(Out):
    """``{"schedule": {...}}``."""

    schedule: Schedule


class ScheduleList(Out):
    """``{"schedules": [...]}``."""

    schedules: list[Schedule]


class RunReply(Out):
    """``{"task_id": "t_..."}``."""

    task_id: str


class OkReply(Out):
    """``{"ok": true}``."""

    ok: bool


class PreviewReply(Out):
    """The next fire times, RFC3339 UTC."""

    next: list[str]


class ScheduleId(BaseModel):
    """A tool argument naming one schedule."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    id: str
