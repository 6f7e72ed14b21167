"""The tasks facade: the only thing other plugins import from the tasks plugin.

A plugin reaches the running tasks plugin of its kernel with ``tasks_of(kernel)`` and acts on
tasks through :class:`TasksAPI`; it reacts to tasks by implementing the hooks of
``argus.plugins.tasks.hookspecs`` (published by the tasks plugin through ``argus_addhooks``).
Every task is returned as the Task JSON (docs/rest.md), with ``extra`` holding plugin fields.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from argus.kernel.api import ArgusError, Invalid, NotFound, StashKey

from . import caller as callers
from .limits import CLAUDE_USAGE_LIMIT, CODEX_USAGE_LIMIT, UsageLimit, reset_from_text
from .models import Task as TaskModel  # the Task JSON, for other plugins' response models

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Kernel

    from .service import TaskService

__all__ = ["CLAUDE_USAGE_LIMIT", "CODEX_USAGE_LIMIT", "AgentKind", "AgentLaunch", "CreateTask", "TaskContext",
           "TaskModel", "TaskOption", "TasksAPI", "TasksFacade", "UsageLimit", "reset_from_text", "tasks_of"]


@dataclass
class CreateTask:
    """What a plugin asks for when it creates a task.

    ``project`` defaults to the parent's when ``parent_id`` is given. ``hidden`` keeps the task out
    of the main list. ``extra`` is stored as JSON on the task and comes back as ``task["extra"]``
    (a plugin usually exposes its part through ``argus_task_fields``). ``options`` are create-time
    options plugins declare with ``argus_task_options`` (e.g. ``{"kb_context": True}``).
    """

    prompt: str
    name: str | None = None
    project: str | None = None
    backend: str | None = None
    hidden: bool = False
    parent_id: str | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _always_available() -> str | None:
    return None


@dataclass(frozen=True)
class TaskOption:
    """A create-time option a plugin offers (returned by the ``argus_task_options`` hook).

    - ``name``: the key in ``POST /api/tasks``, MCP ``task_create`` and ``CreateTask.options``
      (a Python identifier; it cannot shadow a core field such as ``prompt``).
    - ``title`` / ``description``: the label of the TUI and PWA forms' checkbox, and the help text
      (also the field's description in ``/api/openapi.json`` and the tool's JSON Schema).
    - ``type``: ``bool``, ``int`` or ``str`` (the forms show ``bool`` options as checkboxes).
    - ``unavailable()``: a reason the option cannot be used now (e.g. a disabled feature), or
      None. Asking for the option (a value other than its default) while it is unavailable is a
      ``400`` naming the option and the reason; the forms hide an unavailable option.
    """

    name: str
    title: str
    description: str = ""
    type: type = bool
    default: Any = False
    unavailable: Callable[[], str | None] = _always_available


@dataclass
class TaskContext:
    """What a plugin contributes to a new task from ``argus_task_prepare``.

    ``prompt`` is appended to the task's prompt as a paragraph of its own; ``files`` (plain file
    names → contents) are written into the worktree's ``.context/`` folder (replacing a file of
    that name) before the agent starts.
    """

    prompt: str = ""
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentLaunch:
    """What an :class:`AgentKind`'s ``build_argv`` gets for one launch of a task's agent.

    ``command`` is the backend's command template split into words (executable first). ``prompt``
    is the task's prompt for a new launch and None for a resume. ``session_id`` is the task's
    agent session id ('' when unknown; assigned up front when the kind sets ``session_ids``).
    ``model`` is the task's model, else the backend's ('' for none). ``token`` is this launch's
    task token (MCP and agent hook; the previous launch's stops working), ``hook_url`` the agent
    hook endpoint (``POST``, see ``ARGUS_HOOK_URL``), ``run_dir`` a private directory (0700) for
    files the kind generates for this launch (never the user's own CLI configuration), and
    ``permission_mode`` the ``defaults.permission_mode`` setting.
    """

    command: builtins.list[str]
    prompt: str | None
    resume: bool
    session_id: str
    model: str
    prompt_flag: str
    task: dict[str, Any]
    mcp_url: str
    token: str = ""
    hook_url: str = ""
    run_dir: str = ""
    permission_mode: str = ""


@dataclass(frozen=True)
class AgentKind:
    """An agent CLI family a plugin teaches tasks (returned by the ``argus_agent_kinds`` hook).

    The built-in kinds (claude, codex, opencode, pi, demo) are registered the same way, by modules
    of the tasks plugin (``argus.plugins.tasks.kinds``); ``generic`` is the fallback for a command
    no kind claims. What a kind says:

    - ``name``: the backend ``kind`` that selects it (letters, digits, ``.``, ``_``, ``-``); a name
      already registered (the built-in ones come first) or ``generic`` is refused. A backend of
      that name (``command`` or the name itself) is listed while no stored backend has the name.
    - ``executables``: command basenames (``claude``) for which a backend naming no ``kind`` is
      of this kind.
    - ``command`` / ``prompt_flag``: the backend listed under the kind's name (default command:
      the name; default prompt flag: none, the prompt is positional).
    - Launch flags: ``build_argv(launch)`` returns the full argv for a new launch or a resume (see
      :class:`AgentLaunch`); raise ``Invalid`` to refuse the launch. ``build_env(launch)`` may add
      environment variables. The environment always carries ``ARGUS_TASK_ID``, ``ARGUS_MCP_URL``,
      ``ARGUS_HOOK_URL`` and ``ARGUS_HOOK_TOKEN``.
    - Idle rule: ``waiting`` / ``busy`` are regular expressions (multi-line) on the last lines of
      the agent's screen, without escape sequences, that show it waits for input / is mid-turn.
    - MCP injection: ``token_in_env`` puts the task token in ``ARGUS_MCP_TOKEN`` (a kind that
      writes it into its own config file from ``launch.token`` turns it off); ``reads_mcp_config``
      means the CLI reads a project-local ``.mcp.json``: tasks writes one in the worktree naming
      Argus's MCP server (with ``${ARGUS_MCP_TOKEN}``).
    - Resume rule: ``session_ids``: tasks assigns a new session id at creation (passed as
      ``session_id``); ``session_from_hook(payload)``: the CLI's session id found in an agent-hook
      payload, remembered for resumes; ``find_session(worktree)``: the CLI's newest session for a
      worktree, looked up (in a thread) before a resume without a known id; ``resume_without_id``:
      a resume works without an id (else a task without one starts anew); ``conversations``: the
      CLI keeps Claude Code conversations, which the user may switch between.
    - Usage limit: ``usage_limit`` says how the CLI reports it hit its usage limit (a
      :class:`UsageLimit`: a regular expression on the last screen lines and a function giving the
      reset time from the match). When it shows, the task goes to ``limit`` and Argus types the
      continue message after the reset (docs/plugins.md). ``CLAUDE_USAGE_LIMIT`` /
      ``CODEX_USAGE_LIMIT`` are the built-in kinds' rules and ``reset_from_text`` reads a reset time.
    """

    name: str
    build_argv: Callable[[AgentLaunch], builtins.list[str]]
    command: str = ""
    waiting: str = r"\? for shortcuts|^\s*[>❯›$#]\s*$|\(y/n\)|\[Y/n\]"
    busy: str = r"esc to interrupt"
    reads_mcp_config: bool = False
    session_ids: bool = False
    executables: tuple[str, ...] = ()
    prompt_flag: str = ""
    build_env: Callable[[AgentLaunch], dict[str, str]] | None = None
    token_in_env: bool = True
    session_from_hook: Callable[[Any], str | None] | None = None
    find_session: Callable[[str], str | None] | None = None
    resume_without_id: bool = False
    conversations: bool = False
    usage_limit: UsageLimit | None = None


class TasksAPI(Protocol):
    """What plugins may do with tasks (all tasks as Task JSON dicts)."""

    def get(self, task_id: str) -> dict[str, Any]:
        """One task, or ``NotFound``."""

    def list(self, *, status: str | None = None, project: str | None = None,
             include_hidden: bool = False, archived: bool | None = None) -> builtins.list[dict[str, Any]]:
        """Tasks in creation order, filtered; ``archived=None`` means archived or not."""

    async def create(self, spec: CreateTask) -> dict[str, Any]:
        """Create a task (worktree, branch, agent) unless a launch gate holds it ``pending``."""

    async def stop(self, task_id: str) -> dict[str, Any]:
        """Stop the agent; the task moves to ``in_review``."""

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Re-spawn a stopped agent, resuming its conversation."""

    async def start_pending(self, task_id: str) -> None:
        """Start a task a launch gate held (no-op unless it is still pending and not running)."""

    async def delete(self, task_id: str, force: bool = False) -> None:
        """Delete the task, its worktree and branch (``Conflict`` on unsaved work unless ``force``)."""

    def set_status(self, task_id: str, status: str) -> dict[str, Any]:
        """Set the status directly (``pending``, ``in_progress``, ``in_review``, ``complete``; ``limit``
        is set only by usage-limit detection, and leaving it cancels the planned resume)."""

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent: clear its input line, the text, then Enter."""

    async def write_input(self, task_id: str, data: bytes) -> int:
        """Send raw bytes to the agent's terminal."""

    def is_idle(self, task_id: str) -> bool:
        """Whether the task's agent waits for input (or has no live session)."""

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the agent's terminal output (raw, with escape sequences)."""

    def rename(self, task_id: str, name: str) -> dict[str, Any]:
        """Change a task's display name (its slug, branch and worktree stay)."""

    def changed(self, task_id: str) -> None:
        """Publish ``task.updated`` with the task's current JSON (after this plugin's
        ``argus_task_fields`` answer changed, so clients redraw it); nothing for an unknown task."""

    def backends(self) -> builtins.list[dict[str, Any]]:
        """Every backend (name, command, prompt_flag, model, kind, default, available)."""

    def backend(self, name: str) -> dict[str, Any]:
        """One backend, or ``Invalid``."""

    def projects(self) -> builtins.list[dict[str, Any]]:
        """Every project (name, path, branch, backend, sandbox, source)."""

    def project(self, name: str) -> dict[str, Any]:
        """One project, or ``NotFound``."""

    def resolve_caller(self, cwd: str | None, token: str | None) -> dict[str, Any] | None:
        """The task an MCP caller is: by its task token, else the task owning ``cwd``; or None."""


class TasksFacade:
    """:class:`TasksAPI` over one kernel's TaskService."""

    def __init__(self, svc: TaskService) -> None:
        self._svc = svc

    def get(self, task_id: str) -> dict[str, Any]:
        """One task, or ``NotFound``."""
        return self._svc.to_json(self._svc.get(task_id))

    def list(self, *, status: str | None = None, project: str | None = None,
             include_hidden: bool = False, archived: bool | None = None) -> builtins.list[dict[str, Any]]:
        """Tasks in creation order, filtered; ``archived=None`` means archived or not."""
        flag = "all" if archived is None else ("1" if archived else "0")
        out = [self._svc.to_json(r) for r in self._svc.store.tasks(status=status, project=project, archived=flag)]
        return out if include_hidden else [t for t in out if not t["hidden"]]

    async def create(self, spec: CreateTask) -> dict[str, Any]:
        """Create a task (worktree, branch, agent) unless a launch gate holds it ``pending``."""
        if not isinstance(spec, CreateTask):
            raise Invalid("create takes a CreateTask")
        row = await self._svc.create(name=spec.name, prompt=spec.prompt, project=spec.project,
                                     backend=spec.backend, model=spec.model, hidden=spec.hidden,
                                     parent_id=spec.parent_id, extra=dict(spec.extra),
                                     options=dict(spec.options))
        return self._svc.to_json(row)

    async def stop(self, task_id: str) -> dict[str, Any]:
        """Stop the agent; the task moves to ``in_review``."""
        return self._svc.to_json(await self._svc.stop(task_id))

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Re-spawn a stopped agent, resuming its conversation."""
        return self._svc.to_json(await self._svc.resume(task_id))

    async def start_pending(self, task_id: str) -> None:
        """Start a task a launch gate held (no-op unless it is still pending and not running)."""
        await self._svc.start_pending(task_id)

    async def delete(self, task_id: str, force: bool = False) -> None:
        """Delete the task, its worktree and branch (``Conflict`` on unsaved work unless ``force``)."""
        await self._svc.delete(task_id, force=force)

    def set_status(self, task_id: str, status: str) -> dict[str, Any]:
        """Set the status directly (``pending``, ``in_progress``, ``in_review``, ``complete``)."""
        return self._svc.to_json(self._svc.set_status(task_id, status))

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent: clear its input line, the text, then Enter."""
        await self._svc.send_text(task_id, text)

    async def write_input(self, task_id: str, data: bytes) -> int:
        """Send raw bytes to the agent's terminal."""
        return await self._svc.write_input(task_id, data)

    def is_idle(self, task_id: str) -> bool:
        """Whether the task's agent waits for input (or has no live session)."""
        return self._svc.is_idle(self._svc.get(task_id))

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the agent's terminal output (raw, with escape sequences)."""
        return await self._svc.output(task_id, nbytes)

    def rename(self, task_id: str, name: str) -> dict[str, Any]:
        """Change a task's display name (its slug, branch and worktree stay)."""
        return self._svc.to_json(self._svc.rename(task_id, name))

    def changed(self, task_id: str) -> None:
        """Publish ``task.updated`` with the task's current JSON (after this plugin's
        ``argus_task_fields`` answer changed, so clients redraw it); nothing for an unknown task."""
        self._svc.changed(task_id)

    def backends(self) -> builtins.list[dict[str, Any]]:
        """Every backend (name, command, prompt_flag, model, kind, default, available)."""
        return self._svc.backends()

    def backend(self, name: str) -> dict[str, Any]:
        """One backend, or ``Invalid``."""
        return self._svc.backend(name)

    def projects(self) -> builtins.list[dict[str, Any]]:
        """Every project (name, path, branch, backend, sandbox, source)."""
        return self._svc.projects()

    def project(self, name: str) -> dict[str, Any]:
        """One project, or ``NotFound``."""
        return self._svc.project(name)

    def resolve_caller(self, cwd: str | None, token: str | None) -> dict[str, Any] | None:
        """The task an MCP caller is: by its task token, else the task owning ``cwd``; or None.

        In a tool, the caller's task token is already resolved: ``ctx.principal.task_id``.
        """
        if token:
            try:
                caller = self._svc.kernel.tokens.authenticate(token)
            except ArgusError:
                caller = None
            row = self._svc.store.task(caller.task_id) if caller is not None and caller.task_id else None
            if row is not None:
                return self._svc.to_json(row)
        if cwd:
            try:
                return self._svc.to_json(callers.match_cwd(self._svc.store.tasks(archived="all"), cwd))
            except (NotFound, Invalid):
                return None
        return None


TASKS = StashKey[TasksAPI]()


def tasks_of(kernel: Kernel) -> TasksAPI:
    """The tasks facade of ``kernel``; ``NotFound`` when the tasks plugin is not loaded."""
    try:
        return kernel.stash[TASKS]
    except KeyError:
        raise NotFound("the tasks plugin is not loaded") from None
