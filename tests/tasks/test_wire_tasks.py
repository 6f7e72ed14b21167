"""The tasks plugin's wire: its routes are declared with models (valid OpenAPI 3.1 listing every
route, the Task JSON as a schema), bad input is a 400 naming the field on many routes, and MCP
tool arguments are validated against the tools' models (a tool error quoting the field)."""

from __future__ import annotations

from typing import Any

import httpx
from argus_testkit import Daemon
from orch_helpers import call, call_error, mcp_session


def _create(daemon: Daemon, project: dict[str, Any], name: str) -> dict[str, Any]:
    resp = daemon.client.post("/api/tasks", json={"project": project["name"], "name": name,
                                                  "prompt": "wait for instructions"})
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]


def test_openapi_lists_every_tasks_route_with_models(daemon: Daemon) -> None:
    from openapi_spec_validator import validate as validate_spec

    anon = httpx.get(f"{daemon.url}/api/openapi.json")
    assert anon.status_code == 200  # the document is public; its routes are not
    doc = daemon.client.get("/api/openapi.json").json()
    validate_spec(doc)
    paths = doc["paths"]
    expected = {
        ("get", "/api/tasks"), ("post", "/api/tasks"), ("get", "/api/tasks/{task_id}"),
        ("delete", "/api/tasks/{task_id}"), ("post", "/api/tasks/{task_id}/resize"),
        ("get", "/api/tasks/{task_id}/stream"), ("get", "/api/tasks/{task_id}/artifacts/{filename}"),
        ("post", "/api/tasks/{task_id}/messages"), ("get", "/api/dag"), ("post", "/api/backends"),
        ("get", "/api/projects/full"), ("post", "/api/agent/hook"), ("get", "/api/events/stream"),
        ("delete", "/api/tasks/{task_id}/limit-resume"),
    }
    missing = [(m, p) for m, p in expected if m not in paths.get(p, {})]
    assert not missing, missing
    schemas = doc["components"]["schemas"]
    task = schemas["Task"]
    assert {"id", "status", "display_status", "worktree_path", "parent_ids"} <= set(task["properties"])
    assert task["properties"]["status"]["enum"] == ["pending", "in_progress", "in_review", "complete", "limit"]
    assert {"limit_resets_at", "limit_resume_at"} <= set(task["properties"])
    get_task = paths["/api/tasks/{task_id}"]["get"]
    assert get_task["tags"] == ["tasks"]
    assert get_task["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("TaskReply")
    listing = {p["name"]: p for p in paths["/api/tasks"]["get"]["parameters"]}
    assert listing["status"]["in"] == "query" and "idle" in str(listing["status"]["schema"])
    create = paths["/api/tasks"]["post"]["requestBody"]["content"]
    assert set(create) == {"application/json", "multipart/form-data"}
    assert paths["/api/backends"]["post"]["x-argus-master-only"] is True
    resize = paths["/api/tasks/{task_id}/resize"]["post"]["requestBody"]["content"]["application/json"]
    body = schemas[resize["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert body["properties"]["cols"]["maximum"] == 1000 and body["required"] == ["cols", "rows"]
    assert paths["/api/tasks/{task_id}/stream"]["get"]["responses"]["200"]["content"] == {
        "text/event-stream": {"schema": {"type": "string"}}}


def test_bad_input_on_tasks_routes_is_400_naming_the_field(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = _create(daemon, project, "target")["id"]
    cases = [
        ("GET", "/api/tasks", {"params": {"status": "sleeping"}}, "status"),
        ("GET", "/api/tasks", {"params": {"archived": "maybe"}}, "archived"),
        ("POST", "/api/tasks", {"json": {"name": "x"}}, "project is required"),
        ("POST", "/api/tasks", {"json": {"project": project["name"], "prompt": 5}}, "prompt"),
        ("POST", "/api/tasks", {"json": {"project": project["name"], "prompt": "p", "depends_on": "t_x"}},
         "depends_on"),
        ("POST", "/api/tasks", {"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}},
         "object"),
        ("POST", f"/api/tasks/{t}/resize", {"json": {"cols": 5000, "rows": 40}}, "cols"),
        ("POST", f"/api/tasks/{t}/resize", {"json": {"cols": "80", "rows": 40}}, "cols"),
        ("POST", f"/api/tasks/{t}/resize", {"json": {"cols": 80}}, "rows is required"),
        ("POST", f"/api/tasks/{t}/status", {"json": {"status": "done"}}, "status"),
        ("POST", f"/api/tasks/{t}/pin", {"json": {"pinned": "yes"}}, "pinned"),
        ("POST", f"/api/tasks/{t}/rename", {"json": {"name": ["a"]}}, "name"),
        ("DELETE", f"/api/tasks/{t}", {"params": {"force": "perhaps"}}, "force"),
        ("GET", f"/api/tasks/{t}/output", {"params": {"bytes": "-1"}}, "bytes"),
        ("GET", f"/api/tasks/{t}/stream", {"params": {"since": "x"}}, "since"),
        ("POST", f"/api/tasks/{t}/input", {"json": {"data": 5}}, "data"),
        ("POST", f"/api/tasks/{t}/messages", {"json": {"to": t, "body": "hi", "kind": "shout"}}, "kind"),
        ("POST", f"/api/tasks/{t}/inbox/ack", {"json": {"message_ids": "all"}}, "message_ids"),
        ("GET", f"/api/tasks/{t}/inbox", {"params": {"limit": "ten"}}, "limit"),
        ("GET", "/api/dag", {"params": {"archived": "2"}}, "archived"),
        ("POST", f"/api/tasks/{t}/deps", {"json": {}}, "parent_id is required"),
        ("POST", "/api/projects", {"json": {"name": "p", "path": 7}}, "path"),
        ("PUT", f"/api/projects/{project['name']}", {"json": {"sandbox": {"enabled": "on"}}}, "sandbox.enabled"),
        ("POST", "/api/projects/scan", {"json": {}}, "dir is required"),
        ("POST", "/api/backends", {"json": {"name": "b", "command": ["x"]}}, "command"),
    ]
    for method, path, kwargs, needle in cases:
        resp = c.request(method, path, **kwargs)
        assert resp.status_code == 400, (method, path, kwargs, resp.status_code, resp.text)
        assert resp.headers["content-type"].startswith("application/json"), resp.headers
        assert needle in resp.json()["error"], (method, path, resp.json())
    # the validated routes still work with good input
    assert c.post(f"/api/tasks/{t}/pin", json={"pinned": True}).json()["task"]["pinned"] is True
    assert c.post(f"/api/tasks/{t}/pin").json()["task"]["pinned"] is False  # no body: toggle
    assert c.get("/api/tasks", params={"status": "", "archived": "all"}).status_code == 200
    assert c.post(f"/api/tasks/{t}/rename", json={"name": "Renamed"}).json()["task"]["name"] == "Renamed"


async def test_mcp_tool_arguments_are_validated_by_their_models(daemon: Daemon, project: dict[str, Any]) -> None:
    t = _create(daemon, project, "caller")
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        tools = {tool.name: tool for tool in (await s.list_tools()).tools}
        ask = tools["task_ask"].input_schema
        assert ask["properties"]["timeout_seconds"]["maximum"] == 120 and set(ask["required"]) == {"to", "body"}
        assert "working directory" in tools["task_get"].input_schema["properties"]["cwd"]["description"]
        err = await call_error(s, "task_inbox", {"id": t["id"], "limit": 0})
        assert err.startswith("limit: ") and "1" in err
        err = await call_error(s, "task_link", {"child_id": t["id"]})
        assert err == "parent_id is required"
        err = await call_error(s, "task_list", {"status": "sleeping"})
        assert err.startswith("status: ")
        err = await call_error(s, "task_archive", {"id": t["id"], "archived": "yes"})
        assert err.startswith("archived: ")
        err = await call_error(s, "task_message_ack", {"id": t["id"], "message_ids": ["1"]})
        assert err.startswith("message_ids.0: ")
        listed = await call(s, "task_list", {"archived": "all"})
        assert [x["id"] for x in listed["tasks"]] == [t["id"]]
