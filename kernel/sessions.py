"""Agent sessions as the rest of Argus sees them: the only session API plugins and the kernel use.

:class:`SessionManager` runs for the daemon's lifetime and hands out :class:`Session` objects
(write input, resize, signal, terminate, read any output range, subscribe to output from an
absolute offset, wait for the exit). Behind it sits one of two hosts:

- :class:`SupervisorHost` (default): the PTYs live in the session-supervisor process
  (:mod:`argus.kernel.supervisor`). The daemon keeps one connection, attaches once per session and
  mirrors its output into a local ring (:class:`~argus.kernel.ptyhost.OutputStream`) that local
  subscribers read; older ranges come from the session's log file, which the supervisor writes.
  After a daemon restart it re-attaches every session from the offset this daemon last persisted
  (``$ARGUS_HOME/sessions/offsets.json``) and reports exits that happened while it was down.
- :class:`InProcessHost` (``supervisor.enabled = false``): the daemon owns the PTYs itself through
  :class:`~argus.kernel.ptyhost.PtySession`; sessions end with the daemon.

Events published on the kernel bus: ``session.started``, ``session.exited`` (exactly once per
session and daemon life, also for an exit that happened while the daemon was down), and
``session.resized``. Never one per output chunk.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import trio

from . import errors
from . import supervisor_proto as proto
from .paths import Paths, atomic_write
from .ptyhost import (
    DEFAULT_RING_BYTES,
    Chunk,
    ExitInfo,
    OutputStream,
    PtySession,
    SubscriberLagged,
    Subscription,
    resolve_executable,
    validate_session_id,
    validate_size,
)
from .supervisor import start_supervisor

__all__ = ["Chunk", "ExitInfo", "InProcessHost", "Session", "SessionManager", "SubscriberLagged",
           "Subscription", "SupervisorHost"]

log = logging.getLogger("argus.sessions")

Publish = Callable[[str, dict[str, Any]], Any]

#: Seconds between writes of ``sessions/offsets.json`` while something changed.
OFFSETS_PERSIST_INTERVAL = 2.0
#: Seconds to wait for a supervisor reply before declaring it unavailable.
REQUEST_TIMEOUT = 30.0
#: Pauses between reconnection attempts after the supervisor link dropped.
RECONNECT_BACKOFF = (0.1, 0.5, 1.0, 2.0, 5.0)
#: Seconds to wait for an auto-started supervisor to answer.
SUPERVISOR_START_WAIT = 10.0
OFFSETS_FILE = "offsets.json"


class _Host(Protocol):
    """What a session host does for the manager and its sessions."""

    @property
    def connected(self) -> bool: ...

    async def run(self, *, task_status: trio.TaskStatus[None]) -> None: ...
    async def spawn(self, session_id: str, argv: list[str], cwd: str, env: dict[str, str],
                    rows: int, cols: int, meta: dict[str, Any]) -> Session: ...
    async def write(self, session: Session, data: bytes) -> None: ...
    async def resize(self, session: Session, rows: int, cols: int) -> None: ...
    async def signal(self, session: Session, sig: int) -> None: ...
    async def kill(self, session: Session, grace: float) -> None: ...
    async def forget(self, session: Session) -> None: ...


class Session:
    """One agent process on a PTY, wherever it is hosted.

    ``end_offset`` counts every byte produced so far (as seen by the daemon); offsets are absolute
    and never reset. ``exit`` is ``None`` while the process runs.
    """

    def __init__(self, manager: SessionManager, host: _Host, *, session_id: str, pid: int,
                 argv: list[str], cwd: str, meta: dict[str, Any], started_at: float, rows: int,
                 cols: int, start_cols: int, output: OutputStream) -> None:
        self.id = session_id
        self.pid = pid
        self.argv = argv
        self.cwd = cwd
        self.meta = meta
        self.started_at = started_at
        self.rows = rows
        self.cols = cols
        self.start_cols = start_cols
        self.exit: ExitInfo | None = None
        self._manager = manager
        self._host = host
        self._output = output
        self._exited = trio.Event()
        self._pty: PtySession | None = None  # InProcessHost only

    def __repr__(self) -> str:
        return f"<Session {self.id} pid={self.pid} end={self.end_offset} exit={self.exit}>"

    @property
    def end_offset(self) -> int:
        """Absolute count of bytes produced so far (as seen by the daemon)."""
        return self._output.end

    @property
    def alive(self) -> bool:
        """True until the exit is known."""
        return self.exit is None

    @property
    def last_output_at(self) -> float:
        """``trio.current_time()`` when the last chunk arrived (0.0 if none yet)."""
        return self._output.last_output_at

    def to_json(self) -> dict[str, Any]:
        """The session as a JSON-able dict (for REST and MCP answers)."""
        return {
            "session_id": self.id, "pid": self.pid, "argv": self.argv, "cwd": self.cwd,
            "meta": self.meta, "started_at": self.started_at, "rows": self.rows, "cols": self.cols,
            "start_cols": self.start_cols, "end_offset": self.end_offset, "alive": self.alive,
            "exit": self.exit.to_json() if self.exit else None,
        }

    def _require_alive(self) -> None:
        if self.exit is not None:
            raise errors.Conflict(f"session {self.id} has exited")

    async def write(self, data: bytes) -> None:
        """Send input bytes to the PTY (in order). Raises Conflict if the session exited."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("Session.write takes bytes")
        self._require_alive()
        if data:
            await self._host.write(self, bytes(data))

    async def resize(self, rows: int, cols: int) -> None:
        """Set the terminal size (the program gets SIGWINCH); publishes ``session.resized``."""
        validate_size(rows, cols)
        self._require_alive()
        await self._host.resize(self, rows, cols)
        self.rows, self.cols = rows, cols
        self._manager._publish_event("session.resized", {"session_id": self.id, "rows": rows, "cols": cols})

    async def signal(self, sig: int) -> None:
        """Send signal ``sig`` to the session's process."""
        self._require_alive()
        await self._host.signal(self, int(sig))

    async def terminate(self, grace: float = 3.0) -> ExitInfo:
        """SIGHUP the process group, then SIGTERM, then SIGKILL, ``grace`` seconds apart; the exit."""
        if self.exit is None:
            await self._host.kill(self, grace)
        return await self.wait()

    def tail(self, nbytes: int) -> tuple[int, bytes]:
        """The last ``nbytes`` of output the daemon holds in memory, as ``(start offset, bytes)``."""
        return self._output.tail(nbytes)

    async def read_range(self, start: int, end: int | None = None) -> Chunk:
        """Output ``[start, end)`` (``end``: now) from memory, else the log file.

        If part of it is gone the chunk starts later (its ``offset`` shows the gap).
        """
        return await self._output.read_range(start, end)

    def subscribe(self, since: int | None = None) -> AbstractAsyncContextManager[Subscription]:
        """``async with session.subscribe(since) as chunks: async for chunk in chunks: ...``

        ``since=None`` starts at the current end. Chunks are gapless from ``since`` (from the
        earliest byte still available if older), then live; the iteration ends after the session
        exited and all output was delivered. A subscriber too slow to keep up gets
        :class:`SubscriberLagged` (with ``next_offset``) and should subscribe again from there.
        """
        return self._output.subscribe(since)

    async def wait(self) -> ExitInfo:
        """Wait for the exit (all output is delivered to subscribers first)."""
        await self._exited.wait()
        assert self.exit is not None
        return self.exit

    def _set_exit(self, info: ExitInfo, *, lost: bool = False) -> None:
        """Record the exit (hosts call this once they know it); publishes ``session.exited``."""
        if self.exit is not None:
            return
        self.exit = info
        self._output.finish()
        self._exited.set()
        self._manager._session_exited(self, lost=lost)


