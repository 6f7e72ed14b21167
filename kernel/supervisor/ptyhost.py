"""The PTY session primitive shared by the session-supervisor and the daemon's in-process host.

A :class:`PtySession` owns one child process on a pseudo-terminal: the master fd (read without a
thread: non-blocking fd + ``trio.lowlevel.wait_readable``), the exit status (``os.pidfd_open`` +
``wait_readable``, then ``waitpid`` for the real code or signal), input, resize and signals. Its
output goes into an :class:`~argus.kernel.supervisor.output.OutputStream` (ring, scrollback log,
subscribers).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import signal as signal_mod
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ptyprocess
import trio

from .. import errors
from .output import DEFAULT_RING_BYTES, DEFAULT_SUBSCRIBER_BUFFER, OutputStream

log = logging.getLogger("argus.ptyhost")

#: Bytes read from the master fd per read.
READ_SIZE = 64 * 1024
#: Most bytes read in one go (reads repeated while the PTY has more) before they are fed on.
READ_BURST = 256 * 1024
#: Bursts smaller than this drained a PTY whose program prints now and then: the next read waits.
STREAM_BURST = 16 * 1024
#: Input accepted but not yet written to the PTY (beyond it, ``write`` raises TooMany).
MAX_PENDING_INPUT = 4 * 1024 * 1024
#: After the child exits, how long to keep draining output (a background grandchild may keep the
#: slave open; its later output is not part of the session).
DRAIN_AFTER_EXIT = 1.0
#: During :meth:`PtySession.terminate`, how often SIGHUP/SIGTERM are repeated.
RESIGNAL_INTERVAL = 0.5
#: Largest terminal dimension accepted.
MAX_DIMENSION = 10_000

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ExitInfo:
    """How a session ended: ``code`` for a normal exit, ``signal`` when killed by one."""

    code: int | None
    signal: int | None
    end_offset: int

    def to_json(self) -> dict[str, Any]:
        """The exit as a JSON-able dict (``code``, ``signal``, ``end_offset``)."""
        return {"code": self.code, "signal": self.signal, "end_offset": self.end_offset}


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is a safe id (it names the log file), else raise Invalid."""
    if not isinstance(session_id, str) or not SESSION_ID_RE.match(session_id):
        raise errors.Invalid(
            f"bad session id {session_id!r}: use 1-128 of [A-Za-z0-9._-], starting alphanumeric")
    return session_id


def validate_size(rows: object, cols: object) -> tuple[int, int]:
    """Return ``(rows, cols)`` if both are integers in 1..MAX_DIMENSION, else raise Invalid."""
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIMENSION:
            raise errors.Invalid(f"{name} must be an integer between 1 and {MAX_DIMENSION}, got {value!r}")
    return rows, cols  # type: ignore[return-value]


def resolve_executable(argv0: str, cwd: str, env: dict[str, str]) -> str:
    """Return the absolute path ``argv0`` runs as (PATH from ``env``, relative to ``cwd``).

    Raises Invalid naming the program when it is missing or not executable.
    """
    if not argv0:
        raise errors.Invalid("argv[0] is empty")
    if "/" in argv0:
        path = argv0 if os.path.isabs(argv0) else os.path.join(cwd, argv0)
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise errors.Invalid(f"cannot execute {argv0!r}: not an executable file ({path})")
        return os.path.abspath(path)
    found = shutil.which(argv0, path=env.get("PATH", os.defpath))
    if found is None:
        raise errors.Invalid(f"cannot execute {argv0!r}: not found on PATH {env.get('PATH', os.defpath)!r}")
    return os.path.abspath(found) if os.path.isabs(found) else os.path.abspath(os.path.join(cwd, found))

def _decode_status(status: int) -> tuple[int | None, int | None]:
    """``(code, signal)`` from a waitpid status."""
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    return None, None


def _reap(pid: int) -> int | None:
    """Non-blocking waitpid: the status if ``pid`` has exited, else ``None``."""
    got, status = os.waitpid(pid, os.WNOHANG)
    return status if got else None


