"""Fuzz every MCP tool through the official client: arguments generated from each tool's input
schema and then broken (see ``test_fuzz_api``). A tool may refuse (``isError`` with a message),
never crash (``internal error``) or take the server down.

``ARGUS_FUZZ_CALLS`` sets how many calls (default 300), ``ARGUS_FUZZ_SEED`` the seed.
"""

from __future__ import annotations

import os
import random
from typing import Any

from argus_testkit import Daemon
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from test_fuzz_api import NASTY, Fuzzer

CALLS = int(os.environ.get("ARGUS_FUZZ_CALLS", "300"))
SEED = int(os.environ.get("ARGUS_FUZZ_SEED", str(random.randrange(1 << 30))))


def _encodable(value: Any) -> Any:
    """The official client encodes JSON as UTF-8: lone surrogates cannot be sent through it."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return 0
    return value


async def test_no_tool_crashes_on_generated_arguments(daemon: Daemon, git_repo: Any) -> None:
    c = daemon.client
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    resp = c.post("/api/tasks", json={"project": "p", "name": "target", "prompt": "hi", "backend": "demo"})
    assert resp.status_code == 201, resp.text
    rng = random.Random(SEED)
    ids = [resp.json()["task"]["id"], resp.json()["task"]["worktree_path"]]
    fuzz = Fuzzer({}, rng, ids)
    crashes: list[str] = []
    async with create_mcp_http_client(headers=daemon.headers) as http, \
            streamable_http_client(daemon.mcp_url, http_client=http) as (read, write), \
            ClientSession(read, write, read_timeout_seconds=150) as s:
        await s.initialize()
        tools = (await s.list_tools()).tools
        assert len(tools) > 15
        for n in range(CALLS):
            tool = tools[n % len(tools)] if n < len(tools) else rng.choice(tools)
            if tool.name == "task_ask":  # waits up to 120 s for an answer by design
                continue
            args = fuzz.obj(tool.input_schema) if rng.random() < 0.9 else {rng.choice(NASTY)[:20]: fuzz.wrong()}
            args = _encodable(args)
            result = await s.call_tool(tool.name, args)
            text = "".join(getattr(part, "text", "") for part in result.content)
            if result.is_error and "internal error" in text:
                crashes.append(f"{tool.name}({args!r:.300}) -> {text[:300]}")
                if len(crashes) >= 10:
                    break
    assert c.get("/api/status").status_code == 200
    assert not crashes, f"seed {SEED}:\n" + "\n".join(crashes) + daemon.log_tail(3000)
