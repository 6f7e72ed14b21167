"""REST: the effective sandbox of a task, for review (``GET /api/tasks/{id}/sandbox``)."""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Route
from pydantic import BaseModel, ConfigDict, Field

from .service import Sandbox


class Out(BaseModel):
    """Response base: a producer may add keys."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class Launch(Out):
    """How the task's running (or last) agent was launched."""

    sandboxed: bool
    backend: str | None = Field(None, description='e.g. "bubblewrap 0.8.0", "sandbox-exec"')
    policy: dict[str, Any] = Field(default_factory=dict, description="paths denied/writable, network, ...")
    launched_at: str


class NextLaunch(Out):
    """What a new launch (a resume, a restart) of the task would get with today's settings."""

    enabled: bool
    enabled_from: str = Field(description='"project" or "global"')
    available: bool
    backend: str | None = None
    reason: str | None = None
    policy: dict[str, Any] | None = None


class SandboxTaskField(Out):
    """The ``sandbox`` object of every task: how its last agent launch was confined (``launched``
    false before the first one)."""

    sandboxed: bool
    backend: str | None = Field(description='e.g. "bubblewrap 0.8.0"; null when not sandboxed')
    launched: bool


class TaskSandbox(Out):
    """``GET /api/tasks/{id}/sandbox``."""

    task_id: str
    current: Launch | None
    next: NextLaunch


def make_routes(sandbox: Sandbox) -> list[Route]:
    """The sandbox plugin's routes, bound to this daemon's ``Sandbox``."""

    async def task_sandbox(task_id: str) -> dict[str, Any]:
        """How the task's agent is confined (``current``) and how a new launch would be (``next``)."""
        return sandbox.describe(task_id)

    return [Route("GET", "/api/tasks/{task_id}/sandbox", task_sandbox, response=TaskSandbox,
                  summary="The task's effective sandbox (running agent and next launch)", tags=("sandbox",))]
