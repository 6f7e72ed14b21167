"""Plugin-owned migrations: applied once, in order, recorded in schema_migrations; a failed step rolls
back; a database from a newer Argus stops the daemon with a clear message.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.api import Migration
from argus.kernel.db import Database, SchemaTooNew


def _tables(db: Database) -> set[str]:
    return {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrations_apply_once_in_version_order(tmp_path: Path) -> None:
    db = Database(tmp_path / "data.sql")
    steps = [  # deliberately out of order
        Migration("notes", 2, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;"),
        Migration("notes", 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"),
        Migration("tags", 1, "CREATE TABLE tags (name TEXT PRIMARY KEY);\nCREATE INDEX tags_name ON tags(name);"),
    ]
    assert db.migrate(steps) == [("notes", 1), ("notes", 2), ("tags", 1)]
    assert {"notes", "tags", "schema_migrations"} <= _tables(db)
    rows = db.query("SELECT plugin, version, applied_at FROM schema_migrations ORDER BY plugin, version")
    assert [(r["plugin"], r["version"]) for r in rows] == [("notes", 1), ("notes", 2), ("tags", 1)]
    assert all(r["applied_at"].endswith("Z") for r in rows)
    assert db.migrate(steps) == []  # idempotent
    # A new step is applied on its own later.
    assert db.migrate([*steps, Migration("notes", 3, "CREATE TABLE note_links (a INTEGER, b INTEGER);")]) \
        == [("notes", 3)]
    db.close()


def test_a_failing_step_rolls_back_and_is_not_recorded(tmp_path: Path) -> None:
    db = Database(tmp_path / "data.sql")
    ok = Migration("p", 1, "CREATE TABLE a (x INTEGER);")
    bad = Migration("p", 2, "CREATE TABLE b (y INTEGER);\nINSERT INTO nope VALUES (1);")
    with pytest.raises(sqlite3.OperationalError):
        db.migrate([ok, bad])
    assert "a" in _tables(db) and "b" not in _tables(db)
    assert db.scalar("SELECT MAX(version) FROM schema_migrations WHERE plugin = 'p'") == 1


def test_triggers_with_inner_semicolons_are_one_statement(tmp_path: Path) -> None:
    db = Database(tmp_path / "data.sql")
    db.migrate([Migration("p", 1, """
        CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER);
        CREATE TABLE log (id INTEGER);
        CREATE TRIGGER items_log AFTER INSERT ON items BEGIN
            INSERT INTO log VALUES (new.id);
            UPDATE items SET n = 1 WHERE id = new.id;
        END;
    """)])
    db.execute("INSERT INTO items (id, n) VALUES (7, 0)")
    assert db.scalar("SELECT id FROM log") == 7
    assert db.scalar("SELECT n FROM items") == 1


def test_a_newer_recorded_version_is_refused(tmp_path: Path) -> None:
    db = Database(tmp_path / "data.sql")
    db.migrate([Migration("p", 1, "CREATE TABLE a (x INTEGER);")])
    db.execute("INSERT INTO schema_migrations VALUES ('p', 5, '2030-01-01T00:00:00Z')")
    with pytest.raises(SchemaTooNew, match="version 5 .* only knows up to 1"):
        db.migrate([Migration("p", 1, "CREATE TABLE a (x INTEGER);"),
                    Migration("q", 1, "CREATE TABLE q (x INTEGER);")])
    assert "q" not in _tables(db)  # refused before applying anything
    # A plugin the code does not know at all (uninstalled or disabled) is left alone.
    db.execute("INSERT INTO schema_migrations VALUES ('gone', 9, '2030-01-01T00:00:00Z')")
    db.execute("DELETE FROM schema_migrations WHERE plugin = 'p' AND version = 5")
    assert db.migrate([Migration("p", 1, "")]) == []


def test_the_daemon_records_migrations_once_across_restarts(daemon: Any) -> None:
    def recorded() -> list[tuple[str, int, str]]:
        conn = sqlite3.connect(daemon.home / "data.sql")
        try:
            return conn.execute("SELECT plugin, version, applied_at FROM schema_migrations "
                                "ORDER BY plugin, version").fetchall()
        finally:
            conn.close()

    first = recorded()
    assert ("kernel", 1) in [(p, v) for p, v, _ in first]
    daemon.restart()
    assert recorded() == first


def test_daemon_refuses_a_database_from_a_newer_argus(daemon_factory: Any) -> None:
    d = daemon_factory("newer", api=False, start=False)
    conn = sqlite3.connect(d.home / "data.sql")
    conn.executescript(
        "CREATE TABLE schema_migrations (plugin TEXT NOT NULL, version INTEGER NOT NULL, "
        "applied_at TEXT NOT NULL, PRIMARY KEY (plugin, version));"
        "INSERT INTO schema_migrations VALUES ('kernel', 99, '2030-01-01T00:00:00Z');")
    conn.close()
    proc = subprocess.Popen([sys.executable, "-m", "argus.kernel.cli", "daemon", "run"], env=d.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode not in (0, None), (out, err)
    assert "'kernel' schema is at version 99" in err
    assert "newer Argus" in err and "upgrade Argus" in err
    assert "Traceback" not in err
    # Nothing was migrated, and no daemon state was left behind.
    conn = sqlite3.connect(d.home / "data.sql")
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert tables == {"schema_migrations"}
    assert not (d.home / "daemon.sock").exists() and not (d.home / "daemon.pid").exists()
