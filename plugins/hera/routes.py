"""REST for the clients (TUI Hera tab, PWA Hera screen): the tree, a role's messages, role actions.

``GET /api/hera`` always answers (``{"enabled", "orchestrators"}``) so a client can label its tab;
every other route answers 404 ``{"error": "hera is disabled ..."}`` while ``[hera] enabled`` is
false. The human sends as ``user`` and may message any role.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from argus.kernel.api import Conflict, Invalid, NotFound, Route

from . import models as m
from . import wire as w
from .service import Hera

BASE = "/api/hera"


def make_routes(hera: Hera, enabled: Callable[[], bool],
                reattach: Callable[[str], Awaitable[dict[str, Any]]]) -> list[Route]:
    """Routes bound to one Hera, declared with their models (``wire.py``)."""

    def gated(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def handler(**kwargs: Any) -> Any:
            if not enabled():
                raise NotFound("hera is disabled ([hera] enabled = false)")
            return await fn(**kwargs)
        return handler

    async def snapshot() -> dict[str, Any]:
        """Whether hera is enabled, and every orchestrator with its roles and unread counts."""
        if not enabled():
            return {"enabled": False, "orchestrators": []}
        return {"enabled": True, **hera.snapshot()}

    @gated
    async def orchestrators() -> dict[str, Any]:
        """Every orchestrator with its roles and unread counts."""
        return hera.snapshot()

    @gated
    async def orchestrator(orch_id: str) -> dict[str, Any]:
        """One orchestrator with its roles."""
        return {"orchestrator": hera.orchestrator_json(hera.orchestrator(orch_id))}

    @gated
    async def update_orchestrator(orch_id: str, body: w.OrchestratorPatch) -> dict[str, Any]:
        """Rename, archive, pin or collapse an orchestrator (``null`` toggles a flag)."""
        return {"orchestrator": hera.update_orchestrator(hera.orchestrator(orch_id),
                                                         body.model_dump(exclude_unset=True))}

    @gated
    async def delete_orchestrator(orch_id: str, query: w.DeleteOrchestratorQuery) -> dict[str, Any]:
        """Delete an orchestrator with its roles and messages."""
        return await hera.delete_orchestrator(hera.orchestrator(orch_id), delete_tasks=query.delete_tasks)

    @gated
    async def spawn_worker(orch_id: str, body: w.WorkerBody) -> tuple[dict[str, Any], int]:
        """Spawn a worker task bound to a new worker role, as the orchestrator's coordinator."""
        orch = hera.orchestrator(orch_id)
        coordinator = hera.store.coordinator(orch["id"])
        if coordinator is None:
            raise Conflict(f"orchestrator {orch['name']!r} has no coordinator")
        return await hera.spawn_worker(body.model_dump(), coordinator=coordinator), 201

    @gated
    async def role(role_id: str) -> dict[str, Any]:
        """One role."""
        return {"role": hera.role_json(hera.role(role_id))}

    @gated
    async def update_role(role_id: str, body: w.RolePatch) -> dict[str, Any]:
        """Rename, archive, pin a role or set its status (``null`` toggles a flag)."""
        return {"role": hera.update_role(hera.role(role_id), body.model_dump(exclude_unset=True))}

    @gated
    async def delete_role(role_id: str, query: w.DeleteRoleQuery) -> dict[str, Any]:
        """Delete a role with its messages."""
        return await hera.delete_role(hera.role(role_id), delete_task=query.delete_task)

    @gated
    async def status(role_id: str, body: w.StatusBody) -> dict[str, Any]:
        """Set a role's status, or step it (1 advances, -1 reverts idle → working → blocked → done)."""
        current = hera.role(role_id)
        if body.step is not None:
            if body.step not in (1, -1):
                raise Invalid("step must be 1 (advance) or -1 (revert)")
            return {"role": hera.step_status(current, body.step)}
        return {"role": hera.set_status(current, body.status)}

    @gated
    async def messages(role_id: str, query: w.MessagesQuery) -> dict[str, Any]:
        """Messages to and from a role, oldest first (nothing is marked read)."""
        return hera.role_messages(hera.role(role_id), query.limit)

    @gated
    async def send(role_id: str, body: w.SendBody) -> tuple[dict[str, Any], int]:
        """Send a message to the role as the user."""
        return hera.send_as_user(hera.role(role_id), body.model_dump()), 201

    @gated
    async def mark_read(role_id: str, body: w.ReadBody) -> dict[str, Any]:
        """Mark some of the role's messages read (cancelling their pending deliveries)."""
        return hera.mark_role_read(hera.role(role_id), m.message_ids(body.message_ids))

    @gated
    async def reattach_role(role_id: str) -> dict[str, Any]:
        """Resume the role's agent if its session is dead."""
        return await reattach(role_id)

    orch, role_path = f"{BASE}/orchestrators/{{orch_id}}", f"{BASE}/roles/{{role_id}}"
    tags = ("hera",)
    return [
        Route("GET", BASE, snapshot, tags=tags),
        Route("GET", f"{BASE}/orchestrators", orchestrators, tags=tags),
        Route("GET", orch, orchestrator, tags=tags),
        Route("PATCH", orch, update_orchestrator, body=w.OrchestratorPatch, tags=tags),
        Route("DELETE", orch, delete_orchestrator, query=w.DeleteOrchestratorQuery, tags=tags),
        Route("POST", f"{orch}/workers", spawn_worker, body=w.WorkerBody, status=201, tags=tags),
        Route("GET", role_path, role, tags=tags),
        Route("PATCH", role_path, update_role, body=w.RolePatch, tags=tags),
        Route("DELETE", role_path, delete_role, query=w.DeleteRoleQuery, tags=tags),
        Route("POST", f"{role_path}/status", status, body=w.StatusBody, tags=tags),
        Route("GET", f"{role_path}/messages", messages, query=w.MessagesQuery, tags=tags),
        Route("POST", f"{role_path}/messages", send, body=w.SendBody, status=201, tags=tags),
        Route("POST", f"{role_path}/read", mark_read, body=w.ReadBody, tags=tags),
        Route("POST", f"{role_path}/reattach", reattach_role, body_required=False, tags=tags),
    ]
