"""The session-supervisor wire protocol (version 1): newline-delimited JSON over a unix socket.

Frames
------
One JSON object per line, UTF-8, at most :data:`MAX_FRAME_BYTES` bytes including the newline.
Binary data travels base64-encoded in a ``"data"`` field.

- request: ``{"op": <name>, "req": <id: int or str>, ...arguments}``
- reply:   ``{"req": <id>, "ok": true, ...result}`` or
           ``{"req": <id or null>, "ok": false, "error": <message>, "kind": <ArgusError class name>}``
- event:   ``{"event": "output", "session_id", "offset", "data"}`` and
           ``{"event": "exit", "session_id", "code", "signal", "end_offset"}`` (after ``attach``)

The first request on a connection must be ``hello`` ``{"version": 1, "pid": <client pid>}``; the
reply carries the supervisor's ``{"version": 1, "pid": ...}``. A different major version gets an
error reply and the connection is closed. A bad frame (not JSON, not an object, over the size cap,
unknown op, bad argument) gets an error reply and the connection stays usable. Unknown extra keys
are ignored (room for additive changes within version 1).

Ops (arguments → result)
------------------------
- ``hello`` {version, pid} → {version, pid}
- ``spawn`` {session_id, argv, cwd, env, rows, cols, meta} → {session: <session info>}
- ``list`` {} → {sessions: [<session info>]}; session info = {session_id, pid, argv, cwd, meta, rows,
  cols, start_cols, start_offset, end_offset, started_at, exited, exit_code, exit_signal}
- ``attach`` {session_id, offset} → {offset, end_offset}; then ``output`` events starting exactly at
  ``offset`` (from the ring, else the log file; else from the earliest available byte, with its real
  offset, so a gap is visible), then live output, then one ``exit`` event. Attaching again to the
  same session on the same connection replaces the previous attach.
- ``detach`` {session_id} → {}
- ``input`` {session_id, data} → {} (queued in order for the PTY)
- ``resize`` {session_id, rows, cols} → {}
- ``signal`` {session_id, signal: int} → {}
- ``kill`` {session_id, grace: float = 3.0} → {} (SIGHUP, then SIGTERM, then SIGKILL; exit follows)
- ``forget`` {session_id} → {} (an exited session's record; its log file stays)
- ``shutdown`` {} → {} (kills every session, then the supervisor exits)
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import os
import socket
from pathlib import Path
from typing import Any

import trio

from .. import errors

PROTOCOL_VERSION = 1
#: Largest encoded frame accepted or sent, newline included.
MAX_FRAME_BYTES = 1024 * 1024
#: Largest raw payload of one ``output`` event (base64 keeps the frame well under the cap).
MAX_OUTPUT_DATA = 64 * 1024
#: Largest raw payload of one ``input`` request.
MAX_INPUT_DATA = 512 * 1024

#: Seconds a peer may take to accept one frame before it is disconnected.
SEND_TIMEOUT = 10.0

OPS = frozenset({"hello", "spawn", "list", "attach", "detach", "input", "resize", "signal", "kill",
                 "forget", "shutdown"})

ERROR_KINDS: dict[str, type[errors.ArgusError]] = {
    cls.__name__: cls
    for cls in (errors.Invalid, errors.Unauthorized, errors.Forbidden, errors.NotFound, errors.Conflict,
                errors.TooLarge, errors.TooMany, errors.Unavailable)
}


class ProtocolError(errors.Invalid):
    """A frame that breaks the protocol (bad JSON, not an object, bad argument)."""


class FrameTooLarge(ProtocolError):
    """A frame over :data:`MAX_FRAME_BYTES` (it was skipped up to its newline)."""


def encode(frame: dict[str, Any]) -> bytes:
    """One frame as a line of compact JSON; raises FrameTooLarge over the cap."""
    # ASCII-only JSON: surrogate-escaped bytes (from os.environ, argv, paths) survive the trip
    line = json.dumps(frame, separators=(",", ":")).encode() + b"\n"
    if len(line) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {len(line)} bytes exceeds the {MAX_FRAME_BYTES}-byte cap")
    return line


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line (without its newline) into a frame dict, or raise ProtocolError."""
    try:
        frame = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"bad frame: not JSON ({exc})") from None
    if not isinstance(frame, dict):
        raise ProtocolError("bad frame: not a JSON object")
    return frame


