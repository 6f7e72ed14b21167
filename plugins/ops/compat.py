"""What ops needs from the kernel and the tasks plugin, in one place.

Everything comes from ``argus.kernel.api`` and ``argus.plugins.tasks.api`` (the facade's
``rename``/``backend``/``backends`` were added for ops).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus.kernel.api import (  # re-exported for the ops modules (listed in __all__)
    Conflict,
    Invalid,
    Kernel,
    LocalDaemon,
    NotFound,
    Paths,
    StashKey,
    atomic_write,
    client_plugins,
    json_body,
    migration_plan,
    principal,
    tailscale_ipv4,
)

if TYPE_CHECKING:  # pragma: no cover
    from argus.plugins.tasks.api import TasksAPI

    from .doctor import Context
    from .hooks import OpsState

__all__ = [
    "OPS", "Conflict", "Invalid", "LocalDaemon", "NotFound", "Paths", "StashKey", "atomic_write", "client_plugins",
    "json_body", "local_report", "migration_plan", "offline_context", "ops_state", "principal", "supervisor_report",
    "tailscale_ipv4", "tasks_of",
]

OPS: StashKey[OpsState] = StashKey()


def ops_state(kernel: Kernel, factory: Callable[[], OpsState] | None = None) -> OpsState:
    """This kernel's ops state (created by ``factory`` on first use), kept in ``kernel.stash``."""
    try:
        return kernel.stash[OPS]
    except KeyError:
        if factory is None:
            raise LookupError("the ops plugin is not registered on this kernel") from None
    kernel.stash[OPS] = factory()
    return kernel.stash[OPS]


def tasks_of(kernel: Kernel) -> TasksAPI | None:
    """The tasks facade (``argus.plugins.tasks.api``), or None when the tasks plugin is not loaded."""
    from argus.plugins.tasks.api import tasks_of as facade_of

    try:
        return facade_of(kernel)
    except Exception:
        return None


def supervisor_report(home: str) -> dict[str, Any]:
    """``argus session-supervisor status`` as JSON (running, pid, protocol, sessions)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "session-supervisor", "status"],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                              env={**os.environ, "ARGUS_HOME": home})
        report = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {"running": False}
    return report if isinstance(report, dict) else {"running": False}


def local_report() -> dict[str, Any] | None:
    """``GET /api/doctor`` from the local daemon over its unix socket, or None when none answers."""
    import httpx

    daemon = LocalDaemon(Paths.default(create=False).home)
    if not daemon.socket.exists() or not daemon.token():
        return None
    try:
        with daemon.client(timeout=60.0) as client:
            resp = client.get("/api/doctor")
    except (httpx.HTTPError, OSError):
        return None
    return resp.json() if resp.status_code == 200 else None


def offline_context() -> Context:
    """A doctor Context without a daemon: config.toml over declared defaults, known migrations."""
    from .doctor import Context

    paths = Paths.default(create=False)
    pm, _ = client_plugins()
    sections = {s.name: s for group in pm.hook.argus_settings_sections() for s in (group or [])}
    try:
        config = tomllib.loads(paths.config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        config = {}

    def setting(section: str, key: str) -> Any:
        sec = sections.get(section)
        field = sec.field(key) if sec is not None else None
        if field is None:
            return None
        table = config.get(section)
        if isinstance(table, dict) and key in table:
            try:
                return field.coerce(table[key])
            except ValueError:
                pass
        return field.default

    migrations = [m for group in pm.hook.argus_migrations() for m in (group or [])]
    return Context(home=paths.home, setting=setting, migrations=migrations)
