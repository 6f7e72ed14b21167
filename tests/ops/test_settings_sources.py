"""Settings tell the truth: effective values and where each one comes from."""

from __future__ import annotations

from typing import Any

from argus_testkit import Daemon


def test_settings_show_environment_overrides_and_every_layer(daemon: Daemon) -> None:
    c = daemon.client
    assert c.put("/api/settings", json={"autoname": {"timeout": 7}}).status_code == 200
    (daemon.home / "config.toml").write_text("[autoname]\nenabled = false\n")
    body = c.get("/api/settings").json()
    # ARGUS_API_PORT / ARGUS_MCP_PORT (set by the fixture) win, and say so.
    assert body["api"]["http_port"] == daemon.api_port and body["api"]["enabled"] is True
    assert body["sources"]["api"]["http_port"] == body["sources"]["api"]["enabled"] == "environment"
    assert body["mcp"]["http_port"] == daemon.mcp_port and body["sources"]["mcp"]["http_port"] == "environment"
    assert body["env"]["api.http_port"] == "ARGUS_API_PORT" and body["env"]["mcp.http_port"] == "ARGUS_MCP_PORT"
    assert body["runtime"] == {"api_port": daemon.api_port, "mcp_port": daemon.mcp_port}
    # What PUT /api/settings and config.toml set stays visible under the override.
    assert body["configured"]["api"]["enabled"] is False and body["configured"]["api"]["http_port"] == 7743
    assert body["sources"]["autoname"] == {"enabled": "config.toml", "timeout": "saved", "model": "default"}
    assert body["autoname"]["timeout"] == 7 and body["autoname"]["enabled"] is False
    assert body["sources"]["supervisor"]["enabled"] == "default"


def test_without_the_environment_the_saved_port_is_the_source(daemon_factory: Any) -> None:
    d: Daemon = daemon_factory("noapi", api=False)
    body = d.client.get("/api/settings").json()
    assert body["api"]["enabled"] is False and body["sources"]["api"]["enabled"] == "default"
    assert body["runtime"]["api_port"] is None
    assert d.client.put("/api/settings", json={"api": {"http_port": 8123}}).status_code == 200
    body = d.client.get("/api/settings").json()
    assert body["api"]["http_port"] == 8123 and body["sources"]["api"]["http_port"] == "saved"
