"""The three token tiers and the one auth policy that decides every request.

- master: ``$ARGUS_HOME/api-token`` (32 random bytes, hex, mode 0600, written atomically).
- device: minted by ``POST /api/tokens``; stored as SHA-256 + last 4 + label + last_used + revoked_at.
- scope:  ``scope:<name>:<secret>``, minted by ``argus token mint --scope NAME`` (never over HTTP);
  a scope may only touch registrations under its own name.
- task:   ``task:<task id>:<secret>``, minted by the daemon for each agent launch and handed to that
  agent only (its MCP config and environment); stored as SHA-256 with the task id in ``scope``.
  Valid on ``/mcp`` and the agent hook endpoint only (403 on the rest of ``/api``); it acts as its
  task. Minting a new one for a task drops the older ones; deleting the task drops them all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from .db import Database
from .errors import Forbidden, Invalid, NotFound, Unauthorized
from .events import utcnow
from .paths import atomic_write
from .values import Principal

SCOPE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LAST_USED_EVERY = 60.0  # seconds between last_used_at writes for one token

MIGRATION_SQL = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('device', 'scope')),
    scope TEXT,
    label TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
"""

# Version 2: task tokens (kind 'task', ``scope`` holds the task id). SQLite cannot alter a CHECK
# constraint, so the table is rebuilt with the same rows.
MIGRATION_V2_SQL = """
CREATE TABLE tokens_v2 (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('device', 'scope', 'task')),
    scope TEXT,
    label TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
INSERT INTO tokens_v2 SELECT id, kind, scope, label, hash, last4, created_at, last_used_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
CREATE INDEX IF NOT EXISTS tokens_task ON tokens (kind, scope);
"""

MasterOnlyRule = tuple[frozenset[str] | None, re.Pattern[str]]

# The kernel's own master-only routes: (methods or None for any, path regex). Plugins declare
# theirs with ``kernel.http.add_master_only``.
MASTER_ONLY: list[MasterOnlyRule] = [
    (None, re.compile(r"^/api/tokens(/.*)?$")),
    # Self-update (/api/source-path, /api/update) is declared master-only by the ops plugin.
]


def sha256(token: str) -> str:
    """Hex SHA-256 of a token's plaintext."""
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_master_token(path: Path) -> str:
    """Read the master token, creating it (0600, atomic) on first use."""
    try:
        token = path.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{64}", token):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_hex(32)
    atomic_write(path, (token + "\n").encode(), 0o600)
    return token


def validate_scope_name(name: str) -> str:
    """Return ``name`` if it is a valid scope name, else raise Invalid."""
    if not isinstance(name, str) or not SCOPE_NAME.match(name):
        raise Invalid("scope name must match [a-z0-9][a-z0-9_-]{0,63}")
    return name