class SessionManager:
    """Owns the daemon's sessions; run :meth:`run` in the kernel's nursery for the daemon's life."""

    def __init__(self, paths: Paths, publish: Publish, *, use_supervisor: bool = True,
                 ring_bytes: int = DEFAULT_RING_BYTES) -> None:
        self.paths = paths
        self.ring_bytes = ring_bytes
        self.use_supervisor = use_supervisor
        self._publish = publish
        self._sessions: dict[str, Session] = {}
        self._exit_published: set[str] = set()
        self._host: _Host = SupervisorHost(self) if use_supervisor else InProcessHost(self)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the host: connect (starting a supervisor if none answers) and re-attach to its
        sessions, then ``task_status.started()``; reconnects if the supervisor link drops."""
        self.paths.sessions.mkdir(parents=True, exist_ok=True, mode=0o700)
        await self._host.run(task_status=task_status)

    @property
    def connected(self) -> bool:
        """Whether sessions can be driven now: the supervisor link is up (in-process: running)."""
        return self._host.connected

    def save_offsets(self) -> None:
        """Persist ``sessions/offsets.json`` now (also done periodically and when :meth:`run` ends)."""
        if isinstance(self._host, SupervisorHost):
            self._host._persist_now()

    async def spawn(self, argv: list[str], cwd: str, env: dict[str, str], *, rows: int = 40,
                    cols: int = 120, meta: dict[str, Any] | None = None,
                    session_id: str | None = None) -> Session:
        """Start ``argv`` in ``cwd`` on a new PTY and return its session.

        ``env`` is the child's complete environment (pass ``{**os.environ, ...}`` to inherit);
        ``TERM`` defaults to xterm-256color. Raises Invalid if ``argv[0]`` cannot be executed or
        ``cwd`` is missing, Conflict if ``session_id`` is taken, Unavailable if the host is down.
        """
        session_id = validate_session_id(session_id or uuid.uuid4().hex)
        if session_id in self._sessions:
            raise errors.Conflict(f"session {session_id!r} exists")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise errors.Invalid("argv must be a non-empty list of strings")
        if not os.path.isdir(cwd):
            raise errors.Invalid(f"cwd {cwd!r} does not exist or is not a directory")
        env = {str(k): str(v) for k, v in env.items()}
        resolve_executable(argv[0], cwd, env)
        validate_size(rows, cols)
        session = await self._host.spawn(session_id, list(argv), cwd, env, rows, cols, dict(meta or {}))
        self._publish_event("session.started", {
            "session_id": session.id, "pid": session.pid, "meta": session.meta,
            "argv0": session.argv[0], "cwd": session.cwd})
        return session

    def get(self, session_id: str) -> Session | None:
        """The session with this id, if the daemon knows it."""
        return self._sessions.get(session_id)

    def all(self) -> list[Session]:
        """Every known session (running and exited-but-not-forgotten)."""
        return list(self._sessions.values())

    async def forget(self, session_id: str) -> None:
        """Drop an exited session's record (its log file stays). Conflict if it still runs."""
        session = self._sessions.get(session_id)
        if session is None:
            raise errors.NotFound(f"no session {session_id!r}")
        if session.alive:
            raise errors.Conflict(f"session {session_id} is still running; terminate it first")
        await self._host.forget(session)
        self._sessions.pop(session_id, None)
        self._exit_published.discard(session_id)

    def _publish_event(self, type_: str, data: dict[str, Any]) -> None:
        try:
            self._publish(type_, data)
        except Exception:
            log.exception("publishing %s failed", type_)

    def _session_exited(self, session: Session, *, lost: bool = False) -> None:
        if session.id in self._exit_published:
            return
        self._exit_published.add(session.id)
        assert session.exit is not None
        data: dict[str, Any] = {"session_id": session.id, "meta": session.meta, **session.exit.to_json()}
        if lost:
            data["lost"] = True
        self._publish_event("session.exited", data)


