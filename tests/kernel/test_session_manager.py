"""kernel/sessions: the daemon-side API, through the supervisor and in-process (same tests),
plus daemon restarts against a live supervisor (the daemon stand-in is a real process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from argus.kernel import errors
from argus.kernel.paths import Paths
from argus.kernel.sessions import Session, SessionManager, SubscriberLagged
from argus.kernel.sessions import supervised as supervised_mod
from argus.kernel.supervisor import protocol as proto
from argus.kernel.supervisor import start_supervisor, stop_supervisor, supervisor_status
from argus_testkit import wait_for_async

HERE = Path(__file__).resolve().parent
SEQ = ("import sys, time\n"
       "for i in range({n}): print(f'line {{i:04d}}', flush=True); time.sleep({pause})\n"
       "sys.exit({code})\n")


def seq_argv(n: int, pause: float = 0.0, code: int = 0) -> list[str]:
    """A program printing ``line 0000`` .. ``line n-1`` then exiting with ``code``."""
    return [sys.executable, "-c", SEQ.format(n=n, pause=pause, code=code)]


def lines(data: bytes) -> list[str]:
    return [ln.decode() for ln in data.split(b"\r\n") if ln]


async def collect(session: Session, since: int | None = 0) -> bytes:
    """Everything from ``since`` until the session's output ends (resubscribing if lagged)."""
    got = b""
    offset = since
    with trio.fail_after(30):
        while True:
            try:
                async with session.subscribe(since=offset) as chunks:
                    async for chunk in chunks:
                        if offset is not None:
                            assert chunk.offset == offset, "gap or overlap"
                        got += chunk.data
                        offset = chunk.offset + len(chunk.data)
                return got
            except SubscriberLagged as lag:
                offset = lag.next_offset


def env() -> dict[str, str]:
    return {**os.environ, "PS1": "$ "}


async def test_spawn_and_subscribe_from_zero_sees_all_output(sup_manager: SessionManager, tmp_path: Path) -> None:
    session = await sup_manager.spawn(seq_argv(300, code=5), str(tmp_path), env(), meta={"task": "t1"})
    data = await collect(session, since=0)
    assert lines(data) == [f"line {i:04d}" for i in range(300)]
    with trio.fail_after(10):
        info = await session.wait()
    assert (info.code, info.signal, info.end_offset) == (5, None, len(data))
    assert session.exit == info and not session.alive and session.end_offset == len(data)
    events = sup_manager.sup_events  # type: ignore[attr-defined]
    assert events.of("session.started") == [{"session_id": session.id, "pid": session.pid,
                                              "meta": {"task": "t1"}, "argv0": sys.executable,
                                              "cwd": str(tmp_path)}]
    assert events.of("session.exited") == [{"session_id": session.id, "meta": {"task": "t1"}, "code": 5,
                                             "signal": None, "end_offset": len(data)}]
    assert sup_manager.get(session.id) is session and sup_manager.all() == [session]
    assert (sup_manager.paths.sessions / f"{session.id}.log").read_bytes() == data
    assert sup_manager.connected
    sup_manager.save_offsets()
    if sup_manager.use_supervisor:
        assert persisted_offset(sup_manager.paths, session.id) == len(data)


async def test_subscribe_from_a_mid_offset_is_exact(sup_manager: SessionManager, tmp_path: Path) -> None:
    session = await sup_manager.spawn(seq_argv(200), str(tmp_path), env(), session_id="mid")
    full = await collect(session, since=0)
    for mid in (1, 777, len(full) - 3):
        got = b""
        async with session.subscribe(since=mid) as chunks:
            async for chunk in chunks:
                if not got:
                    assert chunk.offset == mid
                got += chunk.data
        assert got == full[mid:]
    chunk = await session.read_range(10, 20)
    assert (chunk.offset, chunk.data) == (10, full[10:20])
    start, tail = session.tail(9)
    assert (start, tail) == (len(full) - 9, full[-9:])


async def test_heavy_output_arrives_complete_and_in_order(sup_manager: SessionManager, tmp_path: Path) -> None:
    code = "import sys\nfor i in range(200000): sys.stdout.write(f'{i:08d}\\n')\nsys.exit(3)\n"
    session = await sup_manager.spawn([sys.executable, "-c", code], str(tmp_path), env())
    data = await collect(session, since=0)
    assert data == b"".join(f"{i:08d}\r\n".encode() for i in range(200000))
    assert (await session.wait()).code == 3


