"""The auth policy against a real daemon: 401 vs 403, the master-only denylist, scope ownership,
revocation, and the ways a token may be presented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from kernel_helpers import argus, bearer, mint_device, mint_scope

PRINCIPALS = ("none", "bad", "device", "own", "other", "master")
OK = "ok"  # anything but 401/403 (the route may be a plugin's, absent, or reject the body)
DEAD_CALLBACK = "http://127.0.0.1:9/callback"  # discard port: nothing listens there
DEAD_WS = "ws://127.0.0.1:9/view"


@dataclass
class Case:
    """One protected route and the code each principal must get (``none``/``bad`` are always 401)."""

    method: str
    path: str | Callable[[dict[str, Any]], str]
    device: int | str
    own: int | str
    other: int | str
    master: int | str
    json: Any = None
    setup: Callable[[], None] | None = None
    ctx: dict[str, Any] = field(default_factory=dict)


class Principals:
    """Headers for every kind of caller, on one daemon (own scope ``alpha``, other scope ``beta``)."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.device = mint_device(daemon.client, "matrix")
        self.alpha = mint_scope(daemon.home, daemon.client, "alpha")
        self.beta = mint_scope(daemon.home, daemon.client, "beta")
        self.headers = {
            "none": {},
            "bad": bearer("0" * 64),
            "device": bearer(self.device["token"]),
            "own": {"X-Argus-Auth": self.alpha["token"]},
            "other": bearer(self.beta["token"]),
            "master": bearer(daemon.token),
        }

    def request(self, who: str, method: str, path: str, json: Any = None) -> httpx.Response:
        return httpx.request(method, self.daemon.url + path, headers=self.headers[who], json=json, timeout=15)


def _register_alpha(p: Principals, ctx: dict[str, Any]) -> None:
    """(Re)create alpha's tool, section and view so each DELETE case has something to delete."""
    tool = {"name": "alpha_tool", "description": "t", "callback_url": DEAD_CALLBACK}
    assert p.request("own", "POST", "/api/mcp/tools", tool).status_code == 201
    section = {"title": "Form", "type": "form", "callback_url": DEAD_CALLBACK,
               "fields": [{"key": "n", "type": "int", "default": 1}]}
    assert p.request("own", "POST", "/api/plugins/settings/sections", section).status_code == 201
    resp = p.request("own", "POST", "/api/plugins/views", {"title": "V", "hotkey": "F7", "callback_url": DEAD_WS})
    assert resp.status_code == 201, resp.text
    ctx["view"] = resp.json()["view"]["id"]


def _check(p: Principals, cases: list[Case]) -> list[str]:
    failures = []
    for case in cases:
        for who in PRINCIPALS:
            if case.setup:
                case.setup()
            path = case.path(case.ctx) if callable(case.path) else case.path
            want = 401 if who in ("none", "bad") else getattr(case, who)
            resp = p.request(who, case.method, path, case.json)
            got = resp.status_code
            if (want == OK and got in (401, 403)) or (want != OK and got != want):
                failures.append(f"{case.method} {path} as {who}: want {want}, got {got} {resp.text[:120]}")
    return failures


