"""The terminal WebSocket (``GET /api/tasks/{id}/terminal``) against a real daemon, a real PTY and
the fake agent: echo round trip, order of many small input frames, resize frames, bad frames,
unknown tasks, the auth matrix, the session change after an exit, and its OpenAPI entry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
import trio
from argus.plugins.tasks.terminal import RERENDER_QUIET
from argus_testkit import Daemon
from test_mcp_auth import device_token, scope_token, task_token
from test_tasks_api import agent_env, create_task, get_task, wait_idle, wait_task
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection, open_websocket_url

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)

#: trio-websocket stops reading the socket while its message queue is full; a roomy one keeps
#: pings and the close handshake from waiting behind unread output frames.
QUEUE = 100_000


def ws_url(daemon: Daemon, task_id: str, **params: Any) -> str:
    """The terminal WebSocket's URL on the daemon's TCP listener."""
    base = daemon.url.replace("http://", "ws://", 1)
    query = f"?{urlencode(params)}" if params else ""
    return f"{base}/api/tasks/{task_id}/terminal{query}"


@asynccontextmanager
async def terminal(daemon: Daemon, task_id: str, token: str | None = None,
                   **params: Any) -> AsyncIterator[WebSocketConnection]:
    """An open terminal WebSocket (the master token as a header unless ``token`` is given)."""
    headers = [(b"Authorization", f"Bearer {token or daemon.token}".encode())]
    async with open_websocket_url(ws_url(daemon, task_id, **params), extra_headers=headers,
                                  message_queue_size=QUEUE) as ws:
        yield ws


class Screen:
    """What the server sent: output bytes and JSON messages, in order."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.data = b""
        self.messages: list[dict[str, Any]] = []

    async def next(self) -> bytes | dict[str, Any]:
        frame = await self.ws.get_message()
        if isinstance(frame, bytes):
            self.data += frame
            return frame
        message: dict[str, Any] = json.loads(frame)
        self.messages.append(message)
        return message

    async def until_output(self, needle: bytes, timeout: float = 30) -> None:
        with trio.fail_after(timeout):
            while needle not in self.data:
                await self.next()

    async def until_message(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        with trio.fail_after(timeout):
            while True:
                frame = await self.next()
                if isinstance(frame, dict) and frame.get("type") == kind:
                    return frame


def test_echo_order_and_session_frame(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="ws echo")
    tid = t["id"]
    wait_idle(c, tid)

    async def main() -> None:
        async with terminal(daemon, tid, since=0) as ws:
            screen = Screen(ws)
            first = await screen.next()
            assert isinstance(first, dict)
            assert first["type"] == "session" and first["session_id"] == t["session_id"]
            assert first["offset"] == 0 and first["cols"] > 0 and first["rows"] > 0
            await screen.until_output(b"> ")  # the backlog from offset 0, then the prompt
            # One key: its echo comes back as a binary frame.
            await ws.send_message(b"q")
            await screen.until_output(b"> q")
            await ws.send_message(b"\x15")  # clear the line
            # 1,000 one-byte frames, sent without waiting, arrive in order.
            keys = "".join(chr(ord("a") + i % 26) for i in range(1000))
            for key in keys:
                await ws.send_message(key.encode())
            await ws.send_message(b"\r")
            await screen.until_output(f"you said: {keys}".encode(), timeout=60)

    trio.run(main)


def test_resize_and_bad_frames_keep_the_connection(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="ws resize")
    tid = t["id"]
    wait_idle(c, tid)
    session = t["session_id"]
    start_cols = c.get(f"/api/tasks/{tid}/size").json()["cols"]

    async def main() -> None:
        async with terminal(daemon, tid) as ws:
            screen = Screen(ws)
            assert (await screen.until_message("session"))["session_id"] == session
            for bad, why in [("not json", "JSON object"), ("[1, 2]", "JSON object"),
                             ('{"type": "dance"}', "unknown control type"),
                             (json.dumps({"type": "resize", "cols": 0, "rows": 0}), "cols"),
                             (json.dumps({"type": "resize", "cols": "wide", "rows": 30}), "cols")]:
                await ws.send_message(bad)
                err = await screen.until_message("error")
                assert why in err["error"], (bad, err)
            # A small change resizes the PTY and never re-renders (same session).
            await ws.send_message(json.dumps({"type": "resize", "cols": start_cols + 2, "rows": 30}))
            done = await screen.until_message("resized")
            assert done == {"type": "resized", "cols": start_cols + 2, "rows": 30, "rerendered": False}
            # The connection is still usable: input goes through.
            await ws.send_message(b"still here\r")
            await screen.until_output(b"you said: still here")

    trio.run(main)
    assert c.get(f"/api/tasks/{tid}/size").json() == {"cols": start_cols + 2, "rows": 30}
    assert get_task(c, tid)["session_id"] == session


def test_unknown_task_and_exit_then_the_next_session(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client

    async def unknown() -> None:
        async with terminal(daemon, "t_nothere") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.get_message()
            assert closed.value.reason.code == 4404 and "t_nothere" in (closed.value.reason.reason or "")

    trio.run(unknown)

    t = create_task(c, name="ws exit")
    tid = t["id"]
    wait_idle(c, tid)

    async def main() -> None:
        async with terminal(daemon, tid) as ws:
            screen = Screen(ws)
            await screen.until_message("session")
            await ws.send_message(b"/exit 7\r")
            gone = await screen.until_message("exit")
            assert gone["code"] == 7 and gone["signal"] is None and gone["end_offset"] > 0
            # Input with no agent running: an error frame, the connection stays.
            await ws.send_message(b"x")
            assert "not running" in (await screen.until_message("error"))["error"]
            wait_task(c, tid, lambda x: not x["running"], "the exit")
            resumed = c.post(f"/api/tasks/{tid}/resume").json()["task"]
            # The same connection follows the task to its new session, from its top.
            nxt = await screen.until_message("session")
            assert nxt["session_id"] == resumed["session_id"] != t["session_id"] and nxt["offset"] == 0
            screen.data = b""
            await screen.until_output(b"> ")
            await ws.send_message(b"after resume\r")
            await screen.until_output(b"you said: after resume")

    trio.run(main)


def test_auth_matrix(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="ws auth")
    tid = t["id"]
    wait_idle(c, tid)
    device = device_token(daemon)
    alpha = scope_token(daemon, "alpha")
    beta = scope_token(daemon, "beta")
    own = task_token(daemon, tid)  # a task's own token is for MCP and the agent hook only

    async def refused(headers: list[tuple[bytes, bytes]], **params: Any) -> int:
        with pytest.raises(ConnectionRejected) as rejected:
            async with open_websocket_url(ws_url(daemon, tid, **params), extra_headers=headers):
                pass
        assert json.loads(rejected.value.body or b"{}").get("error")
        return int(rejected.value.status_code)

    async def accepted(headers: list[tuple[bytes, bytes]], **params: Any) -> None:
        async with open_websocket_url(ws_url(daemon, tid, **params), extra_headers=headers,
                                      message_queue_size=QUEUE) as ws:
            screen = Screen(ws)
            assert (await screen.until_message("session"))["session_id"] == t["session_id"]
            # The server pings right after the upgrade: have that ping answered before closing
            # (trio-websocket cannot answer a ping that arrives after its close frame went out).
            with trio.fail_after(30):
                await ws.ping()

    async def main() -> None:
        assert await refused([]) == 401
        assert await refused([(b"Authorization", b"Bearer " + b"0" * 64)]) == 401
        assert await refused([], token="0" * 64) == 401
        assert await refused([(b"Authorization", f"Bearer {own}".encode())]) == 403
        # Every token that may read the SSE stream: device, a scope (any), master; header or ?token=.
        for token in (device, alpha, beta, daemon.token):
            await accepted([(b"Authorization", f"Bearer {token}".encode())])
            await accepted([], token=token)
        await accepted([(b"X-Argus-Auth", alpha.encode())])
        # Bad query input is refused before the upgrade.
        assert await refused([(b"Authorization", f"Bearer {daemon.token}".encode())], since="x") == 400

    trio.run(main)


def test_openapi_lists_the_websocket(daemon: Daemon) -> None:
    doc = daemon.client.get("/api/openapi.json").json()
    op = doc["paths"]["/api/tasks/{task_id}/terminal"]["get"]
    assert op["x-argus-websocket"] is True and "101" in op["responses"] and "401" in op["responses"]
    assert {p["name"] for p in op["parameters"]} >= {"task_id", "since", "session"}


def test_a_resize_frame_that_re_renders_hands_later_keys_to_the_new_session(daemon: Daemon,
                                                                            project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="ws rerender")
    tid = t["id"]
    wait_idle(c, tid)
    assert c.get(f"/api/tasks/{tid}/size").json()["cols"] == 120

    async def main() -> None:
        async with terminal(daemon, tid) as ws:
            screen = Screen(ws)
            await screen.until_message("session")
            # A re-render needs a few quiet seconds since the last key (the task's prompt).
            await trio.sleep(RERENDER_QUIET + 0.5)
            await ws.send_message(json.dumps({"type": "resize", "cols": 150, "rows": 45}))
            await ws.send_message(b"typed right after\r")  # applied once the resize is done
            # The answer, the old session's exit and the new session's first frame (the answer
            # may come before or after the other two).
            with trio.fail_after(30):
                while len([m for m in screen.messages if m["type"] in ("resized", "session", "exit")]) < 4:
                    await screen.next()
            done = next(m for m in screen.messages if m["type"] == "resized")
            assert done == {"type": "resized", "cols": 150, "rows": 45, "rerendered": True}
            kinds = [m["type"] for m in screen.messages if m["type"] != "resized"]
            assert kinds == ["session", "exit", "session"], screen.messages
            new = screen.messages[-1] if screen.messages[-1]["type"] == "session" else screen.messages[-2]
            assert new["session_id"] != t["session_id"] and new["offset"] == 0
            assert (new["cols"], new["rows"]) == (150, 45)
            screen.data = b""
            await screen.until_output(b"you said: typed right after")

    trio.run(main)
    task = get_task(c, tid)
    assert task["status"] == "in_progress" and task["session_id"] != t["session_id"]
