"""REST routes of the scheduler (the reference manual's ``/api/schedules`` table), declared with
their models (``models.py``): validated in, documented in ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Route

from . import models as m
from .service import Scheduler


def make_routes(sched: Scheduler) -> list[Route]:
    """Routes bound to one Scheduler."""

    async def list_schedules() -> dict[str, Any]:
        """Every schedule with next_run_at, last_run_at, last_task_id, last_error."""
        return {"schedules": sched.list()}

    async def create_schedule(body: m.ScheduleFields) -> tuple[dict[str, Any], int]:
        """Create a schedule: name, project, prompt, and exactly one of schedule / run_once_at."""
        return {"schedule": sched.create(body)}, 201

    async def preview(query: m.PreviewQuery) -> dict[str, Any]:
        """The next three fire times of an expression (for forms)."""
        return {"next": sched.preview(query.schedule)}

    async def get_schedule(schedule_id: str) -> dict[str, Any]:
        """One schedule."""
        return {"schedule": sched.get(schedule_id)}

    async def update_schedule(schedule_id: str, body: m.ScheduleFields) -> dict[str, Any]:
        """Partial update; setting schedule clears run_once_at and vice versa."""
        return {"schedule": sched.update(schedule_id, body)}

    async def delete_schedule(schedule_id: str) -> dict[str, Any]:
        """Remove a schedule; tasks it created stay."""
        sched.delete(schedule_id)
        return {"ok": True}

    async def run_schedule(schedule_id: str) -> dict[str, Any]:
        """Fire the schedule now; the next regular fire is computed from now."""
        task = await sched.run_now(schedule_id)
        return {"task_id": task["id"]}

    tags = ("schedules",)
    return [
        Route("GET", "/api/schedules", list_schedules, response=m.ScheduleList, tags=tags),
        Route("POST", "/api/schedules", create_schedule, body=m.ScheduleFields, response=m.ScheduleReply,
              status=201, tags=tags),
        Route("GET", "/api/schedules/preview", preview, query=m.PreviewQuery, response=m.PreviewReply, tags=tags),
        Route("GET", "/api/schedules/{schedule_id}", get_schedule, response=m.ScheduleReply, tags=tags),
        Route("PUT", "/api/schedules/{schedule_id}", update_schedule, body=m.ScheduleFields,
              response=m.ScheduleReply, tags=tags),
        Route("DELETE", "/api/schedules/{schedule_id}", delete_schedule, response=m.OkReply, tags=tags),
        Route("POST", "/api/schedules/{schedule_id}/run", run_schedule, response=m.RunReply, tags=tags),
    ]
