"""How the push plugin reaches the tasks plugin.

# TODO(contract): replace this module with ``from argus.plugins.tasks.api import tasks_of`` once the
plugin contract is on main. Until then it adapts the tasks plugin's service (``kernel.tasks``) to
the contract's ``TasksAPI`` names.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.errors import ArgusError


class _TasksShim:
    """The subset of ``TasksAPI`` the push plugin uses."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    def get(self, task_id: str) -> dict[str, Any]:
        """Task JSON (NotFound when unknown)."""
        return self.svc.to_json(self.svc.get(task_id))

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the agent's terminal output."""
        return await self.svc.output(task_id, nbytes)

    async def write_input(self, task_id: str, data: bytes) -> None:
        """Type raw bytes into the agent."""
        await self.svc.write_input(task_id, data)


def tasks_of(kernel: Any) -> _TasksShim:
    """The tasks API of the running kernel; raises when the tasks plugin is not loaded."""
    svc = getattr(kernel, "tasks", None)
    if svc is None:
        raise ArgusError("the tasks plugin is not loaded")
    return _TasksShim(svc)
