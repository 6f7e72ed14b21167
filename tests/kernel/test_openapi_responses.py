"""Every API operation in ``/api/openapi.json`` documents its success answer: a JSON route names a
response model with its fields (not a bare ``{}`` or ``{"type": "object"}``); streams, text and
file downloads name their content type; a WebSocket route (``x-argus-websocket``) its ``101``.
The few exceptions are listed below, each with a reason."""

from __future__ import annotations

from typing import Any

from argus_testkit import Daemon

# Operations whose success answer is not a JSON document (so no model describes it), with why.
ALLOWED: dict[tuple[str, str], str] = {}
# Paths outside /api/ are the PWA's HTML pages and static files (HTML, JS, CSS, icons): file
# downloads, not the API.
NON_API_REASON = "the PWA's pages and static files (file downloads)"


def undocumented(doc: dict[str, Any]) -> list[str]:
    """``METHOD path: why`` for every operation without a usable 2xx response schema."""
    schemas = doc.get("components", {}).get("schemas", {})

    def resolve(schema: Any) -> dict[str, Any]:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema if isinstance(schema, dict) else {}

    def bare(schema: Any) -> bool:
        s = resolve(schema)
        if not s:
            return True
        if s.get("type") == "object" or ("type" not in s and not any(k in s for k in ("anyOf", "oneOf", "allOf"))):
            return not s.get("properties")
        return False

    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not path.startswith("/api/") or (method.upper(), path) in ALLOWED:
                continue
            if op.get("x-argus-websocket"):  # the answer is the upgrade; its messages are in the docs
                if "101" not in op.get("responses", {}):
                    out.append(f"{method.upper()} {path}: a WebSocket without its 101 response")
                continue
            ok = {code: r for code, r in op.get("responses", {}).items() if code.startswith("2")}
            if not ok:
                out.append(f"{method.upper()} {path}: no 2xx response")
            for code, resp in ok.items():
                content = resp.get("content") or {}
                if not content:
                    out.append(f"{method.upper()} {path}: {code} has no content")
                for ctype, media in content.items():
                    schema = media.get("schema")
                    if ctype == "application/json" and bare(schema):
                        out.append(f"{method.upper()} {path}: {code} JSON schema is a bare object")
                    elif schema is None:
                        out.append(f"{method.upper()} {path}: {code} {ctype} has no schema")
    return out


def test_every_api_operation_documents_its_success_answer(daemon: Daemon) -> None:
    doc = daemon.client.get("/api/openapi.json").json()
    missing = undocumented(doc)
    assert not missing, "operations without a response model:\n" + "\n".join(missing)


def test_the_checker_flags_bare_and_missing_schemas() -> None:
    doc = {"components": {"schemas": {"Empty": {"type": "object", "properties": {}},
                                      "Full": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}},
           "paths": {"/api/a": {"get": {"responses": {"200": {"content": {"application/json": {
                         "schema": {"type": "object"}}}}}}},
                     "/api/b": {"post": {"responses": {"201": {"description": "OK"}}}},
                     "/api/c": {"get": {"responses": {"200": {"content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Empty"}}}}}}},
                     "/api/d": {"get": {"responses": {"200": {"content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Full"}}}}}}},
                     "/api/e": {"get": {"responses": {"200": {"content": {"text/event-stream": {
                         "schema": {"type": "string"}}}}}}},
                     "/app.js": {"get": {"responses": {"200": {"description": "OK"}}}}}}
    assert undocumented(doc) == ["GET /api/a: 200 JSON schema is a bare object", "POST /api/b: 201 has no content",
                                 "GET /api/c: 200 JSON schema is a bare object"]
