"""Network listeners: the API app on the unix socket (always) and on 127.0.0.1 + the Tailscale
address (when ``api.enabled``), and the MCP server on 127.0.0.1 (always). Never 0.0.0.0.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

log = logging.getLogger(__name__)

ASGIApp = Callable[..., Awaitable[None]]
TAILSCALE_NET = ipaddress.ip_network("100.64.0.0/10")
SIOCGIFADDR = 0x8915


def tailscale_ipv4(interface: str = "tailscale0") -> str | None:
    """The IPv4 address of the Tailscale interface when it exists and is in 100.64.0.0/10."""
    try:
        names = {name for _, name in socket.if_nameindex()}
    except OSError:
        return None
    if interface not in names:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    addr = socket.inet_ntoa(packed[20:24])
    return addr if ipaddress.ip_address(addr) in TAILSCALE_NET else None


def api_binds(port: int) -> list[str]:
    """TCP binds for the API: loopback plus the Tailscale address if there is one."""
    binds = [f"127.0.0.1:{port}"]
    ts = tailscale_ipv4()
    if ts:
        binds.append(f"{ts}:{port}")
    return binds


def _config(binds: list[str]) -> Config:
    config = Config()
    config.bind = binds
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 75
    config.websocket_ping_interval = 20.0
    return config


async def serve_app(app: Any, binds: list[str], *,
                    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve an ASGI app on ``binds`` until cancelled; started() once the sockets are bound."""
    for bind in binds:
        host = bind.rsplit(":", 1)[0]
        if bind.startswith("unix:"):
            continue
        if host in ("0.0.0.0", "", "::", "[::]"):
            raise ValueError("refusing to bind a wildcard address")
    await serve(app, _config(binds), task_status=task_status, mode="asgi")


async def serve_unix(app: Any, path: Path, *,
                     task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve on a unix socket with mode 0600 (stale socket files are removed first)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    async with trio.open_nursery() as nursery:
        old = os.umask(0o177)  # only while the socket file is created: agents inherit the umask
        try:
            await nursery.start(serve_app, app, [f"unix:{path}"])
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        task_status.started()


def path_dispatcher(routes: dict[str, Any], lifespan_app: Any) -> ASGIApp:
    """A tiny ASGI dispatcher: longest matching path prefix wins; lifespan goes to one app."""
    ordered = sorted(routes.items(), key=lambda kv: -len(kv[0]))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan_app(scope, receive, send)
            return
        path = scope.get("path", "")
        for prefix, target in ordered:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/") or prefix == "":
                await target(scope, receive, send)
                return
        if scope["type"] == "http":
            body = b'{"error": "not found"}'
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    return app
