"""The daemon's connection to the session-supervisor: requests with replies, and events."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import trio

from .. import errors
from ..supervisor import protocol as proto

log = logging.getLogger("argus.sessions")

#: Seconds to wait for a supervisor reply before declaring it unavailable.
REQUEST_TIMEOUT = 30.0


def leaves(group: BaseExceptionGroup[Any]) -> Iterator[Any]:
    """The non-group exceptions inside ``group``, depth first."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from leaves(exc)
        else:
            yield exc


class _Pending:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.reply: dict[str, Any] | None = None


OnEvent = Callable[[dict[str, Any]], None]
OnOutput = Callable[[proto.DataFrame], None]


class Link:
    """One connection to the supervisor: requests with replies, output and exit events, and
    (protocol version 2) input sent without waiting for a reply."""

    def __init__(self, stream: trio.SocketStream, on_event: OnEvent, on_output: OnOutput) -> None:
        self.conn = proto.Connection(stream)
        self.closed = trio.Event()
        self.hello: dict[str, Any] = {}
        self._on_event = on_event
        self._on_output = on_output
        self._pending: dict[int, _Pending] = {}
        self._next = 0

    @property
    def version(self) -> int:
        """The protocol version the handshake settled on."""
        return self.conn.version

    @classmethod
    async def open(cls, path: os.PathLike[str], on_event: OnEvent, on_output: OnOutput, *,
                   versions: tuple[int, ...] = proto.SUPPORTED_VERSIONS) -> Link:
        """Connect and exchange hello offering ``versions`` (the highest both sides speak wins);
        raises OSError if nothing listens, or the version error."""
        stream = await proto.connect_unix(path)  # type: ignore[arg-type]
        link = cls(stream, on_event, on_output)
        try:
            with trio.fail_after(REQUEST_TIMEOUT):
                await link.conn.send(proto.hello_request(0, versions=versions))
                frame = await link.conn.receive()
            if frame is None:
                raise errors.Unavailable("the supervisor closed the connection during hello")
            if not isinstance(frame, dict):
                raise proto.ProtocolError("the supervisor answered hello with a data frame")
            if not frame.get("ok"):
                raise proto.error_from_reply(frame)
            link.conn.use_version(proto.chosen_version(frame, versions))
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
                if isinstance(frame, proto.DataFrame):
                    try:
                        self._on_output(frame)
                    except Exception:
                        log.exception("handling supervisor output of %s failed", frame.session_id)
                    continue
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

    async def send_input(self, session_id: str, data: bytes) -> None:
        """Version 2: send input as data frames and return without waiting for a reply.

        Frames on the connection keep their order, so input keeps the order of the calls; a
        refusal comes back later as an ``input_error`` event. Raises Unavailable if the link is down.
        """
        if self.closed.is_set():
            raise errors.Unavailable("the supervisor link is down")
        try:
            for at in range(0, len(data), proto.MAX_INPUT_DATA):
                await self.conn.send_data(proto.KIND_INPUT, session_id, 0, data[at:at + proto.MAX_INPUT_DATA])
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            raise errors.Unavailable("the supervisor link is down") from None

    async def aclose(self) -> None:
        """Close the connection."""
        await self.conn.aclose()
