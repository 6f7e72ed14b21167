"""The hera plugin's hook implementations: schema, the ``[hera]`` settings, tools/routes, delivery,
and the tasks plugin's hooks (idle agents, deleted tasks, the ``hera`` task fields, launch gates).

The running hera lives in ``kernel.stash[HERA]`` (per kernel, no module state). The hooks that get
no kernel argument (``argus_event`` and the tasks plugin's hooks) are methods of :class:`KernelHooks`,
registered on that kernel's plugin manager, so two daemons in one process stay apart. Every hook
that acts does nothing while ``[hera] enabled`` is false.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from argus.kernel.api import BackgroundJob, Field, Kernel, Migration, NotFound, SettingsSection, hookimpl
from pydantic import BaseModel

from .plugin import HERA, HeraPlugin
from .store import MIGRATIONS
from .wire import HeraTaskField

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

log = logging.getLogger(__name__)


class KernelHooks:
    """The hooks of one kernel's hera that receive no kernel (registered as ``hera.kernel``)."""

    def __init__(self, plugin: HeraPlugin) -> None:
        self.plugin = plugin

    def _serving(self) -> HeraPlugin | None:
        return self.plugin if self.plugin.serving else None

    @hookimpl
    def argus_event(self, event: Event) -> None:
        """A change of the ``[hera]`` settings serves or withdraws the tools."""
        self.plugin.on_event(event)

    @hookimpl
    def argus_task_idle(self, task: dict[str, Any], idle: bool, reason: str) -> None:
        """An agent waits for input: deliver what waits for its role."""
        hera = self._serving()
        if hera is not None and idle and isinstance(task.get("id"), str):
            hera.delivery.on_idle(task["id"])

    @hookimpl
    def argus_task_deleted(self, task: dict[str, Any]) -> None:
        """The bound task is gone: its role stays, unbound."""
        self.plugin.hera.task_deleted(task)

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """``{"hera": {role_id, role, kind, status, orchestrator_id, orchestrator, unread}}`` for a bound task."""
        hera = self._serving()
        return hera.hera.task_fields(task) if hera is not None else None

    @hookimpl
    def argus_launch_gate(self, task: dict[str, Any]) -> str | None:
        """A worker waits (pending) until the roles it depends on are done."""
        hera = self._serving()
        return hera.hera.launch_gate(task) if hera is not None else None


@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """The ``hera_*`` tables."""
    return MIGRATIONS


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """``[hera] enabled`` (default true)."""
    return [SettingsSection("hera", "Hera", [
        Field("enabled", "bool", True, "Native Hera",
              "The hera_* MCP tools and the Hera tab (2). Off: the tab shows the dependency DAG and no "
              "hera tool is served."),
    ])]


@hookimpl(optionalhook=True)
def argus_task_field_models() -> Mapping[str, type[BaseModel]]:
    """The ``hera`` key of the Task JSON (a hook of the tasks plugin)."""
    return {"hera": HeraTaskField}


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Mount the REST routes and serve the tools (when enabled); hook this hera into the tasks plugin."""
    try:
        plugin = HeraPlugin(kernel)
    except NotFound as exc:
        log.error("hera not started: it needs the tasks plugin (%s)", exc)
        return
    kernel.stash[HERA] = plugin
    kernel.pm.register(KernelHooks(plugin), name="hera.kernel")
    plugin.register()


@hookimpl
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """The delivery worker, the starter of held workers, and the settings watcher."""
    plugin = kernel.stash.get(HERA, None)
    if plugin is None:
        return []
    return [plugin.delivery.run, plugin.starter, plugin.watch_settings]
