"""The MCP listener through the official SDK client: initialize, list_tools, call_tool for tools an
external process registered over HTTP with a scope token; error mapping, naming, caps and sweeping.
"""

from __future__ import annotations

import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from argus.kernel import registry as registry_mod
from argus.kernel.api import Principal, ToolContext
from argus.kernel.errors import Forbidden, Invalid, NotFound, TooMany
from argus.kernel.registry import EXTERNAL_IDLE_SECONDS, MAX_TOOLS_PER_SCOPE, Registry, ToolError
from kernel_helpers import cli_env, external_process, mcp_session, mint_scope, serve_kernel

HERE = Path(__file__).resolve().parent
DEAD = "http://127.0.0.1:9/cb"  # the discard port: connection refused


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def _plugin(daemon: Any, scope: str, tmp_path: Path) -> Any:
    token = mint_scope(daemon.home, daemon.client, scope)
    env = cli_env(daemon.home, ARGUS_URL=daemon.url, ARGUS_SCOPE_TOKEN=token["token"])
    return external_process([sys.executable, str(HERE / "callback_plugin.py")], env,
                            tmp_path / f"{scope}.out", "ready")


# -- the daemon's MCP listener ------------------------------------------------------------------


async def test_initialize_and_list_tools(daemon: Any) -> None:
    async with mcp_session(daemon.mcp_url, daemon.token) as session:
        init = session.init_result
        assert init.server_info.name == "argus"
        assert init.server_info.version == daemon.client.get("/api/status").json()["version"]
        assert init.capabilities.tools is not None
        listed = await session.list_tools()
        rest = {t["name"] for t in daemon.client.get("/api/mcp/tools").json()["tools"]}
        assert {t.name for t in listed.tools} == rest


async def test_external_tool_is_listed_and_called_through_mcp(daemon: Any, tmp_path: Path) -> None:
    with _plugin(daemon, "myscope", tmp_path) as (proc, _base):
        async with mcp_session(daemon.mcp_url, daemon.token) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert {"myscope_echo", "myscope_fail", "myscope_refuse", "myscope_text"} <= set(tools)
            echo = tools["myscope_echo"]
            assert echo.description == "echo test tool"
            assert echo.input_schema["properties"] == {"text": {"type": "string"}}
            result = await session.call_tool("myscope_echo", {"text": "hi there"})
            assert not result.is_error, _text(result)
            answer = result.structured_content
            assert answer is not None and json.loads(_text(result)) == answer
            # The daemon POSTs {tool, input, context} with the registered auth_header.
            assert answer["tool"] == "myscope_echo"
            assert answer["input"] == {"text": "hi there"}
            assert answer["context"]["caller"] == "master"  # the token the MCP client sent
            assert answer["pid"] == proc.pid
            text = await session.call_tool("myscope_text", {})
            assert not text.is_error and _text(text) == "plain words"


async def test_callback_failures_become_mcp_tool_errors(daemon: Any, tmp_path: Path) -> None:
    with _plugin(daemon, "errs", tmp_path):
        scope = mint_scope(daemon.home, daemon.client, "gone")
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(f"{daemon.url}/api/mcp/tools", headers={"X-Argus-Auth": scope["token"]},
                                     json={"name": "gone_tool", "description": "", "callback_url": DEAD})
        assert resp.status_code == 201, resp.text
        async with mcp_session(daemon.mcp_url, daemon.token) as session:
            fail = await session.call_tool("errs_fail", {})
            assert fail.is_error and "boom from the plugin" in _text(fail) and "500" in _text(fail)
            refuse = await session.call_tool("errs_refuse", {})
            assert refuse.is_error and _text(refuse) == "the plugin refuses politely"
            gone = await session.call_tool("gone_tool", {})
            assert gone.is_error and "unreachable" in _text(gone)
            unknown = await session.call_tool("no_such_tool", {})
            assert unknown.is_error and "unknown tool" in _text(unknown)
            # The server is still fine afterwards.
            assert not (await session.call_tool("errs_echo", {"text": "x"})).is_error


