"""The session-supervisor as a real detached process: lifecycle, single instance, the protocol."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from argus.kernel import errors
from argus.kernel.paths import Paths
from argus.kernel.pidlock import pid_alive
from argus.kernel.supervisor import protocol as proto
from argus.kernel.supervisor import start_supervisor, stop_supervisor, supervisor_status
from argus_testkit import wait_for


class Raw:
    """A raw socket to the supervisor, to send arbitrary bytes."""

    def __init__(self, paths: Paths) -> None:
        self.sock = proto.connect_unix_sync(paths.supervisor_sock, 10.0)
        self.lines = proto.FrameBuffer()

    def send(self, data: bytes | dict[str, Any]) -> None:
        self.sock.sendall(data if isinstance(data, bytes) else json.dumps(data).encode() + b"\n")

    def frame(self) -> Any:
        while True:
            frame = self.lines.next_frame()
            if frame is not None:
                return frame
            data = self.sock.recv(65536)
            if not data:
                return None
            self.lines.feed(data)

    def hello(self, versions: tuple[int, ...] = (1,)) -> dict[str, Any]:
        """Greet as a client speaking ``versions`` (default: a version-1 client, JSON only)."""
        hello: dict[str, Any] = {"op": "hello", "req": 0, "version": min(versions), "pid": os.getpid()}
        if versions != (1,):
            hello["versions"] = list(versions)
        self.send(hello)
        reply = self.frame()
        assert isinstance(reply, dict) and reply["ok"], reply
        self.lines.binary = reply["version"] >= 2
        return reply

    def close(self) -> None:
        self.sock.close()


def test_start_status_stop(sup_paths: Paths) -> None:
    assert supervisor_status(sup_paths)["running"] is False
    assert stop_supervisor(sup_paths) is False
    pid = start_supervisor(sup_paths)
    assert pid_alive(pid)
    status = supervisor_status(sup_paths)
    assert status == {"running": True, "pid": pid, "socket": str(sup_paths.supervisor_sock),
                      "protocol": proto.PROTOCOL_VERSION, "sessions": []}
    assert stat.S_IMODE(os.stat(sup_paths.supervisor_sock).st_mode) == 0o600
    assert int((sup_paths.home / "supervisor.pid").read_text()) == pid
    assert stop_supervisor(sup_paths) is True
    wait_for(lambda: not pid_alive(pid), what="supervisor exit")
    assert supervisor_status(sup_paths)["running"] is False
    assert not sup_paths.supervisor_sock.exists()


def test_single_instance(sup_paths: Paths) -> None:
    pid = start_supervisor(sup_paths)
    assert start_supervisor(sup_paths) == pid
    # a second process started by hand loses the flock and exits without touching the socket
    second = subprocess.run([sys.executable, "-m", "argus.kernel.supervisor", "--home", str(sup_paths.home)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 3, second.stderr
    assert f"pid {pid}" in second.stderr
    assert supervisor_status(sup_paths)["pid"] == pid


def test_hello_with_another_version_is_rejected_and_closed(sup_paths: Paths) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        raw.send({"op": "hello", "req": 1, "version": proto.PROTOCOL_VERSION + 1, "pid": os.getpid()})
        reply = raw.frame()
        assert reply is not None and reply["ok"] is False and reply["req"] == 1
        assert "version" in reply["error"]
        assert raw.frame() is None  # closed
    finally:
        raw.close()


def test_requests_before_hello_are_refused(sup_paths: Paths) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        raw.send({"op": "list", "req": 1})
        reply = raw.frame()
        assert reply is not None and reply["ok"] is False and "hello" in reply["error"]
        raw.hello()
        raw.send({"op": "list", "req": 2})
        assert raw.frame() == {"req": 2, "ok": True, "sessions": []}
    finally:
        raw.close()


def test_bad_frames_get_errors_and_the_connection_stays_usable(sup_paths: Paths) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        raw.hello()
        bad: list[bytes | dict[str, Any]] = [
            b"this is not json\n",
            b"[1, 2, 3]\n",
            {"op": "frobnicate", "req": 3},
            {"op": "list"},  # no req id
            {"op": "attach", "req": 4},  # missing session_id
            {"op": "attach", "req": 5, "session_id": "nope"},
            {"op": "resize", "req": 6, "session_id": 7, "rows": 1, "cols": 1},
            {"op": "input", "req": 7, "session_id": "nope", "data": "%%%not-base64"},
            {"op": "spawn", "req": 8, "session_id": "../../etc", "argv": ["true"], "cwd": "/", "env": {}},
            b"{" + b" " * (proto.MAX_FRAME_BYTES + 10) + b"}\n",  # over the size cap
        ]
        for frame in bad:
            raw.send(frame)
            reply = raw.frame()
            assert reply is not None and reply["ok"] is False and reply["error"], (frame, reply)
            if isinstance(frame, dict) and "req" in frame:
                assert reply["req"] == frame["req"]
        kinds = []
        raw.send({"op": "attach", "req": 9, "session_id": "nope"})
        kinds.append(raw.frame())
        assert kinds[0] is not None and kinds[0]["kind"] == "NotFound"
        raw.send({"op": "list", "req": 10})
        assert raw.frame() == {"req": 10, "ok": True, "sessions": []}
    finally:
        raw.close()


def spawn_raw(raw: Raw, session_id: str, argv: list[str], cwd: Path, req: int = 1) -> dict[str, Any]:
    raw.send({"op": "spawn", "req": req, "session_id": session_id, "argv": argv, "cwd": str(cwd),
              "env": dict(os.environ), "rows": 24, "cols": 80, "meta": {"task": "t-1"}})
    reply = raw.frame()
    assert reply is not None and reply["ok"], reply
    return reply["session"]


def list_session(paths: Paths, session_id: str) -> dict[str, Any] | None:
    return next((s for s in supervisor_status(paths)["sessions"] if s["session_id"] == session_id), None)


def test_attach_from_an_offset_replays_exactly_then_sends_exit(sup_paths: Paths, tmp_path: Path) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        raw.hello()
        code = "import sys\nfor i in range(500): print(f'row {i:04d}')\nsys.exit(5)\n"
        info = spawn_raw(raw, "seq", [sys.executable, "-c", code], tmp_path)
        assert info["meta"] == {"task": "t-1"} and info["start_cols"] == 80 and info["exited"] is False
        done = wait_for(lambda: (s := list_session(sup_paths, "seq")) and s["exited"] and s, what="exit")
        assert (done["exit_code"], done["exit_signal"]) == (5, None)
        log = (sup_paths.sessions / "seq.log").read_bytes()
        assert done["end_offset"] == len(log) and b"row 0499" in log

        raw.send({"op": "attach", "req": 2, "session_id": "seq", "offset": 123})
        reply = raw.frame()
        assert reply == {"req": 2, "ok": True, "offset": 123, "end_offset": len(log)}
        got = b""
        while True:
            frame = raw.frame()
            assert frame is not None
            if frame["event"] == "exit":
                break
            assert frame["event"] == "output" and frame["offset"] == 123 + len(got)
            got += proto.b64decode(frame["data"])
        assert got == log[123:]
        assert frame == {"event": "exit", "session_id": "seq", "code": 5, "signal": None,
                         "end_offset": len(log)}

        # exited sessions stay listed until forgotten
        raw.send({"op": "forget", "req": 3, "session_id": "seq"})
        assert raw.frame() == {"req": 3, "ok": True}
        assert list_session(sup_paths, "seq") is None
    finally:
        raw.close()


def test_kill_escalates_and_forget_refuses_a_running_session(sup_paths: Paths, tmp_path: Path) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        raw.hello()
        spawn_raw(raw, "stubborn",
                  ["bash", "-c", "trap '' HUP TERM; echo ready; while true; do sleep 0.05; done"], tmp_path)
        log = sup_paths.sessions / "stubborn.log"
        wait_for(lambda: log.exists() and b"ready" in log.read_bytes(), what="traps set")
        raw.send({"op": "forget", "req": 2, "session_id": "stubborn"})
        reply = raw.frame()
        assert reply is not None and reply["kind"] == "Conflict"
        raw.send({"op": "spawn", "req": 3, "session_id": "stubborn", "argv": ["true"], "cwd": str(tmp_path),
                  "env": {}})
        reply = raw.frame()
        assert reply is not None and reply["kind"] == "Conflict"
        raw.send({"op": "kill", "req": 4, "session_id": "stubborn", "grace": 0.2})
        assert raw.frame() == {"req": 4, "ok": True}
        done = wait_for(lambda: (s := list_session(sup_paths, "stubborn")) and s["exited"] and s,
                        what="kill")
        assert done["exit_signal"] == 9
    finally:
        raw.close()


def test_a_client_dying_with_unread_output_does_not_stop_the_supervisor(sup_paths: Paths, tmp_path: Path) -> None:
    pid = start_supervisor(sup_paths)
    for attempt in range(3):
        raw = Raw(sup_paths)
        raw.hello()
        if attempt == 0:
            spawn_raw(raw, "chatty", ["bash", "-c", "while true; do echo chatter; sleep 0.01; done"], tmp_path)
        raw.send({"op": "attach", "req": 2, "session_id": "chatty", "offset": 0})
        assert raw.sock.recv(1, socket.MSG_PEEK)  # output is queued for us, and we never read it
        raw.close()  # unread data in our receive queue: the supervisor's next read gets ECONNRESET
        time.sleep(0.1)
    status = supervisor_status(sup_paths)
    assert status["pid"] == pid
    assert [s["exited"] for s in status["sessions"]] == [False]


def test_spawn_of_a_missing_program_is_invalid(sup_paths: Paths, tmp_path: Path) -> None:
    start_supervisor(sup_paths)
    client = proto.SyncClient(sup_paths.supervisor_sock)
    try:
        with pytest.raises(errors.Invalid, match="no-such-agent-xyz"):
            client.request("spawn", session_id="x", argv=["no-such-agent-xyz"], cwd=str(tmp_path),
                           env=dict(os.environ))
    finally:
        client.close()


def test_stop_kills_running_sessions(sup_paths: Paths, tmp_path: Path) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        raw.hello()
        info = spawn_raw(raw, "sleeper", ["sleep", "300"], tmp_path)
    finally:
        raw.close()
    assert pid_alive(info["pid"])
    assert stop_supervisor(sup_paths) is True
    wait_for(lambda: not pid_alive(info["pid"]), what="session killed")


def test_long_argus_home_paths_still_work(tmp_path: Path, sup_cleanup: Any) -> None:
    home = tmp_path / ("h" * 60) / ("i" * 60)
    home.mkdir(parents=True)
    paths = Paths(home)
    sup_cleanup(paths)
    assert len(str(paths.supervisor_sock)) > 108
    pid = start_supervisor(paths)
    assert supervisor_status(paths)["pid"] == pid
    assert stop_supervisor(paths) is True
