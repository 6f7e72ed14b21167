"""Polling with a deadline: the one way tests wait for a condition (``wait_for`` / ``wait_for_async``).

Both call ``predicate`` until it returns a truthy value, which they return: ``wait_for(predicate,
timeout, what)``, with ``interval`` (seconds between tries) and ``detail`` as keywords. An exception raised by
the predicate counts as "not yet" (the daemon may not answer yet) and is reported if time runs
out. On timeout they raise ``AssertionError`` naming ``what``, the last error or falsy value, and
``detail()`` when given (e.g. the screen of a terminal under test). ``wait_for`` blocks (time.sleep);
``wait_for_async`` sleeps with the running event loop (trio or asyncio) and also accepts an async
predicate.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import trio

__all__ = ["wait_for", "wait_for_async"]

MAX_REPR = 500
DEFAULT_TIMEOUT = 20.0  # seconds: generous, the suite shares two cores with other work


class _Poll:
    """One wait: the deadline and what was last seen."""

    def __init__(self, timeout: float, what: str, detail: Callable[[], Any] | None) -> None:
        self.deadline = time.monotonic() + timeout
        self.what = what
        self.detail = detail
        self.error: BaseException | None = None
        self.value: Any = None

    def open(self) -> bool:
        return time.monotonic() < self.deadline

    def failed(self) -> AssertionError:
        """The timeout error: what was awaited, the last error or value, the detail."""
        message = f"timed out waiting for {self.what}"
        if self.error is not None:
            message += f" (last error: {self.error!r})"
        elif self.value not in (None, False):
            text = repr(self.value)
            message += f" (last value: {text[:MAX_REPR]}{'…' if len(text) > MAX_REPR else ''})"
        if self.detail is not None:
            try:
                message += f"\n{self.detail()}"
            except Exception as exc:  # noqa: BLE001 - the detail is best effort
                message += f"\n(detail failed: {exc!r})"
        return AssertionError(message)


def wait_for(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "condition", *,
             interval: float = 0.05, detail: Callable[[], Any] | None = None) -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or raise after ``timeout`` seconds.

    Blocks the calling thread between tries: in async code use :func:`wait_for_async`.
    """
    if inspect.iscoroutinefunction(predicate):
        raise TypeError("wait_for got an async predicate: use `await wait_for_async(...)`")
    poll = _Poll(timeout, what, detail)
    while True:
        try:
            poll.value = predicate()
            poll.error = None
            if poll.value:
                return poll.value
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            poll.error = exc
        if not poll.open():
            raise poll.failed()
        time.sleep(interval)


async def wait_for_async(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "condition", *,
                         interval: float = 0.05, detail: Callable[[], Any] | None = None) -> Any:
    """:func:`wait_for` for trio and asyncio code: sleeps with the running loop; ``predicate`` may be async."""
    poll = _Poll(timeout, what, detail)
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            poll.value = value
            poll.error = None
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            poll.error = exc
        if not poll.open():
            raise poll.failed()
        await _sleep(interval)


async def _sleep(seconds: float) -> None:
    """Sleep with whichever event loop runs this coroutine (trio or asyncio)."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        await asyncio.sleep(seconds)
    else:
        await trio.sleep(seconds)
