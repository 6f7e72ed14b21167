"""A task's terminal over one WebSocket: ``GET /api/tasks/{id}/terminal`` (upgraded).

The low-latency path for a live terminal view: keystrokes go in and output comes out on one
connection, with no HTTP request per key. Authenticated like every surface (``Authorization``
header, or ``?token=``, which the kernel accepts on WebSocket routes); any token that may read
the task's SSE stream (master, device, scope) may open it; a refused handshake is the usual
``{"error"}`` answer (401/403/400) instead of the upgrade.

Query: ``since`` and ``session``, the same as the SSE stream's (``GET .../stream``): output
starts at byte ``since`` of the current session (default: its last 64 KiB); a ``since`` past
the end starts at the end; a ``session`` naming another (older) session starts the current one
from its top.

Server → client:

- first a text frame ``{"type": "session", "session_id", "offset", "cols", "rows"}`` (the SSE
  stream's ``session`` event: ``offset`` is where the output really starts);
- binary frames: output bytes, in order and gapless from that offset (queued output is merged
  into one frame of up to 256 KiB);
- ``{"type": "exit", "code", "signal", "end_offset"}`` when the session ends; if the task then
  gets a new session (a resume, a width re-render) a new ``session`` frame follows (its
  ``offset`` is 0) and the new session's output with it;
- ``{"type": "resized", "cols", "rows", "rerendered"}`` answering a resize frame;
- ``{"type": "error", "error": "..."}`` for a frame that could not be applied (bad JSON, an
  unknown type, input while no agent runs...): the connection stays usable.

Client → server:

- binary frames: input bytes for the agent, written in order through the session (no database
  read and no waiting for the supervisor per frame); input from other clients during a width
  re-render is queued and delivered to the new session, like ``POST .../input``;
- text frames: JSON control, ``{"type": "resize", "rows": R, "cols": C}`` with the resize
  route's rules (``POST .../resize``: a hidden or zero-size terminal never resizes, a re-render
  only when nothing can be lost). Frames are applied in order: keys sent after a resize that
  re-renders wait for it and reach the new session.

An unknown task closes the connection with code 4404, a task with no session yet with 4409
(the reason says which); both come after the upgrade, where a browser can read them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import ArgusError, NotFound
from quart import websocket

from . import models as m

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session

    from .service import TaskService

#: Close codes after the upgrade (4000-4999 are the application's).
CLOSE_NOT_FOUND = 4404
CLOSE_NO_SESSION = 4409
#: Largest output frame (queued chunks are merged up to it), as the SSE stream's messages.
FRAME_BATCH = 256 * 1024
#: How often a connection whose session ended looks for the task's next session (in memory).
NEXT_SESSION_POLL = 0.1
MAX_CONTROL = 4096  # bytes of one JSON control frame


def start_offset(session: Session, since: int | None, session_id: str | None, tail: int) -> int:
    """Where a stream of ``session`` starts for a client's ``since``/``session`` (the SSE stream's rules)."""
    if session_id and session_id != session.id:
        since = 0  # offsets of another (older) session: start the current one from the top
    if since is None:
        since = max(0, session.end_offset - tail)
    # A cursor past the end (from a longer-lived session, or made up) starts at the end.
    return min(since, session.end_offset)


class TerminalSocket:
    """One accepted terminal WebSocket: a reader of client frames and a writer of session output."""

    def __init__(self, svc: TaskService, task_id: str) -> None:
        self.svc = svc
        self.task_id = task_id

    # The reader (error and resize answers) and the writer (output) send concurrently: each frame
    # is encoded whole and hypercorn serializes the socket writes, so frames never interleave and
    # an output frame waits for no lock (a lock is one more trip through the scheduler per echo).

    async def send_json(self, message: dict[str, Any]) -> None:
        """One JSON text frame."""
        await websocket.send(json.dumps(message, separators=(",", ":")))

    async def send_bytes(self, data: bytes) -> None:
        """One binary frame."""
        await websocket.send(data)

    async def error(self, message: str) -> None:
        """An error frame (the connection stays open)."""
        await self.send_json({"type": "error", "error": message})

    # -- client → server -------------------------------------------------------------------

    async def read_client(self) -> None:
        """Apply the client's frames in order until it goes away (a resize is finished before the
        frames after it: keys typed after a resize that re-renders reach the new session)."""
        while True:
            frame = await websocket.receive()
            if isinstance(frame, bytes | bytearray):
                if not frame:
                    continue
                try:
                    await self.svc.write_input(self.task_id, bytes(frame))
                except ArgusError as exc:
                    await self.error(str(exc))
                continue
            await self.control(frame)

    async def control(self, text: str) -> None:
        """One JSON control frame."""
        if len(text) > MAX_CONTROL:
            await self.error(f"control frame larger than {MAX_CONTROL} bytes")
            return
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            await self.error("a text frame must be a JSON object")
            return
        if not isinstance(message, dict):
            await self.error("a text frame must be a JSON object")
            return
        kind = message.get("type")
        if kind == "resize":
            await self.resize(message.get("cols"), message.get("rows"))
            return
        await self.error(f"unknown control type {kind!r} (expected 'resize')")

    async def resize(self, cols: Any, rows: Any) -> None:
        """The resize route's code; its answer (or refusal) as a frame."""
        try:
            out = await self.svc.resize(self.task_id, cols, rows)
        except ArgusError as exc:
            await self.error(str(exc))
            return
        await self.send_json({"type": "resized", **out})

    # -- server → client -------------------------------------------------------------------

    async def write_output(self, session: Session | None, since: int) -> None:
        """The session's output from ``since``, then its exit; then the task's next sessions (until
        the task is deleted: then the connection is closed with 4404)."""
        while session is not None:
            await self.send_json({"type": "session", "session_id": session.id, "offset": since,
                                  "cols": session.cols, "rows": session.rows})
            end = await self.relay(session, since)
            info = session.exit
            await self.send_json({"type": "exit", "code": info.code if info else None,
                                  "signal": info.signal if info else None, "end_offset": end})
            session = await self.next_session(session.id)
            since = 0

    async def relay(self, session: Session, since: int) -> int:
        """Binary frames of ``session`` from ``since`` until it exits; the end offset."""
        offset = since
        while True:
            try:
                async with session.subscribe(since=offset) as chunks:
                    while True:
                        chunk = await chunks.receive_batch(FRAME_BATCH)  # queued chunks go as one frame
                        if chunk is None:
                            break
                        offset = chunk.offset + len(chunk.data)
                        await self.send_bytes(bytes(chunk.data))
            except Exception:  # a lagging subscriber: subscribe again from our offset
                if session.alive:
                    await trio.sleep(0.02)
                    continue
            if not session.alive:
                return offset

    async def next_session(self, old_id: str) -> Session | None:
        """The task's next live session (a resume, a re-render), from memory; None (and the
        connection closed) once the task is deleted."""
        while True:
            try:
                session = self.svc.view.input_session(self.task_id)
            except NotFound:
                await websocket.close(CLOSE_NOT_FOUND, "the task was deleted")
                return None
            if session is not None and session.id != old_id:
                return session
            await trio.sleep(NEXT_SESSION_POLL)


def terminal_handler(svc: TaskService, tail: int) -> Any:
    """The route handler of ``GET /api/tasks/{task_id}/terminal`` bound to ``svc`` (``tail``: the
    default backlog in bytes, as the SSE stream's)."""

    async def terminal(task_id: str, query: m.StreamQuery) -> None:
        """WebSocket: the task's terminal (binary input/output frames, JSON control; see docs/rest.md)."""
        await websocket.accept()
        try:
            row = svc.get(task_id)
        except NotFound as exc:
            await websocket.close(CLOSE_NOT_FOUND, str(exc)[:120])
            return
        session = svc.session_of(row)
        if session is None:
            await websocket.close(CLOSE_NO_SESSION, "this task has no session output yet")
            return
        since = start_offset(session, query.since, query.session, tail)
        sock = TerminalSocket(svc, task_id)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sock.read_client)
            await sock.write_output(session, since)
            nursery.cancel_scope.cancel()

    return terminal
