"""A bare WebSocket client for the benchmarks: the minimum of RFC 6455 over a trio TCP stream.

It exists so that a benchmark measuring a server's WebSocket path does not also measure a client
library's work per frame (trio-websocket runs wsproto and a reader task, and hands each message
through a memory channel). It does exactly this and no more: the opening handshake (the answer's
``Sec-WebSocket-Accept`` is not checked), masked binary and text frames out (the mask is all
zeroes, which RFC 6455 allows: masking is required, a random key is not), unmasked frames in
(unfragmented: the servers measured here never fragment), and a close frame on ``aclose``.
Ping frames are answered; a close frame from the server ends the stream.
"""

from __future__ import annotations

import base64
import os
import socket

import trio

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


def frame_header(opcode: int, length: int) -> bytes:
    """The header of one final, masked client frame (zero masking key) carrying ``length`` bytes."""
    first = bytes([0x80 | opcode])
    if length < 126:
        return first + bytes([0x80 | length]) + b"\0\0\0\0"
    if length < 1 << 16:
        return first + bytes([0x80 | 126]) + length.to_bytes(2, "big") + b"\0\0\0\0"
    return first + bytes([0x80 | 127]) + length.to_bytes(8, "big") + b"\0\0\0\0"


class BareWebSocket:
    """One client connection. ``receive_some``/``send_all`` make it usable where a byte stream is:
    binary payloads in, binary frames out (text frames from the server are skipped)."""

    def __init__(self, stream: trio.SocketStream, buffered: bytes) -> None:
        self.stream = stream
        self._buf = bytearray(buffered)
        self._pos = 0
        self.closed = False
        #: Text frames received so far (JSON control messages, such as Argus's ``session`` frame).
        self.texts: list[str] = []

    @classmethod
    async def connect(cls, port: int, path: str, headers: dict[str, str] | None = None,
                      host: str = "127.0.0.1", timeout: float = 15.0) -> BareWebSocket:
        """Open a TCP connection to ``host:port`` (retrying while the server is starting) and
        upgrade it with ``GET path``; raises on a refused upgrade."""
        with trio.fail_after(timeout):
            while True:
                try:
                    stream = await trio.open_tcp_stream(host, port)
                    break
                except OSError:
                    await trio.sleep(0.05)
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        await stream.send_all((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                               f"{extra}\r\n").encode())
        answer = b""
        with trio.fail_after(timeout):
            while b"\r\n\r\n" not in answer:
                data = await stream.receive_some(65536)
                if not data:
                    raise ConnectionError("the server closed the connection during the upgrade")
                answer += data
        head, rest = answer.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            await stream.aclose()
            raise ConnectionError(f"upgrade refused: {head.decode(errors='replace')[:200]}")
        return cls(stream, rest)

    async def _fill(self) -> bool:
        """Read more from the socket into the buffer; False at EOF."""
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        data = await self.stream.receive_some(262144)
        if not data:
            return False
        self._buf += data
        return True

    def _parse(self) -> tuple[int, bytes] | None:
        """The next whole frame in the buffer (opcode, payload), consumed; None if incomplete."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 2:
            return None
        length = buf[pos + 1] & 0x7F
        start = pos + 2
        if length == 126:
            if len(buf) - pos < 4:
                return None
            length = int.from_bytes(buf[pos + 2:pos + 4], "big")
            start = pos + 4
        elif length == 127:
            if len(buf) - pos < 10:
                return None
            length = int.from_bytes(buf[pos + 2:pos + 10], "big")
            start = pos + 10
        if len(buf) < start + length:
            return None
        self._pos = start + length
        return buf[pos] & 0x0F, bytes(buf[start:start + length])

    async def receive_frame(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload); (OP_CLOSE, b"") at EOF."""
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            if not await self._fill():
                return OP_CLOSE, b""

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The payload of the next binary frame (b"" once the server closed); text frames are kept
        in :attr:`texts`, pings answered. ``max_bytes`` is ignored: a frame is returned whole."""
        while not self.closed:
            opcode, payload = await self.receive_frame()
            if opcode == OP_BINARY and payload:
                return payload
            if opcode == OP_TEXT:
                self.texts.append(payload.decode())
            elif opcode == OP_PING:
                await self.stream.send_all(frame_header(OP_PONG, len(payload)) + payload)
            elif opcode == OP_CLOSE:
                self.closed = True
        return b""

    async def send_all(self, data: bytes) -> None:
        """One binary frame."""
        await self.stream.send_all(frame_header(OP_BINARY, len(data)) + data)

    async def send_text(self, text: str) -> None:
        """One text frame."""
        data = text.encode()
        await self.stream.send_all(frame_header(OP_TEXT, len(data)) + data)

    async def aclose(self) -> None:
        """Send a close frame (code 1000) and close the TCP connection."""
        try:
            if not self.closed:
                await self.stream.send_all(frame_header(OP_CLOSE, 2) + (1000).to_bytes(2, "big"))
        except trio.BrokenResourceError:
            pass
        await self.stream.aclose()
