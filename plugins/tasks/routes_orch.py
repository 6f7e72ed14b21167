"""REST mirrors of the orchestration tools: DAG, messages, clipboard, artifacts, fork and skills.

Shapes: ``GET /api/dag`` → ``{"nodes": [task], "edges": [{"child_id", "parent_id"}]}``; the
``{id}`` of the message routes is the acting task (the inbox owner, or the sender); artifacts list
as ``{"artifacts": [{"name","title","type","size"}]}``; ``GET /api/skills`` →
``{"skills": [{"name","description","source"}]}``.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Invalid, json_body
from quart import Blueprint, Response, request

from .artifacts import content_type, headers_for
from .orch import Orchestration


def _bool_arg(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    value = raw.lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise Invalid(f"{name} must be true or false")


def make_blueprint(orch: Orchestration) -> Blueprint:
    """Routes bound to one Orchestration."""
    bp = Blueprint("tasks_orch", __name__)
    svc = orch.svc

    # -- DAG -------------------------------------------------------------------------------

    @bp.get("/api/dag")
    async def dag() -> dict[str, Any]:
        archived = request.args.get("archived", "0")
        if archived not in ("0", "1", "all"):
            raise Invalid("archived must be 0, 1 or all")
        return orch.dag.snapshot(archived)

    @bp.get("/api/tasks/<task_id>/deps")
    async def deps(task_id: str) -> dict[str, Any]:
        return orch.dag.deps(task_id)

    @bp.post("/api/tasks/<task_id>/deps")
    async def link(task_id: str) -> tuple[dict[str, Any], int]:
        body = await json_body()
        result = orch.dag.link(task_id, body.get("parent_id"))
        return result, 201 if result["created"] else 200

    @bp.delete("/api/tasks/<task_id>/deps/<parent_id>")
    async def unlink(task_id: str, parent_id: str) -> dict[str, Any]:
        return orch.dag.unlink(task_id, parent_id)

    @bp.post("/api/tasks/<task_id>/halt-downstream")
    async def halt_downstream(task_id: str) -> dict[str, Any]:
        return await orch.dag.halt_downstream(task_id)

    @bp.post("/api/tasks/<task_id>/plan-slug")
    async def plan_slug(task_id: str) -> dict[str, Any]:
        body = await json_body()
        return {"task": svc.to_json(orch.set_plan_slug(task_id, body.get("plan_slug")))}

    # -- messages --------------------------------------------------------------------------

    @bp.get("/api/tasks/<task_id>/inbox")
    async def inbox(task_id: str) -> dict[str, Any]:
        limit_raw = request.args.get("limit")
        try:
            limit = int(limit_raw) if limit_raw not in (None, "") else None
        except ValueError:
            raise Invalid("limit must be an integer") from None
        return orch.mail.inbox(svc.get(task_id), unread_only=_bool_arg("unread_only", True),
                               sender=request.args.get("sender") or None,
                               since=request.args.get("since") or None, limit=limit)

    @bp.post("/api/tasks/<task_id>/inbox/ack")
    async def ack(task_id: str) -> dict[str, Any]:
        body = await json_body()
        return orch.mail.ack(svc.get(task_id), body.get("message_ids"))

    @bp.post("/api/tasks/<task_id>/messages")
    async def send(task_id: str) -> tuple[dict[str, Any], int]:
        body = await json_body()
        message = orch.mail.send(svc.get(task_id), body.get("to"), body.get("body"), body.get("kind"),
                                 body.get("in_reply_to"))
        return {"message": message}, 201

    # -- clipboard -------------------------------------------------------------------------

    @bp.get("/api/clipboard")
    async def clipboard() -> dict[str, Any]:
        return orch.clipboard.get()

    @bp.post("/api/clipboard/consume")
    async def clipboard_consume() -> dict[str, Any]:
        return orch.clipboard.consume()

    # -- artifacts -------------------------------------------------------------------------

    @bp.get("/api/tasks/<task_id>/artifacts")
    async def artifacts(task_id: str) -> dict[str, Any]:
        return {"artifacts": [{k: a[k] for k in ("name", "title", "type", "size", "created_at")}
                              for a in orch.artifacts.list(task_id)]}

    @bp.get("/api/tasks/<task_id>/artifacts/<path:filename>")
    async def artifact(task_id: str, filename: str) -> Response:
        record, data = await orch.artifacts.read(task_id, filename)
        return Response(data, status=200, content_type=content_type(record), headers=headers_for(record))

    # -- fork and skills -------------------------------------------------------------------

    @bp.post("/api/tasks/<task_id>/fork")
    async def fork(task_id: str) -> tuple[dict[str, Any], int]:
        body = await json_body(required=False)
        row = await orch.fork(task_id, name=body.get("name"), prompt=body.get("prompt"),
                              project=body.get("project"))
        return {"task": svc.to_json(row), "source_id": task_id}, 201

    @bp.get("/api/skills")
    async def skills() -> dict[str, Any]:
        found = await orch.skills(request.args.get("project") or None, request.args.get("filter") or "")
        return {"skills": [{k: s[k] for k in ("name", "description", "source", "plugin") if k in s}
                           for s in found]}

    return bp
