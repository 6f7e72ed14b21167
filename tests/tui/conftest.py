"""Fixtures for the TUI tests: a stub daemon process (until/besides the real one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import wait_for

ROOT = Path(__file__).resolve().parents[2]


class Stub:
    """A running ``tests.tui.stubserver`` on a loopback port and a unix socket."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, uds: Path, token: str, home: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.uds = uds
        self.token = token
        self.home = home
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST to a ``/_stub`` control route."""
        r = self.http.post(f"/_stub/{path}", json=body or {})
        r.raise_for_status()
        return r.json()

    def calls(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Requests the stub received (optionally filtered)."""
        calls = self.http.get("/_stub/calls").json()["calls"]
        return [c for c in calls if (method is None or c["method"] == method)
                and (path is None or c["path"] == path)]

    def task(self, **body: Any) -> dict[str, Any]:
        """Create a task directly (as another client would)."""
        return self.control("task", body)["task"]


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[Stub]:
    """A stub daemon with token ``stub-token`` (its home has daemon.sock and api-token)."""
    home = tmp_path / "stub-home"
    home.mkdir()
    (home / "api-token").write_text("stub-token\n")
    uds = home / "daemon.sock"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.tui.stubserver", "--fd", str(sock.fileno()),
                             "--uds", str(uds), "--token", "stub-token"], pass_fds=[sock.fileno()],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "stub.log", "wb"))
    sock.close()
    s = Stub(proc, port, uds, "stub-token", home)
    try:
        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError("stub server exited: " + (tmp_path / "stub.log").read_text())
            return s.http.get("/_stub/calls").status_code == 200 and uds.exists()

        wait_for(up, 20, "the stub server", detail=lambda: (tmp_path / "stub.log").read_text())
        yield s
    finally:
        s.http.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(autouse=True)
def _quick_fake_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the fake agents of any daemon started by these tests."""
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")
