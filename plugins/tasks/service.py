"""The tasks plugin's service: a thin facade over its parts, each with one job and the narrow
dependencies it needs (see docs/plugins.md, "Inside the tasks plugin"):

- :class:`~.view.TaskView`: the Task JSON, live sessions, idleness, ``task.updated``;
- :class:`~.projects.Projects` and :class:`~.backends.Backends` (with the agent kinds registry);
- :class:`~.launcher.Launcher`: spawning an agent as its kind says;
- :class:`~.creation.Creation`: the creation transaction; :class:`~.lifecycle.Lifecycle`: stop,
  resume, restart, delete and the user's flags; :class:`~.session_events.SessionEvents`: exits,
  agent hook reports, recovery;
- :class:`~.terminal.TerminalIO`: output, input, resize and re-render;
- :class:`~.merge_actions.MergeActions`: the merge preview and actions;
- :class:`~.limit_resume.LimitResumes`: the ``limit`` status and the resume planned at a usage
  limit's reset.

The REST routes, MCP tools, orchestration and the ``argus.plugins.tasks.api`` facade call the
methods below; the parts share nothing but what they are given (the store, the view, the task
locks and the end intents of ``coordination.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Kernel

from .api import AgentKind
from .backends import Backends
from .coordination import EndIntents, TaskLocks
from .creation import Creation
from .kinds.claude import PERMISSION_MODES
from .launcher import Launcher
from .lifecycle import Lifecycle
from .limit_resume import LimitResumes
from .merge_actions import MergeActions
from .options import TaskOptions
from .projects import Projects
from .session_events import SessionEvents
from .store import Store
from .terminal import TerminalIO
from .view import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session, SessionManager
    from pluggy import HookRelay


class TaskService:
    """Everything the REST routes, MCP tools and recovery code do with tasks."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        hook = kernel.pm.hook
        publish = self.publish
        def sessions() -> SessionManager:
            return kernel.sessions

        self.store = Store(kernel.db)
        self.options = TaskOptions.collect(kernel)  # create-time options plugins offer
        self.view = TaskView(self.store, hook, publish, sessions)
        self.idle = self.view.idle
        self.locks = TaskLocks()
        self.intents = EndIntents()
        self.project_registry = Projects(self.store, lambda: kernel.settings.raw("projects"), publish)
        self.backend_registry = Backends(self.store, hook, lambda: kernel.settings.raw("backends"),
                                         lambda: str(kernel.settings.get("defaults", "backend")), publish)
        self.launcher = Launcher(store=self.store, view=self.view, backends=self.backend_registry, hook=hook,
                                 sessions=sessions, tokens=kernel.tokens, mcp_port=lambda: kernel.mcp_port,
                                 paths=kernel.paths, permission_mode=self.permission_mode,
                                 spawn_background=kernel.spawn_background, intents=self.intents)
        self.creation = Creation(store=self.store, view=self.view, projects=self.project_registry,
                                 backends=self.backend_registry, launcher=self.launcher, locks=self.locks,
                                 hook=hook, tokens=kernel.tokens, worktrees_root=Path(kernel.paths.worktrees),
                                 publish=publish, options=self.options)
        self.lifecycle = Lifecycle(store=self.store, view=self.view, projects=self.project_registry,
                                   backends=self.backend_registry, launcher=self.launcher, locks=self.locks,
                                   intents=self.intents, hook=hook, tokens=kernel.tokens, publish=publish)
        self.session_events = SessionEvents(
            store=self.store, view=self.view, backends=self.backend_registry, launcher=self.launcher,
            intents=self.intents, hook=hook, sessions=sessions,
            resume_interrupted=lambda: bool(kernel.settings.get("defaults", "resume_interrupted")),
            resume=self.lifecycle.resume, spawn_background=kernel.spawn_background)
        self.terminal = TerminalIO(store=self.store, view=self.view, backends=self.backend_registry,
                                   launcher=self.launcher, locks=self.locks, intents=self.intents,
                                   session_logs=lambda: Path(kernel.paths.sessions), sessions=sessions,
                                   spawn_background=kernel.spawn_background)
        self.merges = MergeActions(store=self.store, view=self.view, locks=self.locks,
                                   repo_of=self.lifecycle.repo_of, publish=publish)
        # Usage limits: the ``limit`` status and the resume planned at the reset (limit_resume.py).
        self.limits = LimitResumes(self)
        self.view.limit_fields = self.limits.fields
        self.view.status_listeners.append(self.limits.status_changed)
        self.idle.on_limit = self.limits.detected

    # -- shared ----------------------------------------------------------------------------

    @property
    def sessions(self) -> SessionManager:
        """The kernel's session manager."""
        return self.kernel.sessions

    @property
    def hook(self) -> HookRelay:
        """The plugin manager's hooks (the tasks hookspecs: ``argus_task_created`` ...)."""
        return self.kernel.pm.hook

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        """Publish an event on the kernel's bus."""
        self.kernel.events.publish(type_, data)

    def permission_mode(self) -> str:
        """The ``defaults.permission_mode`` setting (``bypass-active`` when unknown)."""
        mode = str(self.kernel.settings.get("defaults", "permission_mode"))
        return mode if mode in PERMISSION_MODES else "bypass-active"

    # -- the Task JSON (view.py) -----------------------------------------------------------

    def get(self, task_id: str) -> dict[str, Any]:
        """The task row, or NotFound."""
        return self.view.get(task_id)

    def session_of(self, row: dict[str, Any]) -> Session | None:
        """The task's most recent session object (alive or exited), if the manager knows it."""
        return self.view.session_of(row)

    def live_session(self, row: dict[str, Any]) -> Session | None:
        """The task's session if it is alive."""
        return self.view.live_session(row)

    def is_idle(self, row: dict[str, Any]) -> bool:
        """In progress but waiting for input, or with no live session."""
        return self.view.is_idle(row)

    def to_json(self, row: dict[str, Any]) -> dict[str, Any]:
        """The task as clients see it (docs/rest.md)."""
        return self.view.to_json(row)

    def visible(self, row: dict[str, Any]) -> bool:
        """Whether the task belongs in the main task list."""
        return self.view.visible(row)

    def changed(self, task_id: str) -> None:
        """Publish ``task.updated`` with the current row."""
        self.view.changed(task_id)

    # -- projects (projects.py) ------------------------------------------------------------

    def projects(self) -> list[dict[str, Any]]:
        """Every project (DB overlaid by config.toml)."""
        return self.project_registry.all()

    def project(self, name: str) -> dict[str, Any]:
        """One project or NotFound."""
        return self.project_registry.get(name)

    def guard_sandbox(self, name: str | None, body: Any, *, master: bool) -> None:
        """Forbidden when a non-master token would change a project's sandbox."""
        self.project_registry.guard_sandbox(name, body, master=master)

    async def add_project(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a git repository as a project."""
        return await self.project_registry.add(body)

    async def update_project(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Partial update of a DB project."""
        return await self.project_registry.update(name, body)

    def delete_project(self, name: str) -> None:
        """Forget a project (refused while it has tasks)."""
        self.project_registry.delete(name)

    async def scan(self, directory: Any) -> list[dict[str, Any]]:
        """Git repositories under ``directory`` for quick-add."""
        return await self.project_registry.scan(directory)

    # -- backends and agent kinds (backends.py) --------------------------------------------

    def agent_kinds(self) -> dict[str, AgentKind]:
        """The registered agent kinds, by name."""
        return self.backend_registry.agent_kinds()

    def backends(self) -> list[dict[str, Any]]:
        """Every backend, with its kind, availability and the default flag."""
        return self.backend_registry.all()

    def backend(self, name: str) -> dict[str, Any]:
        """One backend or Invalid."""
        return self.backend_registry.get(name)

    def default_backend(self) -> str:
        """The ``defaults.backend`` setting."""
        return self.backend_registry.default()

    def save_backend(self, name: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Create or update a stored backend."""
        return self.backend_registry.save(name, body, create=create)

    def delete_backend(self, name: str) -> None:
        """Delete a stored backend (not the default one)."""
        self.backend_registry.delete(name)

    # -- creation (creation.py) ------------------------------------------------------------

    async def create(self, **spec: Any) -> dict[str, Any]:
        """Create a task transactionally and start its agent (see :meth:`Creation.create`)."""
        return await self.creation.create(**spec)

    async def upload(self, task_id: str, files: list[tuple[str, bytes]]) -> list[str]:
        """Save files mid-session into ``<worktree>/.context/``."""
        return await self.creation.upload(task_id, files)

    # -- lifecycle (lifecycle.py, launcher.py) ---------------------------------------------

    async def stop(self, task_id: str) -> dict[str, Any]:
        """Stop the agent; a task at work moves to in_review."""
        return await self.lifecycle.stop(task_id)

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Re-spawn a stopped agent, resuming its conversation."""
        return await self.lifecycle.resume(task_id)

    async def restart(self, task_id: str) -> dict[str, Any]:
        """Re-spawn the session in the same worktree."""
        return await self.lifecycle.restart(task_id)

    async def switch_claude_session(self, task_id: str, session_id: str) -> dict[str, Any]:
        """Resume another of the worktree's Claude conversations."""
        return await self.lifecycle.switch_claude_session(task_id, session_id)

    async def start_pending(self, task_id: str) -> None:
        """Start a task that was held back."""
        await self.lifecycle.start_pending(task_id)

    async def delete(self, task_id: str, *, force: bool) -> None:
        """Kill the agent, remove worktree and branch (409 on unsaved work unless force)."""
        await self.lifecycle.delete(task_id, force=force)

    async def stop_all(self) -> list[str]:
        """Stop every running session."""
        return await self.lifecycle.stop_all()

    async def prune_completed(self) -> dict[str, Any]:
        """Delete completed tasks without unsaved work."""
        return await self.lifecycle.prune_completed()

    def set_archived(self, task_id: str, archived: bool | None) -> dict[str, Any]:
        """Archive/unarchive (None toggles)."""
        return self.lifecycle.set_archived(task_id, archived)

    def rename(self, task_id: str, name: Any) -> dict[str, Any]:
        """Change the display name only."""
        return self.lifecycle.rename(task_id, name)

    def set_pinned(self, task_id: str, pinned: bool | None) -> dict[str, Any]:
        """Pin/unpin (None toggles)."""
        return self.lifecycle.set_pinned(task_id, pinned)

    def set_status(self, task_id: str, status: Any) -> dict[str, Any]:
        """Set the status directly."""
        return self.lifecycle.set_status(task_id, status)

    def watch(self, session: Session, kind: str) -> None:
        """Start the idle watcher of a live session."""
        self.launcher.watch(session, kind)

    # -- session events (session_events.py) ------------------------------------------------

    def on_session_exited(self, data: dict[str, Any]) -> None:
        """``session.exited``: update the task's status."""
        self.session_events.on_session_exited(data)

    def recover(self) -> None:
        """At daemon start: finish re-renders a crash cut short; watch live sessions; orphaned
        in_progress tasks go to in_review."""
        self.terminal.recover_rerenders()
        self.session_events.recover()

    def agent_hook(self, body: dict[str, Any], principal: Any) -> None:
        """An agent-side hook report."""
        self.session_events.agent_hook(body, principal)

    # -- terminal (terminal.py) ------------------------------------------------------------

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the task's current session output."""
        return await self.terminal.output(task_id, nbytes)

    async def write_input(self, task_id: str, data: bytes) -> int:
        """Send raw bytes to the agent's stdin."""
        return await self.terminal.write_input(task_id, data)

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent, then Enter."""
        await self.terminal.send_text(task_id, text)

    async def resize(self, task_id: str, cols: Any, rows: Any) -> dict[str, Any]:
        """Resize the PTY (re-rendering an idle agent at a much different width)."""
        return await self.terminal.resize(task_id, cols, rows)

    async def links(self, task_id: str) -> list[dict[str, str]]:
        """URLs found in the recent output, newest first."""
        return await self.terminal.links(task_id)

    # -- merge (merge_actions.py) ----------------------------------------------------------

    async def merge_preview(self, task_id: str) -> dict[str, Any]:
        """Commits ahead/behind the base branch and the conflict preview."""
        return await self.merges.preview(task_id)

    async def merge_action(self, task_id: str, action: str, *, title: str | None = None,
                           body: str | None = None, remote: str = "origin") -> dict[str, Any]:
        """``rebase``, ``merge`` or ``pr``."""
        return await self.merges.act(task_id, action, title=title, body=body, remote=remote)
