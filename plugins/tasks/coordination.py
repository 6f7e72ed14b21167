"""What the lifecycle parts share to coordinate: one lock per task, and why a session is ending.

Creation, stop, resume, restart, delete, a re-render and a merge of one task run in turn under its
lock (a double-clicked resume must not start two agents; a stop must not slip between a resume's
check and its spawn). A session ended on purpose is marked before it is killed, so that its exit
is read right when it arrives (``session_events.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio


class TaskLocks:
    """One ``trio.Lock`` per task with an operation in flight (dropped when nobody holds it)."""

    def __init__(self) -> None:
        self._locks: dict[str, trio.Lock] = {}

    @asynccontextmanager
    async def hold(self, task_id: str) -> AsyncIterator[None]:
        """Run the body while holding ``task_id``'s lock (waiting for the operation before)."""
        lock = self._locks.setdefault(task_id, trio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(task_id) is lock:
                del self._locks[task_id]

    def busy(self, task_id: str) -> bool:
        """Whether an operation on ``task_id`` is in flight (or waiting)."""
        return task_id in self._locks


@dataclass
class EndIntents:
    """Session ids being ended on purpose.

    ``stopping``: a stop, delete, restart or rollback (the exit never completes the task).
    ``rerendering``: replaced by a new session at another width (the exit changes nothing).
    """

    stopping: set[str] = field(default_factory=set)
    rerendering: set[str] = field(default_factory=set)
