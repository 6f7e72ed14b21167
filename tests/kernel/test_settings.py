"""Settings layering (defaults < saved < config.toml, live re-read, malformed file ignored) and the
log-tail endpoint, against a real daemon; plus the layering rules on a bare SQLite database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argus.kernel import core
from argus.kernel.db import Database
from argus.kernel.errors import Invalid, NotFound
from argus.kernel.settings import ConfigFile, Settings
from argus_testkit import wait_for
from kernel_helpers import write_config

# -- unit: the layering rules on a real SQLite file -------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    db = Database(tmp_path / "data.sql")
    db.migrate(core.argus_migrations())
    s = Settings(db, ConfigFile(tmp_path / "config.toml"))
    s.declare(core.argus_settings_sections())
    return s


def test_defaults_then_saved_then_file(settings: Settings, tmp_path: Path) -> None:
    assert settings.get("mcp", "http_port") == core.MCP_PORT
    settings.save("mcp", {"http_port": "9001"})  # coerced to int on save
    assert settings.get("mcp", "http_port") == 9001
    write_config(tmp_path, "[mcp]\nhttp_port = 9100\n")
    assert settings.get("mcp", "http_port") == 9100
    assert settings.masked_by_file("mcp") == ["http_port"]
    settings.save("mcp", {"http_port": 9002})  # saved, but masked by the file
    assert settings.get("mcp", "http_port") == 9100
    (tmp_path / "config.toml").unlink()
    assert settings.get("mcp", "http_port") == 9002


def test_file_values_are_typed_and_bad_ones_fall_back(settings: Settings, tmp_path: Path) -> None:
    write_config(tmp_path, '[supervisor]\nenabled = "no"\n[mcp]\nhttp_port = "not a port"\n')
    assert settings.get("supervisor", "enabled") is False
    assert settings.get("mcp", "http_port") == core.MCP_PORT
    write_config(tmp_path, '[plugins]\ndisabled = "kb, hera"\n')
    assert settings.get("plugins", "disabled") == ["kb", "hera"]


def test_save_rejects_unknown_and_ill_typed_values(settings: Settings) -> None:
    with pytest.raises(Invalid):
        settings.save("mcp", {"nope": 1})
    with pytest.raises(Invalid):
        settings.save("mcp", {"http_port": "x"})
    with pytest.raises(NotFound):
        settings.save("nosuch", {"a": 1})
    with pytest.raises(ValueError):
        settings.declare(core.argus_settings_sections())  # a section name is declared once


def test_a_section_that_is_not_a_table_is_ignored(settings: Settings, tmp_path: Path) -> None:
    write_config(tmp_path, "mcp = 5\n")
    assert settings.get("mcp", "http_port") == core.MCP_PORT
    assert settings.config.error is None


# -- the daemon -----------------------------------------------------------------------------


def _port(daemon: Any) -> int:
    """The configured MCP port (the fixture's ARGUS_MCP_PORT overrides the effective one)."""
    resp = daemon.client.get("/api/settings")
    assert resp.status_code == 200, resp.text
    return resp.json()["configured"]["mcp"]["http_port"]


def _disabled(daemon: Any) -> list[str]:
    resp = daemon.client.get("/api/settings")
    assert resp.status_code == 200, resp.text
    return resp.json()["plugins"]["disabled"]


def test_put_then_config_file_wins_live_without_restart(daemon: Any) -> None:
    # plugins.disabled has no environment override (the ports do: see tests/ops/test_settings_sources.py)
    body = daemon.client.get("/api/settings").json()
    assert body["plugins"]["disabled"] == []
    assert body["sections"]["mcp"] == body["mcp"] and body["config_error"] is None
    assert {"api", "mcp", "supervisor", "plugins", "update"} <= {s["name"] for s in body["schema"]}
    resp = daemon.client.put("/api/settings", json={"plugins": {"disabled": ["ghost-a"]}})
    assert resp.status_code == 200 and resp.json()["plugins"]["disabled"] == ["ghost-a"]
    assert _disabled(daemon) == ["ghost-a"]
    write_config(daemon.home, '[plugins]\ndisabled = ["ghost-b"]\n')
    assert _disabled(daemon) == ["ghost-b"]
    write_config(daemon.home, '[plugins]\ndisabled = ["ghost-c"] # edited\n')
    assert _disabled(daemon) == ["ghost-c"]
    (daemon.home / "config.toml").unlink()
    assert _disabled(daemon) == ["ghost-a"]


def test_malformed_config_is_logged_ignored_and_recovered(daemon: Any) -> None:
    daemon.client.put("/api/settings", json={"mcp": {"http_port": 9001}})
    write_config(daemon.home, "[mcp]\nhttp_port = 9100\n")
    assert _port(daemon) == 9100
    write_config(daemon.home, "[mcp\nhttp_port = = 9300\n")
    body = daemon.client.get("/api/settings").json()
    assert body["configured"]["mcp"]["http_port"] == 9001  # falls back to defaults + saved values
    assert "config.toml" in body["config_error"]

    def logged() -> bool:
        text = daemon.client.get("/api/logs/daemon", params={"bytes": 100_000}).text
        return "malformed config" in text and "config.toml" in text

    wait_for(logged, what="the malformed config.toml warning in daemon.log")
    write_config(daemon.home, "[mcp]\nhttp_port = 9400\n")
    body = daemon.client.get("/api/settings").json()
    assert body["configured"]["mcp"]["http_port"] == 9400 and body["config_error"] is None


def test_unknown_keys_in_config_are_ignored(daemon: Any) -> None:
    write_config(daemon.home, "top = 1\n[mcp]\nhttp_port = 9100\ntypo_port = 1\n[nosuch]\nx = 1\n"
                              "[projects.demo]\npath = '/tmp'\n")
    body = daemon.client.get("/api/settings").json()
    assert body["config_error"] is None
    assert body["configured"]["mcp"] == {"http_port": 9100}
    assert "nosuch" not in body and "top" not in body


def test_partial_put_with_one_bad_value_saves_nothing(daemon: Any) -> None:
    before = daemon.client.get("/api/settings").json()
    bad_bodies: list[Any] = [
        {"mcp": {"http_port": 9003}, "supervisor": {"enabled": "maybe"}},
        {"mcp": {"http_port": 9003}, "supervisor": {"no_such_key": True}},
        {"mcp": {"http_port": 9003}, "no_such_section": {"x": 1}},
        {"mcp": {"http_port": 9003}, "supervisor": "on"},
        {"mcp": {"http_port": 9003}, "plugins": {"disabled": [1, 2]}},
    ]
    for body in bad_bodies:
        resp = daemon.client.put("/api/settings", json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]
    for raw in (b"[1, 2]", b"{not json", b""):
        resp = daemon.client.put("/api/settings", content=raw, headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, raw
    after = daemon.client.get("/api/settings").json()
    assert after["configured"]["mcp"] == before["configured"]["mcp"] and after["supervisor"] == before["supervisor"]


def test_a_fractional_number_is_not_an_integer(daemon: Any) -> None:
    before = _port(daemon)
    resp = daemon.client.put("/api/settings", json={"mcp": {"http_port": 9001.7}})
    assert resp.status_code == 400, resp.text
    assert _port(daemon) == before


def test_saved_settings_survive_a_restart(daemon: Any) -> None:
    assert daemon.client.put("/api/settings", json={"mcp": {"http_port": 9005}}).status_code == 200
    daemon.restart()
    assert _port(daemon) == 9005


# -- GET /api/logs/{ux|daemon} ----------------------------------------------------------------


def test_log_tail_default_cap_and_explicit_sizes(daemon: Any) -> None:
    resp = daemon.client.get("/api/logs/ux")
    assert resp.status_code == 200 and resp.content == b""  # missing file: empty, not 404
    data = b"".join(b"%07d " % i for i in range(200_000))  # 1.6 MB of distinct text
    (daemon.home / "ux.log").write_bytes(data)
    resp = daemon.client.get("/api/logs/ux")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.content == data[-64 * 1024:]
    assert daemon.client.get("/api/logs/ux", params={"bytes": 10}).content == data[-10:]
    assert daemon.client.get("/api/logs/ux", params={"bytes": 0}).content == b""
    big = daemon.client.get("/api/logs/ux", params={"bytes": 5_000_000}).content
    assert big == data[-1024 * 1024:]
    (daemon.home / "ux.log").write_bytes(b"short\n")
    assert daemon.client.get("/api/logs/ux", params={"bytes": 1000}).content == b"short\n"


def test_log_tail_rejects_bad_names_and_sizes(daemon: Any) -> None:
    assert b"daemon" in daemon.client.get("/api/logs/daemon").content
    for name in ("secret", "api-token", "..", "daemon.log"):
        resp = daemon.client.get(f"/api/logs/{name}")
        assert resp.status_code == 404, name
    resp = daemon.client.get("/api/logs/..%2Fapi-token")
    assert resp.status_code == 404
    assert daemon.token not in resp.text
    for bad in ("abc", "-1", "1e3", "10.5"):
        resp = daemon.client.get("/api/logs/daemon", params={"bytes": bad})
        assert resp.status_code == 400, bad
        assert "bytes" in resp.json()["error"]
