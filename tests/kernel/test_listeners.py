"""Where the daemon listens: loopback (and Tailscale) only, never a wildcard; a private unix socket
and master-token file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from argus.kernel.listeners import TAILSCALE_NET, api_binds, serve_app
from argus.kernel.tokens import ensure_master_token


def _decode(hex_addr: str) -> tuple[str, int]:
    addr, port = hex_addr.split(":")
    raw = bytes.fromhex(addr)
    # /proc stores the address as host-order 32-bit words.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, words), int(port, 16)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by ``pid``."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A = TCP_LISTEN
                out.append(_decode(cols[1]))
    return out


def _allowed(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or (isinstance(ip, ipaddress.IPv4Address) and ip in TAILSCALE_NET)


def test_daemon_listens_on_loopback_only(daemon: Any) -> None:
    assert daemon.proc is not None
    socks = listening_sockets(daemon.proc.pid)
    ports = {port for _, port in socks}
    assert {daemon.api_port, daemon.mcp_port} <= ports, socks
    wild = [s for s in socks if not _allowed(s[0])]
    assert not wild, f"listening beyond loopback/Tailscale: {wild}"
    assert not [s for s in socks if s[0] in ("0.0.0.0", "::")]


def test_with_the_api_off_only_mcp_listens_on_tcp(daemon_factory: Any) -> None:
    d = daemon_factory("noapi", api=False)
    socks = listening_sockets(d.proc.pid)
    assert [port for _, port in socks] == [d.mcp_port], socks
    assert all(_allowed(addr) for addr, _ in socks)
    with d.unix_client() as c:
        assert c.get("/api/status").json()["version"]


def test_mcp_port_does_not_serve_the_rest_api(daemon: Any) -> None:
    base = f"http://127.0.0.1:{daemon.mcp_port}"
    for path in ("/api/status", "/api/tokens", "/api/settings", "/"):
        resp = httpx.get(base + path, headers=daemon.headers, timeout=10)
        assert resp.status_code == 404, (path, resp.status_code)


def _umask(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise AssertionError("no Umask in /proc status")


def test_daemon_keeps_the_users_umask_after_binding_its_socket(daemon: Any) -> None:
    """The 0600 unix socket must not leave the daemon (and every agent, git worktree and directory
    it creates later) with umask 0177: directories would be created 0600, unusable by their owner."""
    assert daemon.proc is not None
    assert _umask(daemon.proc.pid) == _umask(os.getpid())


def test_unix_socket_token_and_runtime_files_are_private(daemon: Any) -> None:
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    token_path = daemon.home / "api-token"
    assert stat.S_IMODE(os.stat(token_path).st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n?", token_path.read_text())
    assert stat.S_IMODE(os.stat(daemon.home / "daemon.json").st_mode) == 0o600
    # The token file holds the only plaintext: the database keeps hashes.
    device = daemon.client.post("/api/tokens", json={"label": "x"}).json()["token"]
    assert device.encode() not in (daemon.home / "data.sql").read_bytes()


def test_mcp_listener_refuses_a_foreign_host_header(daemon: Any) -> None:
    """DNS-rebinding protection: a page on evil.example cannot drive the MCP server."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "0"}}}
    headers = {"Accept": "application/json, text/event-stream", "Host": "evil.example",
               "Authorization": f"Bearer {daemon.token}"}
    resp = httpx.post(daemon.mcp_url, json=body, headers=headers, timeout=10)
    assert resp.status_code == 421


def test_master_token_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "api-token"
    token = ensure_master_token(path)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ensure_master_token(path) == token
    path.chmod(0o644)
    assert ensure_master_token(path) == token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text("garbage\n")
    fresh = ensure_master_token(path)
    assert fresh != token and re.fullmatch(r"[0-9a-f]{64}", fresh)


@pytest.mark.parametrize("bind", ["0.0.0.0:0", "[::]:0", ":0"])
async def test_serve_app_refuses_wildcard_binds(bind: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never served
        raise AssertionError

    with trio.fail_after(5), pytest.raises(ValueError, match="wildcard"):
        await serve_app(app, [bind])


def test_api_binds_are_loopback_plus_tailscale_at_most() -> None:
    binds = api_binds(7743)
    assert binds[0] == "127.0.0.1:7743"
    for bind in binds[1:]:
        assert ipaddress.ip_address(bind.rsplit(":", 1)[0]) in TAILSCALE_NET