# ---------------------------------------------------------------------------------------------
# In-process host


class InProcessHost:
    """PTYs owned by the daemon itself (``supervisor.enabled = false``)."""

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hold the nursery the sessions run in; on cancellation each is hung up and reaped."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    @property
    def connected(self) -> bool:
        """True while :meth:`run` runs."""
        return self._nursery is not None

    async def spawn(self, session_id: str, argv: list[str], cwd: str, env: dict[str, str],
                    rows: int, cols: int, meta: dict[str, Any]) -> Session:
        """Fork the PTY here and run it in this host's nursery."""
        if self._nursery is None:
            raise errors.Unavailable("the session manager is not running")
        holder: list[Session] = []
        pty = PtySession.spawn(session_id, argv, cwd, env, rows=rows, cols=cols, meta=meta,
                               log_dir=self.manager.paths.sessions, ring_bytes=self.manager.ring_bytes,
                               on_exit=lambda info: holder[0]._set_exit(info))
        session = Session(self.manager, self, session_id=session_id, pid=pty.pid, argv=argv, cwd=cwd,
                          meta=pty.meta, started_at=pty.started_at, rows=rows, cols=cols,
                          start_cols=cols, output=pty.output)
        session._pty = pty
        holder.append(session)
        self.manager._sessions[session_id] = session
        await self._nursery.start(pty.run)
        return session

    @staticmethod
    def _pty(session: Session) -> PtySession:
        assert session._pty is not None
        return session._pty

    async def write(self, session: Session, data: bytes) -> None:
        """Queue input on the PTY."""
        await self._pty(session).write(data)

    async def resize(self, session: Session, rows: int, cols: int) -> None:
        """TIOCSWINSZ on the PTY."""
        self._pty(session).resize(rows, cols)

    async def signal(self, session: Session, sig: int) -> None:
        """Signal the process."""
        self._pty(session).signal(sig)

    async def kill(self, session: Session, grace: float) -> None:
        """Start the HUP → TERM → KILL escalation."""
        self._pty(session).start_terminate(grace)

    async def forget(self, session: Session) -> None:
        """Nothing to release: the PTY is closed once the process exited."""
        session._pty = None


