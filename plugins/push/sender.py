"""Delivering one payload to every subscription: VAPID-signed, aes128gcm-encrypted (pywebpush), each
endpoint in its own worker thread with a timeout, gone endpoints (404/410) pruned, other failures
logged with the endpoint masked and retried once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from .keys import VapidKeys

if TYPE_CHECKING:  # pragma: no cover
    from py_vapid import Vapid
from .store import Subscriptions, mask

log = logging.getLogger(__name__)

GONE = (404, 410)
TTL = 3600


@dataclass
class Outcome:
    """Counts of one fan-out."""

    sent: int = 0
    pruned: int = 0
    failed: int = 0

    def to_json(self) -> dict[str, int]:
        """The counts as a JSON object."""
        return {"sent": self.sent, "pruned": self.pruned, "failed": self.failed}


class Sender:
    """Fans a JSON payload out to every subscription."""

    def __init__(self, keys: VapidKeys, subs: Subscriptions, options: Callable[[], dict[str, Any]]) -> None:
        self.keys = keys
        self.subs = subs
        self.options = options  # the push settings section (subject, send_timeout)
        self._vapid: Vapid | None = None  # made on the first send: pywebpush is slow to import

    def _post(self, row: dict[str, Any], data: bytes, timeout: float, subject: str) -> int:
        """One blocking send (worker thread); the HTTP status, or raises on a network error."""
        from pywebpush import WebPushException, webpush  # imported here: it weighs on daemon start-up

        if self._vapid is None:
            self._vapid = self.keys.vapid()
        try:
            resp = webpush({"endpoint": row["endpoint"], "keys": {"p256dh": row["p256dh"], "auth": row["auth"]}},
                           data=data, vapid_private_key=self._vapid, vapid_claims={"sub": subject},
                           content_encoding="aes128gcm", timeout=timeout, ttl=TTL)
        except WebPushException as exc:
            if exc.response is not None:
                return int(exc.response.status_code)
            raise
        return int(getattr(resp, "status_code", 201))

    async def _attempt(self, row: dict[str, Any], data: bytes) -> int | str:
        opts = self.options()
        timeout = float(opts.get("send_timeout") or 10)
        subject = str(opts.get("subject") or "mailto:argus@localhost")
        with trio.move_on_after(timeout + 2):
            try:
                return await trio.to_thread.run_sync(partial(self._post, row, data, timeout, subject),
                                                     abandon_on_cancel=True)
            except Exception as exc:  # network errors, refused connections
                return f"{type(exc).__name__}: {str(exc)[:200]}"
        return "timed out"

    async def send_one(self, row: dict[str, Any], data: bytes, outcome: Outcome) -> None:
        """Send to one subscription: prune on 404/410, retry once on other failures."""
        for attempt in (1, 2):
            result = await self._attempt(row, data)
            if isinstance(result, int) and result < 300:
                self.subs.mark(row["id"], None)
                outcome.sent += 1
                return
            if isinstance(result, int) and result in GONE:
                log.info("push subscription %s (%s) is gone (%d): pruned", row["id"], mask(row["endpoint"]), result)
                self.subs.prune(row["id"])
                outcome.pruned += 1
                return
            error = f"HTTP {result}" if isinstance(result, int) else result
            log.warning("push to %s failed (attempt %d): %s", mask(row["endpoint"]), attempt, error)
        self.subs.mark(row["id"], error)
        outcome.failed += 1

    async def send_all(self, payload: dict[str, Any]) -> Outcome:
        """Send ``payload`` (JSON) to every subscription concurrently."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        outcome = Outcome()
        async with trio.open_nursery() as nursery:
            for row in self.subs.all():
                nursery.start_soon(self.send_one, row, data, outcome)
        return outcome
