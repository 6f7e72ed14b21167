"""An MCP client that goes away in the middle of a request leaves one INFO line in daemon.log,
not ERROR tracebacks, and the server keeps answering."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
from argus_testkit import wait_for
from kernel_helpers import mint_scope

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "MCP-Protocol-Version": "2025-06-18"}


def _initialize(daemon: Any) -> str:
    """Open an MCP session over plain HTTP; return its id."""
    with httpx.Client(headers={**daemon.headers, **HEADERS}, timeout=10) as c:
        init = c.post(daemon.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        assert init.status_code == 200, init.text
        sid = init.headers["mcp-session-id"]
        c.post(daemon.mcp_url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
               headers={"Mcp-Session-Id": sid})
        return sid


def _raw_post(daemon: Any, sid: str, body: bytes) -> bytes:
    """The bytes of a POST /mcp carrying ``body`` (Content-Length says the full length)."""
    return (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{daemon.mcp_port}\r\n"
            f"Authorization: Bearer {daemon.token}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n"
            f"MCP-Protocol-Version: 2025-06-18\r\nContent-Length: {len(body)}\r\n\r\n").encode()


def test_client_disconnect_mid_request_is_one_info_line(daemon: Any) -> None:
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)  # the tool's callback: we answer it by hand, after the caller left
    hole.settimeout(15)
    try:
        scope = mint_scope(daemon.home, daemon.client, "slow")
        resp = httpx.post(f"{daemon.url}/api/mcp/tools", headers={"X-Argus-Auth": scope["token"]},
                          json={"name": "slow_wait", "description": "answers late",
                                "callback_url": f"http://127.0.0.1:{hole.getsockname()[1]}/cb"}, timeout=10)
        assert resp.status_code == 201, resp.text
        sid = _initialize(daemon)
        body = json.dumps({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
                           "params": {"name": "slow_wait", "arguments": {}}}).encode()

        # 1. the client hangs up half-way through its request body
        with socket.create_connection(("127.0.0.1", daemon.mcp_port), timeout=10) as s:
            s.sendall(_raw_post(daemon, sid, body) + body[:10])
        # 2. the client hangs up while the tool runs; the tool answers afterwards
        with socket.create_connection(("127.0.0.1", daemon.mcp_port), timeout=10) as s:
            s.sendall(_raw_post(daemon, sid, body) + body)
            conn, _ = hole.accept()  # the call reached the tool
        with conn:
            conn.settimeout(5)
            conn.recv(65536)
            answer = b'{"result": "late"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))

        # the server still answers on the same session
        with httpx.Client(headers={**daemon.headers, **HEADERS, "Mcp-Session-Id": sid}, timeout=10) as c:
            listed = c.post(daemon.mcp_url, json={"jsonrpc": "2.0", "id": 11, "method": "tools/list"})
            assert listed.status_code == 200 and "slow_wait" in listed.text
        log = wait_for(lambda: "disconnected mid-request" in (text := (daemon.home / "daemon.log").read_text())
                       and text, 10, "the disconnect in daemon.log", interval=0.1)
        assert log.count("disconnected mid-request") == 1, log
        line = next(x for x in log.splitlines() if "disconnected mid-request" in x)
        assert " INFO " in line, line
        assert " ERROR " not in log and "Traceback" not in log, log
    finally:
        hole.close()