def test_auth_matrix_of_every_kernel_route(daemon: Any) -> None:
    p = Principals(daemon)
    ctx: dict[str, Any] = {}

    def setup() -> None:
        _register_alpha(p, ctx)

    schema = {s["name"]: s for s in daemon.client.get("/api/settings").json()["schema"]}
    assert schema["update"]["master_only"] is True
    cases = [
        Case("GET", "/api/status", 200, 200, 200, 200),
        Case("GET", "/api/settings", 200, 200, 200, 200),
        Case("PUT", "/api/settings", 200, 200, 200, 200, json={"supervisor": {"enabled": True}}),
        Case("PUT", "/api/settings", 403, 403, 403, 200, json={"update": {"source_path": "/src/argus"}}),
        # A mixed body is refused as a whole for a non-master token.
        Case("PUT", "/api/settings", 403, 403, 403, 200,
             json={"supervisor": {"enabled": True}, "update": {"source_path": "/src/argus"}}),
        Case("GET", "/api/logs/daemon", 200, 200, 200, 200),
        Case("GET", "/api/plugins", 200, 200, 200, 200),
        Case("GET", "/api/tokens", 403, 403, 403, 200),
        Case("GET", "/api/tokens/", 403, 403, 403, OK),
        Case("POST", "/api/tokens", 403, 403, 403, 201, json={"label": "via http"}),
        Case("DELETE", "/api/tokens/nosuchtoken", 403, 403, 403, 404),
        Case("GET", "/api/backends", OK, OK, OK, OK),
        Case("POST", "/api/backends", 403, 403, 403, OK, json={"name": "evil", "command": "sh -c id"}),
        Case("PUT", "/api/backends/claude", 403, 403, 403, OK, json={"command": "sh -c id"}),
        Case("DELETE", "/api/backends/claude", 403, 403, 403, OK),
        Case("GET", "/api/source-path", 403, 403, 403, OK),
        Case("PUT", "/api/source-path", 403, 403, 403, OK, json={"path": "/tmp"}),
        Case("POST", "/api/update", 403, 403, 403, OK, json={}),
        Case("GET", "/api/mcp/tools", 200, 200, 200, 200),
        Case("GET", "/api/plugins/settings/sections", 200, 200, 200, 200),
        Case("GET", "/api/plugins/views", 403, 200, 200, 200),
        # Registering needs a scope token; a scope may only use its own prefix.
        Case("POST", "/api/mcp/tools", 403, 201, 403, 403,
             json={"name": "alpha_other", "description": "", "callback_url": DEAD_CALLBACK}),
        Case("POST", "/api/plugins/settings/sections", 403, 201, 201, 403,
             json={"title": "Mine", "type": "stream"}),
        # Ownership: only alpha (or master) touches alpha's registrations.
        Case("DELETE", "/api/mcp/tools/alpha_tool", 403, 200, 403, 200, setup=setup),
        Case("DELETE", "/api/plugins/settings/sections/alpha/Form", 403, 200, 403, 200, setup=setup),
        Case("DELETE", lambda c: f"/api/plugins/views/{c['view']}", 403, 200, 403, 200, setup=setup, ctx=ctx),
        # Submitting a form is open to any token; the dead callback makes it 503, not 401/403.
        Case("POST", "/api/plugins/settings/sections/alpha/Form/submit", 503, 503, 503, 503,
             json={"n": 2}, setup=setup),
        Case("GET", "/api/no-such-route", 404, 404, 404, 404),
    ]
    if "sandbox" in schema:  # the manual's carve-out, once the sandbox plugin declares its section
        assert schema["sandbox"]["master_only"] is True
    failures = _check(p, cases)
    assert not failures, "\n".join(failures)


def test_only_the_master_token_can_disable_plugins(daemon: Any) -> None:
    """Disabling plugins is at least as strong as the master-only sandbox settings: a device or
    scope token could otherwise switch the sandbox plugin off (it applies at the next restart)."""
    p = Principals(daemon)
    for who in ("device", "own"):
        resp = p.request(who, "PUT", "/api/settings", {"plugins": {"disabled": ["sandbox"]}})
        assert resp.status_code == 403, (who, resp.status_code)
    assert daemon.client.get("/api/settings").json()["plugins"]["disabled"] == []
    resp = p.request("master", "PUT", "/api/settings", {"plugins": {"disabled": ["kb"]}})
    assert resp.status_code == 200


def test_unknown_api_paths_need_a_token_before_anything_else(daemon: Any) -> None:
    resp = httpx.get(f"{daemon.url}/api/does-not-exist", timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]
    resp = httpx.get(f"{daemon.url}/api/events/stream", timeout=10)
    assert resp.status_code == 401


def test_scope_sees_only_its_own_tools_and_views(daemon: Any) -> None:
    p = Principals(daemon)
    _register_alpha(p, {})
    tool = {"name": "beta_tool", "description": "", "callback_url": DEAD_CALLBACK}
    assert p.request("other", "POST", "/api/mcp/tools", tool).status_code == 201
    beta_tools = {t["name"] for t in p.request("other", "GET", "/api/mcp/tools").json()["tools"]}
    assert beta_tools == {"beta_tool"}
    assert p.request("other", "GET", "/api/plugins/views").json()["views"] == []
    master_tools = {t["name"] for t in p.request("master", "GET", "/api/mcp/tools").json()["tools"]}
    assert {"alpha_tool", "beta_tool"} <= master_tools
    assert len(p.request("own", "GET", "/api/plugins/views").json()["views"]) == 1


