"""REST routes: ``/api/source-path``, ``/api/update`` (master only), ``/api/doctor``, ``/api/usage``."""

from __future__ import annotations

import os
from typing import Any

import trio
from argus.kernel.api import Kernel, Route

from . import doctor
from . import models as m
from .compat import Invalid
from .update import Updater, check_source
from .usage import UsageTracker


def make_routes(kernel: Kernel, updater: Updater, usage: UsageTracker) -> list[Route]:
    """The ops routes bound to ``kernel``, its updater and its usage tracker."""

    def source_payload() -> dict[str, Any]:
        path = updater.source_path()
        masked = "source_path" in kernel.settings.masked_by_file("update")
        return {**check_source(path), "from_config_file": masked}

    async def get_source_path() -> dict[str, Any]:
        """Where self-update pulls from, and whether that path is usable."""
        return await trio.to_thread.run_sync(source_payload)

    async def put_source_path(body: m.SourcePathBody) -> dict[str, Any]:
        """Set the local clone self-update pulls from (an absolute git checkout; "" clears it)."""
        raw = body.source_path.strip()
        if raw:
            info = await trio.to_thread.run_sync(check_source, os.path.expanduser(raw))
            if not info["valid"]:
                raise Invalid(f"source_path: {info['detail']}")
            raw = info["source_path"]
        kernel.settings.save("update", {"source_path": raw})
        kernel.events.publish("settings.updated", {"section": "update", "keys": ["source_path"]})
        return await trio.to_thread.run_sync(source_payload)

    async def get_update() -> dict[str, Any]:
        """The source, how Argus is installed, the running daemon, and the last update."""
        return await trio.to_thread.run_sync(updater.status)

    async def post_update(body: m.UpdateBody) -> tuple[dict[str, Any], int]:
        """Update Argus (202; progress as ``update.*`` events), or list the commits (``dry_run``)."""
        if body.dry_run:
            return await updater.dry_run(), 200
        run = updater.start()
        return {"update": run.to_json()}, 202

    async def get_doctor() -> dict[str, Any]:
        """Check the installation; each problem comes with a fix."""
        return await doctor.run_in_daemon(kernel)

    async def get_usage() -> dict[str, Any]:
        """Tokens and cost per task, project and day, as the agent CLIs reported them."""
        return usage.summary()

    async def get_task_usage(task_id: str) -> dict[str, Any]:
        """One task's tokens and cost, re-read from its CLI's records first."""
        await usage.refresh(task_id)  # NotFound for an unknown task
        return {"task_id": task_id, "usage": usage.for_task(task_id)}

    return [
        Route("GET", "/api/source-path", get_source_path, response=m.SourcePathReply, master_only=True,
              tags=("ops",)),
        Route("PUT", "/api/source-path", put_source_path, body=m.SourcePathBody, response=m.SourcePathReply,
              master_only=True, tags=("ops",)),
        Route("GET", "/api/update", get_update, response=m.UpdateStatus, master_only=True, tags=("ops",)),
        Route("POST", "/api/update", post_update, body=m.UpdateBody, body_required=False, master_only=True,
              summary="Update Argus from update.source_path (202), or list the commits (dry_run)",
              tags=("ops",)),
        Route("GET", "/api/doctor", get_doctor, response=m.DoctorReport, tags=("ops",)),
        Route("GET", "/api/usage", get_usage, response=m.UsageSummary, tags=("ops",)),
        Route("GET", "/api/usage/tasks/{task_id}", get_task_usage, response=m.TaskUsage, tags=("ops",)),
    ]
