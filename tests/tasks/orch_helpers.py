"""Helpers for the orchestration tests: the official MCP client against a real daemon, task
creation with the demo agent, and polling with deadlines (never fixed sleeps).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from argus.kernel.eventstream import parse_lines
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

FAST_AGENT = {"FAKEAGENT_BUSY": "0.2"}


@asynccontextmanager
async def mcp_session(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    """An initialized official-SDK MCP client session on ``url`` (streamable HTTP), sending
    ``token`` (by default the master token of ``$ARGUS_HOME``: ``/mcp`` requires one)."""
    token = token or (Path(os.environ["ARGUS_HOME"]) / "api-token").read_text().strip()
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=150) as session:
                await session.initialize()
                yield session


class ToolFailed(AssertionError):
    """A tool call answered with ``is_error``."""


def _payload(result: Any) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    text = "".join(getattr(c, "text", "") for c in result.content)
    try:
        return json.loads(text)
    except ValueError:
        return text


def error_text(result: Any) -> str:
    """The text of an ``is_error`` result."""
    return "".join(getattr(c, "text", "") for c in result.content)


async def call(session: ClientSession, tool: str, args: dict[str, Any] | None = None) -> Any:
    """Call a tool that must succeed; return its JSON payload."""
    result = await session.call_tool(tool, args or {})
    if result.is_error:
        raise ToolFailed(f"{tool} failed: {error_text(result)}")
    return _payload(result)


async def call_error(session: ClientSession, tool: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; return the error text."""
    result = await session.call_tool(tool, args or {})
    assert result.is_error, f"{tool} unexpectedly succeeded: {_payload(result)!r}"
    return error_text(result)


def create_task(client: httpx.Client, project: str, name: str, prompt: str = "wait for instructions",
                **extra: Any) -> dict[str, Any]:
    """Create a demo-agent task over REST; return the task JSON."""
    body = {"name": name, "prompt": prompt, "project": project, "backend": "demo", **extra}
    resp = client.post("/api/tasks", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]


def task(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """The task JSON over REST."""
    resp = client.get(f"/api/tasks/{task_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["task"]


def last_event_id(client: httpx.Client, timeout: float = 30.0) -> int:
    """The id of the newest event on the bus (a cursor from the future is answered by a ``resync`` naming it)."""
    with client.stream("GET", "/api/events/stream", params={"since": 10**15},
                       timeout=httpx.Timeout(timeout)) as resp:
        for message in parse_lines(resp.iter_lines()):
            data = message.json()
            if message.event == "resync" and isinstance(data, dict):
                return int(data["id"])
    raise AssertionError("the event stream ended without a resync")


def _replay(client: httpx.Client, since: int, timeout: httpx.Timeout, until: int | None) -> list[dict[str, Any]]:
    """Events after ``since``: up to event ``until`` (a read timeout is then an error), else until a read
    times out (the stream went quiet)."""
    out: list[dict[str, Any]] = []
    try:
        with client.stream("GET", "/api/events/stream", params={"since": since}, timeout=timeout) as resp:
            for message in parse_lines(resp.iter_lines()):
                data = message.json()
                if data is not None:
                    out.append(data)
                    if until is not None and message.event != "resync" and int(data.get("id", -1)) >= until:
                        break
    except httpx.ReadTimeout:
        if until is not None:
            raise AssertionError(f"the event stream stalled before event {until}; got {out[-5:]}") from None
    return out


def events(client: httpx.Client, since: int = 0, timeout: float = 30.0, quiet: float = 0.5) -> list[dict[str, Any]]:
    """The events replayed after ``since`` from ``GET /api/events/stream``: every event up to the newest
    one published before the call (waiting up to ``timeout`` for a slow daemon to replay them), then
    whatever follows until the stream stays quiet for ``quiet`` seconds."""
    newest = last_event_id(client, timeout)
    out = _replay(client, since, httpx.Timeout(timeout), newest) if newest > since else []
    ids = [int(e["id"]) for e in out if e.get("type") != "resync" and "id" in e]
    return out + _replay(client, max([since, *ids]), httpx.Timeout(timeout, read=quiet), None)


def output(client: httpx.Client, task_id: str) -> str:
    """The task's recent terminal output, ANSI-stripped."""
    return client.get(f"/api/tasks/{task_id}/output", params={"clean": "1", "bytes": 262144}).text
