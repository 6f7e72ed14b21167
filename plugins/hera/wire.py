"""Hera's REST wire: the request bodies and query strings of ``/api/hera/...`` (pydantic models).

They say only what shape the input has; the rules (names, limits, statuses, which role may do
what) live in ``models.py`` and ``service.py`` so REST and MCP give the same errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MessageId = int | str  # REST clients may send ids as decimal strings


class Wire(BaseModel):
    """Base of every input model: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")


class HeraTaskField(BaseModel):
    """The ``hera`` object of a task bound to a role (absent on other tasks)."""

    role_id: str
    role: str = Field(description="the role's name")
    kind: Literal["coordinator", "worker", "freelance"]
    status: Literal["idle", "working", "blocked", "done"]
    orchestrator_id: str
    orchestrator: str = Field(description="the orchestrator's name")
    unread: int = Field(description="messages to the role not read yet")


class OrchestratorPatch(Wire):
    """``PATCH /api/hera/orchestrators/{id}``: the fields given change; ``null`` toggles a flag."""

    name: str | None = None
    archived: bool | None = None
    pinned: bool | None = None
    collapsed: bool | None = None


class RolePatch(Wire):
    """``PATCH /api/hera/roles/{id}``: the fields given change; ``null`` toggles a flag."""

    name: str | None = None
    archived: bool | None = None
    pinned: bool | None = None
    status: str | None = Field(None, description="idle, working, blocked or done")


class DeleteOrchestratorQuery(Wire):
    """``DELETE /api/hera/orchestrators/{id}``."""

    delete_tasks: bool = Field(False, description="also delete the workers' tasks (agent, worktree, branch)")


class DeleteRoleQuery(Wire):
    """``DELETE /api/hera/roles/{id}``."""

    delete_task: bool = Field(False, description="also delete the role's task (agent, worktree, branch)")


class WorkerBody(Wire):
    """``POST /api/hera/orchestrators/{id}/workers``: spawn a worker as the orchestrator's coordinator."""

    name: str = Field(description="the worker's role name")
    prompt: str
    model: str | None = None
    project: str | None = None
    backend: str | None = None
    depends_on: list[str] = Field(default_factory=list, description="role names this worker waits for")


class StatusBody(Wire):
    """``POST /api/hera/roles/{id}/status``: a ``status``, or ``step`` 1 (advance) / -1 (revert)."""

    status: str | None = None
    step: int | None = None


class MessagesQuery(Wire):
    """``GET /api/hera/roles/{id}/messages``."""

    limit: int = Field(100, ge=1, le=500)


class SendBody(Wire):
    """``POST /api/hera/roles/{id}/messages``: a message from the user to the role."""

    subject: str | None = None
    body: str


class ReadBody(Wire):
    """``POST /api/hera/roles/{id}/read``."""

    message_ids: list[MessageId]


# -- MCP tool arguments (the registry serves their JSON Schema and validates every call) ----------

RoleStatus = Literal["idle", "working", "blocked", "done"]
NAME_HELP = "a role name: letters, digits, _ . - (unique in the orchestrator)"


class Caller(Wire):
    """Who calls: ``cwd`` (the agent's working directory) or ``token`` (its task token)."""

    cwd: str | None = Field(None, description="Your working directory (output of pwd); resolves to your task.")
    token: str | None = Field(None, description="Your task token (alternative to cwd).")


class NewOrchestratorArgs(Caller):
    """``hera_new_orchestrator``."""

    name: str | None = Field(None, description="the orchestrator's name (default: your task's name)")
    role_name: str | None = Field(None, description="your role's name (default: coordinator)")


class JoinArgs(Caller):
    """``hera_join``."""

    role_name: str | None = Field(None, description=NAME_HELP)
    kind: Literal["worker", "freelance"] | None = None
    orchestrator: str | None = Field(None, description="the orchestrator's id or name")


class SpawnWorkerArgs(Caller):
    """``hera_spawn_worker``."""

    name: str = Field(description=NAME_HELP)
    prompt: str
    model: str | None = None
    depends_on: list[str] | None = Field(None, description="role names the worker waits for")
    project: str | None = None
    backend: str | None = None


class SendArgs(Caller):
    """``hera_send``."""

    to: str | None = Field(None, description="a role name in your orchestrator (workers: default coordinator)")
    subject: str | None = Field(None, description="one TLDR line (default: the body's first line)")
    body: str


class LimitArgs(Caller):
    """``hera_inbox`` and ``hera_tree_updates``."""

    limit: int | None = Field(None, ge=1, le=500)


class IdsArgs(Caller):
    """``hera_mark_read`` and ``hera_get_messages``."""

    message_ids: list[int] = Field(max_length=500)


class StatusArgs(Caller):
    """``hera_status``."""

    status: RoleStatus
