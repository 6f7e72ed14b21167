"""REST routes of the push plugin (the reference manual's ``/api/push/*`` table, plus presence and
notification actions), declared with their models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from argus.kernel.api import Route, principal
from pydantic import BaseModel, ConfigDict, Field

from .notifier import Notifier
from .store import Subscriptions


class Keys(BaseModel):
    """A subscription's encryption keys (from ``PushSubscription.toJSON()``)."""

    model_config = ConfigDict(strict=True, defer_build=True)

    p256dh: str
    auth: str


class SubscribeBody(BaseModel):
    """``POST /api/push/subscribe``."""

    model_config = ConfigDict(strict=True, defer_build=True)

    label: str = ""
    endpoint: str
    keys: Keys
    expirationTime: int | float | None = None  # noqa: N815 - the browser's field name


class PresenceBody(BaseModel):
    """``POST /api/push/presence``: which task this client shows (null: none / hidden)."""

    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)

    task_id: str | None = None
    client: str = Field(default="", max_length=100)


class ActionBody(BaseModel):
    """``POST /api/push/action``: a notification button pressed."""

    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)

    task_id: str
    action: str
    prompt: str


class Out(BaseModel):
    """Base of the response models: a producer may add keys."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class KeyReply(Out):
    key: str


class Subscription(Out):
    id: str
    label: str
    endpoint: str
    created_at: str
    last_sent_at: str | None
    last_error: str | None


class SubscribeReply(Out):
    id: str
    subscription: Subscription


class SubscriptionList(Out):
    subscriptions: list[Subscription]


class OkReply(Out):
    ok: bool


class Outcome(Out):
    sent: int
    pruned: int
    failed: int


class PromptOut(Out):
    id: str
    text: str


class InboxItem(Out):
    id: str
    name: str
    project: str
    body: str
    url: str
    prompt: PromptOut | None


class InboxReply(Out):
    tasks: list[InboxItem]


class Watcher(Out):
    client: str
    task_id: str
    age: float


class PresenceList(Out):
    watching: list[Watcher]


class ActionReply(Out):
    ok: bool
    action: str
    sent: str


def make_routes(public_key: Callable[[], str], subs: Subscriptions, notifier: Notifier) -> list[Route]:
    """Routes bound to one key pair (``public_key()`` reads it on first use), subscription table and
    notifier."""

    async def vapid_public_key() -> dict[str, Any]:
        """The VAPID public key (URL-safe base64) for ``pushManager.subscribe()``."""
        return {"key": public_key()}

    async def subscribe(body: SubscribeBody) -> tuple[dict[str, Any], int]:
        """Register a device (the same endpoint again updates it)."""
        row, created = subs.add(body.label, body.endpoint, body.keys.p256dh, body.keys.auth, principal().token_id)
        return {"id": row["id"], "subscription": subs.to_json(row)}, 201 if created else 200

    async def subscriptions() -> dict[str, Any]:
        """Every subscription, endpoints masked."""
        return {"subscriptions": [subs.to_json(r) for r in subs.all()]}

    async def unsubscribe(sid: str) -> dict[str, Any]:
        """Remove a subscription."""
        subs.delete(sid)
        return {"ok": True}

    async def test() -> dict[str, Any]:
        """Send a test notification to every device."""
        outcome = await notifier.sender.send_all({"title": "Argus", "body": "Test notification: push works.",
                                                  "tag": "argus-test", "url": "/", "kind": "test"})
        return outcome.to_json()

    async def presence(body: PresenceBody) -> dict[str, Any]:
        """This client shows ``task_id`` (null: nothing, or the app is hidden)."""
        who = principal()
        notifier.report_presence(f"{who.kind}:{who.token_id or ''}:{body.client}", body.task_id)
        return {"ok": True}

    async def watching() -> dict[str, Any]:
        """Which clients are looking at which task (within the presence window)."""
        return {"watching": notifier.watching()}

    async def action(body: ActionBody) -> dict[str, Any]:
        """Answer the prompt a notification showed, if it is still on the agent's screen (else 409)."""
        return await notifier.act(body.task_id, body.action, body.prompt)

    async def inbox() -> dict[str, Any]:
        """Every task waiting for you, with its screen excerpt and the prompt buttons can answer."""
        return {"tasks": await notifier.inbox()}

    tags = ("push",)
    return [
        Route("GET", "/api/push/vapid-public-key", vapid_public_key, response=KeyReply, tags=tags),
        Route("POST", "/api/push/subscribe", subscribe, body=SubscribeBody, response=SubscribeReply, status=201,
              tags=tags),
        Route("GET", "/api/push/subscriptions", subscriptions, response=SubscriptionList, tags=tags),
        Route("DELETE", "/api/push/subscribe/{sid}", unsubscribe, response=OkReply, tags=tags),
        Route("POST", "/api/push/test", test, response=Outcome, body_required=False, tags=tags),
        Route("POST", "/api/push/presence", presence, body=PresenceBody, response=OkReply, tags=tags),
        Route("GET", "/api/push/presence", watching, response=PresenceList, tags=tags),
        Route("GET", "/api/push/inbox", inbox, response=InboxReply, tags=tags),
        Route("POST", "/api/push/action", action, body=ActionBody, response=ActionReply, tags=tags),
    ]