async def test_input_resize_and_terminate(sup_manager: SessionManager, tmp_path: Path) -> None:
    session = await sup_manager.spawn(["bash", "--norc", "--noprofile"], str(tmp_path), env(), rows=24, cols=80)
    seen = b""
    with trio.fail_after(15):
        async with session.subscribe(since=0) as chunks:
            await session.write(b'echo he""llo\n')
            await session.resize(31, 99)
            await session.write(b"stty size\n")
            async for chunk in chunks:
                seen += chunk.data
                if b"hello" in seen and b"31 99" in seen:
                    break
        assert (session.rows, session.cols, session.start_cols) == (31, 99, 80)
        assert session.last_output_at > 0
        events = sup_manager.sup_events  # type: ignore[attr-defined]
        assert events.of("session.resized") == [{"session_id": session.id, "rows": 31, "cols": 99}]
        info = await session.terminate(grace=5)
    assert info.signal == signal.SIGHUP
    with pytest.raises(errors.Conflict):
        await session.write(b"x")


async def test_spawn_errors_name_the_problem(sup_manager: SessionManager, tmp_path: Path) -> None:
    with pytest.raises(errors.Invalid, match="no-such-agent-xyz"):
        await sup_manager.spawn(["no-such-agent-xyz", "--model", "x"], str(tmp_path), env())
    with pytest.raises(errors.Invalid, match="not-here"):
        await sup_manager.spawn(["true"], str(tmp_path / "not-here"), env())
    await sup_manager.spawn(["true"], str(tmp_path), env(), session_id="dup")
    with pytest.raises(errors.Conflict):
        await sup_manager.spawn(["true"], str(tmp_path), env(), session_id="dup")


async def test_forget_only_exited_sessions(sup_manager: SessionManager, tmp_path: Path) -> None:
    session = await sup_manager.spawn(["sleep", "100"], str(tmp_path), env(), session_id="f1")
    with pytest.raises(errors.Conflict):
        await sup_manager.forget("f1")
    with trio.fail_after(15):
        await session.terminate(grace=1)
    await sup_manager.forget("f1")
    assert sup_manager.get("f1") is None
    with pytest.raises(errors.NotFound):
        await sup_manager.forget("f1")


async def test_signal_reaches_the_process(sup_manager: SessionManager, tmp_path: Path) -> None:
    session = await sup_manager.spawn(["sleep", "100"], str(tmp_path), env())
    await session.signal(signal.SIGTERM)
    with trio.fail_after(10):
        info = await session.wait()
    assert info.signal == signal.SIGTERM


# --- daemon restarts (supervisor mode only) -----------------------------------------------------


def start_standin(paths: Paths, session_id: str, cwd: Path, argv: list[str]) -> subprocess.Popen[bytes]:
    out = open(paths.home / f"standin-{session_id}.out", "ab")
    try:
        return subprocess.Popen(
            [sys.executable, str(HERE / "sup_daemon_standin.py"), str(paths.home), session_id, str(cwd),
             "--", *argv],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, env={**os.environ, "ARGUS_HOME": str(paths.home)})
    finally:
        out.close()


def persisted_offset(paths: Paths, session_id: str) -> int | None:
    try:
        return json.loads((paths.sessions / "offsets.json").read_text())["offsets"].get(session_id)
    except (OSError, ValueError, KeyError):
        return None


def kill9(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)


async def test_session_survives_a_daemon_kill_and_is_reattached(sup_paths: Paths, tmp_path: Path) -> None:
    standin = start_standin(sup_paths, "seq1", tmp_path, seq_argv(150, pause=0.03, code=7))
    try:
        # kill -9 the "daemon" once it persisted an offset mid-output
        await wait_for_async(lambda: (persisted_offset(sup_paths, "seq1") or 0) > 0, 30, "a persisted offset")
        kill9(standin)
    finally:
        kill9(standin)
    resume = persisted_offset(sup_paths, "seq1")
    assert resume is not None and resume > 0

    events_seen: list[tuple[str, dict[str, Any]]] = []
    manager = SessionManager(sup_paths, lambda t, d: events_seen.append((t, d)))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        session = manager.get("seq1")
        assert session is not None
        assert manager._host.resumed_from["seq1"] == resume  # type: ignore[attr-defined]
        # the ring was prefilled from the log: what came before the restart is in memory again
        held_from, held = session.tail(1 << 20)
        assert held_from == 0 and held[:resume] == (sup_paths.sessions / "seq1.log").read_bytes()[:resume]
        assert session.meta == {} and session.argv[0] == sys.executable
        data = await collect(session, since=0)
        with trio.fail_after(15):
            info = await session.wait()
        nursery.cancel_scope.cancel()
    assert lines(data) == [f"line {i:04d}" for i in range(150)]
    assert (info.code, info.end_offset) == (7, len(data))
    assert [d["code"] for t, d in events_seen if t == "session.exited"] == [7]
    assert data == (sup_paths.sessions / "seq1.log").read_bytes()


