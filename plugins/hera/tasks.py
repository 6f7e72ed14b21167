"""What hera needs from the tasks plugin, over its facade (``argus.plugins.tasks.api``).

A thin wrapper: hera asks a few questions the facade answers in two steps (does the task still
exist, is its agent live, is it live *and* waiting for input) and passes everything else through.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import NotFound
from argus.plugins.tasks.api import CreateTask, TasksAPI, tasks_of

__all__ = ["CreateTask", "Tasks", "tasks_of"]


class Tasks:
    """The tasks facade as hera uses it (every task is the Task JSON)."""

    def __init__(self, api: TasksAPI) -> None:
        self.api = api

    def get(self, task_id: str) -> dict[str, Any]:
        """One task, or NotFound."""
        return self.api.get(task_id)

    def exists(self, task_id: str | None) -> bool:
        """Whether the task still exists."""
        if not task_id:
            return False
        try:
            self.api.get(task_id)
        except NotFound:
            return False
        return True

    def is_live(self, task_id: str) -> bool:
        """Whether the task's agent session is running."""
        try:
            return bool(self.api.get(task_id).get("running"))
        except NotFound:
            return False

    def is_idle(self, task_id: str) -> bool:
        """Whether the task's agent is running and waiting for input (a notice may be typed now)."""
        return self.is_live(task_id) and self.api.is_idle(task_id)

    async def create(self, spec: CreateTask) -> dict[str, Any]:
        """Create (and start, unless a launch gate holds it) a task."""
        return await self.api.create(spec)

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Resume a stopped agent."""
        return await self.api.resume(task_id)

    async def start_pending(self, task_id: str) -> None:
        """Start a task a launch gate held."""
        await self.api.start_pending(task_id)

    async def delete(self, task_id: str, force: bool = False) -> None:
        """Delete the task, its worktree and branch."""
        await self.api.delete(task_id, force=force)

    def set_status(self, task_id: str, status: str) -> None:
        """Set the task's status."""
        self.api.set_status(task_id, status)

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent (clear the input line, the text, Enter)."""
        await self.api.send_text(task_id, text)

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the agent's terminal output."""
        return await self.api.output(task_id, nbytes)

    def resolve_caller(self, cwd: str | None, token: str | None) -> dict[str, Any] | None:
        """The task an MCP caller is (task token, else working directory), or None."""
        return self.api.resolve_caller(cwd, token)
