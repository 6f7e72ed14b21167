"""Hera's REST wire: the request bodies and query strings of ``/api/hera/...`` (pydantic models).

They say only what shape the input has; the rules (names, limits, statuses, which role may do
what) live in ``models.py`` and ``service.py`` so REST and MCP give the same errors.
"""

from __future__ import annotations

from typing import Literal

from argus.plugins.tasks.api import TaskModel
from pydantic import BaseModel, ConfigDict, Field

MessageId = int | str  # REST clients may send ids as decimal strings


class Wire(BaseModel):
    """Base of every input model: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class HeraTaskField(BaseModel):
    """The ``hera`` object of a task bound to a role (absent on other tasks)."""
    model_config = ConfigDict(defer_build=True)

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


# -- REST answers (documented in /api/openapi.json, checked under ARGUS_CHECK_RESPONSES=1) -------


class Out(BaseModel):
    """Base of every response model: a producer may add keys."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class RoleOut(Out):
    """A role as tools and REST return it."""

    id: str
    name: str
    kind: Literal["coordinator", "worker", "freelance"]
    status: Literal["idle", "working", "blocked", "done"]
    orchestrator_id: str
    orchestrator: str = Field(description="the orchestrator's name")
    task_id: str | None = Field(description="the bound task (null once it was deleted)")
    bound: bool = Field(description="whether the bound task still exists")
    archived: bool
    pinned: bool
    depends_on: list[str] = Field(description="role names this role waits for")
    unread: int
    created_at: str
    updated_at: str


class OrchestratorOut(Out):
    """An orchestrator with its roles and their unread counts."""

    id: str
    name: str
    archived: bool
    pinned: bool
    collapsed: bool
    created_at: str
    updated_at: str
    roles: list[RoleOut]
    unread: int


class MessageOut(Out):
    """A message to or from a role (``from_role`` null: sent by the user)."""

    id: int
    orchestrator_id: str
    from_role: str | None
    from_: str = Field(alias="from", description="the sender's name")
    to_role: str
    to: str = Field(description="the recipient's name")
    subject: str
    created_at: str
    body: str
    read: bool
    read_at: str | None
    delivered_at: str | None
    delivery: Literal["delivered", "cancelled", "pending"]


class SnapshotReply(Out):
    """``GET /api/hera``: whether hera is enabled, and the tree."""

    enabled: bool
    orchestrators: list[OrchestratorOut]


class OrchestratorsReply(Out):
    """``GET /api/hera/orchestrators``: the tree."""

    orchestrators: list[OrchestratorOut]


class OrchestratorReply(Out):
    """``{"orchestrator": OrchestratorOut}``."""

    orchestrator: OrchestratorOut


class OrchestratorDeleted(Out):
    """``DELETE /api/hera/orchestrators/{id}``: its id and how many roles went with it."""

    deleted: str
    roles: int


class RoleReply(Out):
    """``{"role": RoleOut}``."""

    role: RoleOut


class RoleDeleted(Out):
    """``DELETE /api/hera/roles/{id}``: its id and whether its task was deleted too."""

    deleted: str
    task_deleted: bool


class WorkerReply(Out):
    """``POST /api/hera/orchestrators/{id}/workers``: the new role and its task."""

    role: RoleOut
    task: TaskModel


class ReattachReply(Out):
    """``POST /api/hera/roles/{id}/reattach``: the role, whether its agent was resumed, its task."""

    role: RoleOut
    resumed: bool
    task: TaskModel


class RoleMessagesReply(Out):
    """``GET /api/hera/roles/{id}/messages``: the role and its messages, oldest first."""

    role: RoleOut
    messages: list[MessageOut]


class MessageReply(Out):
    """``{"message": MessageOut}``."""

    message: MessageOut


class ReadReply(Out):
    """``POST /api/hera/roles/{id}/read``: which messages were marked read."""

    marked: int
    message_ids: list[int]
    cancelled_deliveries: list[int] = Field(description="marked messages whose pending delivery was cancelled")
    unread: int


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