# ---------------------------------------------------------------------------------------------
# Supervisor host


def _leaves(group: BaseExceptionGroup[Any]) -> Iterator[Any]:
    """The non-group exceptions inside ``group``, depth first."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


class _Pending:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.reply: dict[str, Any] | None = None


class _Link:
    """One connection to the supervisor: requests with replies, and output/exit events."""

    def __init__(self, stream: trio.SocketStream, on_event: Callable[[dict[str, Any]], None]) -> None:
        self.conn = proto.Connection(stream)
        self.closed = trio.Event()
        self.hello: dict[str, Any] = {}
        self._on_event = on_event
        self._pending: dict[int, _Pending] = {}
        self._next = 0

    @classmethod
    async def open(cls, path: os.PathLike[str], on_event: Callable[[dict[str, Any]], None]) -> _Link:
        """Connect and exchange hello (raises OSError if nothing listens, or the version error)."""
        stream = await proto.connect_unix(path)  # type: ignore[arg-type]
        link = cls(stream, on_event)
        try:
            with trio.fail_after(REQUEST_TIMEOUT):
                await link.conn.send({"op": "hello", "req": 0, "version": proto.PROTOCOL_VERSION,
                                      "pid": os.getpid()})
                frame = await link.conn.receive()
            if frame is None:
                raise errors.Unavailable("the supervisor closed the connection during hello")
            if not frame.get("ok"):
                raise proto.error_from_reply(frame)
            link.hello = frame
        except BaseException:
            with trio.CancelScope(shield=True):
                await link.conn.aclose()
            raise
        return link

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read frames until the connection ends: route replies and events."""
        task_status.started()
        try:
            while True:
                try:
                    frame = await self.conn.receive()
                except proto.ProtocolError as exc:
                    log.warning("bad frame from the supervisor: %s", exc)
                    continue
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    break
                if frame is None:
                    break
                if "event" in frame:
                    try:
                        self._on_event(frame)
                    except Exception:
                        log.exception("handling supervisor event %s failed", frame.get("event"))
                    continue
                pending = self._pending.pop(frame.get("req"), None)  # type: ignore[arg-type]
                if pending is not None:
                    pending.reply = frame
                    pending.done.set()
        finally:
            self.closed.set()
            for pending in self._pending.values():
                pending.done.set()
            self._pending.clear()

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send a request and return the reply; raises its error, or Unavailable if the link is down."""
        if self.closed.is_set():
            raise errors.Unavailable("the supervisor link is down")
        self._next += 1
        req = self._next
        pending = _Pending()
        self._pending[req] = pending
        try:
            try:
                await self.conn.send({"op": op, "req": req, **args})
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                raise errors.Unavailable("the supervisor link is down") from None
            with trio.move_on_after(REQUEST_TIMEOUT):
                await pending.done.wait()
        finally:
            self._pending.pop(req, None)
        reply = pending.reply
        if reply is None:
            raise errors.Unavailable(f"the supervisor did not answer {op!r}")
        if not reply.get("ok"):
            raise proto.error_from_reply(reply)
        return reply

    async def aclose(self) -> None:
        """Close the connection."""
        await self.conn.aclose()


ORPHAN_KILL_GRACE = 2.0  # seconds between SIGHUP and SIGKILL for agents orphaned by a dead supervisor
SUPERVISOR_EXIT_WAIT = 1.0  # how long a dropped link waits to see whether the supervisor died


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


async def _exits_within(pid: int, timeout: float) -> bool:
    """Whether ``pid`` has exited or exits within ``timeout`` seconds (its sockets close a moment
    before the process is gone, so a dropped link alone does not prove it died)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except OSError:  # no pidfd support: look at /proc once the timeout has passed
        await trio.sleep(min(timeout, 0.2))
        return not _process_alive(pid)
    try:
        with trio.move_on_after(timeout):
            await trio.lowlevel.wait_readable(fd)  # readable once the process has exited
            return True
        return False
    finally:
        os.close(fd)


