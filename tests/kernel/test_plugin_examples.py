"""The two plugins of docs/plugins.md, run for real: the in-process one loaded into a daemon with
``ARGUS_PLUGINS``, the external one as its own process talking HTTP with a scope token.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from kernel_helpers import EXAMPLES, argus, cli_env, external_process, mcp_session, mint_scope, write_config

INPROCESS = EXAMPLES / "hello_inprocess.py"
EXTERNAL = EXAMPLES / "hello_external.py"


@pytest.mark.parametrize("path", [INPROCESS, EXTERNAL])
def test_examples_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 60


async def test_inprocess_example_in_a_daemon(daemon_factory: Any) -> None:
    d = daemon_factory("hello", env={"ARGUS_PLUGINS": str(INPROCESS)})
    c = d.client
    plugin = next(p for p in c.get("/api/plugins").json()["plugins"] if p["name"] == "hello_inprocess")
    assert plugin == {"name": "hello_inprocess", "version": "1.0", "source": "ARGUS_PLUGINS",
                      "module": str(INPROCESS), "enabled": True}
    # Its REST route sits behind the kernel's auth policy like every /api route.
    assert c.get("/api/hello/Ada").json() == {"message": "Hello, Ada!", "count": 1}
    assert c.get("/api/hello/Ada").json()["count"] == 2
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(f"{d.url}/api/hello/Ada")).status_code == 401
    # Its settings section is layered like the kernel's own.
    assert c.put("/api/settings", json={"hello": {"greeting": "Hi"}}).status_code == 200
    assert c.get("/api/hello/Ada").json()["message"] == "Hi, Ada!"
    write_config(d.home, '[hello]\ngreeting = "Howdy"\n')
    assert c.get("/api/hello/Ada").json()["message"] == "Howdy, Ada!"
    # Its MCP tool shares the function; errors become tool errors.
    async with mcp_session(d.mcp_url, d.token) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert tools["hello_greet"].input_schema["required"] == ["name"]
        result = await session.call_tool("hello_greet", {"name": "Bob"})
        assert not result.is_error and result.structured_content == {"message": "Howdy, Bob!", "count": 1}
        result = await session.call_tool("hello_greet", {})
        assert result.is_error and "name is required" in result.content[0].text
    # Its migration was recorded, and its table survives a restart.
    d.restart()
    assert d.client.get("/api/hello/Ada").json()["count"] == 5
    conn = sqlite3.connect(d.home / "data.sql")
    try:
        assert conn.execute("SELECT version FROM schema_migrations WHERE plugin = 'hello'").fetchall() == [(1,)]
    finally:
        conn.close()
    # And `argus plugins` sees it the same way.
    out = argus(d.home, "plugins", env=cli_env(d.home, ARGUS_PLUGINS=str(INPROCESS)))
    assert any(line.split()[:3] == ["hello_inprocess", "1.0", "ARGUS_PLUGINS"] for line in out.stdout.splitlines())


async def test_external_example_against_a_daemon(daemon: Any, tmp_path: Path) -> None:
    token = mint_scope(daemon.home, daemon.client, "greeter")
    env = cli_env(daemon.home, ARGUS_URL=daemon.url, ARGUS_SCOPE_TOKEN=token["token"])
    with external_process([sys.executable, str(EXTERNAL)], env, tmp_path / "greeter.out", "registered"):
        sections = daemon.client.get("/api/plugins/settings/sections").json()["sections"]
        form = next(s for s in sections if s["scope"] == "greeter")
        assert form["title"] == "Greeter" and form["type"] == "form"
        assert [f["key"] for f in form["fields"]] == ["greeting"]
        async with mcp_session(daemon.mcp_url, daemon.token) as session:
            assert "greeter_greet" in {t.name for t in (await session.list_tools()).tools}
            result = await session.call_tool("greeter_greet", {"name": "Ada"})
            assert not result.is_error and result.structured_content == {"message": "Hello, Ada!"}
            # The user saves the form in Settings: the daemon validates and forwards it to the plugin.
            resp = daemon.client.post("/api/plugins/settings/sections/greeter/Greeter/submit",
                                      json={"greeting": "Hi"})
            assert resp.status_code == 200, resp.text
            assert daemon.client.post("/api/plugins/settings/sections/greeter/Greeter/submit",
                                      json={"colour": "red"}).status_code == 400
            result = await session.call_tool("greeter_greet", {"name": "Ada"})
            assert result.structured_content == {"message": "Hi, Ada!"}
            result = await session.call_tool("greeter_greet", {})
            assert result.is_error and result.content[0].text == "name is required"
            # Revoking the plugin's token removes what it registered.
            assert daemon.client.delete(f"/api/tokens/{token['id']}").status_code == 200
            assert "greeter_greet" not in {t.name for t in (await session.list_tools()).tools}
