"""Bad input is a 4xx with a reason, never a 500 or silent misbehaviour: concurrent creations with
the same name, lone UTF-16 surrogates, over-long path components, huge settings values, task names
with control characters, and a stream cursor past the end.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio
from argus_testkit import wait_for_async
from orch_helpers import FAST_AGENT, call, call_error, create_task, mcp_session, output

SURROGATE = '"\\ud800"'  # a JSON string holding a lone surrogate (json.dumps would escape it the same way)


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def _raw(template: str) -> bytes:
    return template.replace("@S", SURROGATE).encode()


async def test_concurrent_creations_with_one_name_get_distinct_slugs(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")  # running: the others stay pending (no agents)
    results: list[httpx.Response] = []

    async def one(client: httpx.AsyncClient) -> None:
        results.append(await client.post("/api/tasks", json={
            "name": "same name", "prompt": "p", "project": project["name"], "backend": "demo",
            "depends_on": [gate["id"]]}))

    async with httpx.AsyncClient(base_url=daemon.url, headers=daemon.headers, timeout=120) as client:
        async with trio.open_nursery() as nursery:
            for _ in range(16):
                nursery.start_soon(one, client)
    assert [r.status_code for r in results] == [201] * 16, [r.text for r in results if r.status_code != 201]
    slugs = [r.json()["task"]["slug"] for r in results]
    assert len(set(slugs)) == 16 and "same-name" in slugs, slugs
    assert all(r.json()["task"]["name"] == "same name" for r in results)


async def test_lone_surrogates_are_400_everywhere(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, project["name"], "target")
    tid = t["id"]
    cases = [
        ("POST", "/api/tasks", '{"name": @S, "prompt": "p", "project": "PROJ"}'.replace("PROJ", project["name"])),
        ("POST", "/api/tasks", '{"prompt": @S, "project": "PROJ", "backend": "demo"}'.replace("PROJ", project["name"])),
        ("POST", f"/api/tasks/{tid}/input", '{"data": @S}'),
        ("POST", f"/api/tasks/{tid}/rename", '{"name": @S}'),
        ("PUT", "/api/settings", '{"defaults": {"share_project": @S}}'),
        ("POST", "/api/projects", '{"name": "x", "path": @S}'),
        ("POST", "/api/agent/hook", '{"event": @S, "task_id": "TID"}'.replace("TID", tid)),
        ("POST", "/api/tokens", '{"label": @S}'),
        ("POST", f"/api/tasks/{tid}/messages", '{"to": "TID", "body": @S}'.replace("TID", tid)),
        ("POST", "/api/tasks", '{@S: 1, "project": "PROJ"}'.replace("PROJ", project["name"])),
    ]
    for method, path, body in cases:
        resp = c.request(method, path, content=_raw(body), headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (path, body, resp.status_code, resp.text[:300])
        assert "surrogate" in resp.json()["error"], (path, resp.text)
    assert c.get(f"/api/tasks/{tid}").json()["task"]["name"] == "target"
    # a proper surrogate pair (an emoji) is fine
    resp = c.post(f"/api/tasks/{tid}/rename", content=b'{"name": "ok \\ud83d\\ude00"}',
                  headers={"Content-Type": "application/json"})
    assert resp.status_code == 200 and resp.json()["task"]["name"] == "ok \U0001F600"
    # over MCP (the official client cannot even encode one: the agent sends the JSON escape)
    c.post(f"/api/tasks/{tid}/input", json={"data": '/mcp task_rename {"name": "\\ud800"}'})
    c.post(f"/api/tasks/{tid}/input", json={"data": "\r"})
    await wait_for_async(lambda: "surrogate" in output(c, tid).split("mcp task_rename ->")[-1],
                          what="the tool error about the surrogate")
    assert c.get(f"/api/tasks/{tid}").json()["task"]["name"] == "ok \U0001F600"


async def test_path_components_over_255_bytes_are_400(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, project["name"], "paths")
    long = "é" * 128  # 128 characters, 256 bytes
    for path, params in ((f"/api/tasks/{t['id']}/files", {"dir": long}),
                         (f"/api/tasks/{t['id']}/files", {"dir": f"a/{long}/b"}),
                         (f"/api/tasks/{t['id']}/git/diff", {"path": long}),
                         (f"/api/tasks/{t['id']}/git/diff", {"path": "/".join(["d" * 200] * 25)})):
        resp = c.get(path, params=params)
        assert resp.status_code == 400, (path, resp.status_code, resp.text[:200])
        assert "bytes" in resp.json()["error"]
    resp = c.post(f"/api/tasks/{t['id']}/upload", files=[("files", ("é" * 101, b"x"))])
    assert resp.status_code == 400 and "bytes" in resp.json()["error"], resp.text
    assert c.post(f"/api/tasks/{t['id']}/upload", files=[("files", ("é" * 100, b"x"))]).status_code in (200, 201)
    assert c.get(f"/api/tasks/{t['id']}/files", params={"dir": "é" * 127}).status_code == 404


def test_settings_values_have_a_size_limit(daemon: Any) -> None:
    c = daemon.client
    resp = c.put("/api/settings", json={"defaults": {"share_project": "x" * (64 * 1024 + 1)}})
    assert resp.status_code == 413 and "64 KiB" in resp.json()["error"]
    assert c.put("/api/settings", json={"defaults": {"share_project": "x" * 60000}}).status_code == 200
    assert len(c.get("/api/settings").content) < 1024 * 1024


async def test_task_names_one_limit_and_no_control_characters(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    base = {"prompt": "p", "project": project["name"], "backend": "demo"}
    for bad in ("\x1b[31mred", "a\nb", "nul\x00", "tab\there", "del\x7f", "c1\x9b", "l\u2028s"):
        resp = c.post("/api/tasks", json={**base, "name": bad})
        assert resp.status_code == 400 and "control characters" in resp.json()["error"], (bad, resp.text)
    resp = c.post("/api/tasks", json={**base, "name": "n" * 201})
    assert resp.status_code == 400 and "200 characters" in resp.json()["error"]
    t = create_task(c, project["name"], "  " + "n" * 200 + "  ")
    assert t["name"] == "n" * 200
    for bad in ("\x1b]0;title\x07", "n" * 201, "x\ry"):
        assert c.post(f"/api/tasks/{t['id']}/rename", json={"name": bad}).status_code == 400, bad
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        err = await call_error(s, "task_rename", {"id": t["id"], "name": "evil\x1b[2J"})
        assert "control characters" in err
        err = await call_error(s, "task_create", {**base, "name": "two\nlines"})
        assert "control characters" in err
        made = await call(s, "task_create", {**base, "name": "fine ✓"})
        assert made["task"]["name"] == "fine ✓"


async def test_a_stream_cursor_past_the_end_starts_at_the_end(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, project["name"], "cursor")
    await wait_for_async(lambda: "? for shortcuts" in output(c, t["id"]), what="the agent's prompt")
    with c.stream("GET", f"/api/tasks/{t['id']}/stream", params={"since": 10**12},
                  timeout=httpx.Timeout(30)) as resp:
        assert resp.status_code == 200
        lines = resp.iter_lines()
        data = next(line for line in lines if line.startswith("data:"))
    first = json.loads(data[5:])
    end = len(c.get(f"/api/tasks/{t['id']}/output", params={"bytes": 10**7}).content)
    assert 0 < first["offset"] <= end, (first, end)
