"""The ``schedule_*`` MCP tools (scope ``scheduler``), with the reference manual's parameters.

Each tool declares its arguments as a model of ``models.py``: the registry serves the JSON Schema
generated from it, validates every call and hands the handler the model instance.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Kernel, ModelToolHandler, ToolContext
from pydantic import BaseModel

from .models import NoArgs, ScheduleCreate, ScheduleFields, ScheduleId, ScheduleUpdate
from .service import Scheduler

SCOPE = "scheduler"


def register(kernel: Kernel, sched: Scheduler) -> None:
    """Register the five schedule tools with ``kernel.registry``."""

    async def schedule_list(args: NoArgs, ctx: ToolContext) -> dict[str, Any]:
        return {"schedules": sched.list()}

    async def schedule_create(args: ScheduleCreate, ctx: ToolContext) -> dict[str, Any]:
        return {"schedule": sched.create(args)}

    async def schedule_update(args: ScheduleUpdate, ctx: ToolContext) -> dict[str, Any]:
        fields = ScheduleFields(**args.model_dump(exclude={"id"}, exclude_unset=True))
        return {"schedule": sched.update(args.id, fields)}

    async def schedule_delete(args: ScheduleId, ctx: ToolContext) -> dict[str, Any]:
        sched.delete(args.id)
        return {"deleted": args.id}

    async def schedule_run_now(args: ScheduleId, ctx: ToolContext) -> dict[str, Any]:
        task = await sched.run_now(args.id)
        return {"task_id": task["id"]}

    tools: list[tuple[ModelToolHandler, str, type[BaseModel]]] = [
        (schedule_list, "List all schedules with name, project, cron expression, enabled state, next/last "
         "fire timestamps, last task id and last error.", NoArgs),
        (schedule_create, "Create a schedule. Params: name, project, prompt, plus exactly one of schedule "
         "(5-field cron like '0 9 * * 1-5', @hourly/@daily/@weekly/@monthly/@yearly, or '@every 30m') or "
         "run_once_at (RFC3339 UTC, a one-shot); optional backend, enabled. Each fire starts a fresh task.",
         ScheduleCreate),
        (schedule_update, "Partial update: pass id plus any fields to change (enabled, prompt, ...). Setting "
         "schedule clears run_once_at and vice versa (converts between cron and one-shot).", ScheduleUpdate),
        (schedule_delete, "Remove a schedule by id. Tasks already created by previous fires are unaffected.",
         ScheduleId),
        (schedule_run_now, "Fire a schedule immediately, out of cycle; returns task_id. The next regular tick "
         "will not double-fire; a one-shot disables itself. Sends no push notification.", ScheduleId),
    ]
    for fn, description, model in tools:
        kernel.registry.add_tool(SCOPE, fn.__name__, description, None, fn, input_model=model)
