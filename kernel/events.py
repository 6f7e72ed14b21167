"""The event bus: every state change is an ``Event`` with an increasing id, kept in a bounded ring.

Publishing is synchronous and never blocks: each subscriber has a bounded memory channel, and a
subscriber whose channel is full is dropped (its stream ends with a ``resync`` so the client
re-snapshots) instead of slowing the publisher down.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import trio

log = logging.getLogger(__name__)

RING_SIZE = 10_000
SUBSCRIBER_BUFFER = 1_000


def utcnow() -> str:
    """The current time as an RFC3339 UTC string with a ``Z`` suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """One state change: ``type`` like ``task.updated``, ``data`` a JSON-able dict."""

    id: int
    type: str
    data: dict[str, Any]
    ts: str = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        """The event as sent on the SSE stream."""
        return {"id": self.id, "type": self.type, "ts": self.ts, "data": self.data}


RESYNC = "resync"


@dataclass
class Subscription:
    """What ``EventBus.subscribe`` yields: events missed since the cursor, then live ones."""

    replay: list[Event]
    resync: bool
    live: trio.MemoryReceiveChannel[Event]


class EventBus:
    """A bounded ring of recent events plus live fan-out to subscribers."""

    def __init__(self, ring_size: int = RING_SIZE, *, start_id: int = 0) -> None:
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._start = start_id
        self._ids = itertools.count(start_id + 1)
        self._subscribers: set[trio.MemorySendChannel[Event]] = set()
        self._listeners: list[Callable[[Event], None]] = []

    @property
    def last_id(self) -> int:
        """The id of the newest event (the start id before the first event)."""
        return self._ring[-1].id if self._ring else self._start

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """Call ``fn(event)`` synchronously for every event (the ``argus_event`` hook)."""
        self._listeners.append(fn)

    def publish(self, type: str, data: dict[str, Any] | None = None) -> Event:
        """Record and fan out one event. Never blocks; returns the event."""
        event = Event(next(self._ids), type, dict(data or {}))
        self._ring.append(event)
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                # Too slow (or gone): drop it; its stream ends and the client resyncs.
                self._subscribers.discard(send)
                send.close()
        for fn in self._listeners:
            try:
                fn(event)
            except Exception:  # a listener bug must not break publishing
                log.exception("event listener failed on %s", type)
        return event

    def since(self, cursor: int) -> tuple[list[Event], bool]:
        """Events with id > cursor, and whether the client must re-snapshot (resync).

        ``0`` means "everything this daemon still has". A cursor from an earlier daemon life is
        older than this life's first id (ids start at the daemon's start time in microseconds),
        and one from the future is unknown: both resync.
        """
        first = self._start + 1
        wrapped = bool(self._ring) and self._ring[0].id > first
        if cursor == 0:
            return ([], True) if wrapped else (list(self._ring), False)
        if cursor > self.last_id or cursor < self._start:
            return [], True
        if self._ring and cursor < self._ring[0].id - 1:
            return [], True
        return [e for e in self._ring if e.id > cursor], False

    @asynccontextmanager
    async def subscribe(self, since: int | None = None) -> AsyncIterator[Subscription]:
        """Subscribe before replaying so nothing is lost between replay and live.

        ``since=None`` means live only. The live channel closes if the subscriber is dropped.
        """
        send, recv = trio.open_memory_channel[Event](SUBSCRIBER_BUFFER)
        self._subscribers.add(send)
        try:
            replay: list[Event]
            if since is None:
                replay, resync = [], False
            else:
                replay, resync = self.since(since)
            last = replay[-1].id if replay else (self.last_id if resync or since is None else since)
            yield Subscription(replay, resync, _SkipUntil(recv, last))  # type: ignore[arg-type]
        finally:
            self._subscribers.discard(send)
            send.close()
            recv.close()


class _SkipUntil:
    """Wraps the live channel and drops events already covered by the replay."""

    def __init__(self, recv: trio.MemoryReceiveChannel[Event], last: int) -> None:
        self._recv = recv
        self._last = last

    def __aiter__(self) -> _SkipUntil:
        return self

    async def __anext__(self) -> Event:
        while True:
            try:
                event = await self._recv.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                raise StopAsyncIteration from None
            if event.id > self._last:
                self._last = event.id
                return event

    async def receive(self) -> Event:
        """Receive the next live event (raises ``trio.EndOfChannel`` when dropped)."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise trio.EndOfChannel from None
