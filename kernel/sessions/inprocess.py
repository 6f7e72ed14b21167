"""The in-process host (``supervisor.enabled = false``): the daemon owns the PTYs itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from .. import errors
from ..supervisor.ptyhost import PtySession
from .session import Session

if TYPE_CHECKING:
    from .manager import SessionManager


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
