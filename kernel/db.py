"""SQLite under ``$ARGUS_HOME/data.sql``: one connection, WAL, foreign keys, plugin-owned migrations.

Queries are tiny and indexed, so they run inline on the trio thread (about tens of microseconds);
there is one connection and trio is single-threaded, so writes are naturally serialized. Use
``transaction()`` for multi-statement changes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .events import utcnow
from .values import Migration

log = logging.getLogger(__name__)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Argus than this one."""


class Database:
    """The daemon's single SQLite connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement."""
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        """Run one statement for many rows."""
        return self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts."""
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        """The first row as a dict, or None."""
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row else None

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); nests as a no-op."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    # -- migrations -------------------------------------------------------------------------

    def migrate(self, migrations: Iterable[Migration]) -> list[tuple[str, int]]:
        """Apply unapplied migrations per plugin in version order; return what was applied.

        Raises ``SchemaTooNew`` when a plugin's recorded version is newer than the code knows.
        """
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " plugin TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,"
            " PRIMARY KEY (plugin, version))"
        )
        by_plugin: dict[str, list[Migration]] = {}
        for m in migrations:
            by_plugin.setdefault(m.plugin, []).append(m)
        recorded = {
            r["plugin"]: r["v"]
            for r in self.query("SELECT plugin, MAX(version) AS v FROM schema_migrations GROUP BY plugin")
        }
        for plugin, current in recorded.items():
            known = max((m.version for m in by_plugin.get(plugin, [])), default=None)
            if known is not None and current > known:
                raise SchemaTooNew(
                    f"{self.path}: the '{plugin}' schema is at version {current} but this Argus only "
                    f"knows up to {known}. It was written by a newer Argus; upgrade Argus (or point "
                    f"ARGUS_HOME elsewhere) instead of running an older one against it."
                )
        applied: list[tuple[str, int]] = []
        for plugin, steps in sorted(by_plugin.items()):
            done = recorded.get(plugin, 0)
            for m in sorted(steps, key=lambda m: m.version):
                if m.version <= done:
                    continue
                with self.transaction():
                    for stmt in _split_sql(m.sql):
                        self.execute(stmt)
                    self.execute(
                        "INSERT INTO schema_migrations (plugin, version, applied_at) VALUES (?, ?, ?)",
                        (plugin, m.version, utcnow()),
                    )
                applied.append((plugin, m.version))
                log.info("migrated %s to version %d", plugin, m.version)
        return applied


def _split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements (sqlite3.complete_statement aware)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
