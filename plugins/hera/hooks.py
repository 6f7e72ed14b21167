"""The hera plugin's hook implementations: schema, the ``[hera]`` settings, tools/routes, delivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .compat import BackgroundJob, Field, Migration, SettingsSection, hookimpl
from .plugin import HeraPlugin
from .store import MIGRATIONS

_plugin: HeraPlugin | None = None


def plugin() -> HeraPlugin | None:
    """The running daemon's hera (after ``argus_register``)."""
    return _plugin


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
    _plugin.register()


@hookimpl
def argus_background(kernel: Any) -> Sequence[BackgroundJob]:
    """The delivery worker and the settings watcher."""
    if _plugin is None:
        return []
    return [_plugin.delivery.run, _plugin.watch_settings]


@hookimpl
def argus_event(event: Any) -> None:
    """Agents going idle (delivery), deleted tasks (unbind), settings changes (serve or withdraw tools)."""
    if _plugin is not None:
        _plugin.on_event(event)
