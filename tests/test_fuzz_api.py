"""Fuzz the REST API from its own ``/api/openapi.json``: every operation, bodies, queries and path
parameters generated from the schemas and then broken (wrong types, missing fields, lone
surrogates, control characters, over-long strings and path components, huge numbers, deep
nesting, non-JSON bodies), sent with the master token to a live daemon. No answer may be a 5xx,
every 4xx is JSON ``{"error": ...}``, and every 2xx JSON body fits the response schema the
operation documents (its ``$ref`` into ``components.schemas``, checked with ``jsonschema``).

``ARGUS_FUZZ_REQUESTS`` sets how many requests (default 500, the CI profile; run by hand with
10000 or more), ``ARGUS_FUZZ_SEED`` the seed (a failure prints it with the request).
"""

from __future__ import annotations

import json
import os
import random
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from argus_testkit import Daemon
from jsonschema import Draft202012Validator

REQUESTS = int(os.environ.get("ARGUS_FUZZ_REQUESTS", "500"))
SEED = int(os.environ.get("ARGUS_FUZZ_SEED", str(random.randrange(1 << 30))))
# Never fuzzed: endless streams, a directory walk of the whole disk, self-update, the login service.
SKIP = re.compile(r"/stream$|^/api/projects/scan$|^/api/update|^/api/source-path|^/api/autostart")
NASTY = ["", " ", "\ud800", "a\udfffb", "\x00", "\x1b[31m", "..", "../../etc/passwd", "/", "%2e%2e",
         "é" * 200, "x" * 70_000, "\u202e", "t_00000000", "null", "0", "-1", "💥", "a/b/../../c",
         "scope:x:y", "\n", "\r\n", "\ud83d\ude00"]
NUMBERS = [0, -1, 1, 2**31, 2**63, 10**30, -10**30, 1.5, float("1e308"), True]


