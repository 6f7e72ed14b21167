"""REST for the clients (TUI Hera tab, PWA Hera screen): the tree, a role's messages, role actions.

``GET /api/hera`` always answers (``{"enabled", "orchestrators"}``) so a client can label its tab;
every other route answers 404 ``{"error": "hera is disabled ..."}`` while ``[hera] enabled`` is
false. The human sends as ``user`` and may message any role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from argus.kernel.http import json_body
from quart import Blueprint, request

from . import models as m
from .compat import Conflict, Invalid, NotFound
from .service import Hera


def _flag(name: str) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise Invalid(f"{name} must be true or false")


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise Invalid(f"{name} must be an integer from 1 to {m.LIST_MAX}")
    return m.limit(int(raw), default, name)


def make_blueprint(hera: Hera, enabled: Callable[[], bool], reattach: Callable[[str], Any]) -> Blueprint:
    """Routes bound to one Hera."""
    bp = Blueprint("hera", __name__)

    @bp.before_request
    async def gate() -> Any:
        if request.path.rstrip("/") != "/api/hera" and not enabled():
            raise NotFound("hera is disabled ([hera] enabled = false)")
        return None

    @bp.get("/api/hera")
    async def snapshot() -> dict[str, Any]:
        if not enabled():
            return {"enabled": False, "orchestrators": []}
        return {"enabled": True, **hera.snapshot()}

    @bp.get("/api/hera/orchestrators")
    async def orchestrators() -> dict[str, Any]:
        return hera.snapshot()

    @bp.get("/api/hera/orchestrators/<orch_id>")
    async def orchestrator(orch_id: str) -> dict[str, Any]:
        return {"orchestrator": hera.orchestrator_json(hera.orchestrator(orch_id))}

    @bp.patch("/api/hera/orchestrators/<orch_id>")
    async def update_orchestrator(orch_id: str) -> dict[str, Any]:
        return {"orchestrator": hera.update_orchestrator(hera.orchestrator(orch_id), await json_body())}

    @bp.delete("/api/hera/orchestrators/<orch_id>")
    async def delete_orchestrator(orch_id: str) -> dict[str, Any]:
        return await hera.delete_orchestrator(hera.orchestrator(orch_id), delete_tasks=_flag("delete_tasks"))

    @bp.post("/api/hera/orchestrators/<orch_id>/workers")
    async def spawn_worker(orch_id: str) -> tuple[dict[str, Any], int]:
        orch = hera.orchestrator(orch_id)
        coordinator = hera.store.coordinator(orch["id"])
        if coordinator is None:
            raise Conflict(f"orchestrator {orch['name']!r} has no coordinator")
        return await hera.spawn_worker(await json_body(), coordinator=coordinator), 201

    @bp.get("/api/hera/roles/<role_id>")
    async def role(role_id: str) -> dict[str, Any]:
        return {"role": hera.role_json(hera.role(role_id))}

    @bp.patch("/api/hera/roles/<role_id>")
    async def update_role(role_id: str) -> dict[str, Any]:
        return {"role": hera.update_role(hera.role(role_id), await json_body())}

    @bp.delete("/api/hera/roles/<role_id>")
    async def delete_role(role_id: str) -> dict[str, Any]:
        return await hera.delete_role(hera.role(role_id), delete_task=_flag("delete_task"))

    @bp.post("/api/hera/roles/<role_id>/status")
    async def status(role_id: str) -> dict[str, Any]:
        body = await json_body()
        role = hera.role(role_id)
        if "step" in body:
            if body["step"] not in (1, -1) or isinstance(body["step"], bool):
                raise Invalid("step must be 1 (advance) or -1 (revert)")
            return {"role": hera.step_status(role, body["step"])}
        return {"role": hera.set_status(role, body.get("status"))}

    @bp.get("/api/hera/roles/<role_id>/messages")
    async def messages(role_id: str) -> dict[str, Any]:
        return hera.role_messages(hera.role(role_id), _int_arg("limit", 100))

    @bp.post("/api/hera/roles/<role_id>/messages")
    async def send(role_id: str) -> tuple[dict[str, Any], int]:
        return hera.send_as_user(hera.role(role_id), await json_body()), 201

    @bp.post("/api/hera/roles/<role_id>/read")
    async def mark_read(role_id: str) -> dict[str, Any]:
        body = await json_body()
        return hera.mark_role_read(hera.role(role_id), m.message_ids(body.get("message_ids")))

    @bp.post("/api/hera/roles/<role_id>/reattach")
    async def reattach_role(role_id: str) -> dict[str, Any]:
        return await reattach(role_id)

    return bp
