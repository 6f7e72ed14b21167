"""The remote TUI's agent view rides the task's terminal WebSocket: output comes in on it and keys
go out on it (no ``POST /input`` per key); the local TUI keeps the SSE stream and POSTs."""

from __future__ import annotations

from typing import Any

from argus.plugins.tui.client import ArgusClient
from test_tui_daemon import ENTER, make_task
from tui_harness import Harness, run_scenario


def _recording(client: ArgusClient) -> list[str]:
    """The paths of the HTTP requests and SSE streams the client opens."""
    seen: list[str] = []
    request, sse = client.request, client.sse

    async def recorded_request(method: str, path: str, **kw: Any) -> Any:
        seen.append(f"{method} {path}")
        return await request(method, path, **kw)

    def recorded_sse(path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        seen.append(f"SSE {path}")
        return sse(path, params, **kw)

    client.request = recorded_request  # type: ignore[method-assign]
    client.sse = recorded_sse  # type: ignore[method-assign]
    return seen


async def _open_agent(h: Harness, name: str) -> None:
    """Open the agent view of the task called ``name`` and wait for the agent's prompt."""
    await h.ready()
    await h.until_screen(name)
    h.keys(ENTER)
    await h.until_screen("? for shortcuts", timeout=20)


async def _type_and_see(h: Harness, line: str) -> None:
    """Type ``line`` + Enter into the agent and wait for the fake agent's answer."""
    h.keys(line + ENTER)
    await h.until_screen(f"you said: {line}", timeout=15)


def test_remote_agent_view_types_over_the_terminal_websocket(daemon: Any, project: dict[str, Any]) -> None:
    task = make_task(daemon, project, name="ws-remote")
    client = ArgusClient.remote(daemon.url, daemon.token)
    seen = _recording(client)

    async def scenario(h: Harness) -> None:
        await _open_agent(h, "ws-remote")
        await h.until(lambda: task["id"] in client._terminals, what="the terminal WebSocket")
        await _type_and_see(h, "over the socket")

    run_scenario(client, scenario)
    assert not [s for s in seen if s.endswith("/input") or "/stream" in s and "/tasks/" in s], seen


def test_local_agent_view_keeps_post_and_sse(daemon: Any, project: dict[str, Any]) -> None:
    make_task(daemon, project, name="ws-local")
    client = ArgusClient.local(daemon.home)
    seen = _recording(client)

    async def scenario(h: Harness) -> None:
        await _open_agent(h, "ws-local")
        await _type_and_see(h, "over http")

    run_scenario(client, scenario)
    assert any(s.endswith("/input") for s in seen) and any(s.endswith("/stream") for s in seen), seen
