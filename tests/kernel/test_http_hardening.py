"""The TCP API against a browser-borne attacker: the ``Host`` check (DNS rebinding), no framing by
other pages, and ``?token=`` only where a browser cannot send headers (SSE/WebSocket).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from argus.kernel.http import split_host
from kernel_helpers import bearer, write_config


def _get(d: Any, path: str, host: str | None = None, **kw: Any) -> httpx.Response:
    headers = {**bearer(d.token), **({"Host": host} if host is not None else {}), **kw.pop("headers", {})}
    return httpx.get(f"{d.url}{path}", headers=headers, timeout=10, **kw)


def test_only_the_listen_address_localhost_and_configured_names_are_served(daemon_factory: Any) -> None:
    d = daemon_factory("hosts", start=False)
    write_config(d.home, '[api]\nallowed_hosts = ["argus.tail1efd7.ts.net"]\n')
    d.start()
    port = d.api_port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", "argus.tail1efd7.ts.net",
                 "argus.tail1efd7.ts.net:443"):
        assert _get(d, "/api/status", host).status_code == 200, host
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1",
                 f"10.0.0.1:{port}", "", "127.0.0.1:x", f"attacker.argus.tail1efd7.ts.net:{port}"):
        resp = _get(d, "/api/status", host)
        assert resp.status_code == 421, (host, resp.status_code)
        assert "Host" in resp.json()["error"]
    # the public PWA shell too: a rebound page could read it otherwise
    assert _get(d, "/", f"evil.example:{port}").status_code == 421
    # the agent hook on the MCP listener, the same way
    hook = f"http://127.0.0.1:{d.mcp_port}/api/agent/hook"
    resp = httpx.post(hook, json={"event": "Stop", "task_id": "t_x"}, timeout=10,
                      headers={**bearer(d.token), "Host": f"evil.example:{d.mcp_port}"})
    assert resp.status_code == 421
    # the unix socket (local processes only) takes any Host, as the TUI sends "argus"
    with d.unix_client() as c:
        assert c.get("/api/status").status_code == 200


def test_nothing_can_be_framed_by_another_page(daemon: Any) -> None:
    for path in ("/", "/task/t_123", "/api/status", "/api/nope"):
        resp = _get(daemon, path)
        assert resp.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"], path
    shell = _get(daemon, "/").headers["content-security-policy"]
    assert "script-src 'self'" in shell  # the shell's own policy is kept, frame-ancestors added


def test_query_tokens_only_on_event_streams(daemon: Any) -> None:
    url = daemon.url
    token = daemon.token
    assert httpx.get(f"{url}/api/status", params={"token": token}, timeout=10).status_code == 401
    assert httpx.post(f"{url}/api/projects", params={"token": token}, json={}, timeout=10).status_code == 401
    assert httpx.get(f"{url}/api/tasks", params={"token": token}, timeout=10).status_code == 401
    with httpx.stream("GET", f"{url}/api/events/stream", params={"token": token}, timeout=10) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1:7743", ("127.0.0.1", 7743)), ("[::1]:80", ("::1", 80)), ("Example.COM.", ("example.com", None)),
    ("a:b", ("", None)), ("[::1", ("", None)), ("[::1]x", ("", None)), ("h:999999", ("", None)),
])
def test_split_host(host: str, expected: tuple[str, int | None]) -> None:
    assert split_host(host) == expected


def test_requests_get_a_null_session_and_no_session_cookie(tmp_path: Any) -> None:
    """The app uses ``NoSessions`` (no signing-key lookup per request) and never sets a cookie."""
    import trio
    from argus.kernel.http import App, NoSessions
    from quart import session
    from quart.sessions import NullSession

    app = App("session-test", instance_path=str(tmp_path))
    seen: list[Any] = []

    @app.route("/probe")
    async def probe() -> str:
        seen.append(session._get_current_object())  # type: ignore[attr-defined]
        return "ok"

    async def main() -> None:
        resp = await app.test_client().get("/probe")
        assert resp.status_code == 200
        assert "Set-Cookie" not in resp.headers

    trio.run(main)
    assert isinstance(app.session_interface, NoSessions)
    assert len(seen) == 1 and isinstance(seen[0], NullSession)
