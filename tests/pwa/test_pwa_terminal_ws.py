"""The PWA's terminal talks over the task's terminal WebSocket: keys typed into xterm.js go out as
binary frames (no ``POST /input``) and the echo comes back on the same socket; without WebSocket
support it falls back to ``POST /input`` + the SSE stream."""

from __future__ import annotations

from typing import Any

import pytest
from test_pwa_browser import app_factory, browser, create_task, fast_agents, playwright

__all__ = ["app_factory", "browser", "fast_agents", "playwright"]

pytestmark = pytest.mark.browser


def _record(page: Any) -> tuple[list[str], list[str], list[str]]:
    """URLs of input POSTs, SSE stream requests and WebSockets the page opens."""
    inputs: list[str] = []
    streams: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda r: inputs.append(r.url) if r.url.split("?")[0].endswith("/input") else None)
    page.on("request", lambda r: streams.append(r.url) if "/stream" in r.url and "/tasks/" in r.url else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    return inputs, streams, sockets


def test_typing_in_the_terminal_goes_over_the_websocket(app_factory: Any, daemon: Any,
                                                        project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "type at me")
    app = app_factory("terminal-ws")
    page = app.page
    inputs, streams, sockets = _record(page)
    app.login(path=f"/task/{task['id']}")
    app.wait_terminal_settled()
    assert any(f"/api/tasks/{task['id']}/terminal" in url for url in sockets), sockets
    assert streams == []  # the output came over the WebSocket too
    assert page.evaluate("window.argus.terminal.ws && window.argus.terminal.ws.readyState === 1")

    page.click("#terminal")
    page.keyboard.type("keys over the socket")
    page.keyboard.press("Enter")
    app.wait_terminal("you said: keys over the socket")
    assert inputs == [], inputs
    assert app.errors == []


def test_without_websockets_the_terminal_falls_back_to_post_and_sse(app_factory: Any, daemon: Any,
                                                                    project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "old browser")
    app = app_factory("terminal-nows")
    page = app.page
    page.add_init_script("window.WebSocket = undefined;")
    inputs, streams, sockets = _record(page)
    app.login(path=f"/task/{task['id']}")
    app.wait_terminal_settled()
    assert sockets == [] and streams

    page.click("#terminal")
    page.keyboard.type("keys over http")
    page.keyboard.press("Enter")
    app.wait_terminal("you said: keys over http")
    assert inputs
