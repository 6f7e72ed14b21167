"""The tasks plugin's hook implementations: its hookspecs, schema, settings, routes, tools, recovery, status."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

import pluggy
from argus.kernel.api import BackgroundJob, Field, Migration, SettingsSection, hookimpl

from . import hookspecs, routes_orch, tools
from .api import TASKS, TasksFacade
from .backends import PERMISSION_MODES
from .orch import Orchestration
from .routes import make_routes
from .service import TaskService
from .store import MIGRATIONS

_service: TaskService | None = None
_orch: Orchestration | None = None


def service() -> TaskService:
    """The running daemon's TaskService (after ``argus_register``)."""
    assert _service is not None, "the tasks plugin is not registered"
    return _service


@hookimpl
def argus_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Publish the tasks hooks (``hookspecs.py``) for other plugins to implement."""
    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """Projects, backends and tasks tables."""
    return MIGRATIONS


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """The ``defaults`` section: backend, permission mode, share-target project."""
    default_backend = "claude" if shutil.which("claude") else "demo"
    return [SettingsSection("defaults", "Defaults", [
        Field("backend", "string", default_backend, "Default backend",
              "Backend for a new task when none is chosen ('demo' when claude is not installed)"),
        Field("permission_mode", "enum", "bypass-active", "Permission mode",
              "Permission flags injected into Claude-style backends", choices=PERMISSION_MODES),
        Field("share_project", "string", "", "Share-target project",
              "Project preselected when the PWA share target lands a payload"),
    ])]


@hookimpl
def argus_register(kernel: Any) -> None:
    """Seed backends, mount the REST routes, open the agent-hook route, register the MCP tools."""
    global _service, _orch
    _service = TaskService(kernel)
    _service.store.seed_backends()
    kernel.stash[TASKS] = TasksFacade(_service)  # what other plugins reach with tasks_of(kernel)
    kernel.http.add_routes("tasks", make_routes(_service))
    kernel.http.add_public_prefix("/api/agent/")
    kernel.http.add_master_only(r"^/api/backends(/.*)?$", ["POST", "PUT", "DELETE", "PATCH"])
    kernel.tasks = _service  # the service other code in this plugin reaches through the kernel
    # Orchestration (DAG, messages, clipboard, artifacts, fork, skills): tools + REST mirrors.
    _orch = Orchestration(_service)
    _orch.install()
    kernel.http.add_routes("tasks", routes_orch.make_routes(_orch))
    tools.register(kernel, _orch)


@hookimpl
def argus_background(kernel: Any) -> Sequence[BackgroundJob]:
    """Message delivery into idle agents' terminals."""
    return [_orch.mail.delivery_loop] if _orch is not None else []


@hookimpl
def argus_started(kernel: Any) -> None:
    """Re-attach idle watchers; orphaned in_progress tasks go to in_review; start ready held tasks."""
    service().recover()
    if _orch is not None:
        _orch.dag.recover()


@hookimpl
def argus_event(event: Any) -> None:
    """React to session exits (task status) and idle agents (message delivery) — quick and synchronous."""
    if _service is not None and event.type == "session.exited":
        _service.on_session_exited(event.data)
    if _orch is not None:
        _orch.on_event(event)


@hookimpl
def argus_status(kernel: Any) -> dict[str, Any]:
    """Running/idle session counts and task counts by status."""
    svc = service()
    running = idle = 0
    for row in svc.store.tasks(status="in_progress", archived="all"):
        if svc.live_session(row) is None:
            continue
        if svc.is_idle(row):
            idle += 1
        else:
            running += 1
    return {"sessions": {"running": running, "idle": idle}, "tasks": svc.store.counts_by_status()}
