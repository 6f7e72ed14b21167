"""Hera's REST wire: the request bodies and query strings of ``/api/hera/...`` (pydantic models).

They say only what shape the input has; the rules (names, limits, statuses, which role may do
what) live in ``models.py`` and ``service.py`` so REST and MCP give the same errors.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MessageId = int | str  # REST clients may send ids as decimal strings


class Wire(BaseModel):
    """Base of every input model: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")


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
