"""The session-supervisor wire protocol (versions 1 and 2) over a unix socket.

Frames
------
Control frames are JSON objects, one per line, UTF-8, at most :data:`MAX_FRAME_BYTES` bytes
including the newline:

- request: ``{"op": <name>, "req": <id: int or str>, ...arguments}``
- reply:   ``{"req": <id>, "ok": true, ...result}`` or
           ``{"req": <id or null>, "ok": false, "error": <message>, "kind": <ArgusError class name>}``
- event:   ``{"event": "output", "session_id", "offset", "data"}`` (version 1 only),
           ``{"event": "exit", "session_id", "code", "signal", "end_offset"}`` (after ``attach``) and
           ``{"event": "input_error", "session_id", "error", "kind"}`` (version 2: a refused data
           frame of input)

Version 2 adds **data frames** for terminal bytes, next to the JSON lines: a 16-byte header
``struct ">BBBxIQ"`` = (:data:`DATA_MAGIC` 0x00, kind, session id length, payload length, offset),
then the session id (ASCII), then the raw payload (at most :data:`MAX_FRAME_BYTES`). A JSON line
never starts with a NUL byte, so the two kinds are told apart by the first byte. Kinds:

- ``O`` (:data:`KIND_OUTPUT`, supervisor → daemon): output of an attached session at ``offset``;
  replaces the base64 ``output`` event.
- ``I`` (:data:`KIND_INPUT`, daemon → supervisor): input for a session (``offset`` unused, 0);
  no reply. Input is queued for the PTY in the order it arrives on the connection; an input that
  cannot be queued (unknown or exited session, too much pending) is reported asynchronously by an
  ``input_error`` event. The JSON ``input`` op (with a reply) still works.

In version 1, binary data travels base64-encoded in a ``"data"`` field.

Handshake
---------
The first request on a connection must be ``hello`` ``{"version": <int>, "versions": [<int>...],
"pid": <client pid>}``. ``versions`` lists every version the client speaks (a version-1 client
sends only ``version``); the supervisor answers with the highest version both speak
``{"version": <chosen>, "versions": [<its versions>], "pid": ...}``, and both sides use it from the
next frame on. A client that wants to reach a version-1 supervisor too sends ``"version": 1`` and
``"versions": [1, 2]``: a version-1 supervisor ignores the unknown key and answers 1. With no
common version the client gets an error reply and the connection is closed. A bad frame (not JSON,
not an object, over the size cap, unknown op, bad argument) gets an error reply and the connection
stays usable. Unknown extra keys are ignored (room for additive changes within a version).

The supervisor outlives daemon restarts and updates, so a new daemon may meet an old supervisor
(and an old daemon a new one): the handshake picks the version both speak.

Ops (arguments → result)
------------------------
- ``hello`` {version, versions, pid} → {version, versions, pid}
- ``spawn`` {session_id, argv, cwd, env, rows, cols, meta} → {session: <session info>}
- ``list`` {} → {sessions: [<session info>]}; session info = {session_id, pid, argv, cwd, meta, rows,
  cols, start_cols, start_offset, end_offset, started_at, exited, exit_code, exit_signal}
- ``attach`` {session_id, offset} → {offset, end_offset}; then output starting exactly at
  ``offset`` (from the ring, else the log file; else from the earliest available byte, with its real
  offset, so a gap is visible), then live output, then one ``exit`` event. Attaching again to the
  same session on the same connection replaces the previous attach.
- ``detach`` {session_id} → {}
- ``input`` {session_id, data: base64} → {} (queued in order for the PTY)
- ``resize`` {session_id, rows, cols} → {}
- ``signal`` {session_id, signal: int} → {}
- ``kill`` {session_id, grace: float = 3.0} → {} (SIGHUP, then SIGTERM, then SIGKILL; exit follows)
- ``forget`` {session_id} → {} (an exited session's record; its log file stays)
- ``shutdown`` {} → {} (kills every session, then the supervisor exits)
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from .. import errors

#: The newest protocol version (this supervisor's and this daemon's preference).
PROTOCOL_VERSION = 2
#: Every version spoken here, oldest first.
SUPPORTED_VERSIONS = (1, 2)
#: The first version with data frames.
DATA_FRAMES_VERSION = 2
#: Largest encoded frame accepted or sent, newline included.
MAX_FRAME_BYTES = 1024 * 1024
#: Largest raw payload of one version-1 ``output`` event (base64 keeps the frame well under the cap).
MAX_OUTPUT_DATA = 64 * 1024
#: Largest payload of one version-2 output data frame (queued chunks are merged up to it).
MAX_OUTPUT_BATCH = 256 * 1024
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


#: First byte of a data frame (a JSON line never starts with it).
DATA_MAGIC = 0x00
#: Data frame kinds.
KIND_OUTPUT = ord("O")
KIND_INPUT = ord("I")
DATA_KINDS = frozenset({KIND_OUTPUT, KIND_INPUT})
#: Data frame header: magic, kind, session id length, (pad), payload length, offset.
DATA_HEADER = struct.Struct(">BBBxIQ")


class ProtocolError(errors.Invalid):
    """A frame that breaks the protocol (bad JSON, not an object, bad argument)."""


class FrameTooLarge(ProtocolError):
    """A frame over :data:`MAX_FRAME_BYTES` (it was skipped)."""


@dataclass(frozen=True, slots=True)
class DataFrame:
    """A version-2 data frame: terminal bytes of one session (``offset``: absolute, output only)."""

    kind: int
    session_id: str
    offset: int
    data: bytes


#: What a connection receives: a JSON control frame or a data frame.
Frame = dict[str, Any] | DataFrame


def encode_data(kind: int, session_id: str, offset: int, data: bytes) -> bytes:
    """One data frame; raises FrameTooLarge over the cap, ProtocolError for a bad session id."""
    sid = session_id.encode("ascii", "strict") if session_id.isascii() else b""
    if not sid or len(sid) > 255:
        raise ProtocolError(f"bad session id for a data frame: {session_id!r}")
    if len(data) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"data frame of {len(data)} bytes exceeds the {MAX_FRAME_BYTES}-byte cap")
    return DATA_HEADER.pack(DATA_MAGIC, kind, len(sid), len(data), offset) + sid + data


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


def offered_versions(frame: dict[str, Any]) -> set[int]:
    """The versions a hello frame offers (``versions``, else its single ``version``)."""
    version = frame.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError("hello needs an integer 'version'")
    offered = {version}
    versions = frame.get("versions")
    if isinstance(versions, list):
        offered |= {v for v in versions if isinstance(v, int) and not isinstance(v, bool)}
    return offered


def negotiate(frame: dict[str, Any], spoken: tuple[int, ...] = SUPPORTED_VERSIONS) -> int:
    """The version to speak with the peer of a hello frame: the highest both speak.

    Raises ProtocolError if there is none.
    """
    offered = offered_versions(frame)
    common = offered & set(spoken)
    if not common:
        raise ProtocolError(f"protocol version mismatch: supervisor speaks {_spoken(spoken)}, "
                            f"peer {_spoken(tuple(sorted(offered)))}")
    return max(common)


def _spoken(versions: tuple[int, ...] = SUPPORTED_VERSIONS) -> str:
    return ", ".join(map(str, versions))


def hello_request(req: object = 0, *, versions: tuple[int, ...] = SUPPORTED_VERSIONS) -> dict[str, Any]:
    """A client's hello offering ``versions`` (``version`` is the oldest, for version-1 peers)."""
    return {"op": "hello", "req": req, "version": min(versions), "versions": list(versions), "pid": os.getpid()}


