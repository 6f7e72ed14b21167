"""Push subscriptions: one row per device endpoint, in the push plugin's own table."""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any
from urllib.parse import urlparse

from argus.kernel.api import Database, Invalid, Migration, NotFound, utcnow

from .keys import b64url_decode

MIGRATIONS = [Migration("push", 1, """
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL DEFAULT '',
    endpoint TEXT NOT NULL UNIQUE,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    token_id TEXT,
    created_at TEXT NOT NULL,
    last_sent_at TEXT,
    last_error TEXT
);
""")]

MAX_LABEL = 100
MAX_ENDPOINT = 2048


def mask(endpoint: str) -> str:
    """``https://push.example.com/…a1b2c3``: enough to recognize a device, useless to send to it."""
    parsed = urlparse(endpoint)
    return f"{parsed.scheme}://{parsed.netloc}/…{endpoint[-6:]}"


def _loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_subscription(endpoint: object, p256dh: Any, auth: Any) -> None:
    """Invalid unless the endpoint is an https URL (http only on loopback) and the keys are well formed."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise Invalid("endpoint: an https URL is required")
    parsed = urlparse(endpoint)
    if not parsed.hostname or not (parsed.scheme == "https" or (parsed.scheme == "http"
                                                                and _loopback(parsed.hostname))):
        raise Invalid("endpoint: an https URL is required")
    try:
        point = b64url_decode(p256dh) if isinstance(p256dh, str) else b""
    except ValueError:
        point = b""
    if len(point) != 65 or point[0] != 4:
        raise Invalid("keys.p256dh: expected an uncompressed P-256 public key (URL-safe base64)")
    try:
        secret = b64url_decode(auth) if isinstance(auth, str) else b""
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise Invalid("keys.auth: expected 16 bytes (URL-safe base64)")


class Subscriptions:
    """CRUD over ``push_subscriptions``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def to_json(row: dict[str, Any]) -> dict[str, Any]:
        """A subscription as listed: the endpoint masked, the keys left out."""
        return {"id": row["id"], "label": row["label"], "endpoint": mask(row["endpoint"]),
                "created_at": row["created_at"], "last_sent_at": row["last_sent_at"],
                "last_error": row["last_error"]}

    def all(self) -> list[dict[str, Any]]:
        """Every subscription row (with keys), oldest first."""
        return self.db.query("SELECT * FROM push_subscriptions ORDER BY created_at, id")

    def add(self, label: str, endpoint: str, p256dh: str, auth: str,
            token_id: str | None) -> tuple[dict[str, Any], bool]:
        """Insert, or refresh the row of the same endpoint; returns (row, created)."""
        check_subscription(endpoint, p256dh, auth)
        label = label.strip()[:MAX_LABEL]
        existing = self.db.one("SELECT * FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
        if existing:
            self.db.execute("UPDATE push_subscriptions SET label = ?, p256dh = ?, auth = ?, token_id = ?,"
                            " last_error = NULL WHERE id = ?", (label, p256dh, auth, token_id, existing["id"]))
            return self.get(existing["id"]), False
        sid = "p_" + secrets.token_hex(4)
        self.db.execute("INSERT INTO push_subscriptions (id, label, endpoint, p256dh, auth, token_id, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)", (sid, label, endpoint, p256dh, auth, token_id, utcnow()))
        return self.get(sid), True

    def get(self, sid: Any) -> dict[str, Any]:
        """One row, or NotFound."""
        row = self.db.one("SELECT * FROM push_subscriptions WHERE id = ?", (sid,)) if isinstance(sid, str) else None
        if row is None:
            raise NotFound(f"no push subscription {sid!r}")
        return row

    def delete(self, sid: Any) -> None:
        """Remove one subscription (NotFound when unknown)."""
        self.get(sid)
        self.db.execute("DELETE FROM push_subscriptions WHERE id = ?", (sid,))

    def prune(self, sid: str) -> None:
        """Drop a subscription the push service says is gone (404/410)."""
        self.db.execute("DELETE FROM push_subscriptions WHERE id = ?", (sid,))

    def mark(self, sid: str, error: str | None) -> None:
        """Record the outcome of a send."""
        if error is None:
            self.db.execute("UPDATE push_subscriptions SET last_sent_at = ?, last_error = NULL WHERE id = ?",
                            (utcnow(), sid))
        else:
            self.db.execute("UPDATE push_subscriptions SET last_error = ? WHERE id = ?", (error, sid))
