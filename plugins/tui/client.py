"""The TUI's only link to the daemon: a small REST + SSE client over httpx (asyncio).

Locally it speaks HTTP over the unix socket ``$ARGUS_HOME/daemon.sock`` with the master token
from ``$ARGUS_HOME/api-token``; remotely (``argus --remote URL --token T``) it speaks HTTP(S) to
the URL. Every failure surfaces as one exception type, :class:`ApiError`, whose ``status`` is the
HTTP code (0 when the daemon could not be reached) and whose ``message`` is fit for a status line.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from argus.kernel.api import LOCAL_URL, LocalDaemon, SseEvent, SseParser, read_token

from .wsclient import WebSocket, WsClosed

LOCAL_BASE = LOCAL_URL


# Stop/restart/delete/prune wait for agents to exit and for git: allow more than a read.
ACTION_TIMEOUT = 60.0

__all__ = ["ApiError", "ArgusClient", "SseEvent", "SseParser", "read_token", "task_path"]


class ApiError(Exception):
    """A failed call: ``status`` is the HTTP code, or 0 when the daemon was unreachable."""

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.method = method
        self.path = path

    @property
    def unreachable(self) -> bool:
        """True when no HTTP answer came back at all."""
        return self.status == 0

    @property
    def unauthorized(self) -> bool:
        """True for a missing, unknown or revoked token (401)."""
        return self.status == 401

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        if self.status == 0:
            return f"daemon unreachable ({where}): {self.message}"
        if self.status == 401:
            return f"token rejected (401) on {where}: {self.message}"
        return f"{where} failed ({self.status}): {self.message}"


def _error_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason_phrase or "").strip()[:200]
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return str(body)[:200]


class ArgusClient:
    """Async client of the daemon's REST/SSE API (one per TUI process).

    ``uds`` set: local mode over the unix socket. Otherwise ``base_url`` is the remote daemon.
    ``token_file``, when given, is re-read after a 401 so a restarted daemon's new master token
    is picked up without restarting the TUI.
    """

    def __init__(self, base_url: str, token: str, *, uds: str | None = None,
                 token_file: Path | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.uds = uds
        self.token_file = token_file
        self.timeout = timeout
        self._http = self._make_client(httpx.Timeout(timeout))
        # Streams get no read deadline beyond "two keepalives missed".
        self._stream_http = self._make_client(httpx.Timeout(timeout, read=75.0))
        self._terminals: dict[str, WebSocket] = {}  # task id → its open terminal WebSocket
        self._ws_broken = False  # the daemon has no terminal WebSocket: POST + SSE

    @classmethod
    def local(cls, home: Path) -> ArgusClient:
        """A client for the daemon of ``home`` (``$ARGUS_HOME``), over its unix socket."""
        local = LocalDaemon(home)
        return cls(LOCAL_BASE, local.token(), uds=str(local.socket), token_file=local.token_file)

    @classmethod
    def remote(cls, url: str, token: str) -> ArgusClient:
        """A client for a remote daemon at ``url`` authenticated with ``token``."""
        return cls(url, token)

    @property
    def is_remote(self) -> bool:
        """True when talking to another machine's daemon (no local worktrees)."""
        return self.uds is None

    def describe(self) -> str:
        """Where the daemon is, for status lines."""
        return f"unix:{self.uds}" if self.uds else self.base_url

    def _make_client(self, timeout: httpx.Timeout) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(uds=self.uds) if self.uds else httpx.AsyncHTTPTransport()
        return httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=timeout)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if extra:
            h.update(extra)
        return h

    def _refresh_token(self) -> bool:
        if self.token_file is None:
            return False
        fresh = read_token(self.token_file)
        if fresh and fresh != self.token:
            self.token = fresh
            return True
        return False

    async def request(self, method: str, path: str, *, json_body: Any = None,
                      params: dict[str, Any] | None = None, content: bytes | None = None,
                      headers: dict[str, str] | None = None, raw: bool = False,
                      timeout: float | None = None) -> Any:
        """Call the API and return the decoded JSON (or text when ``raw``); raise ApiError."""
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        for attempt in (0, 1):
            try:
                resp = await self._http.request(method, path, json=json_body, params=params,
                                                content=content, headers=self._headers(headers), **extra)
            except httpx.HTTPError as exc:
                raise ApiError(0, str(exc) or type(exc).__name__, method, path) from None
            if resp.status_code == 401 and attempt == 0 and self._refresh_token():
                continue
            break
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, _error_message(resp), method, path)
        if raw:
            return resp.text
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            raise ApiError(resp.status_code, "the daemon answered with invalid JSON", method, path) from None

    async def get(self, path: str, /, **params: Any) -> Any:
        """GET ``path`` with query ``params``; JSON result."""
        return await self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    async def post(self, path: str, body: Any = None) -> Any:
        """POST a JSON body to ``path``; JSON result (actions may stop agents: a longer timeout)."""
        return await self.request("POST", path, json_body=body if body is not None else {},
                                  timeout=ACTION_TIMEOUT)

    async def put(self, path: str, body: Any) -> Any:
        """PUT a JSON body to ``path``; JSON result."""
        return await self.request("PUT", path, json_body=body)

    async def delete(self, path: str) -> Any:
        """DELETE ``path``; JSON result (deleting kills the agent and removes a worktree)."""
        return await self.request("DELETE", path, timeout=ACTION_TIMEOUT)

    async def send_input(self, task_id: str, data: bytes) -> None:
        """Write raw bytes to a task's PTY: a binary frame on its open terminal WebSocket (see
        :meth:`terminal`), else ``POST /api/tasks/{id}/input``."""
        ws = self._terminals.get(task_id)
        if ws is not None and not ws.closed:
            try:
                await ws.send_bytes(data)
                return
            except (WsClosed, OSError):
                pass  # the socket went away under us: the POST below delivers it
        await self.request("POST", f"/api/tasks/{quote(task_id)}/input", content=data,
                           headers={"Content-Type": "application/octet-stream"})

    async def sse(self, path: str, params: dict[str, Any] | None = None, *,
                  on_open: Callable[[], None] | None = None) -> AsyncIterator[SseEvent]:
        """Open one SSE connection and yield its events until the server ends it.

        ``on_open`` is called once the server accepted the stream (before any event). Raises
        ApiError when the connection fails or answers with an error status.
        """
        parser = SseParser()
        try:
            async with self._stream_http.stream(
                "GET", path, params={k: v for k, v in (params or {}).items() if v is not None},
                headers=self._headers({"Accept": "text/event-stream"}),
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    if resp.status_code == 401:
                        self._refresh_token()
                    raise ApiError(resp.status_code, _error_message(resp), "GET", path)
                if on_open is not None:
                    on_open()
                async for chunk in resp.aiter_raw():
                    for ev in parser.feed(chunk):
                        yield ev
        except httpx.HTTPError as exc:
            raise ApiError(0, str(exc) or type(exc).__name__, "GET", path) from None

    async def terminal(self, task_id: str, params: dict[str, Any]) -> AsyncIterator[SseEvent]:
        """A task's live output as the SSE stream's events (``session``, ``output``, ``exit``, and
        ``error`` for refused input).

        Remotely this is the terminal WebSocket (``/api/tasks/{id}/terminal``): while it is open,
        :meth:`send_input` sends keys on it as binary frames instead of one HTTP request each. Over
        the unix socket, or when the WebSocket cannot be opened, it is ``GET .../stream``. Raises
        ApiError like :meth:`sse` (404 when the task or its session is missing).
        """
        path = task_path(task_id, "/terminal")
        query = {k: v for k, v in params.items() if v is not None}
        if not self.is_remote or self._ws_broken:
            async for ev in self.sse(task_path(task_id, "/stream"), query):
                yield ev
            return
        ws = WebSocket()
        query.pop("encoding", None)  # the SSE stream's output encoding: the WebSocket sends raw bytes
        url = self.base_url.replace("http", "ws", 1) + path + (f"?{urlencode(query)}" if query else "")
        try:
            await ws.connect(url, headers=list(self._headers().items()))
        except WsClosed as exc:
            status = ws.rejected_status
            if status == 404:  # no such route (an older daemon): the SSE stream from now on
                self._ws_broken = True
                async for ev in self.sse(task_path(task_id, "/stream"), query):
                    yield ev
                return
            if status == 401:
                self._refresh_token()
            raise ApiError(status or 0, str(exc), "GET", path) from None
        pump = asyncio.ensure_future(ws.pump())
        self._terminals[task_id] = ws
        offset = 0
        try:
            while True:
                msg = await ws.recv()
                if msg is None:
                    if ws.close_code in (4404, 4409):
                        raise ApiError(404, ws.close_reason or "no session", "GET", path)
                    return  # the connection ended: the caller reconnects from its offset
                if isinstance(msg, bytes):
                    end = offset + len(msg)
                    data = json.dumps({"offset": offset, "data": base64.b64encode(msg).decode("ascii")})
                    offset = end
                    yield SseEvent("output", data, id=str(end))
                    continue
                try:
                    info = json.loads(msg)
                except ValueError:
                    continue
                if not isinstance(info, dict):
                    continue
                kind = str(info.pop("type", ""))
                if kind == "session" and isinstance(info.get("offset"), int):
                    offset = info["offset"]
                yield SseEvent(kind, json.dumps(info))
        finally:
            if self._terminals.get(task_id) is ws:
                del self._terminals[task_id]
            pump.cancel()
            await ws.close()

    async def aclose(self) -> None:
        """Close both connection pools."""
        await self._http.aclose()
        await self._stream_http.aclose()


def task_path(task_id: str, suffix: str = "") -> str:
    """``/api/tasks/{id}{suffix}`` with the id URL-quoted."""
    return f"/api/tasks/{quote(str(task_id), safe='')}{suffix}"
