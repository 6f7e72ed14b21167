"""An agent's notes: the kb tools with the per-task token Argus gives the agent it launches.

The reference manual has agents read and write notes through the MCP kb tools. A task's agent
holds only its task token (written into the MCP config Argus gives it,
``$ARGUS_HOME/run/<task id>/mcp.json``); the test reads it from there, as the agent does, and
drives ``kb_search``/``kb_read``/``kb_ingest`` with the official MCP client. Without a token, or
with a bad one, ``/mcp`` refuses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from kb_helpers import INDEXED, call, enable, make_vault
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "probe", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agent the daemon starts."""
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")


@asynccontextmanager
async def session_with(url: str, token: str) -> AsyncIterator[ClientSession]:
    """An initialized official-SDK MCP session on ``url`` sending ``token``."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def task_token(home: Path, task_id: str) -> str:
    """The token Argus injected into the task's agent (its MCP config's Authorization header)."""
    config = json.loads((home / "run" / task_id / "mcp.json").read_text())
    header = config["mcpServers"]["argus"]["headers"]["Authorization"]
    assert header.startswith("Bearer task:")
    return header.removeprefix("Bearer ")


def raw_initialize(url: str, headers: dict[str, str]) -> httpx.Response:
    """A bare MCP ``initialize`` POST with ``headers``."""
    return httpx.post(url, json=INIT, headers={**MCP_HEADERS, **headers}, timeout=10)


async def test_an_agents_task_token_reads_and_writes_notes(daemon: Any, project: dict[str, Any],
                                                           tmp_path: Path) -> None:
    c = daemon.client
    vault = make_vault(tmp_path / "vault", tmp_path / "outside")
    enable(c, vault, documents=len(INDEXED))
    resp = c.post("/api/tasks", json={"name": "note taker", "prompt": "wait for instructions",
                                      "project": project["name"], "backend": "demo"})
    assert resp.status_code == 201, resp.text
    token = task_token(daemon.home, resp.json()["task"]["id"])

    async with session_with(daemon.mcp_url, token) as s:
        found = await call(s, "kb_search", {"query": "argus"})
        assert found["results"][0]["path"] == "Projects/Argus.md"
        note = await call(s, "kb_read", {"path": "Projects/Argus.md"})
        assert "terminal-native orchestrator" in json.dumps(note)
        await call(s, "kb_ingest", {"path": "Agents/Findings.md",
                                    "content": "# Findings\n\nagentwrotethisword while working.\n",
                                    "frontmatter": {"tags": ["agent"]}})
        again = await call(s, "kb_search", {"query": "agentwrotethisword"})
        assert [r["path"] for r in again["results"]] == ["Agents/Findings.md"]
    # the note is a real file in the vault, visible to the user over REST too
    assert "agentwrotethisword" in (vault / "Agents" / "Findings.md").read_text()
    got = c.get("/api/kb/search", params={"q": "agentwrotethisword"}).json()["results"]
    assert [r["path"] for r in got] == ["Agents/Findings.md"]

    # no token, a bad one, or a tampered task token never reach the kb tools
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {token}x"}):
        refused = raw_initialize(daemon.mcp_url, headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert "token" in refused.json()["error"]
