"""REST routes of the scheduler (the reference manual's ``/api/schedules`` table)."""

from __future__ import annotations

from typing import Any

from argus.kernel.http import json_body
from quart import Blueprint, request

from .models import ScheduleFields, parse
from .service import Scheduler


def make_blueprint(sched: Scheduler) -> Blueprint:
    """Routes bound to one Scheduler."""
    bp = Blueprint("scheduler", __name__)

    @bp.get("/api/schedules")
    async def list_schedules() -> dict[str, Any]:
        return {"schedules": sched.list()}

    @bp.post("/api/schedules")
    async def create_schedule() -> tuple[dict[str, Any], int]:
        return {"schedule": sched.create(parse(ScheduleFields, await json_body()))}, 201

    @bp.get("/api/schedules/preview")
    async def preview() -> dict[str, Any]:
        return {"next": sched.preview(request.args.get("schedule", ""))}

    @bp.get("/api/schedules/<schedule_id>")
    async def get_schedule(schedule_id: str) -> dict[str, Any]:
        return {"schedule": sched.get(schedule_id)}

    @bp.put("/api/schedules/<schedule_id>")
    async def update_schedule(schedule_id: str) -> dict[str, Any]:
        return {"schedule": sched.update(schedule_id, parse(ScheduleFields, await json_body()))}

    @bp.delete("/api/schedules/<schedule_id>")
    async def delete_schedule(schedule_id: str) -> dict[str, Any]:
        sched.delete(schedule_id)
        return {"ok": True}

    @bp.post("/api/schedules/<schedule_id>/run")
    async def run_schedule(schedule_id: str) -> dict[str, Any]:
        task = await sched.run_now(schedule_id)
        return {"task_id": task["id"]}

    return bp
