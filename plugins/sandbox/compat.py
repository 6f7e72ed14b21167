"""What the sandbox needs from the tasks plugin and the kernel, in one place.

# TODO(contract): once ``argus.plugins.tasks.api`` and the error re-exports of
# ``argus.kernel.api`` are on main, ``project_of``/``task_of`` call ``tasks_of(kernel)`` and the
# errors come from ``argus.kernel.api``; nothing else in this plugin changes.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.errors import Invalid, NotFound  # TODO(contract): from argus.kernel.api

__all__ = ["Invalid", "NotFound", "project_of", "task_of"]


def _tasks(kernel: Any) -> Any:
    tasks = getattr(kernel, "tasks", None)
    if tasks is None:
        raise NotFound("the tasks plugin is not loaded")
    return tasks


def project_of(kernel: Any, name: str) -> dict[str, Any] | None:
    """The project called ``name`` (with its ``sandbox`` object), or None."""
    try:
        return dict(_tasks(kernel).project(name))
    except NotFound:
        return None


def task_of(kernel: Any, task_id: str) -> dict[str, Any]:
    """The task row, or NotFound."""
    return dict(_tasks(kernel).get(task_id))
