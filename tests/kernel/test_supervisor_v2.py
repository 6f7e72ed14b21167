"""Supervisor protocol version 2: data frames for terminal bytes, the version handshake with older
peers (an old supervisor still running after a daemon update, an old daemon), input sent without
waiting for replies (order kept, refusals reported later), batched output."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from argus.kernel.paths import Paths
from argus.kernel.sessions import Session, SessionManager, SupervisorHost
from argus.kernel.supervisor import Supervisor, start_supervisor
from argus.kernel.supervisor import protocol as proto
from argus.kernel.supervisor.output import Chunk, OutputStream
from argus_testkit import wait_for
from test_session_manager import collect, lines, seq_argv
from test_supervisor import Raw, spawn_raw

# Sets the terminal raw (no echo, no line editing), says "ready", then copies every byte it reads to
# a file until it has argv[1] bytes.
RECORDER = """\
import os, sys, tty
tty.setraw(0)
want, out = int(sys.argv[1]), sys.argv[2]
os.write(1, b"ready\\n")
got = bytearray()
while len(got) < want:
    got += os.read(0, 65536)
with open(out, "wb") as fh:
    fh.write(got)
os.write(1, b"recorded\\n")
"""

KEYS = [f"{i:04d},".encode() for i in range(1000)]  # 1,000 keystrokes, each naming its position


def frames_of(buffer: proto.FrameBuffer) -> list[Any]:
    """Every complete frame in ``buffer``."""
    out = []
    while (frame := buffer.next_frame()) is not None:
        out.append(frame)
    return out


# -- frames -----------------------------------------------------------------------------------


def test_data_frames_round_trip_with_any_bytes_and_any_split() -> None:
    payloads = [b"line one\nline two\n", b"\x00\x00nul\x00", b"{\"not\": \"json\"}\n", bytes(range(256)) * 3,
                b"\n", b"x" * 100_000]
    wire = b"".join(proto.encode_data(proto.KIND_OUTPUT, "s-1", 1000 + i, p) for i, p in enumerate(payloads))
    wire += proto.encode({"event": "exit", "session_id": "s-1", "code": 0}) + proto.encode_data(
        proto.KIND_INPUT, "s.2", 0, b"\r")
    expected = [proto.DataFrame(proto.KIND_OUTPUT, "s-1", 1000 + i, p) for i, p in enumerate(payloads)]
    expected += [{"event": "exit", "session_id": "s-1", "code": 0}, proto.DataFrame(proto.KIND_INPUT, "s.2", 0, b"\r")]

    whole = proto.FrameBuffer()
    whole.binary = True
    whole.feed(wire)
    assert frames_of(whole) == expected

    for step in (1, 7, 4096):  # a frame split across reads, down to one byte at a time
        split = proto.FrameBuffer()
        split.binary = True
        got: list[Any] = []
        for at in range(0, len(wire), step):
            split.feed(wire[at:at + step])
            got += frames_of(split)
        assert got == expected, step


def test_an_oversized_data_frame_is_skipped_and_the_stream_goes_on() -> None:
    buffer = proto.FrameBuffer(max_frame=1024)
    buffer.binary = True
    big = proto.DATA_HEADER.pack(proto.DATA_MAGIC, proto.KIND_OUTPUT, 1, 5000, 0) + b"s" + b"z" * 5000
    wire = big + proto.encode_data(proto.KIND_OUTPUT, "s", 7, b"after")
    for at in range(0, len(wire), 300):
        buffer.feed(wire[at:at + 300])
        if at == 0:
            assert buffer.next_frame() is None  # not all of it yet: nothing buffered whole
    with pytest.raises(proto.FrameTooLarge):
        buffer.next_frame()
    assert frames_of(buffer) == [proto.DataFrame(proto.KIND_OUTPUT, "s", 7, b"after")]


def test_a_version_1_buffer_never_reads_data_frames() -> None:
    buffer = proto.FrameBuffer()  # binary is off until a version-2 handshake
    buffer.feed(proto.encode_data(proto.KIND_INPUT, "s", 0, b"x") + b"\n" + proto.encode({"op": "list", "req": 1}))
    with pytest.raises(proto.ProtocolError):
        buffer.next_frame()
    assert frames_of(buffer) == [{"op": "list", "req": 1}]


def test_bad_data_frames_are_protocol_errors() -> None:
    buffer = proto.FrameBuffer()
    buffer.binary = True
    buffer.feed(proto.DATA_HEADER.pack(proto.DATA_MAGIC, ord("Z"), 1, 1, 0) + b"s!"
                + proto.encode_data(proto.KIND_INPUT, "ok", 0, b"y"))
    with pytest.raises(proto.ProtocolError, match="kind"):
        buffer.next_frame()
    assert frames_of(buffer) == [proto.DataFrame(proto.KIND_INPUT, "ok", 0, b"y")]
    with pytest.raises(proto.ProtocolError):
        proto.encode_data(proto.KIND_INPUT, "", 0, b"x")


async def test_connections_carry_data_frames_over_a_real_socket() -> None:
    a, b = trio.socket.socketpair()
    left, right = proto.Connection(trio.SocketStream(a)), proto.Connection(trio.SocketStream(b))
    with pytest.raises(proto.ProtocolError):  # version 1 until the handshake says otherwise
        await left.send_data(proto.KIND_INPUT, "s", 0, b"x")
    left.use_version(2)
    right.use_version(2)
    payload = b"\n\x00" * 200_000  # larger than a socket buffer: split across reads
    async with trio.open_nursery() as nursery:
        nursery.start_soon(left.send_data, proto.KIND_OUTPUT, "sess", 42, payload)
        assert await right.receive() == proto.DataFrame(proto.KIND_OUTPUT, "sess", 42, payload)
    await left.send({"op": "list", "req": 1})
    assert await right.receive() == {"op": "list", "req": 1}
    await left.aclose()
    assert await right.receive() is None
    await right.aclose()


# -- the handshake ----------------------------------------------------------------------------


def test_negotiation_picks_the_highest_common_version() -> None:
    assert proto.negotiate({"version": 1}) == 1  # a version-1 daemon
    assert proto.negotiate({"version": 1, "versions": [1, 2]}) == 2
    assert proto.negotiate({"version": 1, "versions": [1, 2]}, (1,)) == 1  # a version-1 supervisor
    assert proto.negotiate({"version": 2, "versions": [2, 3]}) == 2
    with pytest.raises(proto.ProtocolError, match="mismatch"):
        proto.negotiate({"version": 3, "versions": [3]})
    with pytest.raises(proto.ProtocolError):
        proto.chosen_version({"version": 2}, (1,))


def test_a_version_1_client_gets_json_output_from_a_new_supervisor(sup_paths: Paths, tmp_path: Path) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        reply = raw.hello()  # {"version": 1} and no "versions": what a daemon before version 2 sends
        assert reply["version"] == 1 and reply["versions"] == [1, 2]
        spawn_raw(raw, "v1", [sys.executable, "-c", "print('hello from v1')"], tmp_path)
        raw.send({"op": "attach", "req": 2, "session_id": "v1", "offset": 0})
        assert raw.frame()["ok"] is True
        frame = raw.frame()
        assert frame["event"] == "output" and b"hello from v1" in proto.b64decode(frame["data"])
    finally:
        raw.close()


def test_version_2_output_is_data_frames_and_input_gets_no_reply(sup_paths: Paths, tmp_path: Path) -> None:
    start_supervisor(sup_paths)
    raw = Raw(sup_paths)
    try:
        assert raw.hello(versions=(1, 2))["version"] == 2
        code = "import sys\nfor line in sys.stdin: print('got', line.strip(), flush=True)\n"
        spawn_raw(raw, "echo2", [sys.executable, "-c", code], tmp_path)
        raw.send({"op": "attach", "req": 2, "session_id": "echo2", "offset": 0})
        assert raw.frame() == {"req": 2, "ok": True, "offset": 0, "end_offset": 0}
        raw.send(proto.encode_data(proto.KIND_INPUT, "echo2", 0, b"one\r") +
                 proto.encode_data(proto.KIND_INPUT, "no-such", 0, b"lost\r") +
                 proto.encode_data(proto.KIND_INPUT, "echo2", 0, b"two\r"))
        got = b""
        refused = []
        while b"got two" not in got:
            frame = raw.frame()
            if isinstance(frame, proto.DataFrame):
                assert frame.kind == proto.KIND_OUTPUT and frame.session_id == "echo2"
                assert frame.offset == len(got)  # gapless, absolute
                got += frame.data
            else:
                refused.append(frame)
        assert got.index(b"got one") < got.index(b"got two")
        assert refused == [{"event": "input_error", "session_id": "no-such", "error": "no session 'no-such'",
                            "kind": "NotFound"}]
        raw.send({"op": "list", "req": 3})  # the connection is still in step
        reply = raw.frame()
        while isinstance(reply, proto.DataFrame):  # the rest of the output (the line's end) may come first
            assert reply.offset == len(got)
            got += reply.data
            reply = raw.frame()
        assert reply["req"] == 3 and reply["ok"] is True
    finally:
        raw.close()


# -- the daemon's side ------------------------------------------------------------------------


async def _record_keys(manager: SessionManager, tmp_path: Path) -> bytes:
    """Type :data:`KEYS` one write each into a recorder and return what it read."""
    out = tmp_path / "recorded.bin"
    want = sum(len(k) for k in KEYS)
    session = await manager.spawn([sys.executable, "-c", RECORDER, str(want), str(out)], str(tmp_path),
                                  dict(os.environ))
    await _wait_output(session, b"ready")
    for key in KEYS:
        await session.write(key)
    await _wait_output(session, b"recorded")
    return out.read_bytes()


async def _wait_output(session: Session, needle: bytes) -> None:
    with trio.fail_after(30):
        async with session.subscribe(since=0) as chunks:
            seen = b""
            async for chunk in chunks:
                seen += chunk.data
                if needle in seen:
                    return
    raise AssertionError(f"{needle!r} never came")


def _host(manager: SessionManager) -> SupervisorHost:
    host = manager._host
    assert isinstance(host, SupervisorHost)
    return host


async def test_a_thousand_keystrokes_arrive_in_order(sup_manager: SessionManager, tmp_path: Path) -> None:
    if sup_manager.use_supervisor:
        assert _host(sup_manager).link is not None and _host(sup_manager).link.version == 2
    assert await _record_keys(sup_manager, tmp_path) == b"".join(KEYS)


@asynccontextmanager
async def supervisor_here(paths: Paths, versions: tuple[int, ...] = proto.SUPPORTED_VERSIONS) -> AsyncIterator[
        trio.Nursery]:
    """A supervisor speaking ``versions`` served by this test process, in the yielded nursery."""
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(Supervisor(paths, versions=versions).serve)
            yield nursery
            nursery.cancel_scope.cancel()
    finally:  # its lock file names this process: the home's cleanup must not take it for a supervisor
        paths.supervisor_lock.unlink(missing_ok=True)


async def test_a_new_daemon_keeps_working_with_an_old_supervisor(sup_paths: Paths, tmp_path: Path) -> None:
    """The supervisor outlives daemon updates: a version-1 one is spoken to in version 1."""
    async with supervisor_here(sup_paths, versions=(1,)) as nursery:
        manager = SessionManager(sup_paths, lambda t, d: None)
        await nursery.start(manager.run)
        link = _host(manager).link
        assert link is not None and link.version == 1 and link.hello["versions"] == [1]
        assert await _record_keys(manager, tmp_path) == b"".join(KEYS)
        session = await manager.spawn(seq_argv(400, code=3), str(tmp_path), dict(os.environ))
        data = await collect(session, since=0)
        assert lines(data) == [f"line {i:04d}" for i in range(400)]
        assert (await session.wait()).code == 3
        nursery.cancel_scope.cancel()  # the daemon too


async def test_an_old_daemon_keeps_working_with_a_new_supervisor(sup_paths: Paths, tmp_path: Path) -> None:
    async with supervisor_here(sup_paths) as nursery:
        manager = SessionManager(sup_paths, lambda t, d: None)
        _host(manager).versions = (1,)  # what a daemon from before version 2 offers
        await nursery.start(manager.run)
        link = _host(manager).link
        assert link is not None and link.version == 1 and link.hello["versions"] == [1, 2]
        assert await _record_keys(manager, tmp_path) == b"".join(KEYS)
        nursery.cancel_scope.cancel()  # the daemon too


async def test_input_refused_after_the_write_returned_is_reported(sup_manager: SessionManager,
                                                                  tmp_path: Path) -> None:
    if not sup_manager.use_supervisor:
        pytest.skip("only the supervisor link sends input without a reply")
    session = await sup_manager.spawn(["sleep", "300"], str(tmp_path), dict(os.environ))
    host = _host(sup_manager)
    client = proto.SyncClient(sup_manager.paths.supervisor_sock)
    try:  # the supervisor forgets the session behind the daemon's back
        client.request("kill", session_id=session.id, grace=0.0)
        wait_for(lambda: client.request("list")["sessions"][0]["exited"], what="the kill")
        client.request("forget", session_id=session.id)
    finally:
        client.close()
    await host.write(session, b"too late\r")  # returns at once; the refusal comes back later
    with trio.fail_after(10):
        while host.input_errors == 0:
            await trio.sleep(0.01)


# -- batching ---------------------------------------------------------------------------------


async def test_queued_chunks_are_received_as_one_batch() -> None:
    stream = OutputStream()
    async with stream.subscribe(since=0) as sub:
        for piece in (b"a" * 10, b"b" * 10, b"c" * 10, b"d" * 10):
            stream.feed(piece)
        assert await sub.receive_batch(25) == Chunk(0, b"a" * 10 + b"b" * 10)  # c would not fit
        assert await sub.receive_batch(1000) == Chunk(20, b"c" * 10 + b"d" * 10)
        stream.feed(b"e" * 50)
        assert await sub.receive_batch(10) == Chunk(40, b"e" * 50)  # one chunk comes whole
        stream.feed(b"f")
        stream.feed(b"g", 100)  # a gap (a mirror that missed bytes) is never merged over
        assert await sub.receive_batch(1000) == Chunk(90, b"f")
        stream.finish()
        assert await sub.receive_batch(1000) == Chunk(100, b"g")
        assert await sub.receive_batch(1000) is None



# -- the package boundary ---------------------------------------------------------------------


def test_the_supervisor_contract_forbids_every_other_kernel_module() -> None:
    """The import-linter contract keeping the supervisor apart lists modules by name: a kernel
    module added later must be added to it."""
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["source_modules"] == ["argus.kernel.supervisor"])
    allowed = {"errors", "faults", "paths", "pidlock", "__init__", "supervisor"}
    kernel = {p.stem for p in (root / "kernel").iterdir()
              if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())) and p.stem not in allowed}
    assert {f"argus.kernel.{m}" for m in kernel} == set(contract["forbidden_modules"])
