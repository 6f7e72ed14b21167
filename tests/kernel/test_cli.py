"""The ``argus`` command line as a user runs it: daemon start/status/stop, the single-instance lock,
start-up failures surfaced, and tokens minted and revoked from the shell.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from argus.kernel import __version__
from argus_testkit import wait_for
from kernel_helpers import argus, bearer


@contextmanager
def detached_daemon_guard(d: Any) -> Iterator[None]:
    """Whatever a test starts with ``argus daemon start`` is stopped (or killed) afterwards."""
    try:
        yield
    finally:
        argus(d.home, "daemon", "stop", env=d.env)
        try:
            pid = int((d.home / "daemon.pid").read_text())
            os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass


def test_daemon_start_status_stop_round_trip(daemon_factory: Any) -> None:
    d = daemon_factory("cli", api=False, start=False)
    with detached_daemon_guard(d):
        status = argus(d.home, "daemon", "status", env=d.env)
        assert status.returncode == 1
        assert json.loads(status.stdout)["running"] is False
        start = argus(d.home, "daemon", "start", env=d.env)
        assert start.returncode == 0, start.stderr + d.log_tail()
        assert "argus daemon running" in start.stdout and f":{d.mcp_port}/mcp" in start.stdout
        status = argus(d.home, "daemon", "status", env=d.env)
        assert status.returncode == 0, status.stdout
        info = json.loads(status.stdout)
        assert info["running"] is True and info["mcp_port"] == d.mcp_port and info["api_port"] is None
        assert info["home"] == str(d.home) and info["status"]["version"] == __version__
        pid = info["pid"]
        assert pid and os.path.exists(f"/proc/{pid}")
        # Starting again is a no-op on the running daemon.
        again = argus(d.home, "daemon", "start", env=d.env)
        assert again.returncode == 0 and f"pid {pid}" in again.stdout
        # It answers on its unix socket with the master token.
        with d.unix_client() as client:
            assert client.get("/api/status").status_code == 200
        stop = argus(d.home, "daemon", "stop", env=d.env)
        assert stop.returncode == 0 and stop.stdout.strip() == "stopped"
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), what="the daemon to exit")
        status = argus(d.home, "daemon", "status", env=d.env)
        assert status.returncode == 1 and json.loads(status.stdout)["running"] is False
        assert not (d.home / "daemon.sock").exists()
        assert argus(d.home, "daemon", "stop", env=d.env).stdout.strip() == "not running"


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_a_second_daemon_on_the_same_home_refuses_to_run(daemon: Any) -> None:
    proc = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "run"], env=daemon.env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "already running" in proc.stderr
    assert daemon.client.get("/api/status").status_code == 200  # the first one is untouched
    assert int((daemon.home / "daemon.pid").read_text()) == daemon.proc.pid


def test_start_reports_a_daemon_that_dies_during_start_up(daemon_factory: Any) -> None:
    d = daemon_factory("newer", api=False, start=False)
    conn = sqlite3.connect(d.home / "data.sql")
    conn.executescript(
        "CREATE TABLE schema_migrations (plugin TEXT NOT NULL, version INTEGER NOT NULL, "
        "applied_at TEXT NOT NULL, PRIMARY KEY (plugin, version));"
        "INSERT INTO schema_migrations VALUES ('kernel', 99, '2030-01-01T00:00:00Z');")
    conn.close()
    with detached_daemon_guard(d):
        out = argus(d.home, "daemon", "start", env=d.env)
        assert out.returncode != 0
        assert "daemon.log" in out.stderr
        assert "newer Argus" in (d.home / "daemon.log").read_text()


def test_token_mint_list_and_offline_revoke(daemon: Any) -> None:
    out = argus(daemon.home, "token", "mint", "--label", "laptop", env=daemon.env)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert httpx.get(f"{daemon.url}/api/status", headers=bearer(token), timeout=10).status_code == 200
    listed = json.loads(argus(daemon.home, "token", "list", env=daemon.env).stdout)
    row = next(r for r in listed if r["label"] == "laptop")
    assert row["kind"] == "device" and row["last4"] == token[-4:]
    assert token not in json.dumps(listed)
    daemon.stop()
    out = argus(daemon.home, "token", "revoke", row["id"], env=daemon.env)
    assert out.returncode == 0 and out.stdout.strip() == "revoked", out.stderr
    assert argus(daemon.home, "token", "revoke", "nosuch", env=daemon.env).returncode != 0
    daemon.start()
    assert httpx.get(f"{daemon.url}/api/status", headers=bearer(token), timeout=10).status_code == 401


def test_version_and_help(argus_home: Path) -> None:
    out = argus(argus_home, "--version")
    assert out.returncode == 0 and __version__ in out.stdout
    out = argus(argus_home, "--help")
    assert out.returncode == 0
    for command in ("daemon", "token", "plugins", "session-supervisor"):
        assert command in out.stdout