def _is_agent(pid: int, cwd: str) -> bool:
    """Identity check before signalling: ``pid`` is alive, leads its own process group (agents
    run in their own session) and still works in the session's directory (not a reused pid)."""
    try:
        return (_process_alive(pid) and os.getpgid(pid) == pid
                and os.path.realpath(os.readlink(f"/proc/{pid}/cwd")) == os.path.realpath(cwd))
    except OSError:
        return False


def _killpg(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _kill_after(groups: list[tuple[int, str]], grace: float) -> None:
    """SIGKILL the ``(group, cwd)`` agents still there (same identity check) after ``grace`` seconds."""
    await trio.sleep(grace)
    for group, cwd in groups:
        if _is_agent(group, cwd):
            _killpg(group, signal.SIGKILL)


class SupervisorHost:
    """Sessions that live in the session-supervisor, mirrored in the daemon."""

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager
        self.link: _Link | None = None
        self.reconnects = 0
        #: Offsets each session was re-attached from at startup (for diagnostics and tests).
        self.resumed_from: dict[str, int] = {}
        self._state_path = manager.paths.sessions / OFFSETS_FILE
        self._saved_state: dict[str, Any] | None = None
        self._reconciled = False  # offsets.json is only rewritten once we know the sessions

    @property
    def connected(self) -> bool:
        """True while the supervisor link is up."""
        return self.link is not None

    @property
    def supervisor_pid(self) -> int | None:
        """The connected supervisor's pid."""
        return self.link.hello.get("pid") if self.link is not None else None

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, re-attach, report started; on link loss reconnect (starting a supervisor).

        Raises Unavailable if the first connection or re-attach fails.
        """
        try:
            await self._run(task_status)
        except* errors.ArgusError as group:
            first = next(_leaves(group))
            raise errors.Unavailable(first.message) from first

    async def _run(self, task_status: trio.TaskStatus[None]) -> None:
        offsets, published = self._load_state()
        self.manager._exit_published |= published
        started = False
        failures = 0
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._persist_loop)
                while True:
                    try:
                        link = await self._connect()
                    except (OSError, errors.ArgusError) as exc:
                        if not started:
                            raise errors.Unavailable(f"cannot reach the session-supervisor: {exc}") from exc
                        delay = RECONNECT_BACKOFF[min(failures, len(RECONNECT_BACKOFF) - 1)]
                        failures += 1
                        log.warning("session-supervisor unreachable (%s); retrying in %.1fs", exc, delay)
                        await trio.sleep(delay)
                        continue
                    failures = 0
                    try:
                        async with trio.open_nursery() as link_nursery:
                            await link_nursery.start(link.run)
                            try:
                                await self._reconcile(link, offsets)
                            except errors.ArgusError as exc:  # the link dropped while re-attaching
                                if not started:
                                    raise
                                log.warning("re-attaching to the session-supervisor failed: %s", exc)
                            else:
                                offsets = {}
                                self._reconciled = True
                                self.link = link
                                if not started:
                                    started = True
                                    task_status.started()
                                await link.closed.wait()
                                await self._orphans_after(link, nursery)
                            link_nursery.cancel_scope.cancel()
                    finally:
                        self.link = None
                        with trio.CancelScope(shield=True):
                            await link.aclose()
                    self.reconnects += 1
                    log.warning("lost the session-supervisor link; reconnecting")
                    await trio.sleep(RECONNECT_BACKOFF[0])
        finally:
            self._persist_now()

    async def _orphans_after(self, link: _Link, nursery: trio.Nursery) -> None:
        """The link dropped: if the supervisor itself is dead, its agents are orphans that nothing
        tracks (an agent that ignores SIGHUP survives its PTY). Mark their sessions lost now (the
        API stops saying "running" at once) and take each agent's process group down: SIGHUP, then
        SIGKILL after ``ORPHAN_KILL_GRACE``."""
        pid = link.hello.get("pid")
        if not isinstance(pid, int) or not await _exits_within(pid, SUPERVISOR_EXIT_WAIT):
            return  # the supervisor lives: the link is re-established and the sessions re-attached
        orphans = [s for s in self.manager._sessions.values() if s.alive and s._host is self]
        if not orphans:
            return
        log.warning("the session-supervisor (pid %d) died; taking down %d agent(s)", pid, len(orphans))
        groups = [(s.pid, s.cwd) for s in orphans if _is_agent(s.pid, s.cwd)]
        for group, _cwd in groups:
            _killpg(group, signal.SIGHUP)
        for session in orphans:
            session._set_exit(ExitInfo(None, None, session.end_offset), lost=True)
        if groups:
            nursery.start_soon(_kill_after, groups, ORPHAN_KILL_GRACE)

    async def _connect(self) -> _Link:
        sock = self.manager.paths.supervisor_sock
        try:
            return await _Link.open(sock, self._on_event)
        except OSError:
            pass
        pid = await trio.to_thread.run_sync(start_supervisor, self.manager.paths, SUPERVISOR_START_WAIT)
        log.info("started the session-supervisor (pid %d)", pid)
        return await _Link.open(sock, self._on_event)

    async def _reconcile(self, link: _Link, offsets: dict[str, int]) -> None:
        """Match the supervisor's sessions with ours and attach to each one still worth following."""
        listing = (await link.request("list"))["sessions"]
        present: set[str] = set()
        for info in listing:
            session_id = info["session_id"]
            present.add(session_id)
            session = self.manager._sessions.get(session_id)
            if session is None:
                end = int(info["end_offset"])
                resume = offsets.get(session_id)
                if resume is None or not 0 <= resume <= end:
                    resume = int(info["start_offset"])
                session = self._new_session(info, start_offset=resume)
                await session._output.prefill_from_log(resume)
                self.resumed_from[session_id] = resume
            elif session.exit is not None:
                continue
            await link.request("attach", session_id=session_id, offset=session.end_offset)
        for session in list(self.manager._sessions.values()):
            if session.id not in present and session.alive:
                log.warning("session %s is gone with its supervisor", session.id)
                session._set_exit(ExitInfo(None, None, session.end_offset), lost=True)

    def _new_session(self, info: dict[str, Any], *, start_offset: int) -> Session:
        session_id = info["session_id"]
        output = OutputStream(ring_bytes=self.manager.ring_bytes,
                              log_path=self.manager.paths.sessions / f"{session_id}.log",
                              start_offset=start_offset)
        session = Session(self.manager, self, session_id=session_id, pid=int(info["pid"]),
                          argv=list(info["argv"]), cwd=info["cwd"], meta=dict(info.get("meta") or {}),
                          started_at=float(info["started_at"]), rows=int(info["rows"]),
                          cols=int(info["cols"]), start_cols=int(info["start_cols"]), output=output)
        self.manager._sessions[session_id] = session
        return session

    def _on_event(self, frame: dict[str, Any]) -> None:
        session = self.manager._sessions.get(frame.get("session_id"))  # type: ignore[arg-type]
        if session is None or session._host is not self:
            return
        if frame["event"] == "output":
            session._output.feed(proto.b64decode(frame.get("data")), int(frame["offset"]))
        elif frame["event"] == "exit":
            code, sig = frame.get("code"), frame.get("signal")
            session._set_exit(ExitInfo(code, sig, int(frame.get("end_offset", session.end_offset))))

    # -- offsets.json -------------------------------------------------------------------------

    def _load_state(self) -> tuple[dict[str, int], set[str]]:
        try:
            raw = json.loads(self._state_path.read_text())
        except FileNotFoundError:
            return {}, set()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", self._state_path, exc)
            return {}, set()
        if not isinstance(raw, dict):
            return {}, set()
        offsets = {k: v for k, v in (raw.get("offsets") or {}).items()
                   if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)}
        published = {s for s in raw.get("exit_published") or [] if isinstance(s, str)}
        return offsets, published

    def _state(self) -> dict[str, Any]:
        sessions = self.manager._sessions
        return {
            "version": 1,
            "offsets": {sid: s.end_offset for sid, s in sessions.items()},
            "exit_published": sorted(sid for sid in self.manager._exit_published if sid in sessions),
        }

    def _persist_now(self) -> None:
        if not self._reconciled:
            return
        state = self._state()
        if state == self._saved_state:
            return
        try:
            atomic_write(self._state_path, json.dumps(state).encode())
            self._saved_state = state
        except OSError as exc:
            log.warning("cannot write %s: %s", self._state_path, exc)

    async def _persist_loop(self) -> None:
        while True:
            await trio.sleep(OFFSETS_PERSIST_INTERVAL)
            if not self._reconciled:
                continue
            state = self._state()
            if state == self._saved_state:
                continue
            try:
                await trio.to_thread.run_sync(atomic_write, self._state_path, json.dumps(state).encode())
                self._saved_state = state
            except OSError as exc:
                log.warning("cannot write %s: %s", self._state_path, exc)

    # -- operations -----------------------------------------------------------------------------

    def _link(self) -> _Link:
        if self.link is None:
            raise errors.Unavailable("the session-supervisor is not connected (reconnecting)")
        return self.link

    async def spawn(self, session_id: str, argv: list[str], cwd: str, env: dict[str, str],
                    rows: int, cols: int, meta: dict[str, Any]) -> Session:
        """Spawn in the supervisor, then attach from offset 0."""
        link = self._link()
        reply = await link.request("spawn", session_id=session_id, argv=argv, cwd=cwd, env=env,
                                   rows=rows, cols=cols, meta=meta)
        session = self._new_session(reply["session"], start_offset=0)
        await link.request("attach", session_id=session_id, offset=0)
        return session

    async def write(self, session: Session, data: bytes) -> None:
        """Send input, split to the protocol's per-frame cap."""
        link = self._link()
        for at in range(0, len(data), proto.MAX_INPUT_DATA):
            await link.request("input", session_id=session.id,
                               data=proto.b64encode(data[at:at + proto.MAX_INPUT_DATA]))

    async def resize(self, session: Session, rows: int, cols: int) -> None:
        """Resize in the supervisor."""
        await self._link().request("resize", session_id=session.id, rows=rows, cols=cols)

    async def signal(self, session: Session, sig: int) -> None:
        """Signal through the supervisor."""
        await self._link().request("signal", session_id=session.id, signal=sig)

    async def kill(self, session: Session, grace: float) -> None:
        """Ask the supervisor to escalate HUP → TERM → KILL (the exit event follows)."""
        grace = 0.0 if math.isnan(grace) else min(max(grace, 0.0), 300.0)
        await self._link().request("kill", session_id=session.id, grace=grace)

    async def forget(self, session: Session) -> None:
        """Drop the supervisor's record too."""
        try:
            await self._link().request("forget", session_id=session.id)
        except errors.NotFound:
            pass
