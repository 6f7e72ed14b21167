"""The session-supervisor: a long-lived, detached process that owns every agent PTY.

It is the parent of the agent processes, so the daemon can restart without interrupting them. It
serves :mod:`argus.kernel.supervisor_proto` on ``$ARGUS_HOME/supervisor.sock`` (mode 0600), is a
single instance per ARGUS_HOME (an flock on ``supervisor.lock``; the lock file and
``supervisor.pid`` hold its pid), and keeps
exited sessions (with their exit status) until they are forgotten or it stops, so a daemon that was
down when an agent exited still learns the real exit code.

It knows nothing about tasks, SQLite or HTTP. Run it with ``python -m argus.kernel.supervisor``;
the CLI uses :func:`start_supervisor`, :func:`stop_supervisor` and :func:`supervisor_status`.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal as signal_mod
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

from . import errors, pidlock
from . import supervisor_proto as proto
from .faults import fault_point
from .paths import Paths, atomic_write, private_file, secure_home
from .ptyhost import DEFAULT_RING_BYTES, PtySession, SubscriberLagged, validate_session_id

log = logging.getLogger("argus.supervisor")

#: Seconds between SIGHUP, SIGTERM and SIGKILL when the supervisor stops its sessions.
SHUTDOWN_GRACE = 2.0


class _Lock:
    """The single-instance flock on ``supervisor.lock`` (the file holds the owner's pid)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise Conflict naming the pid that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise errors.Conflict(
                f"another supervisor (pid {_pid_file_owner(self.path)}) holds {self.path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        try:  # a plain pid file too, for tools that look for one
            atomic_write(self.pid_path, f"{os.getpid()}\n".encode())
        except OSError as exc:
            log.warning("cannot write %s: %s", self.pid_path, exc)

    @property
    def pid_path(self) -> Path:
        """``supervisor.pid`` next to the lock file."""
        return self.path.with_name("supervisor.pid")

    def release(self) -> None:
        """Drop the lock (and the pid file)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            if _pid_file_owner(self.pid_path) == os.getpid():
                self.pid_path.unlink(missing_ok=True)
            os.close(fd)


def _pid_file_owner(path: Path) -> int | None:
    """The pid written in a pid (or lock) file, if any."""
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _lock_is_held(path: Path) -> bool:
    """True while some process holds the supervisor lock."""
    return pidlock.lock_is_held(path)


class Supervisor:
    """The supervisor's state: its sessions and the protocol handlers."""

    def __init__(self, paths: Paths, *, ring_bytes: int = DEFAULT_RING_BYTES) -> None:
        self.paths = paths
        self.ring_bytes = ring_bytes
        self.sessions: dict[str, PtySession] = {}
        self.shutdown = trio.Event()
        self._streams = 0  # attach streams still sending
        self._session_nursery: trio.Nursery | None = None

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen until a ``shutdown`` request or SIGTERM/SIGINT, then stop every session."""
        secure_home(self.paths.home)
        self.paths.sessions.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = _Lock(self.paths.supervisor_lock)
        lock.acquire()
        listener: trio.SocketListener | None = None
        try:
            listener = await proto.listen_unix(self.paths.supervisor_sock)
            log.info("supervisor %d listening on %s (protocol %d)", os.getpid(),
                     self.paths.supervisor_sock, proto.PROTOCOL_VERSION)
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
            req = frame.get("req")
            try:
                if isinstance(req, bool) or not isinstance(req, int | str):
                    raise proto.ProtocolError("every request needs a 'req' id (int or string)")
                op = frame.get("op")
                if op not in proto.OPS:
                    raise proto.ProtocolError(f"unknown op {op!r}")
                if op == "hello":
                    try:
                        proto.check_version(frame)
                    except proto.ProtocolError as exc:
                        await conn.send(proto.reply_error(req, exc))
                        return  # a peer speaking another version is disconnected
                    greeted = True
                    await conn.send(proto.reply_ok(req, version=proto.PROTOCOL_VERSION, pid=os.getpid()))
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
        fault_point("supervisor.spawned")
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
                            async for chunk in sub:
                                for at in range(0, len(chunk.data), proto.MAX_OUTPUT_DATA):
                                    piece = chunk.data[at:at + proto.MAX_OUTPUT_DATA]
                                    await conn.send({"event": "output", "session_id": pty.id,
                                                     "offset": chunk.offset + at,
                                                     "data": proto.b64encode(piece)})
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


async def serve(paths: Paths, *, ring_bytes: int = DEFAULT_RING_BYTES,
                task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Run a supervisor for ``paths`` until shutdown (raises Conflict if one already runs)."""
    await Supervisor(paths, ring_bytes=ring_bytes).serve(task_status=task_status)


def _probe(paths: Paths, timeout: float = 2.0) -> dict[str, Any] | None:
    """The supervisor's hello reply, or ``None`` if nothing answers on the socket."""
    try:
        client = proto.SyncClient(paths.supervisor_sock, timeout)
    except (OSError, errors.ArgusError):
        return None
    try:
        return client.hello
    finally:
        client.close()


def start_supervisor(paths: Paths, wait: float = 10.0) -> int:
    """Start a detached supervisor for ``paths`` and return its pid once it answers hello.

    A no-op returning the running supervisor's pid if one already answers. Raises Unavailable if
    none answers within ``wait`` seconds (see ``supervisor.log``).
    """
    hello = _probe(paths)
    if hello is not None:
        return int(hello["pid"])
    secure_home(paths.home)
    env = {**os.environ, "ARGUS_HOME": str(paths.home)}
    with open(private_file(paths.supervisor_log), "ab") as logf:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "argus.kernel.supervisor", "--home", str(paths.home), "--detach"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True,
            close_fds=True, cwd="/", env=env)
    deadline = time.monotonic() + wait
    try:
        launcher.wait(timeout=wait)  # it forks the supervisor and exits at once
    except subprocess.TimeoutExpired:
        pass
    while time.monotonic() < deadline:
        hello = _probe(paths, timeout=1.0)
        if hello is not None:
            return int(hello["pid"])
        time.sleep(0.05)
    raise errors.Unavailable(
        f"the session-supervisor did not answer within {wait:g}s; see {paths.supervisor_log}")


