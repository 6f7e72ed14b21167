"""The pluggy PluginManager: the kernel's own hooks, then every ``argus`` entry point.

Built-in plugins are declared as entry points of this distribution, exactly like a third-party
package would declare its own, so nothing distinguishes them but where they live. A plugin named
in ``[plugins] disabled = [...]`` (config.toml or saved settings) is not loaded.

``ARGUS_PLUGINS`` loads plugins without packaging them (like pytest's ``PYTEST_PLUGINS``): a
comma-separated list of importable module names (``mypkg.argus_hooks``) or paths to ``.py``
files (``~/argus/hello.py``). A module's plugin name is its last dotted component or the file's
stem; it is listed with source ``ARGUS_PLUGINS`` and honours the disabled list like any other.

A plugin publishes hooks of its own from ``argus_addhooks`` (called as it is registered). Once
every plugin is registered, a plugin implementing a hook nobody published (a misspelling, or a
hook of a plugin that is not loaded) is refused: unregistered and listed with the reason.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import core, hookspecs
from .values import PROJECT

log = logging.getLogger(__name__)

ENV_PLUGINS = "ARGUS_PLUGINS"


@dataclass(frozen=True)
class PluginInfo:
    """One loaded (or disabled) plugin, as ``argus plugins`` prints it."""

    name: str
    version: str
    source: str
    module: str
    enabled: bool = True
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The plugin as ``GET /api/plugins`` lists it (``reason`` only when it was refused)."""
        out: dict[str, Any] = {"name": self.name, "version": self.version, "source": self.source,
                               "module": self.module, "enabled": self.enabled}
        if self.reason:
            out["reason"] = self.reason
        return out


def load_plugins(disabled: set[str] | frozenset[str] = frozenset()) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Create the manager, register the kernel core and every enabled entry-point plugin."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(core, name="kernel")
    pm.hook.argus_addhooks.call_historic(kwargs={"pluginmanager": pm})
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
        problem = _register(pm, module, ep.name)
        infos.append(PluginInfo(ep.name, version, source if problem is None else f"{source} (refused)", ep.value,
                                enabled=problem is None, reason=problem or ""))
    for spec in env_plugin_specs():
        name = plugin_name(spec)
        if name in seen:
            log.error("%s: plugin %s is already loaded; skipping %s", ENV_PLUGINS, name, spec)
            continue
        seen.add(name)
        if name in disabled:
            infos.append(PluginInfo(name, "-", ENV_PLUGINS, spec, enabled=False))
            continue
        try:
            module = import_plugin(spec)
        except Exception:
            log.exception("plugin %s (%s) failed to import; skipping it", name, spec)
            infos.append(PluginInfo(name, "-", f"{ENV_PLUGINS} (failed to load)", spec, enabled=False))
            continue
        problem = _register(pm, module, name)
        infos.append(PluginInfo(name, str(getattr(module, "__version__", "-")),
                                ENV_PLUGINS if problem is None else f"{ENV_PLUGINS} (refused)", spec,
                                enabled=problem is None, reason=problem or ""))
    refused = refuse_unknown_hooks(pm)
    infos = [_refused(i, refused[i.name]) if i.name in refused else i for i in infos]
    return pm, infos


def _register(pm: pluggy.PluginManager, module: object, name: str) -> str | None:
    """Register one plugin; the reason it was refused (a hook with the wrong arguments) or None."""
    try:
        pm.register(module, name=name)
    except pluggy.PluginValidationError as exc:
        log.error("plugin %s refused: %s", name, exc)
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
        return str(exc)
    return None


def _refused(info: PluginInfo, reason: str) -> PluginInfo:
    return PluginInfo(info.name, info.version, f"{info.source} (refused)", info.module, enabled=False, reason=reason)


def refuse_unknown_hooks(pm: pluggy.PluginManager) -> dict[str, str]:
    """Unregister every plugin implementing a hook no loaded plugin published; then
    ``pm.check_pending()`` holds. Returns plugin name → reason."""
    unknown: dict[str, list[str]] = {}
    for hook_name, caller in list(vars(pm.hook).items()):
        if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if not impl.optionalhook:
                unknown.setdefault(impl.plugin_name, []).append(hook_name)
    refused: dict[str, str] = {}
    for name, hooks in unknown.items():
        reason = (f"implements unknown hook{'s' if len(hooks) > 1 else ''} {', '.join(sorted(hooks))} "
                  f"(misspelled, or the plugin publishing it is not loaded)")
        log.error("plugin %s refused: %s", name, reason)
        pm.unregister(name=name)
        refused[name] = reason
    pm.check_pending()
    return refused


def client_plugins() -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """The plugins as a client process (the CLI, the TUI) loads them: the ``[plugins] disabled``
    list of config.toml honoured, and nothing created under ``ARGUS_HOME``."""
    from .paths import Paths
    from .settings import ConfigFile

    return load_plugins(disabled_plugins(ConfigFile(Paths.default(create=False).config).data()))


def env_plugin_specs() -> list[str]:
    """The entries of ``$ARGUS_PLUGINS`` (module names or ``.py`` paths), in order."""
    return [s.strip() for s in os.environ.get(ENV_PLUGINS, "").split(",") if s.strip()]


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or spec.startswith("~")


def plugin_name(spec: str) -> str:
    """The plugin name of an ``ARGUS_PLUGINS`` entry: the file stem or the last dotted part."""
    return Path(spec).stem if _is_path(spec) else spec.rsplit(".", 1)[-1]


def import_plugin(spec: str) -> ModuleType:
    """Import an ``ARGUS_PLUGINS`` entry: a dotted module name, or a ``.py`` file by path."""
    if not _is_path(spec):
        return importlib.import_module(spec)
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no plugin file {path}")
    module_name = f"argus_local_plugins.{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module  # so dataclasses, pickling and tracebacks resolve it
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def disabled_plugins(config: dict[str, Any], saved: list[str] | None = None) -> set[str]:
    """Names from ``[plugins] disabled`` in config.toml, else from saved settings."""
    section = config.get("plugins", {}) if isinstance(config, dict) else {}
    value = section.get("disabled") if isinstance(section, dict) else None
    if isinstance(value, list):
        return {str(v) for v in value}
    return set(saved or [])