def _read_burst(fd: int) -> tuple[bytes, bool]:
    """Read what the PTY has ready now, up to :data:`READ_BURST` bytes, as one chunk.

    A terminal hands out a few KiB per read; taking a burst at once means one ring append, one log
    write and one message to each subscriber per burst instead of per read. Returns the bytes and
    whether the PTY may have more (``False``: the child side is gone). Raises BlockingIOError when
    nothing is ready at all.
    """
    parts: list[bytes] = []
    size = 0
    while size < READ_BURST:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            if not parts:
                raise
            break
        except OSError as exc:
            if exc.errno == errno.EIO:  # every slave fd closed: the child is gone
                return b"".join(parts), False
            raise
        if not data:
            return b"".join(parts), False
        parts.append(data)
        size += len(data)
    return (parts[0] if len(parts) == 1 else b"".join(parts)), True


def _restore_child_signals() -> None:
    """In the forked child, before exec: default dispositions (an ignored signal survives exec,
    and Python ignores SIGPIPE/SIGXFSZ; the supervisor ignores SIGHUP) and an empty signal mask."""
    for name in ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGPIPE", "SIGXFSZ"):
        sig = getattr(signal_mod, name, None)
        if sig is not None:
            signal_mod.signal(sig, signal_mod.SIG_DFL)
    signal_mod.pthread_sigmask(signal_mod.SIG_SETMASK, set())