def chosen_version(reply: dict[str, Any], offered: tuple[int, ...] = SUPPORTED_VERSIONS) -> int:
    """The version a hello reply settled on; raises ProtocolError if we did not offer it."""
    version = reply.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version not in offered:
        raise ProtocolError(f"the supervisor answered hello with version {version!r}; we speak {_spoken()}")
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


class FrameBuffer:
    """Splits received bytes into frames, enforcing the size cap (shared by async and sync ends).

    JSON lines always; data frames too once :attr:`binary` is set (after a version-2 handshake).
    Bytes are parsed lazily by :meth:`next_frame`, so switching :attr:`binary` right after the
    hello applies to every later frame. A frame over the cap is dropped as it arrives (never
    buffered whole) and reported, in its place, as a FrameTooLarge from :meth:`next_frame`.
    """

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self.max_frame = max_frame
        self.binary = False
        self._buf = bytearray()
        self._pos = 0        # start of the first unparsed byte
        self._scanned = 0    # no newline in _buf[_pos:_scanned] (a long line arriving in pieces)
        self._skip = 0       # bytes still to drop of an oversized data frame
        self._discarding = False  # dropping an oversized line up to its newline

    def feed(self, data: bytes | bytearray) -> None:
        """Add received bytes."""
        if self._pos:
            del self._buf[:self._pos]
            self._scanned = max(0, self._scanned - self._pos)
            self._pos = 0
        self._buf += data

    def _too_large(self) -> FrameTooLarge:
        return FrameTooLarge(f"frame exceeds the {self.max_frame}-byte cap")

    def next_frame(self) -> Frame | None:
        """The next complete frame, ``None`` if none is complete; raises ProtocolError for a bad one."""
        buf = self._buf
        while True:
            pos = self._pos
            avail = len(buf) - pos
            if avail <= 0:
                return None
            if self._skip:
                dropped = min(self._skip, avail)
                self._skip -= dropped
                self._pos += dropped
                if not self._skip:
                    raise self._too_large()
                return None
            if self._discarding:
                idx = buf.find(b"\n", pos)
                if idx < 0:
                    self._pos = len(buf)
                    return None
                self._pos = self._scanned = idx + 1
                self._discarding = False
                raise self._too_large()
            if self.binary and buf[pos] == DATA_MAGIC:
                if avail < DATA_HEADER.size:
                    return None
                _magic, kind, sid_len, length, offset = DATA_HEADER.unpack_from(buf, pos)
                total = DATA_HEADER.size + sid_len + length
                if length > self.max_frame:
                    self._pos += min(total, avail)
                    self._skip = total - min(total, avail)
                    if not self._skip:
                        raise self._too_large()
                    return None
                if avail < total:
                    return None
                body = pos + DATA_HEADER.size
                sid = bytes(buf[body:body + sid_len])
                with memoryview(buf) as view:  # one copy of the payload, not two (slice, then bytes)
                    data = bytes(view[body + sid_len:pos + total])
                self._pos = self._scanned = pos + total
                if kind not in DATA_KINDS:
                    raise ProtocolError(f"bad data frame: unknown kind {kind}")
                if not sid or not sid.isascii():
                    raise ProtocolError("bad data frame: bad session id")
                return DataFrame(kind, sid.decode("ascii"), offset, data)
            idx = buf.find(b"\n", max(pos, self._scanned))
            if idx < 0:
                self._scanned = len(buf)
                if avail + 1 > self.max_frame:
                    self._discarding = True
                    self._pos = len(buf)
                return None
            self._pos = self._scanned = idx + 1
            if idx - pos + 1 > self.max_frame:
                raise self._too_large()
            line = bytes(buf[pos:idx])
            if line.strip():
                return decode(line)


