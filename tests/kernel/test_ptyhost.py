"""ptyhost: real processes on real PTYs, the ring's absolute offsets, the log, fan-out."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from argus.kernel import errors
from argus.kernel.supervisor.output import OutputStream, Ring, SubscriberLagged
from argus.kernel.supervisor.ptyhost import READ_BURST, PtySession

BASH = ["bash", "--norc", "--noprofile"]


def env() -> dict[str, str]:
    return {**os.environ, "PS1": "$ ", "TERM": "dumb"}


@asynccontextmanager
async def running(tmp_path: Path, argv: list[str], **kw: object) -> AsyncIterator[PtySession]:
    """Spawn ``argv`` and run it in a nursery; the session is killed on the way out."""
    pty = PtySession.spawn("s1", argv, str(tmp_path), env(), log_dir=tmp_path / "sessions", **kw)
    async with trio.open_nursery() as nursery:
        await nursery.start(pty.run)
        try:
            yield pty
        finally:
            nursery.cancel_scope.cancel()


async def read_until(pty: PtySession, needle: bytes, since: int = 0) -> bytes:
    """Output from ``since`` until ``needle`` appears (fails after 10 s)."""
    seen = b""
    with trio.fail_after(10):
        async with pty.output.subscribe(since=since) as chunks:
            async for chunk in chunks:
                seen += chunk.data
                if needle in seen:
                    return seen
    raise AssertionError(f"{needle!r} never appeared in {seen!r}")


async def test_echo_hi_reaches_the_subscriber(tmp_path: Path) -> None:
    async with running(tmp_path, BASH) as pty:
        await pty.write(b"echo hi-$((40+2))\n")
        assert b"hi-42" in await read_until(pty, b"hi-42")


async def test_resize_is_seen_by_stty(tmp_path: Path) -> None:
    async with running(tmp_path, BASH, rows=24, cols=80) as pty:
        pty.resize(33, 101)
        await pty.write(b"stty size\n")
        await read_until(pty, b"33 101")
        assert (pty.rows, pty.cols, pty.start_cols) == (33, 101, 80)


async def test_exit_code_is_reported(tmp_path: Path) -> None:
    async with running(tmp_path, BASH) as pty:
        await pty.write(b"exit 3\n")
        with trio.fail_after(10):
            info = await pty.wait()
        assert (info.code, info.signal) == (3, None)
        assert info.end_offset == pty.output.end
        with pytest.raises(errors.Conflict):
            await pty.write(b"more\n")


async def test_signal_exit_is_reported(tmp_path: Path) -> None:
    async with running(tmp_path, ["sleep", "100"]) as pty:
        os.kill(pty.pid, signal.SIGKILL)
        with trio.fail_after(10):
            info = await pty.wait()
        assert (info.code, info.signal) == (None, signal.SIGKILL)


async def test_terminate_escalates_to_sigkill(tmp_path: Path) -> None:
    script = "trap '' HUP TERM; echo ready; while true; do sleep 0.05; done"
    async with running(tmp_path, ["bash", "-c", script]) as pty:
        await read_until(pty, b"ready")
        with trio.fail_after(10):
            info = await pty.terminate(grace=0.2)
        assert info.signal == signal.SIGKILL


async def test_terminate_stops_a_shell_with_sighup(tmp_path: Path) -> None:
    async with running(tmp_path, ["sleep", "100"]) as pty:
        with trio.fail_after(10):
            info = await pty.terminate(grace=5)
        assert info.signal == signal.SIGHUP


async def test_ring_offsets_stay_absolute_after_wrap_and_log_has_every_byte(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(3000): sys.stdout.write(f'{i:06d}\\n')\n"
    async with running(tmp_path, [sys.executable, "-c", code], ring_bytes=1024) as pty:
        with trio.fail_after(10):
            info = await pty.wait()
    log = (tmp_path / "sessions" / "s1.log").read_bytes()
    assert log == b"".join(f"{i:06d}\r\n".encode() for i in range(3000))
    assert info.end_offset == pty.output.end == len(log)
    assert pty.output.start == len(log) - 1024
    start, data = pty.output.tail(100)
    assert (start, data) == (len(log) - 100, log[-100:])
    start, data = pty.output.tail(10_000)  # capped to what the ring holds
    assert (start, data) == (len(log) - 1024, log[-1024:])
    chunk = await pty.output.read_range(5, 4000)  # from the log: the ring moved on
    assert (chunk.offset, chunk.data) == (5, log[5:4000])
    chunk = await pty.output.read_range(len(log) - 2000)  # half log, half ring
    assert (chunk.offset, chunk.data) == (len(log) - 2000, log[-2000:])
    got = b""
    async with pty.output.subscribe(since=7) as chunks:
        async for c in chunks:
            assert c.offset == 7 + len(got)
            got += c.data
    assert got == log[7:]


async def test_missing_log_makes_the_gap_visible(tmp_path: Path) -> None:
    stream = OutputStream(ring_bytes=16, log_path=tmp_path / "nope.log")
    stream.feed(b"0123456789abcdefghij")
    chunk = await stream.read_range(0)
    assert (chunk.offset, chunk.data) == (4, b"456789abcdefghij")


async def test_slow_subscriber_is_dropped_without_blocking_the_reader(tmp_path: Path) -> None:
    # The child waits for a line before it prints: output written before the subscription would
    # come as one replayed chunk and never overflow the buffer (a loaded machine did that). It
    # prints more than the reader takes in one burst (READ_BURST), several times over: on a slow
    # machine a smaller output could sit whole in the terminal and be read as one chunk.
    code = ("import sys\nsys.stdin.readline()\n"
            f"for i in range({8 * READ_BURST // 7}): print(f'{{i:06d}}', flush=True)\n")
    async with running(tmp_path, [sys.executable, "-c", code], subscriber_buffer=2) as pty:
        async with pty.output.subscribe(since=0) as chunks:
            await pty.write(b"go\n")
            with trio.fail_after(60):
                info = await pty.wait()  # the child finished although nobody read
            got = b""
            with pytest.raises(SubscriberLagged) as lagged:
                async for c in chunks:
                    got += c.data
            assert lagged.value.next_offset == len(got)
        async with pty.output.subscribe(since=lagged.value.next_offset) as chunks:
            async for c in chunks:
                got += c.data
    assert got == (tmp_path / "sessions" / "s1.log").read_bytes()
    assert len(got) == info.end_offset


async def test_subscriber_since_none_gets_only_new_output(tmp_path: Path) -> None:
    async with running(tmp_path, BASH) as pty:
        await pty.write(b'echo fi""rst\n')  # the quotes keep the echoed command from matching
        await read_until(pty, b"first")
        with trio.fail_after(10):
            async with pty.output.subscribe() as chunks:
                start = pty.output.end
                await pty.write(b'echo sec""ond\n')
                seen = b""
                async for c in chunks:
                    assert c.offset >= start
                    seen += c.data
                    if b"second" in seen:
                        break
        assert b"first" not in seen


def test_ring_keeps_absolute_offsets() -> None:
    ring = Ring(4)
    ring.append(b"abcdef")
    assert (ring.start, ring.end, ring.slice(0, 10)) == (2, 6, b"cdef")
    ring.append(b"gh")
    assert (ring.start, ring.end, ring.slice(5, 7)) == (4, 8, b"fg")


async def test_spawn_refuses_missing_program_and_cwd(tmp_path: Path) -> None:
    with pytest.raises(errors.Invalid, match="no-such-agent-xyz"):
        PtySession.spawn("s1", ["no-such-agent-xyz"], str(tmp_path), env(), log_dir=tmp_path)
    with pytest.raises(errors.Invalid, match="missing-dir"):
        PtySession.spawn("s1", ["true"], str(tmp_path / "missing-dir"), env(), log_dir=tmp_path)
    with pytest.raises(errors.Invalid, match="session id"):
        PtySession.spawn("../x", ["true"], str(tmp_path), env(), log_dir=tmp_path)


def test_a_burst_of_ready_output_is_read_as_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    from argus.kernel.supervisor import ptyhost

    monkeypatch.setattr(ptyhost, "READ_SIZE", 4096)  # what a terminal hands out per read
    r, w = os.pipe()
    try:
        os.set_blocking(r, False)
        with pytest.raises(BlockingIOError):
            ptyhost._read_burst(r)  # nothing ready: the caller waits
        data = bytes(range(256)) * 200  # 51,200 bytes: 13 reads
        os.write(w, data)
        assert ptyhost._read_burst(r) == (data, True)
        os.write(w, b"last")
        os.close(w)
        w = -1
        assert ptyhost._read_burst(r) == (b"last", False)  # the writer is gone
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


SLOW_READER = """\
import hashlib, sys, termios, time
attrs = termios.tcgetattr(0)
attrs[3] &= ~termios.ECHO
termios.tcsetattr(0, termios.TCSANOW, attrs)
print("ready", flush=True)
time.sleep(0.5)
digest = hashlib.sha256()
for line in sys.stdin:
    if line.strip() == "END":
        break
    digest.update(line.encode())
print("sum", digest.hexdigest(), flush=True)
"""


async def test_input_written_now_or_queued_keeps_its_order(tmp_path: Path) -> None:
    # The program reads nothing for a while: the first input goes straight to the PTY until it is
    # full, the rest is queued behind it; all of it must arrive once, in order.
    async with running(tmp_path, [sys.executable, "-c", SLOW_READER]) as pty:
        await read_until(pty, b"ready")
        lines = [b"line %05d " % i + b"x" * 50 + b"\n" for i in range(3000)]
        for at in range(0, len(lines), 40):
            pty.send_input(b"".join(lines[at:at + 40]))
        pty.send_input(b"END\n")
        expected = hashlib.sha256(b"".join(lines)).hexdigest().encode()
        seen = await read_until(pty, expected)
        assert b"sum " + expected in seen