async def test_unregistered_and_revoked_tools_disappear_without_restart(daemon: Any, tmp_path: Path) -> None:
    with _plugin(daemon, "shortlived", tmp_path):
        async with mcp_session(daemon.mcp_url, daemon.token) as session:
            assert "shortlived_echo" in {t.name for t in (await session.list_tools()).tools}
            assert daemon.client.delete("/api/mcp/tools/shortlived_echo").status_code == 200
            names = {t.name for t in (await session.list_tools()).tools}
            assert "shortlived_echo" not in names and "shortlived_fail" in names
            token_id = next(t["id"] for t in daemon.client.get("/api/tokens").json()["tokens"]
                            if t["scope"] == "shortlived")
            assert daemon.client.delete(f"/api/tokens/{token_id}").status_code == 200
            assert not [n for n in (await session.list_tools()).tools if n.name.startswith("shortlived_")]
            gone = await session.call_tool("shortlived_fail", {})
            assert gone.is_error and "unknown tool" in _text(gone)


def test_registration_is_validated(daemon: Any) -> None:
    scope = mint_scope(daemon.home, daemon.client, "myscope")
    headers = {"X-Argus-Auth": scope["token"]}

    def post(body: Any) -> httpx.Response:
        return httpx.post(f"{daemon.url}/api/mcp/tools", headers=headers, json=body, timeout=10)

    good = {"name": "myscope_ok", "description": "d", "callback_url": "http://127.0.0.1:1/x"}
    # outside the scope's own prefix is cross-scope: 403 as the manual says, not 400
    for name in ("echo", "myscopeecho", "other_echo"):
        resp = post({**good, "name": name})
        assert resp.status_code == 403, (name, resp.text)
        assert resp.json()["error"] == "tool name must start with 'myscope_'"
    bad = [
        {**good, "name": "myscope_bad name"},
        {**good, "callback_url": "ftp://127.0.0.1/x"},
        {**good, "callback_url": ""},
        {k: v for k, v in good.items() if k != "callback_url"},
        {**good, "input_schema": ["not", "an", "object"]},
        {**good, "description": 5},
        {**good, "auth_header": 5},
    ]
    for body in bad:
        resp = post(body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]
    assert post(good).status_code == 201
    assert post(good).status_code == 201  # re-registering refreshes, it is not a duplicate


def test_the_101st_tool_of_a_scope_is_refused(daemon: Any) -> None:
    scope = mint_scope(daemon.home, daemon.client, "many")
    with httpx.Client(base_url=daemon.url, headers={"X-Argus-Auth": scope["token"]}, timeout=10) as c:
        for n in range(MAX_TOOLS_PER_SCOPE):
            resp = c.post("/api/mcp/tools", json={"name": f"many_t{n}", "description": "", "callback_url": DEAD})
            assert resp.status_code == 201, (n, resp.text)
        resp = c.post("/api/mcp/tools", json={"name": "many_extra", "description": "", "callback_url": DEAD})
        assert resp.status_code == 429, resp.text
        # Refreshing an existing one is fine; freeing a slot makes room.
        assert c.post("/api/mcp/tools", json={"name": "many_t5", "description": "",
                                              "callback_url": DEAD}).status_code == 201
        assert c.delete("/api/mcp/tools/many_t0").status_code == 200
        assert c.post("/api/mcp/tools", json={"name": "many_extra", "description": "",
                                              "callback_url": DEAD}).status_code == 201
    # The cap is per scope: another scope still registers.
    other = mint_scope(daemon.home, daemon.client, "few")
    resp = httpx.post(f"{daemon.url}/api/mcp/tools", headers={"X-Argus-Auth": other["token"]},
                      json={"name": "few_one", "description": "", "callback_url": DEAD}, timeout=10)
    assert resp.status_code == 201


# -- in-process kernel: the timeout path and in-process tools over MCP --------------------------


