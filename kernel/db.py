"""SQLite under ``$ARGUS_HOME/data.sql``: one connection, WAL, foreign keys, plugin-owned migrations.

Queries are tiny and indexed, so they run inline on the trio thread (about tens of microseconds);
there is one connection and trio is single-threaded, so writes are naturally serialized. Use
``transaction()`` for multi-statement changes.

An existing ``data.sql`` that is empty, not a SQLite database, corrupt or not writable is refused
(``DatabaseUnusable``, a one-line reason and what to do) instead of being replaced or crashing the
daemon; it is never overwritten. Before migrations run on an existing database, a copy is saved
under ``$ARGUS_HOME/backups/`` (the newest ``KEEP_BACKUPS`` are kept).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .events import utcnow
from .faults import fault_point
from .paths import PRIVATE_FILE, private_file
from .values import Migration

SQLITE_HEADER = b"SQLite format 3\x00"
KEEP_BACKUPS = 5

log = logging.getLogger(__name__)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Argus than this one."""


class DatabaseUnusable(RuntimeError):
    """``data.sql`` exists but cannot be used as it is; the message says why and what to do."""


def check_existing(path: Path) -> None:
    """Refuse an existing database file that is empty, not SQLite, or not writable."""
    fix = (f"move it aside to start with a fresh database, or restore a copy from "
           f"{path.parent / 'backups'}")
    if path.is_dir():
        raise DatabaseUnusable(f"{path} is a directory, not a database; {fix}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except PermissionError:
        raise DatabaseUnusable(f"{path} cannot be read (permission denied); make it readable and "
                               f"writable by you (chmod 600)") from None
    if not head:
        raise DatabaseUnusable(f"{path} is empty (0 bytes), not an Argus database; {fix}")
    if head != SQLITE_HEADER:
        raise DatabaseUnusable(f"{path} is not a SQLite database (bad header); {fix}")
    for target in (path, path.parent):
        if not os.access(target, os.W_OK):
            raise DatabaseUnusable(f"{target} is read-only; make it writable by you (chmod u+w) "
                                   f"and start again")


class Database:
    """The daemon's single SQLite connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        target = Path(self.path)
        self.existed = target.exists()
        if self.existed:
            check_existing(target)
            if target.stat().st_mode & 0o077:
                os.chmod(target, PRIVATE_FILE)
        else:
            private_file(target)  # 0600 from the start; SQLite gives -wal/-shm the same mode
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=5000")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            if self.existed:
                self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                bad = self.conn.execute("PRAGMA quick_check(1)").fetchone()[0]
                if bad != "ok":
                    raise sqlite3.DatabaseError(bad)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise DatabaseUnusable(f"{self.path} is corrupt ({exc}); move it aside to start with a fresh "
                                   f"database, or restore a copy from {target.parent / 'backups'}") from None
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

    def backup(self, reason: str) -> Path:
        """Copy the database (SQLite's online backup) to ``backups/data-<time>-<reason>.sql``, 0600."""
        folder = Path(self.path).parent / "backups"
        folder.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.6f}"[1:]
        target = private_file(folder / f"data-{stamp}-{reason}.sql")
        dest = sqlite3.connect(str(target))
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        log.info("saved a copy of the database to %s", target)
        _prune_backups(folder)
        return target

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
        pending = any(m.version > recorded.get(plugin, 0) for plugin, steps in by_plugin.items() for m in steps)
        if pending and recorded:  # an existing database about to change: keep a copy first
            self.backup("before-migration")
        applied: list[tuple[str, int]] = []
        for plugin, steps in sorted(by_plugin.items()):
            done = recorded.get(plugin, 0)
            for m in sorted(steps, key=lambda m: m.version):
                if m.version <= done:
                    continue
                with self.transaction():
                    for stmt in _split_sql(m.sql):
                        self.execute(stmt)
                    fault_point("migrate.step")
                    self.execute(
                        "INSERT INTO schema_migrations (plugin, version, applied_at) VALUES (?, ?, ?)",
                        (plugin, m.version, utcnow()),
                    )
                applied.append((plugin, m.version))
                log.info("migrated %s to version %d", plugin, m.version)
        return applied


def _prune_backups(folder: Path) -> None:
    for old in sorted(folder.glob("data-*.sql"))[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)


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


def migration_plan(path: Path | str, migrations: Iterable[Migration]) -> dict[str, Any]:
    """What starting a daemon on ``path`` would do to the schema, without writing anything.

    Returns ``{"pending": [[plugin, version], ...], "too_new": [message, ...], "recorded": {...}}``;
    ``too_new`` lists plugins whose recorded version is newer than any migration this code knows
    (the daemon would refuse to start). A missing database has everything pending.
    """
    by_plugin: dict[str, list[int]] = {}
    for m in migrations:
        by_plugin.setdefault(m.plugin, []).append(m.version)
    recorded: dict[str, int] = {}
    if Path(path).exists():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT plugin, MAX(version) FROM schema_migrations GROUP BY plugin").fetchall()
            recorded = {str(p): int(v) for p, v in rows}
        except sqlite3.OperationalError:  # no schema_migrations table yet
            recorded = {}
        finally:
            conn.close()
    pending = [[plugin, v] for plugin, versions in sorted(by_plugin.items())
               for v in sorted(versions) if v > recorded.get(plugin, 0)]
    too_new = [f"the '{plugin}' schema is at version {current} but this code only knows up to {max(by_plugin[plugin])}"
               for plugin, current in sorted(recorded.items())
               if plugin in by_plugin and current > max(by_plugin[plugin])]
    return {"pending": pending, "too_new": too_new, "recorded": recorded}
