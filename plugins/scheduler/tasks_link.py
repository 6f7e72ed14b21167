"""How the scheduler reaches the tasks plugin.

# TODO(contract): replace this module with ``from argus.plugins.tasks.api import CreateTask, tasks_of``
once the plugin contract is on main. Until then it adapts the tasks plugin's service, which the
tasks plugin publishes as ``kernel.tasks``, to the contract's ``TasksAPI`` names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argus.kernel.errors import ArgusError


@dataclass
class CreateTask:
    """What a new task needs (the contract's ``CreateTask``)."""

    prompt: str
    name: str | None = None
    project: str | None = None
    backend: str | None = None
    hidden: bool = False
    parent_id: str | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _TasksShim:
    """The subset of ``TasksAPI`` the scheduler uses."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    def list(self, *, status: str | None = None, project: str | None = None,
             include_hidden: bool = False) -> list[dict[str, Any]]:
        """Task JSON of every task (archived included), filtered."""
        return [self.svc.to_json(r) for r in self.svc.store.tasks(status=status, project=project, archived="all")]

    def projects(self) -> list[dict[str, Any]]:
        """Every project."""
        return list(self.svc.projects())

    async def create(self, spec: CreateTask) -> dict[str, Any]:
        """Create and start a task; Task JSON."""
        row = await self.svc.create(name=spec.name, prompt=spec.prompt, project=spec.project,
                                    backend=spec.backend, model=spec.model, meta=dict(spec.extra))
        return self.svc.to_json(row)


def tasks_of(kernel: Any) -> _TasksShim:
    """The tasks API of the running kernel; raises when the tasks plugin is not loaded."""
    svc = getattr(kernel, "tasks", None)
    if svc is None:
        raise ArgusError("the tasks plugin is not loaded")
    return _TasksShim(svc)
