"""The supervised host (the default): sessions live in the session-supervisor, mirrored here.

The daemon keeps one :class:`~argus.kernel.sessions.link.Link` to the supervisor, attaches once per
session and mirrors its output into a local ring. After a daemon restart it re-attaches every
session from the offset this daemon last persisted (``$ARGUS_HOME/sessions/offsets.json``) and
reports exits that happened while it was down.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
from typing import TYPE_CHECKING, Any

import trio

from .. import errors
from ..paths import atomic_write
from ..pidlock import pid_alive
from ..supervisor import protocol as proto
from ..supervisor.control import start_supervisor
from ..supervisor.output import OutputStream, prefill_from_logs
from ..supervisor.ptyhost import ExitInfo
from .link import Link, leaves
from .session import Session

if TYPE_CHECKING:
    from .manager import SessionManager

log = logging.getLogger("argus.sessions")

#: Seconds between writes of ``sessions/offsets.json`` while something changed.
OFFSETS_PERSIST_INTERVAL = 2.0
#: Pauses between reconnection attempts after the supervisor link dropped.
RECONNECT_BACKOFF = (0.1, 0.5, 1.0, 2.0, 5.0)
#: Seconds to wait for an auto-started supervisor to answer.
SUPERVISOR_START_WAIT = 10.0
OFFSETS_FILE = "offsets.json"

ORPHAN_KILL_GRACE = 2.0  # seconds between SIGHUP and SIGKILL for agents orphaned by a dead supervisor
SUPERVISOR_EXIT_WAIT = 1.0  # how long a dropped link waits to see whether the supervisor died


async def _exits_within(pid: int, timeout: float) -> bool:
    """Whether ``pid`` has exited or exits within ``timeout`` seconds (its sockets close a moment
    before the process is gone, so a dropped link alone does not prove it died)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except OSError:  # no pidfd support: look at /proc once the timeout has passed
        await trio.sleep(min(timeout, 0.2))
        return not pid_alive(pid)
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
        return (pid_alive(pid) and os.getpgid(pid) == pid
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
        self.link: Link | None = None
        self.reconnects = 0
        #: Offsets each session was re-attached from at startup (for diagnostics and tests).
        self.resumed_from: dict[str, int] = {}
        self._state_path = manager.paths.sessions / OFFSETS_FILE
        self._saved_state: dict[str, Any] | None = None
        self._reconciled = False  # offsets.json is only rewritten once we know the sessions
        #: Protocol versions offered to the supervisor (tests narrow it to play an older daemon).
        self.versions: tuple[int, ...] = proto.SUPPORTED_VERSIONS
        #: Input refusals reported by the supervisor after the write returned (version 2).
        self.input_errors = 0

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
            first = next(leaves(group))
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

    async def _orphans_after(self, link: Link, nursery: trio.Nursery) -> None:
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

    async def _connect(self) -> Link:
        sock = self.manager.paths.supervisor_sock
        try:
            return await Link.open(sock, self._on_event, self._on_output, versions=self.versions)
        except OSError:
            pass
        pid = await trio.to_thread.run_sync(start_supervisor, self.manager.paths, SUPERVISOR_START_WAIT)
        log.info("started the session-supervisor (pid %d)", pid)
        return await Link.open(sock, self._on_event, self._on_output, versions=self.versions)

    async def _reconcile(self, link: Link, offsets: dict[str, int]) -> None:
        """Match the supervisor's sessions with ours and attach to each one still worth following."""
        began = trio.current_time()
        listing = (await link.request("list"))["sessions"]
        present: set[str] = set()
        follow: list[tuple[Session, int | None]] = []  # (session, offset to prefill its ring up to)
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
                self.resumed_from[session_id] = resume
                follow.append((session, resume))
            elif session.exit is None:
                follow.append((session, None))
        # The new sessions' rings are prefilled from their logs (one worker thread for all), then
        # every session is attached at once (a restart with many agents waits for the slowest
        # one, not for the sum).
        await prefill_from_logs([(session._output, upto) for session, upto in follow if upto is not None])
        failures: list[errors.ArgusError] = []

        async def attach(session: Session) -> None:
            try:
                await link.request("attach", session_id=session.id, offset=session.end_offset)
            except errors.ArgusError as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            for session, _prefill in follow:
                nursery.start_soon(attach, session)
        if failures:
            raise failures[0]
        log.info("re-attached %d session(s) in %.0f ms", len(follow), (trio.current_time() - began) * 1000)
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
        if frame["event"] == "output":  # protocol version 1
            session._output.feed(proto.b64decode(frame.get("data")), int(frame["offset"]))
        elif frame["event"] == "exit":
            code, sig = frame.get("code"), frame.get("signal")
            session._set_exit(ExitInfo(code, sig, int(frame.get("end_offset", session.end_offset))))
        elif frame["event"] == "input_error":  # protocol version 2: input sent without a reply was refused
            self.input_errors += 1
            log.warning("the supervisor refused input for session %s: %s", session.id, frame.get("error"))

    def _on_output(self, frame: proto.DataFrame) -> None:
        """Protocol version 2: an output data frame."""
        session = self.manager._sessions.get(frame.session_id)
        if session is not None and session._host is self and frame.kind == proto.KIND_OUTPUT:
            session._output.feed(frame.data, frame.offset)

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

    def _link(self) -> Link:
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
        """Send input, split to the protocol's per-frame cap: as data frames without waiting for a
        reply (version 2; in order, refusals logged when they come back), else as requests."""
        link = self._link()
        if link.conn.data_frames:
            await link.send_input(session.id, data)
            return
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
