"""MCP client helpers for the scheduler tests (the official SDK against a real daemon)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


@asynccontextmanager
async def mcp_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session on ``url`` (streamable HTTP) with ``token`` (``/mcp`` needs one)."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=150) as session:
                await session.initialize()
                yield session


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def call(session: ClientSession, tool: str, args: dict[str, Any] | None = None) -> Any:
    """Call a tool that must succeed; its JSON payload."""
    result = await session.call_tool(tool, args or {})
    assert not result.is_error, f"{tool} failed: {_text(result)}"
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(_text(result))


async def call_error(session: ClientSession, tool: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; the error text."""
    result = await session.call_tool(tool, args or {})
    assert result.is_error, f"{tool} unexpectedly succeeded: {_text(result)}"
    return _text(result)
