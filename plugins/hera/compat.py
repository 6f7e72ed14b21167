"""TODO(contract): the one module that bridges to names the plugin contract will provide.

Until ``argus.kernel.api`` re-exports the error types and ``argus.plugins.tasks.api`` exists, this
module imports the kernel's errors directly and adapts the running tasks service (reached as
``kernel.tasks``, duck-typed: plugins may not import each other) to the ``TasksAPI`` shape that hera
is written against. After the contract lands, only this module changes.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import trio
from argus.kernel.api import BackgroundJob, Field, Migration, SettingsSection, ToolContext, hookimpl
from argus.kernel.errors import ArgusError, Conflict, Forbidden, Invalid, NotFound, TooLarge, TooMany
from argus.kernel.events import utcnow

__all__ = ["ArgusError", "BackgroundJob", "Conflict", "CreateTask", "Field", "Forbidden", "Invalid", "Migration",
           "NotFound", "SettingsSection", "TasksShim", "TooLarge", "TooMany", "ToolContext", "hookimpl",
           "tasks_of", "utcnow"]

TYPE_PAUSE = 0.1  # between the text and Enter: TUIs treat a burst ending in Enter as a paste


@dataclass
class CreateTask:
    """What hera asks the tasks plugin to create (the contract's ``CreateTask``)."""

    prompt: str
    name: str | None = None
    project: str | None = None
    backend: str | None = None
    hidden: bool = False
    parent_id: str | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class TasksShim:
    """The contract's ``TasksAPI`` over today's TaskService (``kernel.tasks``)."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    def get(self, task_id: str) -> dict[str, Any]:
        """Task JSON, or NotFound."""
        return self.svc.to_json(self.svc.get(task_id))

    def exists(self, task_id: str | None) -> bool:
        """Whether the task still exists."""
        return bool(task_id) and self.svc.store.task(task_id) is not None

    async def create(self, spec: CreateTask) -> dict[str, Any]:
        """Create (and start) a task; hera's fields ride in its meta."""
        meta: dict[str, Any] = {}
        if spec.hidden:
            meta["hera_hidden"] = True
        if spec.parent_id:
            meta["parent_id"] = spec.parent_id
        if spec.extra:
            meta["extra"] = spec.extra
        row = await self.svc.create(name=spec.name, prompt=spec.prompt, project=spec.project,
                                    backend=spec.backend, model=spec.model, meta=meta)
        return self.svc.to_json(row)

    async def stop(self, task_id: str) -> None:
        """Stop the agent."""
        await self.svc.stop(task_id)

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Resume a stopped agent (re-attach)."""
        return self.svc.to_json(await self.svc.resume(task_id))

    async def delete(self, task_id: str, force: bool = False) -> None:
        """Delete the task (agent, worktree, branch)."""
        await self.svc.delete(task_id, force=force)

    def set_status(self, task_id: str, status: str) -> None:
        """Set the task status."""
        self.svc.set_status(task_id, status)

    def is_idle(self, task_id: str) -> bool:
        """Whether the task's live agent waits for input (False without a live agent)."""
        row = self.svc.store.task(task_id)
        if row is None:
            return False
        session = self.svc.live_session(row)
        return session is not None and self.svc.idle.is_idle(session.id)

    def is_live(self, task_id: str) -> bool:
        """Whether the task has a live agent session."""
        row = self.svc.store.task(task_id)
        return row is not None and self.svc.live_session(row) is not None

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent: clear the input line, the text, then Enter."""
        await self.svc.write_input(task_id, b"\x15" + text.encode())
        await trio.sleep(TYPE_PAUSE)
        await self.svc.write_input(task_id, b"\r")

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the agent's terminal output."""
        return await self.svc.output(task_id, nbytes)

    def resolve_caller(self, cwd: str | None, token: str | None) -> dict[str, Any] | None:
        """The task an MCP caller is (by its hook token or its working directory), or None."""
        if token:
            for row in self.svc.store.tasks(archived="all"):
                secret = row.get("hook_secret") or ""
                if secret and secrets.compare_digest(secret.encode(), token.encode()):
                    return self.svc.to_json(row)
            return None
        if cwd:
            from argus.kernel.errors import NotFound as _NF  # noqa: N814

            try:
                row = _match_cwd(self.svc, cwd)
            except _NF:
                return None
            return self.svc.to_json(row)
        return None

    def meta(self, task_id: str) -> dict[str, Any]:
        """The task's stored meta (hidden flag, parent)."""
        row = self.svc.store.task(task_id)
        return json.loads(row["meta"] or "{}") if row else {}


def _match_cwd(svc: Any, cwd: str) -> dict[str, Any]:
    """Resolve ``cwd`` as the task tools do (``caller.match_cwd`` reached through the service module)."""
    import sys

    caller = sys.modules.get(type(svc).__module__.rsplit(".", 1)[0] + ".caller")
    if caller is None:
        raise NotFound("cannot resolve callers by cwd")
    return caller.match_cwd(svc.store.tasks(archived="all"), cwd)


def tasks_of(kernel: Any) -> TasksShim:
    """The tasks facade (raises when the tasks plugin is not loaded)."""
    svc = getattr(kernel, "tasks", None)
    if svc is None:
        raise RuntimeError("hera needs the tasks plugin")
    return TasksShim(svc)


SCOPE = "hera"


def add_tool(kernel: Any, name: str, description: str, schema: dict[str, Any], handler: Any) -> None:
    """Register one in-process MCP tool under hera's scope."""
    kernel.registry.add_tool(SCOPE, name, description, schema, handler)


def remove_tools(kernel: Any) -> None:
    """Unregister hera's in-process tools (an external plugin's tools are left alone)."""
    for name in [n for n, t in kernel.registry.tools.items() if t.scope == SCOPE and not t.external]:
        kernel.registry.remove_tool(name)
