"""``argus doctor`` (CLI, with and without a daemon) and ``GET /api/doctor``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from argus_testkit import Daemon


def doctor(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "ARGUS_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "argus.kernel.cli", "doctor", *args], env=full,
                          capture_output=True, text=True, timeout=120)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in report["checks"]}


def test_doctor_through_the_daemon_reports_a_missing_default_backend(daemon: Daemon) -> None:
    daemon.home.chmod(0o700)  # as argus creates it (the fixture's mkdir made it 0755)
    report = daemon.client.get("/api/doctor").json()
    assert report["where"] == "daemon"
    checks = by_name(report)
    for name in ("python", "install", "git", "database", "schema", "daemon", "supervisor", "listeners",
                 "home", "disk", "stale files"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "0.0.0.0" not in checks["listeners"]["detail"] and "127.0.0.1" in checks["listeners"]["detail"]
    assert report["ok"] is True

    (daemon.home / "config.toml").write_text('[defaults]\nbackend = "ghost"\n\n'
                                             '[backends.ghost]\ncommand = "no-such-agent-cli --go"\n')
    out = doctor(daemon.home, "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is False and report["where"] == "daemon"
    ghost = by_name(report)["backend ghost (default)"]
    assert ghost["status"] == "fail" and "no-such-agent-cli" in ghost["detail"] and ghost["fix"]
    # The readable form names the problem and its fix.
    text = doctor(daemon.home)
    assert text.returncode == 1
    assert "[FAIL] backend ghost (default)" in text.stdout and "fix: install no-such-agent-cli" in text.stdout


def test_doctor_without_a_daemon_flags_an_open_home_and_stale_pids(argus_home: Path) -> None:
    argus_home.chmod(0o755)
    (argus_home / "daemon.pid").write_text("999999\n")
    out = doctor(argus_home, "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    checks = by_name(report)
    assert report["where"] == "local"
    assert checks["home"]["status"] == "fail" and "0755" in checks["home"]["detail"]
    assert checks["home"]["fix"].startswith("chmod 700")
    assert checks["stale files"]["status"] == "warn" and "daemon.pid" in checks["stale files"]["detail"]
    assert checks["daemon"]["status"] == "warn" and "argus daemon start" in checks["daemon"]["fix"]
    assert checks["backends"]["status"] == "skip"
    argus_home.chmod(0o700)
    (argus_home / "daemon.pid").unlink()
    out = doctor(argus_home, "--json")
    assert out.returncode == 0, out.stdout
    assert json.loads(out.stdout)["ok"] is True


def test_doctor_reports_a_database_written_by_a_newer_argus(daemon: Daemon) -> None:
    daemon.home.chmod(0o700)
    daemon.stop()
    import sqlite3

    conn = sqlite3.connect(daemon.home / "data.sql")
    conn.execute("INSERT INTO schema_migrations (plugin, version, applied_at) VALUES ('kernel', 99, 'x')")
    conn.commit()
    conn.close()
    out = doctor(daemon.home, "--json")
    assert out.returncode == 1
    schema = by_name(json.loads(out.stdout))["schema"]
    assert schema["status"] == "fail" and "version 99" in schema["detail"] and "upgrade" in schema["fix"]
    check = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "check"], capture_output=True,
                           text=True, env={**os.environ, "ARGUS_HOME": str(daemon.home)}, timeout=60)
    assert check.returncode == 3 and json.loads(check.stdout)["too_new"]