def b64encode(data: bytes) -> str:
    """Binary → the ``data`` field's text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object) -> bytes:
    """The ``data`` field → bytes, or raise ProtocolError."""
    if not isinstance(text, str):
        raise ProtocolError("'data' must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("'data' is not valid base64") from None


def reply_ok(req: object, **result: Any) -> dict[str, Any]:
    """A success reply to request ``req``."""
    return {"req": req, "ok": True, **result}


def reply_error(req: object, exc: errors.ArgusError) -> dict[str, Any]:
    """An error reply to request ``req`` (``kind`` names the error class)."""
    kind = next((name for name, cls in ERROR_KINDS.items() if type(exc) is cls), None)
    if kind is None:
        kind = next((name for name, cls in ERROR_KINDS.items() if isinstance(exc, cls)), "Invalid")
    return {"req": req, "ok": False, "error": exc.message, "kind": kind}


def error_from_reply(reply: dict[str, Any]) -> errors.ArgusError:
    """The exception an error reply stands for."""
    cls = ERROR_KINDS.get(str(reply.get("kind")), errors.Unavailable)
    return cls(str(reply.get("error") or "supervisor error"))


def check_version(frame: dict[str, Any]) -> int:
    """The peer's major version from a hello frame; raises ProtocolError if it is not ours."""
    version = frame.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError("hello needs an integer 'version'")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version mismatch: supervisor speaks {PROTOCOL_VERSION}, peer {version}")
    return version


_MISSING = object()