class Fuzzer:
    """Values from a JSON schema, right and wrong."""

    def __init__(self, doc: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
        self.schemas = doc.get("components", {}).get("schemas", {})
        self.rng = rng
        self.ids = ids

    def resolve(self, schema: Any) -> dict[str, Any]:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema if isinstance(schema, dict) else {}

    def wrong(self, depth: int = 0) -> Any:
        pick = self.rng.random()
        if pick < 0.45:
            return self.rng.choice(NASTY)
        if pick < 0.7:
            return self.rng.choice(NUMBERS)
        if pick < 0.8:
            return None
        if pick < 0.9 or depth > 2:
            return [self.wrong(depth + 1) for _ in range(self.rng.randrange(3))]
        return {self.rng.choice(NASTY)[:20]: self.wrong(depth + 1)}

    def value(self, schema: Any, depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if self.rng.random() < 0.25 or depth > 4:
            return self.wrong(depth)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.value(self.rng.choice(schema[key]), depth + 1)
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = self.rng.choice(kind)
        if kind == "object" or "properties" in schema:
            return self.obj(schema, depth + 1)
        if kind == "array":
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(self.rng.randrange(4))]
        if kind == "integer":
            return self.rng.choice([0, 1, 5, 80, 120, -3, 10**12, schema.get("minimum", 0), schema.get("maximum", 7)])
        if kind == "number":
            return self.rng.choice([0, 0.5, 3, -1, 1e9])
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self.rng.choice([*self.ids, "p", "demo", "main", "hello", "README.md", *NASTY])

    def obj(self, schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required", []))
        for name, sub in (schema.get("properties") or {}).items():
            if name in required and self.rng.random() < 0.9 or self.rng.random() < 0.5:
                out[name] = self.value(sub, depth)
        if self.rng.random() < 0.1:
            out[self.rng.choice(NASTY)[:30] or "extra"] = self.wrong()
        return out

    def text(self) -> str:
        return str(self.rng.choice([*self.ids, "p", "demo", "x", *NASTY, 0, -1, 10**30]))


def _encode(body: Any, rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.05:
        return b""
    if pick < 0.1:
        return rng.choice([b"{", b"[1,2", b"\xff\xfe", b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                           b'{"n": ' + b"9" * 5000 + b"}", b"null", b"[]", b'"text"'])
    return json.dumps(body).encode()  # ensure_ascii: a lone surrogate goes out as its \\u escape


def _fill_path(path: str, fuzz: Fuzzer) -> str:
    def one(match: re.Match[str]) -> str:
        value = fuzz.text()[:400].encode("utf-8", "surrogatepass")
        # mostly percent-encoded; sometimes raw (a "/" or ".." that reaches the router as is)
        return (quote(value, safe="") if fuzz.rng.random() < 0.8 else quote(value, safe="/.")) or "x"
    return re.sub(r"\{[^}]+\}", one, path)


@pytest.fixture
def fuzz_daemon(daemon: Daemon, git_repo: Any) -> Daemon:
    """A daemon with a project and a running task, so ids in requests can be real."""
    assert daemon.client.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    resp = daemon.client.post("/api/tasks", json={"project": "p", "name": "target", "prompt": "hi", "backend": "demo"})
    assert resp.status_code == 201, resp.text
    return daemon


def test_no_5xx_over_generated_requests(fuzz_daemon: Daemon) -> None:
    d = fuzz_daemon
    rng = random.Random(SEED)
    doc = d.client.get("/api/openapi.json").json()
    tasks = [t["id"] for t in d.client.get("/api/tasks").json()["tasks"]]
    fuzz = Fuzzer(doc, rng, tasks)
    operations = [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()
                  if method in ("get", "post", "put", "delete", "patch") and not SKIP.search(path)]
    assert len(operations) > 40
    failures: list[str] = []
    checked = 0  # 2xx JSON answers checked against their documented schema
    # the unix socket: immune to the fuzzer turning the TCP listener off through /api/settings
    with d.unix_client(timeout=60) as client:
        for n in range(REQUESTS):
            method, path, op = operations[n % len(operations)] if n < len(operations) else rng.choice(operations)
            url = _fill_path(path, fuzz)
            params = {}
            for p in op.get("parameters", []):
                if p.get("in") == "query" and rng.random() < 0.6:
                    value = fuzz.text() if rng.random() < 0.5 else str(fuzz.value(p.get("schema")))
                    params[p["name"]] = value[:2000]  # a URL has a length limit of its own
            content = None
            if method in ("POST", "PUT", "PATCH"):
                body_doc = ((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
                schema = body_doc.get("schema")
                content = _encode(fuzz.value(schema) if schema else fuzz.wrong(), rng)
            if params:  # encoded by hand: a lone surrogate goes out as the (invalid UTF-8) bytes
                url += "?" + "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                                      for k, v in params.items())
            try:
                resp = client.request(method, url, content=content,
                                      headers={"Content-Type": "application/json"} if content is not None else {})
            except httpx.HTTPError as exc:
                failures.append(f"{method} {url} {params}: transport error {exc!r}")
                break
            api = url.startswith("/api/")
            problem = ""
            if resp.status_code >= 500 or (api and 400 <= resp.status_code < 500 and "error" not in _json(resp)):
                problem = resp.text[:300]
            elif 200 <= resp.status_code < 300 and same_route(path, url):
                problem = schema_problems(doc, op, resp)
                checked += int(resp.headers.get("content-type", "").startswith("application/json"))
            if problem:
                failures.append(f"{method} {path} ({url}) params={params} body={(content or b'')[:300]!r} -> "
                                f"{resp.status_code} {problem}")
                if len(failures) >= 10:
                    break
    assert not failures, f"seed {SEED}:\n" + "\n".join(failures) + d.log_tail(3000)
    assert checked >= 10, f"seed {SEED}: only {checked} 2xx JSON answers were checked against their schema"
    print(f"seed {SEED}: {REQUESTS} requests, {checked} 2xx JSON answers fit their documented schema")


def same_route(template: str, url: str) -> bool:
    """Whether ``url`` (``template`` filled) still names that route: a raw ``/``, ``.`` or ``..`` in
    a parameter moves the request elsewhere (``/api/hera/orchestrators/..`` is ``/api/hera``), whose
    answer is not the template's."""
    sent = url.split("?", 1)[0].split("/")
    return len(sent) == len(template.split("/")) and not any(part in (".", "..") for part in sent)


def response_schema(op: dict[str, Any], status: int) -> dict[str, Any] | None:
    """The JSON schema ``op`` documents for a ``status`` answer (the only 2xx one documented when
    ``status`` itself is not listed: a route answering 200 or 201), or None when it has none."""
    responses = op.get("responses", {})
    documented = responses.get(str(status))
    if documented is None:
        ok = [r for code, r in responses.items() if code.startswith("2")]
        documented = ok[0] if len(ok) == 1 else None
    media = ((documented or {}).get("content") or {}).get("application/json")
    return media.get("schema") if media else None


def schema_problems(doc: dict[str, Any], op: dict[str, Any], resp: httpx.Response) -> str:
    """Why a 2xx answer does not fit its documented schema ("" when it fits, or is not JSON)."""
    if not resp.headers.get("content-type", "").startswith("application/json"):
        return ""
    schema = response_schema(op, resp.status_code)
    if schema is None:
        return "a JSON answer the operation does not document"
    try:
        body = resp.json()
    except ValueError:
        return f"not JSON: {resp.text[:200]!r}"
    # the operation's schema as the root, so its "#/components/schemas/..." refs resolve
    validator = Draft202012Validator({**schema, "components": doc.get("components", {})})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))[:3]
    return "; ".join(f"outside the documented schema at /{'/'.join(map(str, e.absolute_path))}: "
                     f"{e.message[:200]}" for e in errors)


def test_schema_problems_names_the_field(fuzz_daemon: Daemon) -> None:
    doc = fuzz_daemon.client.get("/api/openapi.json").json()
    op = doc["paths"]["/api/tasks/{task_id}"]["get"]
    good = fuzz_daemon.client.get(f"/api/tasks/{fuzz_daemon.client.get('/api/tasks').json()['tasks'][0]['id']}")
    assert good.status_code == 200 and schema_problems(doc, op, good) == ""
    bad = httpx.Response(200, json={"task": {**good.json()["task"], "pinned": "yes"}})
    assert "/task/pinned: 'yes' is not of type 'boolean'" in schema_problems(doc, op, bad)
    undocumented = {"responses": {"200": {"description": "OK"}}}
    assert "does not document" in schema_problems(doc, undocumented, good)


def test_same_route_sees_a_request_moved_elsewhere() -> None:
    template = "/api/hera/orchestrators/{orch_id}"
    assert same_route(template, "/api/hera/orchestrators/o_1?x=1")
    assert not same_route(template, "/api/hera/orchestrators/..")
    assert not same_route(template, "/api/hera/orchestrators/a/b")


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