def stop_supervisor(paths: Paths, timeout: float = 20.0) -> bool:
    """Ask the supervisor to shut down (it kills its sessions) and wait until it is gone.

    Returns False if none was running. One that has not exited after ``timeout`` seconds is
    SIGKILLed (its agents then get SIGHUP from their closed PTYs).
    """
    try:
        client = proto.SyncClient(paths.supervisor_sock, 2.0)
    except (OSError, errors.ArgusError):
        return False
    try:
        client.request("shutdown")
        client.sock.settimeout(timeout)
        try:
            while client.receive() is not None:
                pass
        except OSError:
            pass
    except (OSError, errors.ArgusError):
        pass
    finally:
        client.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _lock_is_held(paths.supervisor_lock):
        time.sleep(0.05)
    if _lock_is_held(paths.supervisor_lock):
        pid = _pid_file_owner(paths.supervisor_lock)
        if pid and not pidlock.holds_lock(pid, paths.supervisor_lock, "argus", "supervisor"):
            log.warning("the supervisor did not stop within %gs, but pid %s does not hold %s: "
                        "not signalling it", timeout, pid, paths.supervisor_lock)
            return True
        log.warning("the supervisor (pid %s) did not stop within %gs; killing it", pid, timeout)
        if pid:
            try:
                os.kill(pid, signal_mod.SIGKILL)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 5.0
            while time.monotonic() < end and _lock_is_held(paths.supervisor_lock):
                time.sleep(0.05)
    return True


def supervisor_status(paths: Paths) -> dict[str, Any]:
    """``{running, pid, socket, protocol, sessions}``; ``sessions`` is the list of session infos."""
    status: dict[str, Any] = {"running": False, "pid": None, "socket": str(paths.supervisor_sock),
                              "protocol": proto.PROTOCOL_VERSION, "sessions": []}
    try:
        client = proto.SyncClient(paths.supervisor_sock, 2.0)
    except (OSError, errors.ArgusError):
        return status
    try:
        status.update(running=True, pid=client.hello.get("pid"), protocol=client.hello.get("version"),
                      sessions=client.request("list")["sessions"])
    except (OSError, errors.ArgusError):
        pass
    finally:
        client.close()
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m argus.kernel.supervisor [--home DIR] [--detach]``."""
    parser = argparse.ArgumentParser(prog="argus session-supervisor")
    parser.add_argument("--home", help="ARGUS_HOME (default: $ARGUS_HOME or ~/.argus)")
    parser.add_argument("--detach", action="store_true", help="fork into the background first")
    args = parser.parse_args(argv)
    if args.home:
        os.environ["ARGUS_HOME"] = args.home
    paths = Paths.default()
    if args.detach:
        if os.fork():
            os._exit(0)
        try:
            os.setsid()  # no controlling terminal, even when started by hand from a shell
        except OSError:
            pass
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal_mod.signal(signal_mod.SIGHUP, signal_mod.SIG_IGN)
    try:
        trio.run(serve, paths)
    except errors.Conflict as exc:
        log.error("%s", exc.message)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
