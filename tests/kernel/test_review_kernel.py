"""Regression tests from a pre-release review of the kernel's daemon side."""

from __future__ import annotations

import socket
from typing import Any

import httpx
from argus_testkit import free_port, wait_for


def _api_answers(port: int, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/status", headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_an_unusable_api_port_does_not_kill_the_daemon(daemon_factory: Any) -> None:
    """Enabling the API on a busy port, or on one out of range, crashed the whole daemon: hypercorn
    wraps the bind error in exception groups, which ``except OSError`` did not catch."""
    d = daemon_factory("api-port", api=False)
    with d.unix_client() as c, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        # An out-of-range port is refused up front; a busy one is only found out when binding.
        resp = c.put("/api/settings", json={"api": {"enabled": True, "http_port": 99999}})
        assert resp.status_code == 400 and "between 1 and 65535" in resp.json()["error"], resp.text
        for port in (busy.getsockname()[1],):
            resp = c.put("/api/settings", json={"api": {"enabled": True, "http_port": port}})
            assert resp.status_code == 200, resp.text
            wait_for(lambda: "cannot listen on API port" in (d.home / "daemon.log").read_text()
                     or d.proc.poll() is not None, what="the bind failure")
            assert d.proc.poll() is None, d.log_tail()
            assert c.get("/api/status").status_code == 200
            (d.home / "daemon.log").write_text("")
        # The listener loop is still there: a usable port is picked up.
        port = free_port()
        assert c.put("/api/settings", json={"api": {"http_port": port}}).status_code == 200
        wait_for(lambda: _api_answers(port, d.headers), what="the API on the new port")


def test_malformed_plugin_registrations_are_400(daemon: Any) -> None:
    """Wrong types in registrations: non-list ``choices`` was a 500 (TypeError); a list
    ``auth_header`` or view ``scope`` was stored and broke later (httpx raises on a list header)."""
    from kernel_helpers import bearer, mint_scope

    scope = mint_scope(daemon.home, daemon.client, "revw")
    headers = bearer(scope["token"])
    url = f"{daemon.url}/api/plugins/settings/sections"
    bad_sections = [
        {"title": "t", "callback_url": "http://127.0.0.1:9/x", "fields": [{"key": "k", "choices": 5}]},
        {"title": "t", "callback_url": "http://127.0.0.1:9/x", "auth_header": ["x"]},
    ]
    for body in bad_sections:
        resp = httpx.post(url, json=body, headers=headers, timeout=10)
        assert resp.status_code == 400, (body, resp.status_code, resp.text[:200])
    resp = daemon.client.post("/api/plugins/views", json={"scope": ["x"], "title": "t", "hotkey": "z",
                                                          "callback_url": "ws://127.0.0.1:9/v"})
    assert resp.status_code == 400, resp.text
