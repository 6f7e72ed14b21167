"""A full disk: session logs catch up when space returns (the ring still holds the bytes), requests
that cannot be saved answer 507 with a clear error, and ``GET /api/status`` says the disk is full.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.supervisor import output as ptyhost_output
from argus.kernel.supervisor.output import OutputStream
from argus_testkit import Daemon


class Disk:
    """Makes ``ptyhost_output._write_at`` fail with ENOSPC while ``full``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = ptyhost_output._write_at

        def write_at(fd: int, data: memoryview, offset: int) -> int:
            if self.full:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd, data, offset)

        monkeypatch.setattr(ptyhost_output, "_write_at", write_at)


async def test_the_log_catches_up_when_space_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = Disk(monkeypatch)
    path = tmp_path / "s.log"
    out = OutputStream(log_path=path, write_log=True, ring_bytes=1 << 20)
    out.feed(b"a" * 100)
    disk.full = True
    out.feed(b"b" * 100)
    out.feed(b"c" * 100)
    assert path.read_bytes() == b"a" * 100 and out.log_error and "No space" in out.log_error
    disk.full = False
    out.feed(b"d")
    assert path.read_bytes() == b"a" * 100 + b"b" * 100 + b"c" * 100 + b"d" and out.log_error is None
    # a silent agent: the end of the session writes what is still missing
    disk.full = True
    out.feed(b"e" * 10)
    disk.full = False
    out.finish()
    assert path.read_bytes().endswith(b"d" + b"e" * 10) and len(path.read_bytes()) == 311


async def test_bytes_the_ring_dropped_meanwhile_leave_a_hole_at_their_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = Disk(monkeypatch)
    path = tmp_path / "s.log"
    out = OutputStream(log_path=path, write_log=True, ring_bytes=64)
    out.feed(b"x" * 10)
    disk.full = True
    out.feed(b"y" * 100)  # the ring keeps only the last 64 bytes
    disk.full = False
    out.feed(b"z")
    data = path.read_bytes()
    assert len(data) == 111 and data[:10] == b"x" * 10 and data[-1:] == b"z"
    assert data[47:110] == b"y" * 63  # what the ring still held, at its offsets


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Path]:
    """An ARGUS_HOME on its own 48 MiB tmpfs (needs the right to mount; skipped otherwise)."""
    home = tmp_path / "home"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(home)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)


def _fill(home: Path) -> Path:
    filler = home / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * (1 << 20))
        except OSError:
            pass
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_a_full_disk_is_507_and_reported_in_status(small_home: Path) -> None:
    d = Daemon(small_home)
    try:
        d.start()
        c = d.client
        assert c.get("/api/status").json()["disk"]["full"] is False
        filler = _fill(small_home)
        status = c.get("/api/status").json()
        assert status["disk"]["full"] is True and status["disk"]["free_bytes"] < 1024 * 1024
        resp: Any = None
        for i in range(50):  # the WAL may have room for a write or two
            resp = c.put("/api/settings", json={"defaults": {"share_project": f"p{i}" + "x" * 60000}})
            if resp.status_code != 200:
                break
        assert resp.status_code == 507, resp.text
        assert "is full" in resp.json()["error"]
        os.unlink(filler)
        assert c.put("/api/settings", json={"defaults": {"share_project": "ok"}}).status_code == 200
        assert c.get("/api/status").json()["disk"]["full"] is False
    finally:
        d.cleanup()


def test_an_exit_during_a_full_disk_is_saved_when_space_returns(small_home: Path, tmp_path: Path) -> None:
    from argus_testkit import make_repo, wait_for

    d = Daemon(small_home, env={"FAKEAGENT_BUSY": "0.2"})
    try:
        d.start()
        c = d.client
        repo = make_repo(tmp_path / "repo")
        assert c.post("/api/projects", json={"name": "p", "path": str(repo)}).status_code == 201
        resp = c.post("/api/tasks", json={"project": "p", "name": "t", "prompt": "hi", "backend": "demo"})
        assert resp.status_code == 201, resp.text
        tid = resp.json()["task"]["id"]
        wait_for(lambda: "? for shortcuts" in c.get(f"/api/tasks/{tid}/output", params={"clean": "1"}).text,
                 what="the agent's prompt")
        filler = _fill(small_home)
        resp = c.post(f"/api/tasks/{tid}/input", json={"data": "/exit 0\r"})
        assert resp.status_code == 200, resp.text
        wait_for(lambda: not c.get(f"/api/tasks/{tid}").json()["task"]["running"], what="the agent gone")
        assert c.get(f"/api/tasks/{tid}").json()["task"]["status"] == "in_progress"  # not saved yet
        os.unlink(filler)
        done = wait_for(lambda: (t := c.get(f"/api/tasks/{tid}").json()["task"])["status"] == "complete" and t,
                        20, what="the exit saved")
        assert done["exit_code"] == 0
    finally:
        d.cleanup()