def test_token_is_accepted_as_bearer_or_x_argus_auth_and_query_only_on_streams(daemon: Any) -> None:
    device = mint_device(daemon.client)
    scope = mint_scope(daemon.home, daemon.client, "gamma")
    for token in (daemon.token, device["token"], scope["token"]):
        assert httpx.get(f"{daemon.url}/api/status", headers=bearer(token), timeout=10).status_code == 200
        # ?token= would land in logs and Referer headers: only SSE/WebSocket routes take it
        assert httpx.get(f"{daemon.url}/api/status", params={"token": token}, timeout=10).status_code == 401
        assert httpx.get(f"{daemon.url}/api/status", headers={"X-Argus-Auth": token},
                         timeout=10).status_code == 200
    # The unix socket runs the same policy.
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.sock)), base_url="http://argus") as c:
        assert c.get("/api/status").status_code == 401
        assert c.get("/api/status", params={"token": device["token"]}).status_code == 401
        assert c.get("/api/status", headers=bearer(device["token"])).status_code == 200
    # SSE clients (EventSource) can only use ?token=.
    with httpx.stream("GET", f"{daemon.url}/api/events/stream", params={"token": device["token"]},
                      timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")


def test_unauthorized_answers_are_json_with_www_authenticate(daemon: Any) -> None:
    resp = httpx.get(f"{daemon.url}/api/status", timeout=10)
    assert resp.status_code == 401
    assert "error" in resp.json()
    assert resp.headers.get("www-authenticate", "").lower().startswith("bearer")


def test_revoked_device_token_gets_401(daemon: Any) -> None:
    device = mint_device(daemon.client)
    url = f"{daemon.url}/api/status"
    assert httpx.get(url, headers=bearer(device["token"]), timeout=10).status_code == 200
    assert daemon.client.delete(f"/api/tokens/{device['id']}").status_code == 200
    resp = httpx.get(url, headers=bearer(device["token"]), timeout=10)
    assert resp.status_code == 401
    row = next(t for t in daemon.client.get("/api/tokens").json()["tokens"] if t["id"] == device["id"])
    assert row["revoked_at"] and "hash" not in row and "token" not in row
    # Revoking again is harmless; an unknown id is 404.
    assert daemon.client.delete(f"/api/tokens/{device['id']}").status_code == 200
    assert daemon.client.delete("/api/tokens/nosuch").status_code == 404


def test_scope_tokens_cannot_be_minted_over_http(daemon: Any) -> None:
    before = daemon.client.get("/api/tokens").json()["tokens"]
    for body in ({"label": "x", "scope": "alpha"}, {"label": "x", "kind": "scope"}):
        resp = daemon.client.post("/api/tokens", json=body)
        assert resp.status_code == 403, resp.text
        assert "argus token mint" in resp.json()["error"]
    assert daemon.client.get("/api/tokens").json()["tokens"] == before
    # Device tokens minted over HTTP are plain hex, never scope-shaped, and labels are required.
    device = mint_device(daemon.client)
    assert not device["token"].startswith("scope:")
    assert daemon.client.post("/api/tokens", json={"label": ""}).status_code == 400
    assert daemon.client.post("/api/tokens", json={}).status_code == 400


def test_cli_rejects_invalid_scope_names(daemon: Any) -> None:
    out = argus(daemon.home, "token", "mint", "--scope", "Bad Name!")
    assert out.returncode != 0
    assert "scope name" in out.stderr


def test_revoking_a_scope_token_drops_everything_it_registered(daemon: Any) -> None:
    p = Principals(daemon)
    _register_alpha(p, {})
    tool = {"name": "beta_keep", "description": "", "callback_url": DEAD_CALLBACK}
    assert p.request("other", "POST", "/api/mcp/tools", tool).status_code == 201
    resp = daemon.client.delete(f"/api/tokens/{p.alpha['id']}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["dropped"] == {"tools": 1, "sections": 1, "views": 1}
    tools = {t["name"] for t in daemon.client.get("/api/mcp/tools").json()["tools"]}
    assert "alpha_tool" not in tools and "beta_keep" in tools
    sections = daemon.client.get("/api/plugins/settings/sections").json()["sections"]
    assert not [s for s in sections if s["scope"] == "alpha"]
    assert not [v for v in daemon.client.get("/api/plugins/views").json()["views"] if v["scope"] == "alpha"]
    # And the revoked scope token itself is now 401.
    assert p.request("own", "GET", "/api/status").status_code == 401


def test_cli_revoke_goes_through_the_running_daemon(daemon: Any) -> None:
    p = Principals(daemon)
    _register_alpha(p, {})
    out = argus(daemon.home, "token", "revoke", p.alpha["id"])
    assert out.returncode == 0, out.stderr
    tools = {t["name"] for t in daemon.client.get("/api/mcp/tools").json()["tools"]}
    assert "alpha_tool" not in tools
    assert p.request("own", "GET", "/api/status").status_code == 401
