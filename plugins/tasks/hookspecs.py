"""The hooks the tasks plugin publishes (through ``argus_addhooks``) for other plugins to implement.

``task`` is always the Task JSON (what ``GET /api/tasks/<id>`` returns, see docs/rest.md), with
``extra`` holding the plugin fields given at creation. Every hook is called synchronously from the
tasks plugin while it works on that task: implementations must be quick and must not block.
Anything slow goes to the plugin's own background job (e.g. fed by a trio memory channel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from argus.kernel.api import hookspec

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from .api import AgentKind


@hookspec
def argus_task_created(task: dict[str, Any]) -> None:
    """Called once a new task's row and worktree exist, before the launch gate is asked and its
    agent starts (``task["status"]`` is ``pending``).

    Raising aborts the creation, which is then undone; when a later step fails, the task is undone
    and ``argus_task_deleted`` is called for it.
    """


@hookspec
def argus_task_status_changed(task: dict[str, Any], old: str, new: str) -> None:
    """Called after a task's status changed from ``old`` to ``new`` (``pending``, ``in_progress``,
    ``in_review``, ``complete``, ``limit``), whatever changed it: an agent exit, a stop, a resume, the
    user, the agent's usage-limit message (``limit``) or the resume after its reset.

    ``task`` already shows ``new``. Not called for the creation itself (see ``argus_task_created``).
    """


@hookspec
def argus_task_idle(task: dict[str, Any], idle: bool, reason: str) -> None:
    """Called when a running agent starts waiting for input (``idle=True``) or works again.

    ``reason`` says how it was detected (an agent hook, output quiet, typed input).
    """


@hookspec
def argus_task_deleted(task: dict[str, Any]) -> None:
    """Called after a task was deleted (its row, worktree and branch are gone), or after a task
    whose creation failed was undone. ``task`` is the Task JSON as it was just before.
    """


@hookspec
def argus_session_started(task: dict[str, Any], session_id: str, resumed: bool) -> None:
    """Called after a task's agent was spawned in a new session (its first start, a resume, a
    restart or a re-render); ``resumed`` says whether it continues an earlier conversation.
    ``task`` already shows ``in_progress`` and the new ``session_id``.
    """


@hookspec
def argus_session_exited(task: dict[str, Any], session_id: str, code: int | None, reason: str) -> None:
    """Called after a task's agent session ended and the task's status was updated from it.

    ``reason`` is ``exited`` (the agent quit by itself; ``code`` 0 completes the task),
    ``signal`` (killed), ``stopped`` (stopped on purpose), ``lost`` (the supervisor lost it) or
    ``restarted`` (ended for a re-render; a new session follows).
    """


@hookspec
def argus_task_fields(task: dict[str, Any]) -> dict[str, Any] | None:
    """Return extra keys merged into this task's JSON (namespaced by the plugin, e.g.
    ``{"hera": {...}}``), or None. Called whenever the Task JSON is built: keep it cheap.

    ``task`` is the Task JSON without other plugins' fields; the core keys cannot be overridden.
    """


@hookspec
def argus_task_field_models() -> Mapping[str, type[BaseModel]]:
    """Declare the keys this plugin's ``argus_task_fields`` adds to the Task JSON: key → the
    pydantic model of its value (e.g. ``{"hera": HeraTaskField}``).

    Asked once when the tasks plugin registers. Each key is documented in ``/api/openapi.json`` as
    an optional, nullable property of the ``Task`` schema; clients read only declared keys.
    """


@hookspec
def argus_launch_gate(task: dict[str, Any]) -> str | None:
    """Return a reason to keep this task ``pending`` instead of starting its agent, or None.

    Asked at creation and when a never-started task is resumed; the first reason holds the task.
    Start it later with ``tasks_of(kernel).start_pending(task_id)``.
    """


@hookspec(firstresult=True)
def argus_session_command(task: dict[str, Any], argv: list[str], env: dict[str, str]) -> list[str] | None:
    """Wrap or rewrite an agent's argv before it is spawned (the sandbox plugin).

    Return a new argv, or None to leave it unchanged; the first non-None answer wins. ``env`` is
    the agent-specific environment (may be updated in place). Raise ``Invalid`` to refuse the
    launch with a reason (the creation or resume fails with it).
    """


@hookspec
def argus_worktree_created(task: dict[str, Any], path: str) -> None:
    """Called after a task's worktree exists at ``path`` and before its agent starts.

    Plugins may write files into the worktree (e.g. an MCP config). Raising aborts task creation,
    which then undoes everything done so far.
    """


@hookspec(firstresult=True)
def argus_task_hidden(task: dict[str, Any]) -> bool | None:
    """Return True to hide this task from the main task list (e.g. a coordinator's worker tasks),
    False to show it even if it was created hidden, or None to keep its ``hidden`` flag.
    """


@hookspec
def argus_agent_kinds() -> Sequence[AgentKind]:
    """Return the agent CLI kinds this plugin provides (``argus.plugins.tasks.api.AgentKind``).

    Asked whenever tasks lists backends, creates or launches a task: return constants, quickly.
    The built-in kinds (claude, codex, opencode, pi, demo) are answers of this hook too, from the
    tasks plugin's ``kinds`` modules (``tryfirst``). A kind claiming ``executables`` is the kind
    of every backend whose command runs one; any other kind is selectable as a backend ``kind``
    (``POST /api/backends`` with ``"kind"``) and listed as a backend of its own name. Its
    ``build_argv`` builds the agent's argv for a new launch and a resume, its ``waiting``/``busy``
    patterns drive idle detection. A kind named ``generic`` or like an earlier answer's is
    ignored, with a warning in the log.
    """
