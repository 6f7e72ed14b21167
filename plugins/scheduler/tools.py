"""The ``schedule_*`` MCP tools (scope ``scheduler``), with the reference manual's parameters."""

from __future__ import annotations

from typing import Any

from argus.kernel.api import ToolContext

from .models import ScheduleFields, ScheduleId, ScheduleUpdate, parse, schema
from .service import Scheduler

SCOPE = "scheduler"


def register(kernel: Any, sched: Scheduler) -> None:
    """Register the five schedule tools with ``kernel.registry``."""

    async def schedule_list(args: dict[str, Any], ctx: ToolContext) -> Any:
        return {"schedules": sched.list()}

    async def schedule_create(args: dict[str, Any], ctx: ToolContext) -> Any:
        return {"schedule": sched.create(parse(ScheduleFields, args))}

    async def schedule_update(args: dict[str, Any], ctx: ToolContext) -> Any:
        body = parse(ScheduleUpdate, args)
        return {"schedule": sched.update(body.id, ScheduleFields(**body.model_dump(exclude={"id"})))}

    async def schedule_delete(args: dict[str, Any], ctx: ToolContext) -> Any:
        sid = parse(ScheduleId, args).id
        sched.delete(sid)
        return {"deleted": sid}

    async def schedule_run_now(args: dict[str, Any], ctx: ToolContext) -> Any:
        task = await sched.run_now(parse(ScheduleId, args).id)
        return {"task_id": task["id"]}

    create_schema = schema(ScheduleFields)
    create_schema["required"] = ["name", "project", "prompt"]
    tools = [
        (schedule_list, "List all schedules with name, project, cron expression, enabled state, next/last "
         "fire timestamps, last task id and last error.", {"type": "object", "properties": {}}),
        (schedule_create, "Create a schedule. Params: name, project, prompt, plus exactly one of schedule "
         "(5-field cron like '0 9 * * 1-5', @hourly/@daily/@weekly/@monthly/@yearly, or '@every 30m') or "
         "run_once_at (RFC3339 UTC, a one-shot); optional backend, enabled. Each fire starts a fresh task.",
         create_schema),
        (schedule_update, "Partial update: pass id plus any fields to change (enabled, prompt, ...). Setting "
         "schedule clears run_once_at and vice versa (converts between cron and one-shot).",
         schema(ScheduleUpdate)),
        (schedule_delete, "Remove a schedule by id. Tasks already created by previous fires are unaffected.",
         schema(ScheduleId)),
        (schedule_run_now, "Fire a schedule immediately, out of cycle; returns task_id. The next regular tick "
         "will not double-fire; a one-shot disables itself. Sends no push notification.", schema(ScheduleId)),
    ]
    for fn, description, input_schema in tools:
        kernel.registry.add_tool(SCOPE, fn.__name__, description, input_schema, fn)
