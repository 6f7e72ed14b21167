"""The supervisor's server: its sessions and the protocol handlers on ``supervisor.sock``."""

from __future__ import annotations

import logging
import os
import signal as signal_mod
from typing import Any

import trio

from .. import errors
from ..paths import Paths, secure_home
from . import protocol as proto
from .lock import SupervisorLock
from .output import DEFAULT_RING_BYTES, Chunk, SubscriberLagged
from .ptyhost import PtySession, validate_session_id

log = logging.getLogger("argus.supervisor")

#: Seconds between SIGHUP, SIGTERM and SIGKILL when the supervisor stops its sessions.
SHUTDOWN_GRACE = 2.0


class Supervisor:
    """The supervisor's state: its sessions and the protocol handlers."""

    def __init__(self, paths: Paths, *, ring_bytes: int = DEFAULT_RING_BYTES,
                 versions: tuple[int, ...] = proto.SUPPORTED_VERSIONS) -> None:
        self.paths = paths
        self.ring_bytes = ring_bytes
        #: Protocol versions this supervisor speaks (tests narrow it to play an older supervisor).
        self.versions = versions
        self.sessions: dict[str, PtySession] = {}
        self.shutdown = trio.Event()
        self._streams = 0  # attach streams still sending
        self._session_nursery: trio.Nursery | None = None

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen until a ``shutdown`` request or SIGTERM/SIGINT, then stop every session."""
        secure_home(self.paths.home)
        self.paths.sessions.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = SupervisorLock(self.paths.supervisor_lock)
        lock.acquire()
        listener: trio.SocketListener | None = None
        try:
            listener = await proto.listen_unix(self.paths.supervisor_sock)
            log.info("supervisor %d listening on %s (protocol %s)", os.getpid(),
                     self.paths.supervisor_sock, "/".join(map(str, self.versions)))
            async with trio.open_nursery() as outer:
                async with trio.open_nursery() as sessions:
                    self._session_nursery = sessions
                    outer.start_soon(trio.serve_listeners, self._handle, [listener])
                    outer.start_soon(self._watch_signals)
                    task_status.started()
                    await self.shutdown.wait()
                    log.info("shutting down: stopping %d live sessions",
                             sum(1 for s in self.sessions.values() if s.alive))
                    async with trio.open_nursery() as killers:
                        for pty in self.sessions.values():
                            if pty.alive:
                                killers.start_soon(pty.terminate, SHUTDOWN_GRACE)
                    # let attached clients receive the exit events before the connections close
                    with trio.move_on_after(1.0):
                        while self._streams:
                            await trio.sleep(0.01)
                    sessions.cancel_scope.cancel()
                outer.cancel_scope.cancel()
        finally:
            self._session_nursery = None
            try:
                if listener is not None:
                    self.paths.supervisor_sock.unlink(missing_ok=True)
            finally:
                lock.release()
            log.info("supervisor %d stopped", os.getpid())

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(signal_mod.SIGTERM, signal_mod.SIGINT) as signals:
            async for signum in signals:
                log.info("got signal %d", signum)
                self.shutdown.set()

    async def _handle(self, stream: trio.SocketStream) -> None:
        """One client connection. Nothing a client does (or how it dies) may stop the supervisor."""
        conn = proto.Connection(stream)
        try:
            async with trio.open_nursery() as nursery:
                try:
                    await self._requests(conn, nursery)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # the client went away (a daemon killed mid-stream resets the socket)
                finally:
                    nursery.cancel_scope.cancel()
        except Exception:
            log.exception("connection handler failed")
        finally:
            with trio.CancelScope(shield=True):
                await conn.aclose()

    async def _requests(self, conn: proto.Connection, nursery: trio.Nursery) -> None:
        """Hello first, then requests handled in order until the client closes."""
        attaches: dict[str, trio.CancelScope] = {}
        greeted = False
        while True:
            try:
                frame = await conn.receive()
            except proto.ProtocolError as exc:
                await conn.send(proto.reply_error(None, exc))
                continue
            if frame is None:
                return
            if isinstance(frame, proto.DataFrame):
                await self._data_frame(conn, frame)
                continue
            req = frame.get("req")
            try:
                if isinstance(req, bool) or not isinstance(req, int | str):
                    raise proto.ProtocolError("every request needs a 'req' id (int or string)")
                op = frame.get("op")
                if op not in proto.OPS:
                    raise proto.ProtocolError(f"unknown op {op!r}")
                if op == "hello":
                    try:
                        version = proto.negotiate(frame, self.versions)
                    except proto.ProtocolError as exc:
                        await conn.send(proto.reply_error(req, exc))
                        return  # a peer speaking no version of ours is disconnected
                    greeted = True
                    await conn.send(proto.reply_ok(req, version=version, versions=list(self.versions),
                                                   pid=os.getpid()))
                    conn.use_version(version)
                    continue
                if not greeted:
                    raise proto.ProtocolError("the first request must be 'hello'")
                if op == "attach":
                    await self._op_attach(conn, nursery, attaches, req, frame)
                    continue
                result = self._dispatch(op, frame, attaches)
            except errors.ArgusError as exc:
                await conn.send(proto.reply_error(req, exc))
                continue
            await conn.send(proto.reply_ok(req, **result))
            if op == "shutdown":
                self.shutdown.set()

    async def _data_frame(self, conn: proto.Connection, frame: proto.DataFrame) -> None:
        """Version 2 input: queue it for the PTY; no reply, an ``input_error`` event if refused."""
        try:
            if frame.kind != proto.KIND_INPUT:
                raise proto.ProtocolError("a client sends only input data frames")
            pty = self.sessions.get(frame.session_id)
            if pty is None:
                raise errors.NotFound(f"no session {frame.session_id!r}")
            pty.send_input(frame.data)
        except errors.ArgusError as exc:
            error = proto.reply_error(None, exc)
            await conn.send({"event": "input_error", "session_id": frame.session_id,
                             "error": error["error"], "kind": error["kind"]})

    def _session(self, frame: dict[str, Any]) -> PtySession:
        session_id = proto.arg(frame, "session_id", str)
        pty = self.sessions.get(session_id)
        if pty is None:
            raise errors.NotFound(f"no session {session_id!r}")
        return pty

    def _dispatch(self, op: str, frame: dict[str, Any],
                  attaches: dict[str, trio.CancelScope]) -> dict[str, Any]:
        """Run a request that answers at once; returns the reply's fields."""
        if op == "list":
            return {"sessions": [pty.info() for pty in self.sessions.values()]}
        if op == "spawn":
            return {"session": self._op_spawn(frame)}
        if op == "input":
            data = proto.b64decode(proto.arg(frame, "data", str))
            if len(data) > proto.MAX_INPUT_DATA:
                raise errors.TooLarge(f"input over {proto.MAX_INPUT_DATA} bytes; split it")
            self._session(frame).send_input(data)
            return {}
        if op == "resize":
            self._session(frame).resize(proto.arg(frame, "rows", int), proto.arg(frame, "cols", int))
            return {}
        if op == "signal":
            sig = proto.arg(frame, "signal", int)
            if sig not in signal_mod.valid_signals() or sig == 0:
                raise errors.Invalid(f"unknown signal {sig}")
            self._session(frame).signal(sig)
            return {}
        if op == "kill":
            grace = float(proto.arg(frame, "grace", (int, float), 3.0))
            if not 0 <= grace <= 300:
                raise errors.Invalid("grace must be between 0 and 300 seconds")
            self._session(frame).start_terminate(grace)
            return {}
        if op == "forget":
            pty = self._session(frame)
            if pty.alive:
                raise errors.Conflict(f"session {pty.id} is still running; kill it first")
            del self.sessions[pty.id]
            return {}
        if op == "detach":
            scope = attaches.pop(proto.arg(frame, "session_id", str), None)
            if scope is not None:
                scope.cancel()
            return {}
        if op == "shutdown":
            return {}
        raise proto.ProtocolError(f"unknown op {op!r}")  # pragma: no cover - OPS is checked first

    def _op_spawn(self, frame: dict[str, Any]) -> dict[str, Any]:
        session_id = validate_session_id(proto.arg(frame, "session_id", str))
        argv = proto.arg(frame, "argv", list)
        cwd = proto.arg(frame, "cwd", str)
        env = proto.arg(frame, "env", dict)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise errors.Invalid("env must map strings to strings")
        meta = proto.arg(frame, "meta", dict, {})
        rows = proto.arg(frame, "rows", int, 40)
        cols = proto.arg(frame, "cols", int, 120)
        if session_id in self.sessions:
            raise errors.Conflict(f"session {session_id!r} exists")
        if self._session_nursery is None:
            raise errors.Unavailable("the supervisor is shutting down")
        pty = PtySession.spawn(session_id, argv, cwd, env, rows=rows, cols=cols, meta=meta,
                               log_dir=self.paths.sessions, ring_bytes=self.ring_bytes)
        self.sessions[session_id] = pty
        self._session_nursery.start_soon(self._run_session, pty)
        log.info("spawned session %s pid %d: %s", session_id, pty.pid, argv[0])
        return pty.info()

    async def _run_session(self, pty: PtySession) -> None:
        info = await pty.run()
        log.info("session %s exited: code=%s signal=%s", pty.id, info.code, info.signal)

    async def _op_attach(self, conn: proto.Connection, nursery: trio.Nursery,
                         attaches: dict[str, trio.CancelScope], req: object, frame: dict[str, Any]) -> None:
        pty = self._session(frame)
        offset = proto.arg(frame, "offset", int, 0)
        if offset < 0:
            raise errors.Invalid("offset must be >= 0")
        old = attaches.pop(pty.id, None)
        if old is not None:
            old.cancel()
        offset = min(offset, pty.output.end)
        scope = trio.CancelScope()
        attaches[pty.id] = scope
        await conn.send(proto.reply_ok(req, offset=offset, end_offset=pty.output.end))
        nursery.start_soon(self._stream, conn, pty, offset, scope, attaches)

    async def _stream(self, conn: proto.Connection, pty: PtySession, offset: int,
                      scope: trio.CancelScope, attaches: dict[str, trio.CancelScope]) -> None:
        """Send ``output`` events from ``offset``, then the ``exit`` event."""
        self._streams += 1
        try:
            with scope:
                next_offset = offset
                while True:
                    try:
                        async with pty.output.subscribe(since=next_offset) as sub:
                            if conn.data_frames:
                                while (chunk := await sub.receive_batch(proto.MAX_OUTPUT_BATCH)) is not None:
                                    await conn.send_data(proto.KIND_OUTPUT, pty.id, chunk.offset, chunk.data)
                                    next_offset = chunk.end
                            else:
                                async for chunk in sub:
                                    await _send_output_v1(conn, pty.id, chunk)
                                    next_offset = chunk.end
                        break
                    except SubscriberLagged as lag:  # the client is slow: catch up from the log
                        next_offset = lag.next_offset
                exit_info = await pty.wait()
                await conn.send({"event": "exit", "session_id": pty.id, **exit_info.to_json()})
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self._streams -= 1
            if attaches.get(pty.id) is scope:
                del attaches[pty.id]


async def _send_output_v1(conn: proto.Connection, session_id: str, chunk: Chunk) -> None:
    """Version 1 output: base64 JSON ``output`` events of at most ``MAX_OUTPUT_DATA`` bytes each."""
    for at in range(0, len(chunk.data), proto.MAX_OUTPUT_DATA):
        piece = chunk.data[at:at + proto.MAX_OUTPUT_DATA]
        await conn.send({"event": "output", "session_id": session_id, "offset": chunk.offset + at,
                         "data": proto.b64encode(piece)})


async def serve(paths: Paths, *, ring_bytes: int = DEFAULT_RING_BYTES,
                task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Run a supervisor for ``paths`` until shutdown (raises Conflict if one already runs)."""
    await Supervisor(paths, ring_bytes=ring_bytes).serve(task_status=task_status)