class PtySession:
    """One child process on a PTY. Create with :meth:`spawn`, then run :meth:`run` in a nursery."""

    def __init__(self, *, session_id: str, argv: list[str], cwd: str, meta: dict[str, Any],
                 rows: int, cols: int, pid: int, fd: int, output: OutputStream,
                 on_exit: Callable[[ExitInfo], None] | None = None) -> None:
        self.id = session_id
        self.argv = argv
        self.cwd = cwd
        self.meta = meta
        self.rows = rows
        self.cols = cols
        self.start_cols = cols
        self.pid = pid
        self.started_at = time.time()
        self.output = output
        self.exit: ExitInfo | None = None
        self.on_exit = on_exit
        self._fd: int | None = fd
        self._pidfd: int | None = None
        self._reaped = False
        self._exited = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._input_send, self._input_receive = trio.open_memory_channel[bytes](1024)
        self._pending_input = 0

    @classmethod
    def spawn(cls, session_id: str, argv: list[str], cwd: str, env: dict[str, str], *,
              rows: int = 40, cols: int = 120, meta: dict[str, Any] | None = None,
              log_dir: Path, ring_bytes: int = DEFAULT_RING_BYTES,
              subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
              on_exit: Callable[[ExitInfo], None] | None = None) -> PtySession:
        """Fork ``argv`` on a new PTY (new session, ``cwd``, exactly ``env`` plus a default TERM).

        Raises Invalid when the program or ``cwd`` is unusable. The log file
        ``log_dir/<session_id>.log`` is (re)created.
        """
        validate_session_id(session_id)
        validate_size(rows, cols)
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise errors.Invalid("argv must be a non-empty list of strings")
        if not isinstance(cwd, str) or not os.path.isdir(cwd):
            raise errors.Invalid(f"cwd {cwd!r} does not exist or is not a directory")
        env = dict(env)
        env.setdefault("TERM", "xterm-256color")
        exe = resolve_executable(argv[0], cwd, env)
        output = OutputStream(ring_bytes=ring_bytes, log_path=log_dir / f"{session_id}.log",
                              write_log=True, subscriber_buffer=subscriber_buffer)
        try:
            proc = ptyprocess.PtyProcess.spawn([exe, *argv[1:]], cwd=cwd, env=env,
                                               dimensions=(rows, cols),
                                               preexec_fn=_restore_child_signals)
        except Exception as exc:  # ptyprocess re-raises the child's exec failure by class name
            output.close_log()
            raise errors.Invalid(f"cannot execute {argv[0]!r}: {exc}") from exc
        # Take the master fd from ptyprocess: we own its lifetime, not PtyProcess.__del__.
        fd = os.dup(proc.fd)
        proc.fileobj.close()
        proc.closed = True
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
        return cls(session_id=session_id, argv=list(argv), cwd=cwd, meta=dict(meta or {}),
                   rows=rows, cols=cols, pid=proc.pid, fd=fd, output=output, on_exit=on_exit)

    @property
    def alive(self) -> bool:
        """True until the exit was recorded."""
        return self.exit is None

    def info(self) -> dict[str, Any]:
        """The session as the supervisor's ``list`` reports it."""
        return {
            "session_id": self.id, "pid": self.pid, "argv": self.argv, "cwd": self.cwd,
            "meta": self.meta, "rows": self.rows, "cols": self.cols, "start_cols": self.start_cols,
            "start_offset": self.output.start, "end_offset": self.output.end,
            "started_at": self.started_at, "exited": self.exit is not None,
            "exit_code": self.exit.code if self.exit else None,
            "exit_signal": self.exit.signal if self.exit else None,
            "log_error": self.output.log_error,
        }

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> ExitInfo:
        """Read output, write input and wait for the exit; returns the exit once output is drained.

        If cancelled first, the process group is hung up (then killed) and reaped best-effort.
        """
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:  # pragma: no cover - cannot happen for an unreaped child
            self._pidfd = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                reader_done = trio.Event()
                nursery.start_soon(self._read_loop, reader_done)
                nursery.start_soon(self._write_loop)
                task_status.started()
                code, sig = await self._wait_child()
                with trio.move_on_after(DRAIN_AFTER_EXIT):
                    await reader_done.wait()
                nursery.cancel_scope.cancel()
            self._record_exit(code, sig)
        except Exception:  # a broken PTY must not take its host (and every other session) down
            log.exception("session %s: PTY loop failed; hanging it up", self.id)
        finally:
            self._nursery = None
            if not self._reaped:
                with trio.CancelScope(shield=True):
                    await self._hangup_and_reap()
            self._close_fds()
            if self.exit is None:
                self._record_exit(None, signal_mod.SIGHUP)
        assert self.exit is not None
        return self.exit

    def _record_exit(self, code: int | None, sig: int | None) -> None:
        if self.exit is not None:
            return
        self.exit = ExitInfo(code, sig, self.output.end)
        if self.on_exit is not None:
            try:
                self.on_exit(self.exit)
            except Exception:  # never let a listener break the session's bookkeeping
                log.exception("on_exit listener of session %s failed", self.id)
        self.output.finish()
        self._input_send.close()
        self._exited.set()

    async def _wait_child(self) -> tuple[int | None, int | None]:
        while True:
            if self._pidfd is not None:
                await trio.lowlevel.wait_readable(self._pidfd)
            else:  # pragma: no cover - pidfd_open exists on every Linux we support
                await trio.sleep(0.1)
            try:
                status = _reap(self.pid)
            except ChildProcessError:  # reaped by someone else: the real status is lost
                self._reaped = True
                return None, None
            if status is not None:
                self._reaped = True
                return _decode_status(status)

    async def _read_loop(self, done: trio.Event) -> None:
        try:
            while True:
                fd = self._fd
                if fd is None:
                    return
                try:
                    data, more = _read_burst(fd)
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(fd)
                    continue
                if data:
                    self.output.feed(data)
                if not more:
                    return
                if len(data) < STREAM_BURST:
                    # A small burst that drained the PTY (an agent printing now and then): wait
                    # for more, rather than try a read now that would only find nothing again.
                    # After a big one the producer is streaming: a read after the checkpoint
                    # most likely finds more without a round through epoll.
                    await trio.lowlevel.wait_readable(fd)
                else:
                    await trio.lowlevel.checkpoint()
        finally:
            done.set()

    async def _write_loop(self) -> None:
        async for data in self._input_receive:
            view = memoryview(data)
            while view:
                fd = self._fd
                if fd is None:
                    return
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(fd)
                except OSError as exc:
                    if exc.errno in (errno.EIO, errno.EBADF):
                        view = view[len(view):]
                    else:
                        raise
            self._pending_input -= len(data)

    async def _hangup_and_reap(self) -> None:
        """Cancellation path: SIGHUP the group, then SIGKILL, and reap without blocking long."""
        self._killpg(signal_mod.SIGHUP)
        for sig in (signal_mod.SIGKILL, None):
            with trio.move_on_after(1.0):
                if self._pidfd is not None:
                    await trio.lowlevel.wait_readable(self._pidfd)
            try:
                status = _reap(self.pid)
            except ChildProcessError:
                self._reaped = True
                return
            if status is not None:
                self._reaped = True
                code, signo = _decode_status(status)
                self._record_exit(code, signo)
                return
            if sig is not None:
                self._killpg(sig)

    def _close_fds(self) -> None:
        for attr in ("_fd", "_pidfd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                trio.lowlevel.notify_closing(fd)
                os.close(fd)

    async def write(self, data: bytes) -> None:
        """Queue ``data`` for the PTY (written in order, partial writes and EAGAIN handled).

        Raises Conflict if the session exited, TooMany if too much input is already pending.
        """
        self.send_input(data)
        await trio.lowlevel.checkpoint()

    def send_input(self, data: bytes) -> None:
        """Synchronous form of :meth:`write` (queues; never blocks)."""
        if self.exit is not None:
            raise errors.Conflict(f"session {self.id} has exited")
        if not data:
            return
        if self._pending_input + len(data) > MAX_PENDING_INPUT:
            raise errors.TooMany(f"session {self.id}: too much input pending (the program is not reading)")
        if self._pending_input == 0 and self._fd is not None:
            # Nothing queued: write now rather than hand the bytes to the write loop (a keystroke
            # would wait one more trip through the scheduler). What the PTY does not take now
            # (EAGAIN, a partial write, an error) is queued as before, so order is kept.
            try:
                written = os.write(self._fd, data)
            except OSError:
                written = 0
            data = data[written:]
            if not data:
                return
        try:
            self._input_send.send_nowait(bytes(data))
        except trio.WouldBlock:
            raise errors.TooMany(f"session {self.id}: too many input writes pending") from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise errors.Conflict(f"session {self.id} has exited") from None
        self._pending_input += len(data)

    def resize(self, rows: int, cols: int) -> None:
        """Set the window size (TIOCSWINSZ); the child's foreground group gets SIGWINCH."""
        validate_size(rows, cols)
        if self.exit is not None or self._fd is None:
            raise errors.Conflict(f"session {self.id} has exited")
        fcntl.ioctl(self._fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.rows, self.cols = rows, cols

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the child process."""
        if self.exit is not None or self._reaped:
            raise errors.Conflict(f"session {self.id} has exited")
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            raise errors.Conflict(f"session {self.id} has exited") from None

    def _killpg(self, sig: int) -> None:
        if self._reaped:
            return
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    async def terminate(self, grace: float = 3.0) -> ExitInfo:
        """SIGHUP the process group, then SIGTERM, then SIGKILL, ``grace`` seconds apart.

        HUP and TERM are re-sent (with SIGCONT, for a stopped job) every half second of their
        grace: a program may swallow one that lands at an unlucky moment (interactive bash does).
        """
        for sig in (signal_mod.SIGHUP, signal_mod.SIGTERM):
            deadline = trio.current_time() + grace
            while self.exit is None and trio.current_time() < deadline:
                self._killpg(sig)
                self._killpg(signal_mod.SIGCONT)
                with trio.move_on_after(min(RESIGNAL_INTERVAL, max(0.0, deadline - trio.current_time()))):
                    await self._exited.wait()
        if self.exit is None:
            self._killpg(signal_mod.SIGKILL)
        return await self.wait()

    def start_terminate(self, grace: float = 3.0) -> None:
        """Start :meth:`terminate` in the session's own nursery and return at once."""
        if self.exit is not None:
            return
        if self._nursery is None:
            raise errors.Conflict(f"session {self.id} is not running")
        self._nursery.start_soon(self.terminate, grace)

    async def wait(self) -> ExitInfo:
        """Wait for the exit (all output delivered to the stream first)."""
        await self._exited.wait()
        assert self.exit is not None
        return self.exit
