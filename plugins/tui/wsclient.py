"""A minimal WebSocket client (wsproto over asyncio streams) for the TUI: plugin views and the
remote terminal of a task. No prompt_toolkit here: the daemon-facing client imports it."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.events import (
    Event as WsEvent,
)


class WsClosed(Exception):
    """The WebSocket is closed (or never opened)."""


class WebSocket:
    """A minimal WebSocket client (wsproto + asyncio streams): binary/text send and receive."""

    def __init__(self) -> None:
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._messages: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self._parts: list[Any] = []
        self.closed = False
        self.close_code: int | None = None  # the peer's close code and reason, once it closed
        self.close_reason = ""
        self.rejected_status: int | None = None  # the HTTP status of a refused handshake

    async def connect(self, url: str, timeout: float = 5.0,
                      headers: list[tuple[str, str]] | None = None) -> None:
        """Open the connection and complete the handshake (with extra ``headers``), or raise WsClosed."""
        u = urlsplit(url)
        if u.scheme not in ("ws", "wss") or not u.hostname:
            raise WsClosed(f"not a ws:// URL: {url}")
        port = u.port or (443 if u.scheme == "wss" else 80)
        ctx = ssl.create_default_context() if u.scheme == "wss" else None
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(u.hostname, port, ssl=ctx), timeout)
        except (OSError, TimeoutError) as exc:
            raise WsClosed(f"cannot connect to {url}: {exc}") from None
        target = (u.path or "/") + (f"?{u.query}" if u.query else "")
        host = u.netloc.rsplit("@", 1)[-1]
        extra = [(k.encode(), v.encode()) for k, v in (headers or [])]
        await self._send(Request(host=host, target=target, extra_headers=extra))
        try:
            await asyncio.wait_for(self._handshake(), timeout)
        except TimeoutError:
            raise WsClosed(f"{url}: no WebSocket handshake answer") from None

    async def _handshake(self) -> None:
        assert self._reader is not None
        accepted = False
        while not accepted:
            data = await self._reader.read(65536)
            if not data:
                raise WsClosed("connection closed during the handshake")
            self._ws.receive_data(data)
            # Frames may ride in the same packet as the handshake answer: handle them all.
            for ev in self._ws.events():
                if isinstance(ev, AcceptConnection):
                    accepted = True
                elif isinstance(ev, RejectConnection):
                    self.rejected_status = ev.status_code
                    raise WsClosed(f"handshake rejected ({ev.status_code})")
                else:
                    self._handle(ev)

    async def _send(self, event: WsEvent) -> None:
        if self._writer is None or self.closed:
            raise WsClosed("not connected")
        self._writer.write(self._ws.send(event))
        await self._writer.drain()

    def _handle(self, ev: WsEvent) -> None:
        if isinstance(ev, Message):
            self._parts.append(ev.data)
            if ev.message_finished:
                first = self._parts[0]
                msg = "".join(self._parts) if isinstance(first, str) else b"".join(self._parts)
                self._parts = []
                self._messages.put_nowait(msg)
        elif isinstance(ev, Ping) and self._writer is not None:
            self._writer.write(self._ws.send(ev.response()))
        elif isinstance(ev, CloseConnection):
            self.close_code, self.close_reason = ev.code, ev.reason or ""
            if self._writer is not None:
                try:
                    self._writer.write(self._ws.send(ev.response()))
                except Exception:  # the peer may be gone already
                    pass
            self.closed = True
            self._messages.put_nowait(None)

    async def pump(self) -> None:
        """Read from the socket until it closes, queueing whole messages for :meth:`recv`."""
        assert self._reader is not None
        try:
            while not self.closed:
                data = await self._reader.read(65536)
                if not data:
                    break
                self._ws.receive_data(data)
                for ev in self._ws.events():
                    self._handle(ev)
        finally:
            self.closed = True
            self._messages.put_nowait(None)

    async def recv(self) -> bytes | str | None:
        """The next message (bytes or str), or None once closed."""
        return await self._messages.get()

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        await self._send(BytesMessage(data=data))

    async def send_text(self, text: str) -> None:
        """Send a text frame."""
        await self._send(TextMessage(data=text))

    async def close(self) -> None:
        """Close politely (best effort) and drop the connection."""
        if self._writer is None:
            return
        if not self.closed:
            try:
                await asyncio.wait_for(self._send(CloseConnection(code=1000)), 1.0)
            except Exception:  # closing a dead socket
                pass
        self.closed = True
        self._writer.close()
