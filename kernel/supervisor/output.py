"""A session's output: a ring addressed by absolute offsets, the scrollback log, subscriber fan-out.

:class:`OutputStream` keeps a ring buffer addressed by ABSOLUTE byte offsets (offset 0 is the first
byte the child ever wrote), an append-only scrollback log file holding every byte, and a fan-out to
subscribers through bounded memory channels. A subscriber that falls behind never blocks the
reader: its channel is closed and its iterator raises :class:`SubscriberLagged`, so it resubscribes
from the last offset it saw (the log file serves any older range).

The PTY owner (:class:`~argus.kernel.supervisor.ptyhost.PtySession`) writes the log; the daemon's
supervisor link reuses :class:`OutputStream` (without writing the log) as its mirror of a session
that lives in the supervisor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

log = logging.getLogger("argus.ptyhost")

DEFAULT_RING_BYTES = 256 * 1024
#: Chunks a subscriber may have queued before it is dropped as lagging.
DEFAULT_SUBSCRIBER_BUFFER = 256
#: Largest chunk handed to subscribers when replaying from the ring or the log.
REPLAY_PIECE = 64 * 1024


@dataclass(frozen=True)
class Chunk:
    """Bytes of a session's output; ``offset`` is the absolute offset of ``data[0]``."""

    offset: int
    data: bytes

    @property
    def end(self) -> int:
        """The absolute offset just after the last byte."""
        return self.offset + len(self.data)

class SubscriberLagged(Exception):
    """A subscriber fell too far behind and was dropped; resubscribe from ``next_offset``."""

    def __init__(self, next_offset: int) -> None:
        super().__init__(f"subscriber lagged; resume from offset {next_offset}")
        self.next_offset = next_offset


async def prefill_from_logs(streams: Sequence[tuple[OutputStream, int]]) -> None:
    """:meth:`OutputStream.prefill_from_log` for many streams, their logs read in one worker thread
    (a daemon restart re-attaching 50 sessions makes one thread hop, not 50)."""
    plans = [(stream, upto, stream._prefill_range(upto)) for stream, upto in streams]
    reads = [plan for _stream, _upto, plan in plans if plan is not None]
    if not reads:
        return
    datas = iter(await trio.to_thread.run_sync(lambda: [_read_file_range(*plan) for plan in reads]))
    for stream, upto, plan in plans:
        if plan is not None:
            stream._prefill(upto, plan[1], next(datas))


def _read_file_range(path: Path, start: int, length: int) -> bytes:
    """Blocking read of ``length`` bytes at ``start`` (fewer at EOF, ``b""`` if missing)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    try:
        parts: list[bytes] = []
        got = 0
        while got < length:
            data = os.pread(fd, min(length - got, 1 << 20), start + got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)
    finally:
        os.close(fd)


def _write_at(fd: int, data: memoryview, offset: int) -> int:
    """``os.pwrite`` (a seam for tests that simulate a full disk)."""
    return os.pwrite(fd, data, offset)


class Ring:
    """A bounded byte buffer addressed by absolute offsets: it keeps ``[start, end)``."""

    def __init__(self, capacity: int = DEFAULT_RING_BYTES, start: int = 0) -> None:
        if capacity <= 0:
            raise ValueError("ring capacity must be positive")
        self.capacity = capacity
        self.start = start
        self._buf = bytearray()

    @property
    def end(self) -> int:
        """Absolute offset just after the last byte kept (= bytes ever appended + initial start)."""
        return self.start + len(self._buf)

    def append(self, data: bytes) -> None:
        """Append ``data``, dropping the oldest bytes beyond the capacity."""
        self._buf += data
        excess = len(self._buf) - self.capacity
        if excess > 0:
            del self._buf[:excess]
            self.start += excess

    def reset(self, offset: int) -> None:
        """Drop everything and continue at ``offset`` (a visible gap, or a fresh mirror)."""
        self._buf.clear()
        self.start = offset

    def slice(self, start: int, end: int) -> bytes:
        """The bytes of ``[start, end)`` clamped to what the ring holds."""
        start = max(start, self.start)
        end = min(end, self.end)
        if start >= end:
            return b""
        return bytes(self._buf[start - self.start:end - self.start])


class _Subscriber:
    """One subscriber's channel and whether it was dropped for lagging."""

    __slots__ = ("send", "lagged")

    def __init__(self, send: trio.MemorySendChannel[Chunk]) -> None:
        self.send = send
        self.lagged = False


