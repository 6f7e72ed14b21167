"""What the sandbox needs from the tasks plugin, through its public facade only."""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Kernel, NotFound
from argus.plugins.tasks.api import tasks_of


def project_of(kernel: Kernel, name: str) -> dict[str, Any] | None:
    """The project called ``name`` (with its ``sandbox`` object), or None."""
    try:
        return dict(tasks_of(kernel).project(name))
    except NotFound:
        return None


def task_of(kernel: Kernel, task_id: str) -> dict[str, Any]:
    """The Task JSON, or NotFound."""
    return dict(tasks_of(kernel).get(task_id))