def arg(frame: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
    """Argument ``name`` of a request, type-checked; raises ProtocolError naming it."""
    if name not in frame or frame[name] is None:
        if default is _MISSING:
            raise ProtocolError(f"missing argument {name!r}")
        return default
    value = frame[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ProtocolError(f"argument {name!r} has the wrong type")
    if not isinstance(value, kinds):
        raise ProtocolError(f"argument {name!r} has the wrong type")
    return value


class LineBuffer:
    """Splits received bytes into frames, enforcing the size cap (shared by async and sync ends).

    A line over the cap is dropped as it arrives (never buffered whole) and reported, in its place,
    as a FrameTooLarge from :meth:`next_frame`.
    """

    _TOO_LARGE = None

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self.max_frame = max_frame
        self._partial = bytearray()
        self._ready: collections.deque[bytes | None] = collections.deque()
        self._discarding = False

    def feed(self, data: bytes | bytearray) -> None:
        """Add received bytes."""
        start = 0
        while (idx := data.find(b"\n", start)) >= 0:
            if self._discarding:
                self._discarding = False
                self._ready.append(self._TOO_LARGE)
            else:
                self._partial += data[start:idx]
                too_large = len(self._partial) + 1 > self.max_frame
                self._ready.append(self._TOO_LARGE if too_large else bytes(self._partial))
            self._partial.clear()
            start = idx + 1
        if not self._discarding:
            self._partial += data[start:]
            if len(self._partial) + 1 > self.max_frame:
                self._discarding = True
                self._partial.clear()

    def next_frame(self) -> dict[str, Any] | None:
        """The next complete frame, ``None`` if none is complete; raises ProtocolError for a bad one."""
        while self._ready:
            line = self._ready.popleft()
            if line is self._TOO_LARGE:
                raise FrameTooLarge(f"frame exceeds the {self.max_frame}-byte cap")
            assert line is not None
            if line.strip():
                return decode(line)
        return None


class Connection:
    """Frames over a trio stream: ``receive`` (one reader) and ``send`` (serialized by a lock)."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._lines = LineBuffer()
        self._send_lock = trio.Lock()
        self._eof = False
        self._broken = False

    async def receive(self) -> dict[str, Any] | None:
        """The next frame, ``None`` at end of stream; raises ProtocolError for a bad frame."""
        while True:
            frame = self._lines.next_frame()
            if frame is not None:
                return frame
            if self._eof:
                return None
            data = await self.stream.receive_some(65536)
            if not data:
                self._eof = True
                continue
            self._lines.feed(data)

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame (whole frames never interleave).

        The write is shielded from cancellation (a frame cut in half would corrupt the stream);
        a peer that does not take it within :data:`SEND_TIMEOUT` seconds gets disconnected
        (BrokenResourceError).
        """
        line = encode(frame)
        async with self._send_lock:
            if self._broken:
                raise trio.BrokenResourceError("connection closed after a stalled send")
            with trio.CancelScope(shield=True) as scope:
                scope.deadline = trio.current_time() + SEND_TIMEOUT
                await self.stream.send_all(line)
            if scope.cancelled_caught:
                self._broken = True
                with trio.CancelScope(shield=True):
                    await self.stream.aclose()
                raise trio.BrokenResourceError("the peer stopped reading")

    async def aclose(self) -> None:
        """Close the stream."""
        await self.stream.aclose()


def _short_address(path: Path) -> tuple[str, int | None]:
    """A bindable/connectable address for ``path``: itself, or via /proc/self/fd if too long.

    ``sun_path`` holds 107 bytes; a long ARGUS_HOME is reached through an O_PATH fd to its
    directory (the returned fd must be closed by the caller after bind/connect).
    """
    text = os.fspath(path)
    if len(os.fsencode(text)) < 100:
        return text, None
    dirfd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{dirfd}/{path.name}", dirfd


async def connect_unix(path: Path) -> trio.SocketStream:
    """Connect to the unix socket at ``path`` (raises OSError if nothing listens)."""
    address, dirfd = _short_address(path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.connect(address)
    except BaseException:
        sock.close()
        raise
    finally:
        if dirfd is not None:
            os.close(dirfd)
    return trio.SocketStream(sock)


def connect_unix_sync(path: Path, timeout: float) -> socket.socket:
    """Blocking connect for the CLI helpers (raises OSError if nothing listens)."""
    address, dirfd = _short_address(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    finally:
        if dirfd is not None:
            os.close(dirfd)
    return sock


async def listen_unix(path: Path) -> trio.SocketListener:
    """Bind and listen on ``path`` (replacing a stale file) with mode 0600."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    address, dirfd = _short_address(path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        await sock.bind(address)
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
        if dirfd is not None:
            os.close(dirfd)
    os.chmod(path, 0o600)
    sock.listen(64)
    return trio.SocketListener(sock)


class SyncClient:
    """A blocking client for the CLI helpers (start/stop/status): hello, then request/reply."""

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        self.sock = connect_unix_sync(path, timeout)
        self._lines = LineBuffer()
        self._next = 0
        try:
            self.hello = self.request("hello", version=PROTOCOL_VERSION, pid=os.getpid())
        except BaseException:
            self.close()
            raise

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send a request and return its reply's fields; raises the error it carries."""
        self._next += 1
        req = self._next
        self.sock.sendall(encode({"op": op, "req": req, **args}))
        while True:
            frame = self.receive()
            if frame is None:
                raise errors.Unavailable("the supervisor closed the connection")
            if frame.get("req") == req and "ok" in frame:
                if not frame["ok"]:
                    raise error_from_reply(frame)
                return frame

    def receive(self) -> dict[str, Any] | None:
        """The next frame (``None`` at end of stream)."""
        while True:
            frame = self._lines.next_frame()
            if frame is not None:
                return frame
            data = self.sock.recv(65536)
            if not data:
                return None
            self._lines.feed(data)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
