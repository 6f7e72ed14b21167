"""The hera plugin's hook implementations: schema, the ``[hera]`` settings, tools/routes, delivery,
and the tasks plugin's hooks (idle agents, deleted tasks, the ``hera`` task fields, launch gates).

Every hook that acts does nothing while ``[hera] enabled`` is false.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from argus.kernel.api import BackgroundJob, Field, Migration, SettingsSection, hookimpl

from .plugin import HERA, HeraPlugin
from .store import MIGRATIONS

# The hooks of the tasks plugin receive no kernel: they reach the running hera through this
# module-level reference (also in ``kernel.stash[HERA]`` for everything that has the kernel).
_plugin: HeraPlugin | None = None


def _serving() -> HeraPlugin | None:
    return _plugin if _plugin is not None and _plugin.serving else None


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


@hookimpl
def argus_register(kernel: Any) -> None:
    """Mount the REST routes and serve the tools (when enabled)."""
    global _plugin
    _plugin = HeraPlugin(kernel)
    kernel.stash[HERA] = _plugin
    _plugin.register()


@hookimpl
def argus_background(kernel: Any) -> Sequence[BackgroundJob]:
    """The delivery worker, the starter of held workers, and the settings watcher."""
    if _plugin is None:
        return []
    return [_plugin.delivery.run, _plugin.starter, _plugin.watch_settings]


@hookimpl
def argus_event(event: Any) -> None:
    """A change of the ``[hera]`` settings serves or withdraws the tools."""
    if _plugin is not None:
        _plugin.on_event(event)


@hookimpl
def argus_task_idle(task: dict[str, Any], idle: bool, reason: str) -> None:
    """An agent waits for input: deliver what waits for its role."""
    hera = _serving()
    if hera is not None and idle and isinstance(task.get("id"), str):
        hera.delivery.on_idle(task["id"])


@hookimpl
def argus_task_deleted(task: dict[str, Any]) -> None:
    """The bound task is gone: its role stays, unbound."""
    if _plugin is not None:
        _plugin.hera.task_deleted(task)


@hookimpl
def argus_task_fields(task: dict[str, Any]) -> dict[str, Any] | None:
    """``{"hera": {role_id, role, kind, status, orchestrator_id, orchestrator, unread}}`` for a bound task."""
    hera = _serving()
    return hera.hera.task_fields(task) if hera is not None else None


@hookimpl
def argus_launch_gate(task: dict[str, Any]) -> str | None:
    """A worker waits (pending) until the roles it depends on are done."""
    hera = _serving()
    return hera.hera.launch_gate(task) if hera is not None else None