class Subscription:
    """Async iterator of gapless :class:`Chunk` s: replay ``[since, live_from)``, then live.

    Ends (``StopAsyncIteration``) once the stream finished and everything was delivered; raises
    :class:`SubscriberLagged` if it was dropped for falling behind. ``next_offset`` is the offset
    the next chunk will start at (resume point).
    """

    def __init__(self, stream: OutputStream, since: int, live_from: int,
                 receive: trio.MemoryReceiveChannel[Chunk], sub: _Subscriber) -> None:
        self._stream = stream
        self.next_offset = since
        self._live_from = live_from
        self._receive = receive
        self._sub = sub
        self._held: Chunk | None = None  # taken from the channel by a batch it did not fit in

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Chunk:
        while self.next_offset < self._live_from:
            chunk = await self._stream.read_range(
                self.next_offset, min(self._live_from, self.next_offset + REPLAY_PIECE))
            if not chunk.data:
                # nothing retrievable before the live point (log gone and ring moved on)
                self.next_offset = self._live_from
                break
            self.next_offset = chunk.end
            return chunk
        if self._held is not None:
            chunk, self._held = self._held, None
        else:
            try:
                chunk = await self._receive.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                if self._sub.lagged:
                    raise SubscriberLagged(self.next_offset) from None
                raise StopAsyncIteration from None
        self.next_offset = chunk.end
        return chunk

    async def receive_batch(self, max_bytes: int) -> Chunk | None:
        """The next chunk merged with the live chunks already queued behind it, up to ``max_bytes``
        (a single larger chunk comes whole); ``None`` at the end. Raises :class:`SubscriberLagged`.

        One message per batch instead of one per PTY read is what keeps a relay of a fast
        producer (a supervisor connection, an SSE stream) cheap.
        """
        try:
            first = await self.__anext__()
        except StopAsyncIteration:
            return None
        if self.next_offset < self._live_from or len(first.data) >= max_bytes:
            return first
        parts = [first.data]
        size = len(first.data)
        while size < max_bytes:
            try:
                chunk = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break  # the end or a lag shows at the next call
            if size + len(chunk.data) > max_bytes or chunk.offset != first.offset + size:  # too big, or a gap
                self._held = chunk
                break
            parts.append(chunk.data)
            size += len(chunk.data)
        if len(parts) == 1:
            return first
        merged = Chunk(first.offset, b"".join(parts))
        self.next_offset = merged.end
        return merged


