"""A plugin with a misspelled tasks hook: the kernel must refuse it with a clear reason."""

from __future__ import annotations

from typing import Any

from argus.kernel.api import hookimpl


@hookimpl
def argus_task_creatd(task: dict[str, Any]) -> None:
    """Misspelled on purpose (``argus_task_created``)."""
