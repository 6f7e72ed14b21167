"""watcher: an in-process plugin that reacts to tasks (the tasks hooks) and acts on them (the facade).

Try it:  ARGUS_PLUGINS=docs/examples/tasks_watcher.py argus daemon run
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Kernel, hookimpl, json_body
from argus.plugins.tasks.api import CreateTask, tasks_of
from quart import Blueprint


class Watcher:
    """One kernel's state and hooks, registered on that kernel's plugin manager (no globals)."""

    def __init__(self) -> None:
        self.seen: list[list[Any]] = []

    @hookimpl
    def argus_task_status_changed(self, task: dict[str, Any], old: str, new: str) -> None:
        """Record every status change (quick and synchronous, as every tasks hook must be)."""
        self.seen.append([task["id"], old, new])

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """Show this plugin's part of ``extra`` as ``task["watcher"]``."""
        return {"watcher": task["extra"]["watcher"]} if "watcher" in task["extra"] else None

    @hookimpl
    def argus_launch_gate(self, task: dict[str, Any]) -> str | None:
        """Keep tasks created with ``hold`` pending until someone starts them."""
        return "held by watcher" if task["extra"].get("watcher", {}).get("hold") else None


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Register the hooks object, and routes that create hidden helper tasks and list what was seen."""
    watcher = Watcher()
    kernel.pm.register(watcher, name="watcher.hooks")
    bp = Blueprint("watcher", __name__)

    @bp.post("/api/watcher/helpers")
    async def helper() -> tuple[dict[str, Any], int]:
        body = await json_body()
        task = await tasks_of(kernel).create(CreateTask(
            prompt=str(body.get("prompt", "help")), parent_id=body.get("parent_id"), backend="demo",
            hidden=True, extra={"watcher": {"role": "helper", "hold": bool(body.get("hold"))}}))
        return {"task": task}, 201

    @bp.get("/api/watcher/seen")
    async def seen() -> dict[str, Any]:
        return {"seen": watcher.seen}

    kernel.http.add_blueprint(bp)