async def test_exit_while_the_daemon_is_down_is_published_once(sup_paths: Paths, tmp_path: Path) -> None:
    standin = start_standin(sup_paths, "short", tmp_path, ["bash", "-c", "read line; echo got-$line; exit 4"])
    try:
        await wait_for_async(lambda: persisted_offset(sup_paths, "short") is not None, 30, "the spawn")
    finally:
        kill9(standin)
    # the agent finishes while no daemon is connected
    client = proto.SyncClient(sup_paths.supervisor_sock)
    try:
        client.request("input", session_id="short", data=proto.b64encode(b"x\n"))
    finally:
        client.close()

    def exited() -> bool:
        return any(s["session_id"] == "short" and s["exited"] for s in supervisor_status(sup_paths)["sessions"])

    await wait_for_async(exited, 30, "the agent's exit")

    for restart in range(2):
        seen: list[tuple[str, dict[str, Any]]] = []
        manager = SessionManager(sup_paths, lambda t, d, seen=seen: seen.append((t, d)))
        async with trio.open_nursery() as nursery:
            await nursery.start(manager.run)
            session = manager.get("short")
            assert session is not None
            with trio.fail_after(10):
                info = await session.wait()
            assert info.code == 4
            assert b"got-x" in await collect(session, since=0)
            nursery.cancel_scope.cancel()
        exits = [d for t, d in seen if t == "session.exited"]
        # published by the first daemon life only; the clean shutdown persisted that it was
        assert len(exits) == (1 if restart == 0 else 0), seen
        if exits:
            assert exits[0]["code"] == 4 and exits[0]["session_id"] == "short"


async def test_supervisor_loss_ends_sessions_and_the_manager_reconnects(sup_paths: Paths, tmp_path: Path) -> None:
    first = start_supervisor(sup_paths)
    manager = SessionManager(sup_paths, lambda t, d: None)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        session = await manager.spawn(["sleep", "300"], str(tmp_path), env())
        await trio.to_thread.run_sync(stop_supervisor, sup_paths)
        with trio.fail_after(15):
            info = await session.wait()
        assert info.code is None  # hung up by the stopping supervisor (or lost with it)

        # the manager starts a fresh supervisor and keeps working
        await wait_for_async(lambda: manager._host.link is not None  # type: ignore[attr-defined]
                             and manager._host.reconnects >= 1, 30, "reconnection")  # type: ignore[attr-defined]
        assert supervisor_status(sup_paths)["pid"] not in (None, first)
        again = await manager.spawn(seq_argv(3, code=2), str(tmp_path), env())
        with trio.fail_after(10):
            assert (await again.wait()).code == 2
        nursery.cancel_scope.cancel()


async def test_supervisor_crash_marks_its_sessions_lost(sup_paths: Paths, tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    manager = SessionManager(sup_paths, lambda t, d: seen.append((t, d)))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        session = await manager.spawn(["sleep", "300"], str(tmp_path), env(), session_id="orphan")
        crashed = supervisor_status(sup_paths)["pid"]
        os.kill(crashed, signal.SIGKILL)
        with trio.fail_after(20):
            info = await session.wait()
        assert (info.code, info.signal) == (None, None)
        assert [d.get("lost") for t, d in seen if t == "session.exited"] == [True]
        # the session is marked lost at once; the manager then starts a fresh supervisor
        await wait_for_async(lambda: supervisor_status(sup_paths)["pid"] not in (None, crashed), 30,
                             "a fresh supervisor")
        nursery.cancel_scope.cancel()
    try:  # its PTY master is gone, so the kernel hung it up; make sure
        os.killpg(session.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def test_run_raises_unavailable_when_no_supervisor_can_start(
        sup_paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervised_mod, "SUPERVISOR_START_WAIT", 1.0)
    sup_paths.supervisor_sock.mkdir()  # nothing can listen there
    manager = SessionManager(sup_paths, lambda t, d: None)
    with pytest.raises(errors.Unavailable, match="session-supervisor"), trio.fail_after(30):
        await manager.run()
    assert not manager.connected
    assert not (sup_paths.sessions / "offsets.json").exists()
