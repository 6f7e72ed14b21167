"""SQL for hera (this plugin owns the ``hera_*`` tables in data.sql).

- ``hera_orchestrators``: one team; pinned/archived/collapsed flags for the rail.
- ``hera_roles``: a coordinator, workers and freelancers, each bound to at most one task, named
  uniquely within their orchestrator; status idle → working → blocked → done; ``tree_cursor`` is the
  last message id ``hera_tree_updates`` returned to it.
- ``hera_messages``: role-addressed messages with a subject line; ``read_at`` (inbox state) and
  ``delivered_at`` (the notice was typed into the recipient's terminal).
- ``hera_deliveries``: one notice line per row, written *before* it is typed (``typing``) and
  marked ``done`` after, so a daemon killed mid-delivery can tell on restart whether the line
  reached the terminal (it looks for it in the agent's output) and never types it twice.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from argus.kernel.api import Database, Migration, utcnow

MIGRATIONS = [
    Migration("hera", 1, """
CREATE TABLE hera_orchestrators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    pinned INTEGER NOT NULL DEFAULT 0,
    collapsed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE hera_roles (
    id TEXT PRIMARY KEY,
    orchestrator_id TEXT NOT NULL REFERENCES hera_orchestrators(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('coordinator', 'worker', 'freelance')),
    task_id TEXT,
    status TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'working', 'blocked', 'done')),
    archived INTEGER NOT NULL DEFAULT 0,
    pinned INTEGER NOT NULL DEFAULT 0,
    tree_cursor INTEGER NOT NULL DEFAULT 0,
    depends_on TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (orchestrator_id, name)
);
CREATE UNIQUE INDEX hera_roles_task ON hera_roles(task_id) WHERE task_id IS NOT NULL;
CREATE TABLE hera_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    orchestrator_id TEXT NOT NULL REFERENCES hera_orchestrators(id) ON DELETE CASCADE,
    from_role TEXT,
    from_name TEXT NOT NULL,
    to_role TEXT NOT NULL REFERENCES hera_roles(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT,
    delivered_at TEXT
);
CREATE INDEX hera_messages_to ON hera_messages(to_role, read_at);
CREATE INDEX hera_messages_orch ON hera_messages(orchestrator_id, id);
CREATE TABLE hera_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role_id TEXT NOT NULL REFERENCES hera_roles(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    line TEXT NOT NULL,
    message_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('typing', 'done')),
    created_at TEXT NOT NULL
);
"""),
]

ROLE_COLUMNS = ("id, orchestrator_id, name, kind, task_id, status, archived, pinned, tree_cursor, depends_on, "
                "created_at, updated_at")
MSG_COLUMNS = "id, orchestrator_id, from_role, from_name, to_role, subject, body, created_at, read_at, delivered_at"


def new_id(prefix: str) -> str:
    """A short random id like ``o_3fa2c91b``."""
    return f"{prefix}_{secrets.token_hex(4)}"


class Store:
    """Queries over hera's tables (one SQLite connection; queries are tiny and indexed)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- orchestrators ---------------------------------------------------------------------

    def orchestrator(self, orch_id: str) -> dict[str, Any] | None:
        """One orchestrator row."""
        return self.db.one("SELECT * FROM hera_orchestrators WHERE id = ?", (orch_id,))

    def orchestrator_by_name(self, name: str) -> dict[str, Any] | None:
        """The newest orchestrator with that name."""
        return self.db.one("SELECT * FROM hera_orchestrators WHERE name = ? ORDER BY rowid DESC LIMIT 1",
                           (name,))

    def orchestrators(self) -> list[dict[str, Any]]:
        """Every orchestrator, oldest first."""
        return self.db.query("SELECT * FROM hera_orchestrators ORDER BY rowid")

    def insert_orchestrator(self, name: str) -> dict[str, Any]:
        """Create an orchestrator."""
        now = utcnow()
        orch_id = new_id("o")
        self.db.execute("INSERT INTO hera_orchestrators (id, name, created_at, updated_at) VALUES (?,?,?,?)",
                        (orch_id, name, now, now))
        row = self.orchestrator(orch_id)
        assert row is not None
        return row

    def update_orchestrator(self, orch_id: str, **fields: Any) -> None:
        """Set columns of one orchestrator."""
        if fields:
            sets = ", ".join(f"{k} = ?" for k in fields)
            self.db.execute(f"UPDATE hera_orchestrators SET {sets}, updated_at = ? WHERE id = ?",
                            (*fields.values(), utcnow(), orch_id))

    def delete_orchestrator(self, orch_id: str) -> None:
        """Delete an orchestrator with its roles and messages."""
        self.db.execute("DELETE FROM hera_orchestrators WHERE id = ?", (orch_id,))

    # -- roles -----------------------------------------------------------------------------

    def role(self, role_id: str) -> dict[str, Any] | None:
        """One role row."""
        return self.db.one(f"SELECT {ROLE_COLUMNS} FROM hera_roles WHERE id = ?", (role_id,))

    def role_by_task(self, task_id: str) -> dict[str, Any] | None:
        """The role bound to a task."""
        return self.db.one(f"SELECT {ROLE_COLUMNS} FROM hera_roles WHERE task_id = ?", (task_id,))

    def role_by_name(self, orch_id: str, name: str) -> dict[str, Any] | None:
        """A role of an orchestrator by name."""
        return self.db.one(f"SELECT {ROLE_COLUMNS} FROM hera_roles WHERE orchestrator_id = ? AND name = ?",
                           (orch_id, name))

    def roles(self, orch_id: str | None = None) -> list[dict[str, Any]]:
        """Roles (of one orchestrator), coordinator first then by creation."""
        where, params = ("WHERE orchestrator_id = ?", (orch_id,)) if orch_id else ("", ())
        return self.db.query(f"SELECT {ROLE_COLUMNS} FROM hera_roles {where} ORDER BY "
                             f"kind != 'coordinator', rowid", params)

    def coordinator(self, orch_id: str) -> dict[str, Any] | None:
        """The orchestrator's coordinator role."""
        return self.db.one(f"SELECT {ROLE_COLUMNS} FROM hera_roles WHERE orchestrator_id = ? "
                           f"AND kind = 'coordinator' ORDER BY rowid LIMIT 1", (orch_id,))

    def insert_role(self, orch_id: str, name: str, kind: str, task_id: str | None,
                    depends_on: list[str] | None = None) -> dict[str, Any]:
        """Create a role (the caller checked name uniqueness for a clear error)."""
        now = utcnow()
        role_id = new_id("r")
        self.db.execute("INSERT INTO hera_roles (id, orchestrator_id, name, kind, task_id, depends_on, created_at, "
                        "updated_at) VALUES (?,?,?,?,?,?,?,?)",
                        (role_id, orch_id, name, kind, task_id, json.dumps(depends_on or []), now, now))
        row = self.role(role_id)
        assert row is not None
        return row

    def update_role(self, role_id: str, **fields: Any) -> None:
        """Set columns of one role."""
        if fields:
            sets = ", ".join(f"{k} = ?" for k in fields)
            self.db.execute(f"UPDATE hera_roles SET {sets}, updated_at = ? WHERE id = ?",
                            (*fields.values(), utcnow(), role_id))

    def delete_role(self, role_id: str) -> None:
        """Delete a role with its messages."""
        self.db.execute("DELETE FROM hera_roles WHERE id = ?", (role_id,))

    # -- messages --------------------------------------------------------------------------

    def message(self, message_id: int) -> dict[str, Any] | None:
        """One message row."""
        return self.db.one(f"SELECT {MSG_COLUMNS} FROM hera_messages WHERE id = ?", (message_id,))

    def insert_message(self, orch_id: str, from_role: str | None, from_name: str, to_role: str, subject: str,
                       body: str) -> dict[str, Any]:
        """Persist a message (committed before the sender hears back)."""
        cur = self.db.execute("INSERT INTO hera_messages (orchestrator_id, from_role, from_name, to_role, subject, "
                              "body, created_at) VALUES (?,?,?,?,?,?,?)",
                              (orch_id, from_role, from_name, to_role, subject, body, utcnow()))
        row = self.message(int(cur.lastrowid or 0))
        assert row is not None
        return row

    def unread(self, role_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """Unread messages to a role, oldest first."""
        return self.db.query(f"SELECT {MSG_COLUMNS} FROM hera_messages WHERE to_role = ? AND read_at IS NULL "
                             f"ORDER BY id LIMIT ?", (role_id, limit))

    def unread_count(self, role_id: str) -> int:
        """How many unread messages a role has."""
        return int(self.db.scalar("SELECT COUNT(*) FROM hera_messages WHERE to_role = ? AND read_at IS NULL",
                                  (role_id,)) or 0)

    def messages_of(self, role_id: str, limit: int) -> list[dict[str, Any]]:
        """Messages to or from a role, newest ``limit``, oldest first."""
        rows = self.db.query(f"SELECT {MSG_COLUMNS} FROM hera_messages WHERE to_role = ? OR from_role = ? "
                             f"ORDER BY id DESC LIMIT ?", (role_id, role_id, limit))
        return rows[::-1]

    def undelivered(self, role_id: str) -> list[dict[str, Any]]:
        """Unread messages whose notice has not been typed yet, oldest first."""
        return self.db.query(f"SELECT {MSG_COLUMNS} FROM hera_messages WHERE to_role = ? AND read_at IS NULL "
                             f"AND delivered_at IS NULL ORDER BY id", (role_id,))

    def mark_read(self, role_id: str, ids: list[int]) -> list[int]:
        """Mark some of a role's messages read; return the ids that changed."""
        if not ids:
            return []
        marks = ",".join("?" for _ in ids)
        rows = self.db.query(f"SELECT id FROM hera_messages WHERE to_role = ? AND read_at IS NULL "
                             f"AND id IN ({marks})", (role_id, *ids))
        changed = [r["id"] for r in rows]
        if changed:
            marks = ",".join("?" for _ in changed)
            self.db.execute(f"UPDATE hera_messages SET read_at = ? WHERE id IN ({marks})", (utcnow(), *changed))
        return changed

    def tree_since(self, orch_id: str, cursor: int, limit: int) -> list[dict[str, Any]]:
        """Messages of an orchestrator after ``cursor``, oldest first."""
        return self.db.query(f"SELECT {MSG_COLUMNS} FROM hera_messages WHERE orchestrator_id = ? AND id > ? "
                             f"ORDER BY id LIMIT ?", (orch_id, cursor, limit))

    def messages_by_ids(self, ids: list[int]) -> list[dict[str, Any]]:
        """Messages by id (missing ids are absent)."""
        if not ids:
            return []
        marks = ",".join("?" for _ in ids)
        return self.db.query(f"SELECT {MSG_COLUMNS} FROM hera_messages WHERE id IN ({marks}) ORDER BY id", ids)

    def unread_by_role(self) -> dict[str, int]:
        """Unread counts of every role that has any."""
        rows = self.db.query("SELECT to_role, COUNT(*) AS n FROM hera_messages WHERE read_at IS NULL "
                             "GROUP BY to_role")
        return {r["to_role"]: r["n"] for r in rows}

    # -- deliveries ------------------------------------------------------------------------

    def begin_delivery(self, role_id: str, task_id: str, line: str, ids: list[int]) -> int:
        """Record a notice about to be typed (before typing it)."""
        cur = self.db.execute("INSERT INTO hera_deliveries (role_id, task_id, line, message_ids, state, created_at) "
                              "VALUES (?,?,?,?, 'typing', ?)", (role_id, task_id, line, json.dumps(ids), utcnow()))
        return int(cur.lastrowid or 0)

    def set_delivery_line(self, delivery_id: int, line: str) -> None:
        """Record the exact line of a delivery (it carries the delivery's own id as its tag)."""
        self.db.execute("UPDATE hera_deliveries SET line = ? WHERE id = ?", (line, delivery_id))

    def finish_delivery(self, delivery_id: int) -> None:
        """The notice was typed: stamp its messages delivered (one transaction)."""
        row = self.db.one("SELECT message_ids FROM hera_deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            return
        ids = json.loads(row["message_ids"])
        with self.db.transaction():
            self.db.execute("UPDATE hera_deliveries SET state = 'done' WHERE id = ?", (delivery_id,))
            if ids:
                marks = ",".join("?" for _ in ids)
                self.db.execute(f"UPDATE hera_messages SET delivered_at = ? WHERE id IN ({marks}) "
                                f"AND delivered_at IS NULL", (utcnow(), *ids))

    def drop_delivery(self, delivery_id: int) -> None:
        """Forget a notice that was never typed."""
        self.db.execute("DELETE FROM hera_deliveries WHERE id = ?", (delivery_id,))

    def unfinished_deliveries(self) -> list[dict[str, Any]]:
        """Notices recorded as being typed when the daemon stopped."""
        return self.db.query("SELECT * FROM hera_deliveries WHERE state = 'typing' ORDER BY id")

    def roles_with_undelivered(self) -> list[str]:
        """Roles that have unread, undelivered messages."""
        rows = self.db.query("SELECT DISTINCT to_role FROM hera_messages WHERE read_at IS NULL "
                             "AND delivered_at IS NULL")
        return [r["to_role"] for r in rows]

    def prune_deliveries(self) -> None:
        """Drop finished delivery records (kept only while they matter)."""
        self.db.execute("DELETE FROM hera_deliveries WHERE state = 'done'")
