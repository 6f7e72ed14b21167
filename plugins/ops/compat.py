"""Bridges to names the plugin contract will provide (``argus.kernel.api`` stash, ``tasks_of``).

# TODO(contract): once ``argus.plugins.tasks.api`` and ``kernel.stash`` are on main, replace
# ``tasks_of`` with ``from argus.plugins.tasks.api import tasks_of`` and ``ops_state`` with a
# ``StashKey``; this module is the only place that reaches around the contract.
"""

from __future__ import annotations

import importlib
import weakref
from typing import Any

from argus.kernel.errors import Conflict, Invalid, NotFound  # noqa: F401 - re-exported (api has them later)
from argus.kernel.http import json_body, principal  # noqa: F401 - re-exported until the contract lands

_STATE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def ops_state(kernel: Any, factory: Any = None) -> Any:
    """This kernel's ops state (created by ``factory`` on first use); one per kernel, no globals."""
    if kernel not in _STATE:
        if factory is None:
            raise LookupError("the ops plugin is not registered on this kernel")
        _STATE[kernel] = factory()
    return _STATE[kernel]


class _TasksShim:
    """The part of the tasks facade ops uses, over today's TaskService (``kernel.tasks``)."""

    def __init__(self, service: Any) -> None:
        self._svc = service

    def get(self, task_id: str) -> dict[str, Any]:
        """The task as JSON."""
        return self._svc.to_json(self._svc.get(task_id))

    def rename(self, task_id: str, name: str) -> dict[str, Any]:
        """Change the display name only."""
        return self._svc.to_json(self._svc.rename(task_id, name))

    def backends(self) -> list[dict[str, Any]]:
        """Every backend (name, command, model, default)."""
        return list(self._svc.backends())

    def backend(self, name: str) -> dict[str, Any]:
        """One backend by name."""
        return dict(self._svc.backend(name))


class _Merged:
    """The facade's methods where it has them, the service shim's for the rest (rename, backends)."""

    def __init__(self, facade: Any, shim: _TasksShim | None) -> None:
        self._facade = facade
        self._shim = shim

    def __getattr__(self, name: str) -> Any:
        if hasattr(self._facade, name):
            return getattr(self._facade, name)
        if self._shim is not None:
            return getattr(self._shim, name)
        raise AttributeError(name)


def tasks_of(kernel: Any) -> Any | None:
    """The tasks facade (plus ``rename``/``backend``/``backends``), or None without the tasks plugin."""
    service = getattr(kernel, "tasks", None)
    shim = _TasksShim(service) if service is not None else None
    try:
        api = importlib.import_module("argus.plugins.tasks.api")
    except ImportError:
        api = None
    if api is not None and hasattr(api, "tasks_of"):
        try:
            return _Merged(api.tasks_of(kernel), shim)
        except Exception:
            return shim
    return shim


# -- kernel internals doctor and the CLI need (TODO(contract): expose through argus.kernel.api) --

from argus.kernel.db import migration_plan  # noqa: E402,F401
from argus.kernel.listeners import tailscale_ipv4  # noqa: E402,F401
from argus.kernel.paths import Paths, atomic_write  # noqa: E402,F401
from argus.kernel.supervisor import supervisor_status  # noqa: E402,F401
from argus.kernel.supervisor_proto import PROTOCOL_VERSION  # noqa: E402,F401


def local_report() -> dict[str, Any] | None:
    """``GET /api/doctor`` from the local daemon over its unix socket, or None when none answers."""
    import httpx
    from argus.kernel import daemon as daemon_mod

    paths = Paths.default(create=False)
    if not paths.daemon_sock.exists() or not paths.token.exists():
        return None
    try:
        with daemon_mod.local_client(paths, timeout=60.0) as client:
            resp = client.get("/api/doctor")
    except (httpx.HTTPError, OSError):
        return None
    if resp.status_code != 200:
        return None
    return resp.json()


def offline_context() -> Any:
    """A doctor Context without a daemon: config.toml over declared defaults, known migrations."""
    from argus.kernel.plugins import disabled_plugins, load_plugins
    from argus.kernel.settings import ConfigFile, Settings

    from .doctor import Context

    paths = Paths.default(create=False)
    config = ConfigFile(paths.config)
    pm, _ = load_plugins(disabled_plugins(config.data()))
    settings = Settings(None, config)
    for group in pm.hook.argus_settings_sections():
        settings.declare(group or [])

    def setting(section: str, key: str) -> Any:
        try:
            return settings.get(section, key)
        except Exception:
            return None

    migrations = [m for group in pm.hook.argus_migrations() for m in (group or [])]
    return Context(home=paths.home, setting=setting, migrations=migrations)