async def _black_hole(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """A TCP listener that accepts connections and never answers."""

    async def handler(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        task_status.started(listeners[0].socket.getsockname()[1])


async def test_a_callback_that_times_out_is_an_mcp_tool_error(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_mod, "TOOL_CALL_TIMEOUT", 0.3)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_black_hole)
        async with serve_kernel(tmp_path) as live:
            live.kernel.registry.add_tool("slow", "slow_tool", "never answers", None,
                                          callback_url=f"http://127.0.0.1:{port}/cb", external=True)
            async with mcp_session(live.mcp_url, live.kernel.tokens.master) as session:
                with trio.fail_after(20):
                    result = await session.call_tool("slow_tool", {})
                assert result.is_error
                assert "timed out" in _text(result)
        nursery.cancel_scope.cancel()


async def test_in_process_tools_errors_and_crashes_over_mcp(tmp_path: Path) -> None:
    async def ok(args: dict[str, Any], ctx: ToolContext) -> Any:
        return {"sum": args["a"] + args["b"], "caller": ctx.principal.kind}

    async def invalid(args: dict[str, Any], ctx: ToolContext) -> Any:
        raise Invalid("a must be positive")

    async def crash(args: dict[str, Any], ctx: ToolContext) -> Any:
        raise RuntimeError("tool bug")

    async def text(args: dict[str, Any], ctx: ToolContext) -> Any:
        return "just text"

    async with serve_kernel(tmp_path) as live:
        reg = live.kernel.registry
        for name, fn in (("calc_ok", ok), ("calc_invalid", invalid), ("calc_crash", crash), ("calc_text", text)):
            reg.add_tool("calc", name, name, None, fn)
        async with mcp_session(live.mcp_url, live.kernel.tokens.master) as session:
            names = [t.name for t in (await session.list_tools()).tools]
            assert names == sorted(names) and {"calc_ok", "calc_crash"} <= set(names)
            result = await session.call_tool("calc_ok", {"a": 2, "b": 3})
            assert result.structured_content == {"sum": 5, "caller": "master"} and not result.is_error
            result = await session.call_tool("calc_invalid", {})
            assert result.is_error and _text(result) == "a must be positive"
            result = await session.call_tool("calc_crash", {})
            assert result.is_error and "tool bug" in _text(result)
            result = await session.call_tool("calc_text", {})
            assert _text(result) == "just text" and result.structured_content is None


async def test_a_scope_token_cannot_replace_or_remove_an_in_process_tool(tmp_path: Path) -> None:
    """A scope minted with the name of an in-process plugin's scope must not hijack its tools."""

    async def real(args: dict[str, Any], ctx: ToolContext) -> Any:
        return "the real tool"

    async with serve_kernel(tmp_path) as live:
        live.kernel.registry.add_tool("hello", "hello_greet", "in-process", None, real)
        token = live.kernel.tokens.mint_scope("hello")["token"]
        async with httpx.AsyncClient(base_url=live.url, headers={"X-Argus-Auth": token}, timeout=10) as c:
            resp = await c.post("/api/mcp/tools", json={"name": "hello_greet", "description": "fake",
                                                        "callback_url": DEAD})
            assert resp.status_code == 409, resp.text
            assert (await c.delete("/api/mcp/tools/hello_greet")).status_code == 403
            assert (await c.post("/api/mcp/tools", json={"name": "hello_extra", "description": "",
                                                         "callback_url": DEAD})).status_code == 201
        tool = live.kernel.registry.tools["hello_greet"]
        assert tool.handler is real and tool.description == "in-process"
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers, timeout=10) as master:
            assert (await master.delete("/api/mcp/tools/hello_greet")).status_code == 200


# -- Registry (unit) ----------------------------------------------------------------------------