class Connection:
    """Frames over a trio stream: ``receive`` (one reader); ``send``/``send_data`` (serialized)."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.version = 1
        self._frames = FrameBuffer()
        self._send_lock = trio.Lock()
        self._eof = False
        self._broken = False

    def use_version(self, version: int) -> None:
        """Speak ``version`` from the next frame on (both directions)."""
        self.version = version
        self._frames.binary = version >= DATA_FRAMES_VERSION

    @property
    def data_frames(self) -> bool:
        """Whether terminal bytes travel as data frames on this connection (version 2)."""
        return self.version >= DATA_FRAMES_VERSION

    async def receive(self) -> Frame | None:
        """The next frame, ``None`` at end of stream; raises ProtocolError for a bad frame."""
        while True:
            frame = self._frames.next_frame()
            if frame is not None:
                return frame
            if self._eof:
                return None
            data = await self.stream.receive_some(262144)
            if not data:
                self._eof = True
                continue
            self._frames.feed(data)

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one JSON frame (whole frames never interleave); see :meth:`_send_bytes`."""
        await self._send_bytes(encode(frame))

    async def send_data(self, kind: int, session_id: str, offset: int, data: bytes) -> None:
        """Send one data frame (version 2 only)."""
        if not self.data_frames:
            raise ProtocolError("data frames need protocol version 2")
        await self._send_bytes(encode_data(kind, session_id, offset, data))

    async def _send_bytes(self, payload: bytes) -> None:
        """Write one encoded frame.

        The write is shielded from cancellation (a frame cut in half would corrupt the stream);
        a peer that does not take it within :data:`SEND_TIMEOUT` seconds gets disconnected
        (BrokenResourceError).
        """
        async with self._send_lock:
            if self._broken:
                raise trio.BrokenResourceError("connection closed after a stalled send")
            with trio.CancelScope(shield=True) as scope:
                scope.deadline = trio.current_time() + SEND_TIMEOUT
                await self.stream.send_all(payload)
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
    """A blocking client for the CLI helpers (start/stop/status): hello, then request/reply.

    It speaks version 1 (JSON only), which every supervisor understands.
    """

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        self.sock = connect_unix_sync(path, timeout)
        self._lines = FrameBuffer()  # version 1: JSON lines only
        self._next = 0
        try:
            self.hello = self.request("hello", version=1, pid=os.getpid())
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
            if isinstance(frame, dict):
                return frame
            data = self.sock.recv(65536)
            if not data:
                return None
            self._lines.feed(data)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
