"""One agent session as the daemon sees it, and the interface of the hosts behind it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

import trio

from .. import errors
from ..supervisor.output import Chunk, OutputStream, Subscription
from ..supervisor.ptyhost import ExitInfo, PtySession, validate_size

if TYPE_CHECKING:
    from .manager import SessionManager


class SessionHost(Protocol):
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

    def __init__(self, manager: SessionManager, host: SessionHost, *, session_id: str, pid: int,
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
        """Send input bytes to the PTY (in order). Raises Conflict if the session exited.

        Through the supervisor (protocol version 2) this returns once the bytes are sent, without
        waiting for the supervisor: writes keep their order, and one the supervisor refuses (the
        session ended meanwhile, too much input pending) is logged when the refusal comes back.
        """
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
