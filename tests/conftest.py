"""Shared fixtures: a temporary ARGUS_HOME, real git repositories, and a real daemon process.

Every test gets its own ARGUS_HOME and ephemeral loopback ports; fixtures stop every process they
start (daemon, supervisor and agents) even when the test fails. Helpers live in
``argus_testkit`` (import them from there, not from this file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import (  # noqa: F401 - re-exported for older imports
    FAKEAGENT_DIR,
    ROOT,
    Daemon,
    free_port,
    have,
    make_repo,
    run_git,
    stop_supervisor_in,
    wait_for,
)

# Every daemon the suite starts (in-process or as a child process) checks its JSON answers
# against the declared response models: a drift between docs and behaviour fails a test.
os.environ.setdefault("ARGUS_CHECK_RESPONSES", "1")
# No daemon the suite starts keeps a warm standby unless its test asks for one: killing a daemon
# must leave it down (tests/kernel/test_standby.py covers the standby).
os.environ.setdefault("ARGUS_DAEMON_STANDBY", "0")


@pytest.fixture
def argus_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ARGUS_HOME for this test, exported in the environment."""
    home = tmp_path / "argus-home"
    home.mkdir()
    monkeypatch.setenv("ARGUS_HOME", str(home))
    monkeypatch.setenv("ARGUS_TEST_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{FAKEAGENT_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    for var in ("ARGUS_TOKEN", "ARGUS_API_PORT", "ARGUS_MCP_PORT"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A temporary git repository with one commit on main."""
    return make_repo(tmp_path / "repo")


@pytest.fixture
def daemon(argus_home: Path) -> Iterator[Daemon]:
    """A running daemon with the API on an ephemeral 127.0.0.1 port; fake agents on PATH."""
    d = Daemon(argus_home)
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


@pytest.fixture
def daemon_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Build extra daemons (each in its own home) for remote / multi-daemon tests."""
    made: list[Daemon] = []

    def make(name: str = "d", *, api: bool = True, env: dict[str, str] | None = None, start: bool = True) -> Daemon:
        home = tmp_path / f"home-{name}-{len(made)}"
        home.mkdir()
        d = Daemon(home, api=api, env=env)
        made.append(d)
        return d.start() if start else d

    try:
        yield make
    finally:
        for d in made:
            d.cleanup()


@pytest.fixture
def project(daemon: Daemon, git_repo: Path) -> dict[str, Any]:
    """The temporary git repo registered as project ``demo-proj`` on the daemon."""
    resp = daemon.client.post("/api/projects", json={"name": "demo-proj", "path": str(git_repo)})
    assert resp.status_code in (200, 201), resp.text
    return {"name": "demo-proj", "path": git_repo}