def _registry() -> tuple[Registry, list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    return Registry(lambda t, d: events.append((t, d))), events


def test_sweep_drops_only_idle_external_tools() -> None:
    reg, events = _registry()

    async def handler(args: dict[str, Any], ctx: ToolContext) -> Any:
        return None

    ext = reg.add_tool("ext", "ext_a", "", None, callback_url=DEAD, external=True)
    reg.add_tool("ext", "ext_b", "", None, callback_url=DEAD, external=True)
    reg.add_tool("core", "core_tool", "", None, handler)
    t0 = ext.touched
    assert reg.sweep(now=t0 + EXTERNAL_IDLE_SECONDS - 1) == []
    reg.tools["ext_b"].touched = t0 + 120  # used two minutes later
    assert reg.sweep(now=t0 + EXTERNAL_IDLE_SECONDS + 1) == ["ext_a"]
    assert set(reg.tools) == {"ext_b", "core_tool"}
    assert ("registry.tool.removed", {"name": "ext_a", "scope": "ext"}) in events
    assert reg.sweep(now=t0 + 120 + EXTERNAL_IDLE_SECONDS + 1) == ["ext_b"]
    assert reg.sweep(now=t0 + 10 * EXTERNAL_IDLE_SECONDS) == []  # in-process tools are never swept
    assert set(reg.tools) == {"core_tool"}


def test_re_registering_refreshes_the_idle_clock() -> None:
    reg, _ = _registry()
    tool = reg.add_tool("ext", "ext_a", "", None, callback_url=DEAD, external=True)
    tool.touched -= 10 * EXTERNAL_IDLE_SECONDS  # pretend it has been idle for a long time
    reg.add_tool("ext", "ext_a", "", None, callback_url=DEAD, external=True)
    assert reg.sweep(now=time.monotonic() + 1) == []


async def _answering(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """A TCP listener answering every request with ``{"result": "pong"}`` (HTTP/1.1, then close)."""

    async def handler(stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += await stream.receive_some(65536)
        payload = b'{"result": "pong"}'
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                              b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        task_status.started(listeners[0].socket.getsockname()[1])


async def test_an_answered_call_keeps_a_tool_alive_an_unanswered_one_does_not() -> None:
    reg, _ = _registry()
    async with httpx.AsyncClient() as client, trio.open_nursery() as nursery:
        reg.http = client
        port = await nursery.start(_answering)
        live = reg.add_tool("ext", "ext_live", "", None, callback_url=f"http://127.0.0.1:{port}/", external=True)
        dead = reg.add_tool("ext", "ext_dead", "", None, callback_url=DEAD, external=True)
        live.touched -= 10 * EXTERNAL_IDLE_SECONDS
        dead.touched -= 10 * EXTERNAL_IDLE_SECONDS
        ctx = ToolContext(Principal("agent"))
        assert await reg.call_tool("ext_live", {}, ctx) == "pong"
        with pytest.raises(ToolError, match="unreachable"):
            await reg.call_tool("ext_dead", {}, ctx)
        nursery.cancel_scope.cancel()
    assert reg.sweep(now=time.monotonic() + 1) == ["ext_dead"]


def test_registry_rules() -> None:
    reg, events = _registry()
    reg.add_tool("a", "a_x", "", None, callback_url=DEAD, external=True)
    with pytest.raises(Forbidden, match="another scope"):
        reg.add_tool("b", "a_x", "", None, lambda args, ctx: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(NotFound):
        reg.remove_tool("nope")
    for n in range(MAX_TOOLS_PER_SCOPE - 1):
        reg.add_tool("a", f"a_{n}", "", None, callback_url=DEAD, external=True)
    with pytest.raises(TooMany):
        reg.add_tool("a", "a_more", "", None, callback_url=DEAD, external=True)
    dropped = reg.drop_scope("a")
    assert dropped == {"tools": MAX_TOOLS_PER_SCOPE, "sections": 0, "views": 0}
    assert reg.tools == {}
    assert sum(1 for t, _ in events if t == "registry.tool.added") == MAX_TOOLS_PER_SCOPE
