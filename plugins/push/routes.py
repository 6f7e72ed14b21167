"""REST routes of the push plugin (the reference manual's ``/api/push/*`` table, plus presence and
notification actions)."""

from __future__ import annotations

from typing import Any

from argus.kernel.errors import Invalid
from argus.kernel.http import json_body, principal
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from quart import Blueprint

from .notifier import Notifier
from .store import Subscriptions


class Keys(BaseModel):
    """A subscription's encryption keys (from ``PushSubscription.toJSON()``)."""

    model_config = ConfigDict(strict=True)

    p256dh: str
    auth: str


class SubscribeBody(BaseModel):
    """``POST /api/push/subscribe``."""

    model_config = ConfigDict(strict=True)

    label: str = ""
    endpoint: str
    keys: Keys
    expirationTime: int | float | None = None  # noqa: N815 - the browser's field name


class PresenceBody(BaseModel):
    """``POST /api/push/presence``: which task this client shows (null: none / hidden)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    task_id: str | None = None
    client: str = Field(default="", max_length=100)


class ActionBody(BaseModel):
    """``POST /api/push/action``: a notification button pressed."""

    model_config = ConfigDict(strict=True, extra="forbid")

    task_id: str
    action: str
    prompt: str


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise Invalid(f"{where}: {err.get('msg', 'invalid')}") from None


def make_blueprint(public_key: str, subs: Subscriptions, notifier: Notifier) -> Blueprint:
    """Routes bound to one key pair, subscription table and notifier."""
    bp = Blueprint("push", __name__)

    @bp.get("/api/push/vapid-public-key")
    async def vapid_public_key() -> dict[str, Any]:
        return {"key": public_key}

    @bp.post("/api/push/subscribe")
    async def subscribe() -> tuple[dict[str, Any], int]:
        body = _parse(SubscribeBody, await json_body())
        row, created = subs.add(body.label, body.endpoint, body.keys.p256dh, body.keys.auth, principal().token_id)
        return {"id": row["id"], "subscription": subs.to_json(row)}, 201 if created else 200

    @bp.get("/api/push/subscriptions")
    async def subscriptions() -> dict[str, Any]:
        return {"subscriptions": [subs.to_json(r) for r in subs.all()]}

    @bp.delete("/api/push/subscribe/<sid>")
    async def unsubscribe(sid: str) -> dict[str, Any]:
        subs.delete(sid)
        return {"ok": True}

    @bp.post("/api/push/test")
    async def test() -> dict[str, Any]:
        outcome = await notifier.sender.send_all({"title": "Argus", "body": "Test notification: push works.",
                                                  "tag": "argus-test", "url": "/", "kind": "test"})
        return outcome.to_json()

    @bp.post("/api/push/presence")
    async def presence() -> dict[str, Any]:
        body = _parse(PresenceBody, await json_body())
        who = principal()
        notifier.report_presence(f"{who.kind}:{who.token_id or ''}:{body.client}", body.task_id)
        return {"ok": True}

    @bp.post("/api/push/action")
    async def action() -> dict[str, Any]:
        body = _parse(ActionBody, await json_body())
        return await notifier.act(body.task_id, body.action, body.prompt)

    return bp
