"""REST routes: ``/api/source-path``, ``/api/update`` (master-only) and ``/api/doctor``."""

from __future__ import annotations

import os
from typing import Any

import trio
from quart import Blueprint

from . import doctor
from .compat import Invalid, json_body
from .models import SourcePathBody, UpdateBody, parse
from .update import Updater, check_source
from .usage import UsageTracker


def make_blueprint(kernel: Any, updater: Updater, usage: UsageTracker) -> Blueprint:
    """The ops blueprint bound to ``kernel`` and its updater."""
    bp = Blueprint("ops", __name__)

    def source_payload() -> dict[str, Any]:
        path = updater.source_path()
        masked = "source_path" in kernel.settings.masked_by_file("update")
        return {**check_source(path), "from_config_file": masked}

    @bp.get("/api/source-path")
    async def get_source_path() -> dict[str, Any]:
        return await trio.to_thread.run_sync(source_payload)

    @bp.put("/api/source-path")
    async def put_source_path() -> dict[str, Any]:
        body = parse(SourcePathBody, await json_body())
        raw = body.source_path.strip()
        if raw:
            info = await trio.to_thread.run_sync(check_source, os.path.expanduser(raw))
            if not info["valid"]:
                raise Invalid(f"source_path: {info['detail']}")
            raw = info["source_path"]
        kernel.settings.save("update", {"source_path": raw})
        kernel.bus.publish("settings.updated", {"section": "update", "keys": ["source_path"]})
        return await trio.to_thread.run_sync(source_payload)

    @bp.get("/api/update")
    async def get_update() -> dict[str, Any]:
        return await trio.to_thread.run_sync(updater.status)

    @bp.post("/api/update")
    async def post_update() -> tuple[dict[str, Any], int]:
        body = parse(UpdateBody, await json_body(required=False))
        if body.dry_run:
            return await updater.dry_run(), 200
        run = updater.start()
        return {"update": run.to_json()}, 202

    @bp.get("/api/usage")
    async def get_usage() -> dict[str, Any]:
        return usage.summary()

    @bp.get("/api/usage/tasks/<task_id>")
    async def get_task_usage(task_id: str) -> dict[str, Any]:
        await usage.refresh(task_id)  # NotFound for an unknown task
        return {"task_id": task_id, "usage": usage.for_task(task_id)}

    @bp.get("/api/doctor")
    async def get_doctor() -> dict[str, Any]:
        return await doctor.run_in_daemon(kernel)

    return bp
