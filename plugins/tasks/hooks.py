"""The tasks plugin's hook implementations: its hookspecs, schema, settings, routes, tools, recovery, status."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from typing import Any

import pluggy
from argus.kernel.api import (
    BackgroundJob,
    Event,
    Field,
    Kernel,
    Migration,
    SettingsSection,
    StashKey,
    hookimpl,
)
from pydantic import BaseModel

from . import hookspecs, kinds, routes_orch, tools
from .api import TASKS, TasksFacade
from .kinds.claude import PERMISSION_MODES
from .limit_resume import SETTINGS as LIMIT_SETTINGS
from .models import Task
from .orch import Orchestration
from .overlaps import OverlapIndex
from .reconcile import left_pending, reconcile
from .routes import make_routes
from .service import TaskService
from .store import MIGRATIONS

log = logging.getLogger(__name__)

SERVICE = StashKey[TaskService]()
ORCH = StashKey[Orchestration]()
OVERLAPS = StashKey[OverlapIndex]()


def service(kernel: Kernel) -> TaskService:
    """The TaskService of ``kernel`` (after ``argus_register``)."""
    return kernel.stash[SERVICE]


class KernelHooks:
    """The hooks of one kernel's tasks plugin that get no kernel argument (``argus_event``):
    registered on that kernel's plugin manager, so two daemons in one process stay apart."""

    def __init__(self, svc: TaskService, orch: Orchestration) -> None:
        self.svc = svc
        self.orch = orch

    @hookimpl
    def argus_event(self, event: Event) -> None:
        """React to session exits (task status) and idle agents (message delivery): quick and synchronous."""
        if event.type == "session.exited":
            self.svc.on_session_exited(event.data)
        self.orch.on_event(event)


def plugin_task_fields(kernel: Kernel) -> dict[str, type[BaseModel]]:
    """The keys plugins add to the Task JSON (``argus_task_field_models``) and their models."""
    fields: dict[str, type[BaseModel]] = {}
    for answer in kernel.pm.hook.argus_task_field_models():
        for key, model in (answer or {}).items():
            if key in Task.model_fields or key in fields:
                log.warning("task field %r declared twice (or a core field): the first declaration stays", key)
                continue
            fields[key] = model
    return fields


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
    """The ``defaults`` section (backend, permission mode, share-target project) and ``limits``
    (the continue message typed after a usage limit resets, and the margin after the reset)."""
    default_backend = "claude" if shutil.which("claude") else "demo"
    return [SettingsSection("defaults", "Defaults", [
        Field("backend", "string", default_backend, "Default backend",
              "Backend for a new task when none is chosen ('demo' when claude is not installed)"),
        Field("permission_mode", "enum", "bypass-active", "Permission mode",
              "Permission flags injected into Claude-style backends", choices=PERMISSION_MODES),
        Field("share_project", "string", "", "Share-target project",
              "Project preselected when the PWA share target lands a payload"),
        Field("resume_interrupted", "bool", True, "Resume interrupted agents",
              "Resume a task whose agent was lost with the session-supervisor once it is back"),
    ]), LIMIT_SETTINGS]


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Register the built-in agent kinds (``kinds/``), seed backends, mount the REST routes, open the
    agent-hook route, register the MCP tools."""
    kinds.register(kernel.pm)
    svc = TaskService(kernel)
    svc.store.seed_backends((k.name, k.command, k.prompt_flag, "") for k in kinds.builtin_kinds())
    kernel.stash[SERVICE] = svc
    kernel.stash[TASKS] = TasksFacade(svc)  # what other plugins reach with tasks_of(kernel)
    kernel.http.add_routes("tasks", make_routes(svc))
    kernel.http.add_routes("tasks", svc.options.routes())
    kernel.http.add_schema_fields(Task, plugin_task_fields(kernel))
    kernel.http.add_public_prefix("/api/agent/")
    kernel.http.add_master_only(r"^/api/backends(/.*)?$", ["POST", "PUT", "DELETE", "PATCH"])
    # Orchestration (DAG, messages, clipboard, artifacts, fork, skills): tools + REST mirrors.
    orch = Orchestration(svc)
    kernel.stash[ORCH] = orch
    orch.install()
    kernel.http.add_routes("tasks", routes_orch.make_routes(orch))
    tools.register(kernel, orch)
    kernel.pm.register(KernelHooks(svc, orch), name="tasks.kernel")
    # The "conflicts with" mark (overlaps.py): cached off the request path, read by the Task JSON.
    index = OverlapIndex(svc)
    kernel.stash[OVERLAPS] = index
    kernel.events.add_listener(index.on_event)
    kernel.pm.register(index, name=f"tasks.overlaps-{id(kernel)}")


@hookimpl
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """Message delivery into idle agents' terminals; resumes after usage limits; the "conflicts with" scans."""
    orch = kernel.stash.get(ORCH, None)
    index = kernel.stash.get(OVERLAPS, None)
    jobs: list[BackgroundJob] = []
    if orch is not None:
        jobs += [orch.mail.delivery_loop, orch.svc.limits.run]
    if index is not None:
        jobs.append(index.worker)
    return jobs


@hookimpl
def argus_started(kernel: Kernel) -> None:
    """Re-attach idle watchers; orphaned in_progress tasks go to in_review; start ready held tasks;
    then reconcile what a crash left behind (``reconcile.py``) in the background."""
    svc = service(kernel)
    svc.recover()
    svc.limits.recover()
    dag = kernel.stash[ORCH].dag
    dag.recover()
    sessions, stale = list(svc.sessions.all()), left_pending(svc)

    async def job() -> None:
        await reconcile(svc, lambda task_id: bool(dag.parents(task_id)), sessions, stale)

    kernel.spawn_background(job, "tasks:reconcile")


@hookimpl
def argus_status(kernel: Kernel) -> dict[str, Any]:
    """Running/idle session counts and task counts by status."""
    svc = service(kernel)
    running = idle = 0
    for row in svc.store.tasks(status="in_progress", archived="all"):
        if svc.live_session(row) is None:
            continue
        if svc.is_idle(row):
            idle += 1
        else:
            running += 1
    return {"sessions": {"running": running, "idle": idle}, "tasks": svc.store.counts_by_status()}
