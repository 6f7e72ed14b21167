"""Agent sessions as the rest of Argus sees them: the only session API plugins and the kernel use.

:class:`SessionManager` runs for the daemon's lifetime and hands out :class:`Session` objects
(write input, resize, signal, terminate, read any output range, subscribe to output from an
absolute offset, wait for the exit). Behind it sits one of two hosts:

- :class:`SupervisorHost` (default): the PTYs live in the session-supervisor process
  (:mod:`argus.kernel.supervisor`). The daemon keeps one connection, attaches once per session and
  mirrors its output into a local ring (:class:`~argus.kernel.supervisor.output.OutputStream`) that local
  subscribers read; older ranges come from the session's log file, which the supervisor writes.
  After a daemon restart it re-attaches every session from the offset this daemon last persisted
  (``$ARGUS_HOME/sessions/offsets.json``) and reports exits that happened while it was down.
- :class:`InProcessHost` (``supervisor.enabled = false``): the daemon owns the PTYs itself through
  :class:`~argus.kernel.supervisor.ptyhost.PtySession`; sessions end with the daemon.

Events published on the kernel bus: ``session.started``, ``session.exited`` (exactly once per
session and daemon life, also for an exit that happened while the daemon was down), and
``session.resized``. Never one per output chunk.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

import trio

from .. import errors
from ..paths import Paths
from ..supervisor.output import DEFAULT_RING_BYTES
from ..supervisor.ptyhost import resolve_executable, validate_session_id, validate_size
from .inprocess import InProcessHost
from .session import Session, SessionHost
from .supervised import SupervisorHost

log = logging.getLogger("argus.sessions")

Publish = Callable[[str, dict[str, Any]], Any]


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
        self._host: SessionHost = SupervisorHost(self) if use_supervisor else InProcessHost(self)

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