class Tokens:
    """Token storage and request authentication."""

    def __init__(self, db: Database, master_path: Path) -> None:
        self.db = db
        self.master_path = master_path
        self.master = ensure_master_token(master_path)
        self._last_used: dict[str, float] = {}
        #: Valid (unrevoked) token rows by hash, so a request reads no row: dropped whole by every
        #: revoke here, and whenever another connection changed the database (``data_version``).
        self._valid: dict[str, dict[str, Any]] = {}
        self._data_version: int | None = None

    def _forget(self) -> None:
        """Drop the cache of valid tokens (a token was revoked or deleted)."""
        self._valid.clear()

    def _cached(self, digest: str) -> dict[str, Any] | None:
        """The cached row of a valid token, if the database is as it was when it was cached."""
        version = self.db.scalar("PRAGMA data_version")  # changes when another connection commits
        if version != self._data_version:
            self._valid.clear()
            self._data_version = version
            return None
        return self._valid.get(digest)

    # -- minting and listing ---------------------------------------------------------------

    def mint_device(self, label: str) -> dict[str, Any]:
        """Create a device token; the plaintext is in the result and nowhere else."""
        label = (label or "").strip()
        if not label:
            raise Invalid("label is required")
        if len(label) > 100:
            raise Invalid("label is longer than 100 characters")
        return self._mint("device", None, label, secrets.token_hex(32))

    def mint_scope(self, scope: str, label: str = "") -> dict[str, Any]:
        """Create a scope token ``scope:<name>:<secret>`` (CLI only, never over HTTP)."""
        validate_scope_name(scope)
        return self._mint("scope", scope, label or f"scope {scope}", f"scope:{scope}:{secrets.token_hex(24)}")

    def mint_task(self, task_id: str) -> str:
        """A fresh per-launch token for the agent of ``task_id`` (older tokens of that task are dropped).

        The plaintext is returned once, for the launch; only its hash is stored.
        """
        if not isinstance(task_id, str) or not task_id or ":" in task_id:
            raise Invalid("a task token needs a task id")
        with self.db.transaction():
            self.revoke_task(task_id)
            minted = self._mint("task", task_id, f"task {task_id}", f"task:{task_id}:{secrets.token_hex(24)}")
            token: str = minted["token"]
            return token

    def revoke_task(self, task_id: str) -> int:
        """Drop every token of ``task_id`` (task deleted or relaunched); returns how many."""
        self._forget()
        return self.db.execute("DELETE FROM tokens WHERE kind = 'task' AND scope = ?", (task_id,)).rowcount

    def _mint(self, kind: str, scope: str | None, label: str, plaintext: str) -> dict[str, Any]:
        token_id = uuid.uuid4().hex[:12]
        self.db.execute(
            "INSERT INTO tokens (id, kind, scope, label, hash, last4, created_at) VALUES (?,?,?,?,?,?,?)",
            (token_id, kind, scope, label, sha256(plaintext), plaintext[-4:], utcnow()),
        )
        return {"id": token_id, "label": label, "kind": kind, "scope": scope, "token": plaintext}

    def list(self) -> list[dict[str, Any]]:
        """Every device and scope token row without hashes (per-launch task tokens are not listed)."""
        return self.db.query(
            "SELECT id, kind, scope, label, last4, created_at, last_used_at, revoked_at "
            "FROM tokens WHERE kind != 'task' ORDER BY created_at"
        )

    def revoke(self, token_id: str) -> dict[str, Any]:
        """Mark a token revoked; returns its row (the caller drops a scope's registrations)."""
        row = self.db.one("SELECT id, kind, scope, revoked_at FROM tokens WHERE id = ?", (token_id,))
        if row is None:
            raise NotFound(f"no token {token_id!r}")
        if row["revoked_at"] is None:
            self._forget()
            self.db.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (utcnow(), token_id))
        return row

    # -- authentication --------------------------------------------------------------------

    def authenticate(self, presented: str | None) -> Principal:
        """Map a presented token to a Principal, or raise Unauthorized."""
        if not presented:
            raise Unauthorized("missing token: send 'Authorization: Bearer <token>' or ?token=")
        presented = presented.strip()
        if hmac.compare_digest(presented.encode(), self.master.encode()):
            return Principal("master")
        digest = sha256(presented)
        row = self._cached(digest)
        if row is None:
            row = self.db.one(
                "SELECT id, kind, scope, label, hash, revoked_at FROM tokens WHERE hash = ?", (digest,)
            )
            if row is None or not hmac.compare_digest(row["hash"], digest):
                raise Unauthorized("invalid token")
            if row["revoked_at"] is not None:
                raise Unauthorized("token revoked")
            self._valid[digest] = row
        now = time.monotonic()
        if now - self._last_used.get(row["id"], -1e9) > LAST_USED_EVERY:
            self._last_used[row["id"]] = now
            self.db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (utcnow(), row["id"]))
        if row["kind"] == "scope":
            return Principal("scope", scope=row["scope"], token_id=row["id"], label=row["label"])
        if row["kind"] == "task":
            return Principal("task", token_id=row["id"], label=row["label"], task_id=row["scope"])
        return Principal("device", token_id=row["id"], label=row["label"])


def require_allowed(principal: Principal, method: str, path: str,
                    extra: list[MasterOnlyRule] | None = None) -> None:
    """The master-only denylist (the kernel's plus ``extra`` from plugins): raise Forbidden for a
    device/scope token on those routes; a task token is refused on every REST route (it is for
    ``/mcp`` and the agent hook only)."""
    if principal.is_master:
        return
    if principal.kind == "task":
        raise Forbidden("a task token is valid only on the MCP endpoint and the agent hook endpoint")
    for methods, pattern in [*MASTER_ONLY, *(extra or [])]:
        if (methods is None or method in methods) and pattern.match(path):
            raise Forbidden("this endpoint requires the master token")


def require_owner(principal: Principal, scope: str) -> None:
    """Only the master token or the owning scope may change a scope's registrations."""
    if principal.is_master:
        return
    if principal.kind == "scope" and principal.scope == scope:
        return
    raise Forbidden(f"registrations of scope {scope!r} belong to that scope")


def query_token_allowed(method: str, path: str, websocket: bool = False) -> bool:
    """``?token=`` is accepted only where a browser cannot send headers: WebSockets and SSE streams
    (``GET .../stream``, the EventSource rule). Everywhere else a token in a URL would end up in
    logs, history and Referer headers, so it must come in a header."""
    return websocket or (method == "GET" and path.rstrip("/").endswith("/stream"))


def extract_token(headers: Any, args: Any) -> str | None:
    """The presented token: ``Authorization: Bearer``, ``X-Argus-Auth``, or ``?token=`` (callers
    pass empty ``args`` where a query token is not allowed, see :func:`query_token_allowed`)."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    header: str | None = headers.get("X-Argus-Auth")
    if header:
        return header.strip()
    return args.get("token") or None