class OutputStream:
    """Ring + scrollback log + subscriber fan-out for one session's output.

    ``write_log=True`` (the PTY owner) truncates and appends ``log_path``; ``write_log=False`` (a
    mirror) only reads it to serve ranges older than the ring.
    """

    def __init__(self, *, ring_bytes: int = DEFAULT_RING_BYTES, log_path: Path | None = None,
                 write_log: bool = False, start_offset: int = 0,
                 subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER) -> None:
        self.ring = Ring(ring_bytes, start_offset)
        self.log_path = log_path
        self.subscriber_buffer = subscriber_buffer
        self.finished = False
        self.last_output_at: float = 0.0
        self._subs: list[_Subscriber] = []
        self._log_fd: int | None = None
        self._log_end = start_offset  # the log holds every byte before this offset (at its position)
        self.log_error: str | None = None  # why the log is behind (a full disk), None when up to date
        if write_log:
            if log_path is None:
                raise ValueError("write_log needs a log_path")
            log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    @property
    def start(self) -> int:
        """Absolute offset of the first byte still in the ring."""
        return self.ring.start

    @property
    def end(self) -> int:
        """Absolute offset just after the last byte produced (as seen by this stream)."""
        return self.ring.end

    @property
    def subscriber_count(self) -> int:
        """How many live subscribers are registered."""
        return len(self._subs)

    def feed(self, data: bytes, offset: int | None = None) -> None:
        """Add output. ``offset`` (mirrors) places it; a jump forward is kept as a visible gap."""
        if self.finished or not data:
            return
        if offset is not None and offset != self.end:
            if offset > self.end:
                self.ring.reset(offset)
            else:  # overlap with what we already have: keep only the new tail
                skip = self.end - offset
                if skip >= len(data):
                    return
                data = data[skip:]
                offset = self.end
        start = self.end
        self.ring.append(data)
        self.last_output_at = trio.current_time()
        if self._log_fd is not None:
            self._catch_up_log(data)
        if not self._subs:
            return
        chunk = Chunk(start, bytes(data))
        for sub in list(self._subs):
            try:
                sub.send.send_nowait(chunk)
            except trio.WouldBlock:
                sub.lagged = True
                sub.send.close()
                self._subs.remove(sub)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subs.remove(sub)

    def _catch_up_log(self, data: bytes = b"") -> None:
        """Write what the log lacks, at its offset. ``data`` is the chunk just appended to the ring.

        A failed write (ENOSPC: the disk is full) is retried with the next output and at the end:
        the ring still holds the bytes. Only bytes the ring dropped meanwhile are lost (a hole in
        the log, logged).
        """
        if self._log_fd is None:
            return
        # ``data`` (already in the ring) is always at hand, even when it is larger than the ring; only
        # bytes before it come from the ring, and only those the ring dropped are lost.
        chunk_start = self.end - len(data)
        if self._log_end < chunk_start:
            if self._log_end < self.ring.start:
                lost_to = min(self.ring.start, chunk_start)
                log.warning("scrollback log %s: bytes %d-%d were dropped from memory before they could be "
                            "written", self.log_path, self._log_end, lost_to)
                self._log_end = lost_to
            pending = self.ring.slice(self._log_end, chunk_start) + bytes(data)
        else:
            pending = bytes(data[self._log_end - chunk_start:])
        view = memoryview(pending)
        try:
            while view:
                written = _write_at(self._log_fd, view, self._log_end)
                view = view[written:]
                self._log_end += written
        except OSError as exc:
            if self.log_error is None:
                log.warning("scrollback log %s: %s; keeping the output in memory and retrying", self.log_path, exc)
            self.log_error = str(exc)
            return
        if self.log_error is not None:
            log.info("scrollback log %s: writing again", self.log_path)
            self.log_error = None

    def close_log(self) -> None:
        """Stop writing the scrollback log (the file stays)."""
        if self._log_fd is not None:
            fd, self._log_fd = self._log_fd, None
            os.close(fd)

    def finish(self) -> None:
        """No more output: subscribers drain what they have queued, then their iterators end."""
        if self.finished:
            return
        self.finished = True
        for sub in self._subs:
            sub.send.close()
        self._subs.clear()
        self._catch_up_log()
        self.close_log()

    def tail(self, nbytes: int) -> tuple[int, bytes]:
        """The last ``nbytes`` (at most what the ring holds) as ``(start offset, bytes)``."""
        start = max(self.ring.start, self.end - max(0, nbytes))
        return start, self.ring.slice(start, self.end)

    async def prefill_from_log(self, upto: int) -> None:
        """Fill an empty mirror ring with the log's bytes before ``upto`` (so ``tail`` has context)."""
        await prefill_from_logs([(self, upto)])

    def _prefill_range(self, upto: int) -> tuple[Path, int, int] | None:
        """What :func:`prefill_from_logs` reads for this stream: ``(log, first, length)``, or None."""
        if self.log_path is None or self.end != upto or self.ring.end != self.ring.start:
            return None
        first = max(0, upto - self.ring.capacity)
        return self.log_path, first, upto - first

    def _prefill(self, upto: int, first: int, data: bytes) -> None:
        if len(data) == upto - first and self.end == upto and self.ring.end == self.ring.start:
            self.ring.reset(first)
            self.ring.append(data)

    async def read_range(self, start: int, end: int | None = None) -> Chunk:
        """Bytes of ``[start, end)`` (``end`` defaults to now) from the ring, else the log file.

        If part of the range is gone (log missing or short), the chunk starts at the earliest
        offset that is available, so the gap is visible in ``Chunk.offset``.
        """
        end = self.end if end is None else min(end, self.end)
        start = max(0, start)
        if start >= end:
            return Chunk(min(start, self.end), b"")
        if start >= self.ring.start:
            return Chunk(start, self.ring.slice(start, end))
        log_data = b""
        if self.log_path is not None:
            log_data = await trio.to_thread.run_sync(_read_file_range, self.log_path, start, end - start)
        got_to = start + len(log_data)
        if got_to >= end:
            return Chunk(start, log_data)
        if got_to >= self.ring.start:
            return Chunk(start, log_data + self.ring.slice(got_to, end))
        return Chunk(self.ring.start, self.ring.slice(self.ring.start, end))

    @asynccontextmanager
    async def subscribe(self, since: int | None = None) -> AsyncIterator[Subscription]:
        """Subscribe from ``since`` (``None``: from now); see :class:`Subscription`."""
        live_from = self.end
        since = live_from if since is None else min(max(0, since), live_from)
        send, receive = trio.open_memory_channel[Chunk](self.subscriber_buffer)
        sub = _Subscriber(send)
        if self.finished:
            send.close()
        else:
            self._subs.append(sub)
        try:
            yield Subscription(self, since, live_from, receive, sub)
        finally:
            if sub in self._subs:
                self._subs.remove(sub)
            send.close()
            receive.close()
