"""ARGUS_HOME is private (0700, files 0600, a looser home tightened with a log line), and a
``data.sql`` that is empty, not SQLite, corrupt or read-only is refused with a one-line reason
(never replaced); an existing database is copied to ``backups/`` before migrations change it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.api import Migration
from argus.kernel.db import Database, DatabaseUnusable
from argus_testkit import stop_supervisor_in
from kernel_helpers import argus, until


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_home_and_state_files_are_private(daemon_factory: Any, git_repo: Path) -> None:
    d = daemon_factory("modes", start=False)
    os.chmod(d.home, 0o755)
    (d.home / "data.sql").unlink(missing_ok=True)
    d.start()
    assert mode(d.home) == 0o700
    assert "tightened to 0700" in (d.home / "daemon.log").read_text()
    c = d.client
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    resp = c.post("/api/tasks", json={"project": "p", "name": "m", "prompt": "hi", "backend": "demo"})
    assert resp.status_code == 201, resp.text
    t = resp.json()["task"]
    log = d.home / "sessions" / f"{t['session_id']}.log"
    until(log.exists, what="the session log")
    for name in ("data.sql", "data.sql-wal", "data.sql-shm", "api-token", "daemon.log", "daemon.json",
                 "supervisor.log", f"run/{t['id']}/mcp.json"):
        assert mode(d.home / name) == 0o600, name
    assert mode(log) == 0o600
    # the worktree keeps the user's umask (the closed home above it guards it)
    assert mode(Path(t["worktree_path"], "README.md")) & 0o044 == 0o044
    d.stop()
    # a database file loosened by hand is tightened again at start
    os.chmod(d.home / "data.sql", 0o644)
    d.start()
    assert mode(d.home / "data.sql") == 0o600


def _run_daemon(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARGUS_HOME": str(home), "ARGUS_MCP_PORT": "0"}
    env.pop("ARGUS_API_PORT", None)
    return subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "run"], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty (0 bytes)"),
    (b"hello, not a database\n" * 10, "is not a SQLite database"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "is corrupt"),
])
def test_an_unusable_database_is_refused_and_left_alone(tmp_path: Path, content: bytes, reason: str) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "data.sql"
    db.write_bytes(content)
    out = _run_daemon(home)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("argus: ") and reason in lines[0], out.stderr
    assert "Traceback" not in out.stderr and "move it aside" in lines[0]
    assert db.read_bytes() == content  # never overwritten
    assert "refusing to start" in (home / "daemon.log").read_text()
    # `daemon start` says why too, and the token CLI refuses the same way
    start = argus(home, "daemon", "start")
    assert start.returncode != 0 and reason in start.stderr, start.stderr
    mint = argus(home, "token", "mint", "--label", "x")
    assert mint.returncode != 0 and reason in mint.stderr and "Traceback" not in mint.stderr
    assert db.read_bytes() == content


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.sql"
    Database(path).close()
    os.chmod(path, 0o400)
    with pytest.raises(DatabaseUnusable, match="read-only"):
        Database(path)


BIND_RO = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'


def _works(argv: list[str], probe: Path) -> bool:
    """Whether ``argv + [sh -c 'echo x >> probe']`` runs and finds ``probe`` read-only."""
    try:
        out = subprocess.run([*argv, "sh", "-c", f'echo x >> "{probe}"'], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode != 0 and probe.read_bytes() == b"probe\n"


def _read_only_prefix(db: Path) -> tuple[list[str], str] | None:
    """A command prefix under which ``db`` is read-only for the daemon, even as root, and how.

    Not root: the file's mode (0400) is enough. Root: a read-only bind mount of the file in a
    private mount namespace (``unshare -m``), else bubblewrap's ``--ro-bind``. None: no way here.
    """
    if os.geteuid() != 0:
        os.chmod(db, 0o400)
        return [], "mode 0400"
    probe = db.with_name("probe")
    probe.write_bytes(b"probe\n")
    try:
        unshare = shutil.which("unshare")
        if unshare and _works([unshare, "-m", "sh", "-c", BIND_RO, str(probe)], probe):
            return [unshare, "-m", "sh", "-c", BIND_RO, str(db)], "unshare -m, a read-only bind mount"
        bwrap = shutil.which("bwrap")
        if bwrap and _works([bwrap, "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--ro-bind",
                             str(probe), str(probe), "--"], probe):
            return ([bwrap, "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--ro-bind", str(db), str(db),
                     "--"], "bwrap --ro-bind")
    finally:
        probe.unlink()
    return None


def test_a_daemon_with_a_read_only_database_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "data.sql"
    Database(db).close()
    before = db.read_bytes()
    found = _read_only_prefix(db)
    if found is None:
        pytest.skip("no way to make data.sql read-only for a root daemon here (no unshare -m, no bwrap)")
    prefix, how = found
    env = {**os.environ, "ARGUS_HOME": str(home), "ARGUS_MCP_PORT": "0"}
    env.pop("ARGUS_API_PORT", None)
    try:
        out = subprocess.run([*prefix, sys.executable, "-m", "argus.kernel.cli", "daemon", "run"], env=env,
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        stop_supervisor_in(home)  # nothing should have started one; a regression must not leak it
    assert out.returncode == 3, (how, out.returncode, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("argus: "), (how, out.stderr)
    assert "is read-only" in lines[0] and "chmod u+w" in lines[0] and "Traceback" not in out.stderr, lines
    assert "refusing to start" in (home / "daemon.log").read_text()
    assert db.read_bytes() == before  # never touched


def test_existing_database_is_backed_up_before_a_migration(tmp_path: Path) -> None:
    path = tmp_path / "data.sql"
    v1 = Migration("demo", 1, "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT);")
    v2 = Migration("demo", 2, "ALTER TABLE things ADD COLUMN size INTEGER;")
    db = Database(path)
    db.migrate([v1])
    assert not (tmp_path / "backups").exists()  # a fresh database needs no copy
    db.execute("INSERT INTO things (name) VALUES ('kept')")
    db.close()
    db = Database(path)
    assert db.migrate([v1, v2]) == [("demo", 2)]
    db.migrate([v1, v2])  # nothing pending: no new copy
    db.close()
    (backup,) = (tmp_path / "backups").glob("data-*.sql")
    assert mode(backup) == 0o600
    with sqlite3.connect(backup) as old:
        assert old.execute("SELECT name FROM things").fetchall() == [("kept",)]
        assert [r[1] for r in old.execute("PRAGMA table_info(things)")] == ["id", "name"]
