"""watcher: a test plugin written only against ``argus.kernel.api`` and ``argus.plugins.tasks.api``.

It creates hidden worker tasks, records the tasks hooks it sees, adds a ``watcher`` field to the
Task JSON and holds tasks whose ``extra`` asks for it. Its state lives on a per-kernel object.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Invalid, Kernel, hookimpl, json_body
from argus.plugins.tasks.api import CreateTask, tasks_of
from quart import Blueprint


class Watcher:
    """One kernel's watcher: registered on that kernel's plugin manager."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.seen: list[list[Any]] = []

    @hookimpl
    def argus_task_created(self, task: dict[str, Any]) -> None:
        self.seen.append(["created", task["id"], task["status"], task["hidden"]])

    @hookimpl
    def argus_task_status_changed(self, task: dict[str, Any], old: str, new: str) -> None:
        self.seen.append(["status", task["id"], old, new])

    @hookimpl
    def argus_session_started(self, task: dict[str, Any], session_id: str, resumed: bool) -> None:
        self.seen.append(["session", task["id"], session_id == task["session_id"], resumed])

    @hookimpl
    def argus_session_exited(self, task: dict[str, Any], session_id: str, code: int | None, reason: str) -> None:
        self.seen.append(["exited", task["id"], reason])

    @hookimpl
    def argus_task_deleted(self, task: dict[str, Any]) -> None:
        self.seen.append(["deleted", task["id"]])

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        mine = task["extra"].get("watcher")
        return {"watcher": mine} if mine is not None else None

    @hookimpl
    def argus_launch_gate(self, task: dict[str, Any]) -> str | None:
        return "held by watcher" if (task["extra"].get("watcher") or {}).get("hold") else None


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Register the per-kernel hooks object and two routes."""
    watcher = Watcher(kernel)
    kernel.pm.register(watcher, name="watcher.hooks")
    bp = Blueprint("watcher", __name__)

    @bp.get("/api/watcher/seen")
    async def seen() -> dict[str, Any]:
        return {"seen": watcher.seen}

    @bp.post("/api/watcher/workers")
    async def spawn() -> tuple[dict[str, Any], int]:
        body = await json_body()
        if not isinstance(body.get("parent_id"), str):
            raise Invalid("parent_id is required")
        task = await tasks_of(kernel).create(CreateTask(
            prompt="help your parent", name=body.get("name"), backend="demo", hidden=True,
            parent_id=body["parent_id"], extra={"watcher": {"role": "worker", "hold": bool(body.get("hold"))}}))
        return {"task": task}, 201

    @bp.post("/api/watcher/workers/<task_id>/start")
    async def start(task_id: str) -> dict[str, Any]:
        api = tasks_of(kernel)
        await api.start_pending(task_id)
        return {"task": api.get(task_id), "workers": [t["id"] for t in api.list(include_hidden=True)
                                                      if t["hidden"]]}

    kernel.http.add_blueprint(bp)
