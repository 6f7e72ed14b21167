"""The pluggy PluginManager: the kernel's own hooks, then every ``argus`` entry point.

Built-in plugins are declared as entry points of this distribution, exactly like a third-party
package would declare its own, so nothing distinguishes them but where they live. A plugin named
in ``[plugins] disabled = [...]`` (config.toml or saved settings) is not loaded.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
from dataclasses import dataclass
from typing import Any

import pluggy

from . import core, hookspecs
from .api import PROJECT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PluginInfo:
    """One loaded (or disabled) plugin, as ``argus plugins`` prints it."""

    name: str
    version: str
    source: str
    module: str
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source,
                "module": self.module, "enabled": self.enabled}


def load_plugins(disabled: set[str] | frozenset[str] = frozenset()) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Create the manager, register the kernel core and every enabled entry-point plugin."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(core, name="kernel")
    infos: list[PluginInfo] = []
    seen: set[str] = set()
    for ep in sorted(md.entry_points(group=PROJECT), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = ep.dist
        version = dist.version if dist else "?"
        builtin = ep.value.startswith("argus.plugins.")
        source = "builtin" if builtin else (dist.metadata["Name"] if dist else "entry point")
        if ep.name in disabled:
            infos.append(PluginInfo(ep.name, version, source, ep.value, enabled=False))
            continue
        try:
            module = ep.load()
        except Exception:
            log.exception("plugin %s failed to import; skipping it", ep.name)
            infos.append(PluginInfo(ep.name, version, f"{source} (failed to load)", ep.value, enabled=False))
            continue
        pm.register(module, name=ep.name)
        infos.append(PluginInfo(ep.name, version, source, ep.value))
    return pm, infos


def disabled_plugins(config: dict[str, Any], saved: list[str] | None = None) -> set[str]:
    """Names from ``[plugins] disabled`` in config.toml, else from saved settings."""
    section = config.get("plugins", {}) if isinstance(config, dict) else {}
    value = section.get("disabled") if isinstance(section, dict) else None
    if isinstance(value, list):
        return {str(v) for v in value}
    return set(saved or [])
