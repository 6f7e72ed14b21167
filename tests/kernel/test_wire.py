"""Declared routes and tools: validation from pydantic models (400 ``field: reason``, never a 500),
master-only routes, response checking, ``/api/openapi.json`` (valid OpenAPI 3.1, every route) and
MCP tool arguments checked against the same models or the registered JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.kernel.errors import Invalid
from argus.kernel.validation import check_schema, compile_schema, validate_schema
from kernel_helpers import bearer, mcp_session, serve_kernel

HERE = Path(__file__).resolve().parent


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture
def wire_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARGUS_HOME", str(tmp_path))  # the MCP client reads the master token there
    monkeypatch.setenv("ARGUS_PLUGINS", str(HERE / "wire_plugin.py"))
    monkeypatch.setenv("ARGUS_CHECK_RESPONSES", "1")
    return tmp_path


async def test_declared_routes_validate_path_query_and_body(wire_env: Path) -> None:
    async with serve_kernel(wire_env) as live:
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
            ok = await c.get("/api/wiretest/greet/Ada", params={"times": "2", "shout": "yes"})
            assert ok.status_code == 200 and ok.json() == {"message": "HELLO, ADA! HELLO, ADA!", "count": 2}
            made = await c.post("/api/wiretest/notes", json={"title": "t", "priority": "high"})
            assert made.status_code == 201 and made.json() == {"id": 1, "title": "t", "priority": "high"}
            assert (await c.get("/api/wiretest/notes/1")).json()["title"] == "t"
            bad = [
                (c.get("/api/wiretest/greet/Ada", params={"times": "9"}), "times"),
                (c.get("/api/wiretest/greet/Ada", params={"times": "many"}), "times"),
                (c.get("/api/wiretest/greet/Ada", params={"shout": "perhaps"}), "shout"),
                (c.post("/api/wiretest/notes", json={}), "title is required"),
                (c.post("/api/wiretest/notes", json={"title": ""}), "title"),
                (c.post("/api/wiretest/notes", json={"title": 5}), "title"),
                (c.post("/api/wiretest/notes", json={"title": "x", "priority": "urgent"}), "priority"),
                (c.post("/api/wiretest/notes", json={"title": "x", "labels": ["a", "b", "c", "d"]}), "labels"),
                (c.post("/api/wiretest/notes", json={"title": "x", "labels": [1]}), "labels.0"),
                (c.post("/api/wiretest/notes", json=["title"]), "object"),
                (c.post("/api/wiretest/notes", content=b"{nope"), "malformed JSON body"),
                (c.post("/api/wiretest/notes"), "a JSON object body is required"),
                (c.get("/api/wiretest/notes/zero"), "note_id"),
                (c.get("/api/wiretest/notes/0"), "note_id"),
            ]
            for pending, needle in bad:
                resp = await pending
                assert resp.status_code == 400, (needle, resp.status_code, resp.text)
                assert resp.headers["content-type"].startswith("application/json")
                assert needle in resp.json()["error"], (needle, resp.json())
            assert (await c.get("/api/wiretest/notes/7")).status_code == 404


async def test_a_response_outside_its_model_is_a_500_naming_the_field(wire_env: Path) -> None:
    async with serve_kernel(wire_env) as live:
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
            resp = await c.get("/api/wiretest/broken")
            assert resp.status_code == 500
            assert "Greeting" in resp.json()["error"] and "message" in resp.json()["error"]


async def test_master_only_routes_and_auth(wire_env: Path) -> None:
    async with serve_kernel(wire_env) as live:
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
            assert (await c.get("/api/wiretest/secret")).json() == {"ok": True}
            device = (await c.post("/api/tokens", json={"label": "phone"})).json()["token"]
        async with httpx.AsyncClient(base_url=live.url) as anon:
            assert (await anon.get("/api/wiretest/greet/Ada")).status_code == 401
            assert (await anon.get("/api/openapi.json")).status_code == 200  # the document is public
            # auth comes before validation: no token, bad body is still a 401
            assert (await anon.post("/api/wiretest/notes", json={})).status_code == 401
            denied = await anon.get("/api/wiretest/secret", headers=bearer(device))
            assert denied.status_code == 403 and "master token" in denied.json()["error"]
            assert (await anon.get("/api/wiretest/greet/Ada", headers=bearer(device))).status_code == 200


async def test_websocket_routes_are_declared_authenticated_and_validated(wire_env: Path) -> None:
    from argus.kernel.api import Route
    from trio_websocket import ConnectionRejected, open_websocket_url

    async with serve_kernel(wire_env) as live:
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
            device = (await c.post("/api/tokens", json={"label": "phone"})).json()["token"]
            doc = (await c.get("/api/openapi.json")).json()
        op = doc["paths"]["/api/wiretest/echo/{name}"]["get"]
        assert op["x-argus-websocket"] is True and "101" in op["responses"] and op["x-argus-master-only"]
        url = live.url.replace("http://", "ws://", 1) + "/api/wiretest/echo/Ada"
        master = [(b"Authorization", live.headers["Authorization"].encode())]
        async with open_websocket_url(url + "?times=2", extra_headers=master) as ws:
            assert [await ws.get_message(), await ws.get_message()] == ["hello Ada", "hello Ada"]
            await ws.send_message(b"\x00bytes")
            assert await ws.get_message() == b"\x00bytes"
            await ws.ping()
        async with open_websocket_url(url + f"?times=1&token={live.headers['Authorization'][7:]}") as ws:
            assert await ws.get_message() == "hello Ada"  # ?token= is accepted on a WebSocket
            await ws.ping()
        for headers, query, status, why in [
            ([], "", 401, "missing token"),
            ([(b"Authorization", f"Bearer {device}".encode())], "", 403, "master token"),
            (master, "?times=9", 400, "times"),
        ]:
            with pytest.raises(ConnectionRejected) as rejected:
                async with open_websocket_url(url + query, extra_headers=headers):
                    pass
            assert rejected.value.status_code == status and why in rejected.value.body.decode()
    with pytest.raises(ValueError, match="WebSocket"):
        Route("POST", "/api/x", echo_handler, websocket=True)


async def echo_handler() -> None:
    """A handler for the contract checks."""


async def test_openapi_document_lists_every_route_with_schemas(wire_env: Path) -> None:
    from openapi_spec_validator import validate as validate_spec

    async with serve_kernel(wire_env) as live:
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
            resp = await c.get("/api/openapi.json")
        assert resp.status_code == 200
        doc = resp.json()
        validate_spec(doc)
        assert doc["openapi"].startswith("3.1")
        app = live.kernel.http.app
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            path = rule.rule.replace("<path:", "<").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"].get(path, {}), (method, path)
        greet = doc["paths"]["/api/wiretest/greet/{name}"]["get"]
        params = {p["name"]: p for p in greet["parameters"]}
        assert params["name"]["in"] == "path" and params["times"]["schema"]["maximum"] == 5
        assert greet["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Greeting"}
        notes = doc["paths"]["/api/wiretest/notes"]["post"]
        body_ref = notes["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        note_in = doc["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
        assert note_in["required"] == ["title"] and note_in["properties"]["priority"]["enum"] == ["low", "high"]
        assert "201" in notes["responses"] and "400" in notes["responses"]
        assert doc["paths"]["/api/wiretest/secret"]["get"]["x-argus-master-only"] is True
        assert "/api/openapi.json" in doc["paths"]
        plain = doc["paths"]["/api/wiretest/plain/{item}"]["get"]  # a blueprint route is listed too
        assert plain["summary"] == "A route still mounted as a plain blueprint."
        assert plain["parameters"] == [{"name": "item", "in": "path", "required": True, "schema": {"type": "string"}}]
        tokens = doc["paths"]["/api/tokens"]["post"]
        assert tokens["x-argus-master-only"] is True and tokens["tags"] == ["kernel"]


async def test_mcp_tool_arguments_are_checked_against_the_model(wire_env: Path) -> None:
    async with serve_kernel(wire_env) as live:
        async with mcp_session(live.mcp_url, live.kernel.tokens.master) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            schema = tools["wiretest_add"].input_schema
            assert schema["required"] == ["a", "b"] and schema["properties"]["b"]["minimum"] == 0
            ok = await session.call_tool("wiretest_add", {"a": 2, "b": 3})
            assert not ok.is_error and ok.structured_content == {"sum": 5}
            for args, needle in [({"a": 1}, "b is required"), ({"a": "one", "b": 1}, "a: "),
                                 ({"a": 1, "b": -1}, "b: "), ({"a": 1.5, "b": 1}, "a: ")]:
                result = await session.call_tool("wiretest_add", args)
                assert result.is_error and needle in _text(result), (args, _text(result))


async def test_external_tool_arguments_are_checked_against_its_json_schema(wire_env: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}}, "required": ["n"]}
    async with serve_kernel(wire_env) as live:
        live.kernel.registry.add_tool("ext", "ext_count", "count", schema,
                                      callback_url="http://127.0.0.1:9/cb", external=True)
        async with mcp_session(live.mcp_url, live.kernel.tokens.master) as session:
            missing = await session.call_tool("ext_count", {})
            assert missing.is_error and _text(missing) == "n is required"
            big = await session.call_tool("ext_count", {"n": 4})
            assert big.is_error and _text(big).startswith("n: ") and "3" in _text(big)
            # valid arguments reach the (dead) callback: the error is about reaching it
            dead = await session.call_tool("ext_count", {"n": 1})
            assert dead.is_error and "unreachable" in _text(dead)
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
            listed = (await c.get("/api/mcp/tools")).json()["tools"]
            assert any(t["name"] == "ext_count" for t in listed)


def test_schema_helpers_name_the_field() -> None:
    with pytest.raises(Invalid, match="not a valid JSON Schema"):
        check_schema({"type": "object", "properties": {"n": {"type": "nonsense"}}})
    validator = compile_schema({"type": "object", "properties": {"xs": {"type": "array",
                                                                        "items": {"type": "string"}}}})
    with pytest.raises(Invalid, match=r"^xs\.1: 2 is not of type 'string'$"):
        validate_schema(validator, {"xs": ["a", 2]})
    validate_schema(validator, {"xs": ["a"]})


async def test_routes_cannot_be_declared_twice(wire_env: Path) -> None:
    from argus.kernel.api import Route

    async def handler() -> dict[str, Any]:
        return {}

    async with serve_kernel(wire_env) as live:
        with pytest.raises(ValueError, match="already declared"):
            live.kernel.http.add_routes("other", [Route("GET", "/api/wiretest/secret", handler)])
