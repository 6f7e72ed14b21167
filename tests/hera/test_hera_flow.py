"""Hera end to end against a real daemon, demo agents as coordinator and workers, over the
official MCP client: the tool matrix, idle-gated delivery, in_review on done, tree updates,
scoping, and the enabled switch.
"""

from __future__ import annotations

from typing import Any

import pytest
from argus_testkit import wait_for_async
from hera_helpers import (
    FAST_AGENT,
    busy,
    call,
    call_error,
    create_task,
    events,
    interrupt,
    mcp_session,
    task,
    typed_lines,
)

TOOLS = {"hera_new_orchestrator", "hera_join", "hera_spawn_worker", "hera_send", "hera_inbox",
         "hera_mark_read", "hera_status", "hera_tree_updates", "hera_get_messages"}


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


async def test_coordinator_spawns_workers_and_messages_flow(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    other = create_task(c, project["name"], "other-boss")
    cwd = {"cwd": boss["worktree_path"]}
    async with mcp_session(daemon.mcp_url) as s:
        names = {t.name for t in (await s.list_tools()).tools}
        assert TOOLS <= names
        assert "no hera binding" in await call_error(s, "hera_inbox", cwd)
        assert "pass cwd" in await call_error(s, "hera_inbox", {})
        assert "no task owns" in await call_error(s, "hera_inbox", {"cwd": "/nonexistent/dir"})
        made = await call(s, "hera_new_orchestrator", {**cwd, "name": "release"})
        orch = made["orchestrator"]
        assert made["role"]["kind"] == "coordinator" and made["role"]["name"] == "coordinator"
        assert "hera_spawn_worker" in made["guide"]
        assert "already holds role" in await call_error(s, "hera_new_orchestrator", cwd)
        joined = await call(s, "hera_join", cwd)
        assert joined["role"]["id"] == made["role"]["id"] and joined["unread"] == 0
        # coordinators must name a recipient
        assert "must name a recipient" in await call_error(s, "hera_send", {**cwd, "body": "hi"})
        # spawn two workers (hidden tasks, born bound)
        w1 = await call(s, "hera_spawn_worker", {**cwd, "name": "api", "prompt": "build the API",
                                                 "model": "small"})
        w2 = await call(s, "hera_spawn_worker", {**cwd, "name": "ui", "prompt": "build the UI",
                                                 "depends_on": ["api"]})
        assert w1["role"]["kind"] == "worker" and w1["role"]["task_id"] == w1["task"]["id"]
        assert w1["task"]["model"] == "small" and w2["role"]["depends_on"] == ["api"]
        assert w1["task"]["hidden"] is True and w1["task"]["parent_id"] == boss["id"]
        assert w1["task"]["hera"]["role"] == "api" and w1["task"]["hera"]["kind"] == "worker"
        assert "already has a role named" in await call_error(s, "hera_spawn_worker",
                                                              {**cwd, "name": "api", "prompt": "x"})
        w1_cwd = {"cwd": w1["task"]["worktree_path"]}
        w2_cwd = {"cwd": w2["task"]["worktree_path"]}
        assert "only a coordinator" in await call_error(s, "hera_spawn_worker",
                                                        {**w1_cwd, "name": "x", "prompt": "y"})
        assert "unknown role 'nobody'" in await call_error(s, "hera_send", {**cwd, "to": "nobody", "body": "x"})
        # a worker writes to its coordinator without naming it
        sent = await call(s, "hera_send", {**w1_cwd, "subject": "API ready", "body": "endpoints in api.py"})
        assert sent["message"]["to"] == "coordinator" and sent["message"]["from"] == "api"
        await call(s, "hera_send", {**cwd, "to": "ui", "body": "use the API\nlong details"})
        # tree updates: subject lines once, cursor advances
        tree = await call(s, "hera_tree_updates", cwd)
        assert [u["subject"] for u in tree["updates"]] == ["API ready", "use the API"]
        assert all("body" not in u for u in tree["updates"])
        assert (await call(s, "hera_tree_updates", cwd))["updates"] == []
        ids = [u["id"] for u in tree["updates"]]
        full = await call(s, "hera_get_messages", {**w2_cwd, "message_ids": ids})
        assert [m["body"] for m in full["messages"]] == ["endpoints in api.py", "use the API\nlong details"]
        # another orchestrator's role may not read them
        await call(s, "hera_new_orchestrator", {"cwd": other["worktree_path"], "name": "elsewhere"})
        err = await call_error(s, "hera_get_messages", {"cwd": other["worktree_path"], "message_ids": ids})
        assert "wrong orchestrator" in err
        err = await call_error(s, "hera_send", {"cwd": other["worktree_path"], "to": w1["role"]["id"], "body": "x"})
        assert "wrong orchestrator" in err
        # inbox marks read
        box = await call(s, "hera_inbox", cwd)
        assert [m["subject"] for m in box["messages"]] == ["API ready"] and box["unread"] == 0
        assert (await call(s, "hera_inbox", cwd))["messages"] == []
        # a worker reporting done rolls its task to in_review
        await wait_for_async(lambda: task(c, w1["task"]["id"])["status"] == "in_progress", what="worker running")
        done = await call(s, "hera_status", {**w1_cwd, "status": "done"})
        assert done["role"]["status"] == "done"
        assert task(c, w1["task"]["id"])["status"] == "in_review"
        err = await call_error(s, "hera_status", {**w1_cwd, "status": "asleep"})
        assert "status" in err and "idle" in err and "done" in err
        # joining with a new role
        free = create_task(c, project["name"], "helper")
        joined = await call(s, "hera_join", {"cwd": free["worktree_path"], "role_name": "helper",
                                             "kind": "freelance", "orchestrator": "release"})
        assert joined["role"]["kind"] == "freelance" and joined["role"]["orchestrator_id"] == orch["id"]
        sent = await call(s, "hera_send", {"cwd": free["worktree_path"], "body": "can I help?"})
        assert sent["message"]["to"] == "coordinator"
    tree = c.get("/api/hera").json()
    assert tree["enabled"] is True
    release = next(o for o in tree["orchestrators"] if o["name"] == "release")
    assert [r["name"] for r in release["roles"]] == ["coordinator", "api", "ui", "helper"]
    assert release["roles"][0]["unread"] == 1
    kinds = {e["type"] for e in events(c)}
    assert {"hera.orchestrator.created", "hera.role.created", "hera.message.created", "hera.message.read",
            "hera.role.updated"} <= kinds


async def test_delivery_waits_for_idle_and_inbox_cancels_it(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    cwd = {"cwd": boss["worktree_path"]}
    async with mcp_session(daemon.mcp_url) as s:
        await call(s, "hera_new_orchestrator", cwd)
        w = await call(s, "hera_spawn_worker", {**cwd, "name": "w", "prompt": "work"})
        w_cwd = {"cwd": w["task"]["worktree_path"]}
        await busy(c, boss["id"])
        sent = (await call(s, "hera_send", {**w_cwd, "subject": "first result", "body": "details"}))["message"]
        assert sent["delivery"] == "pending"
        # busy: nothing is typed while the turn lasts
        role_msgs = c.get(f"/api/hera/roles/{sent['to_role']}/messages").json()["messages"]
        assert role_msgs[0]["delivery"] == "pending" and typed_lines(c, boss["id"]) == []
        interrupt(c, boss["id"])
        lines = await wait_for_async(lambda: typed_lines(c, boss["id"]), what="the notice typed after the turn")
        assert len(lines) == 1 and f"message #{sent['id']} from w: first result" in lines[0]
        assert "hera_inbox" in lines[0]
        await wait_for_async(lambda: task(c, boss["id"])["idle"], what="idle after the notice")
        # a second message while busy, read before the agent is idle: its delivery is cancelled
        await busy(c, boss["id"])
        second = (await call(s, "hera_send", {**w_cwd, "subject": "second", "body": "more"}))["message"]
        box = await call(s, "hera_inbox", cwd)
        assert [m["id"] for m in box["messages"]] == [sent["id"], second["id"]]
        assert box["cancelled_deliveries"] == [second["id"]]
        interrupt(c, boss["id"])
        await wait_for_async(lambda: task(c, boss["id"])["idle"], what="idle again")
        # one more message to an idle agent goes straight in; the cancelled one never appears
        third = (await call(s, "hera_send", {**w_cwd, "subject": "third", "body": "x"}))["message"]
        lines = await wait_for_async(lambda: len(typed_lines(c, boss["id"])) == 2 and typed_lines(c, boss["id"]),
                                      what="the third notice")
        assert f"#{third['id']}" in lines[1] and not any(f"#{second['id']} " in ln for ln in lines)
    # the event is published once the notice is typed (after its Enter): wait for it, not for the echo
    delivered = await wait_for_async(
        lambda: len(found := [e for e in events(c) if e["type"] == "hera.message.delivered"]) >= 2 and found,
        what="the two deliveries on the event stream")
    assert [d["data"]["message_ids"] for d in delivered] == [[sent["id"]], [third["id"]]]


async def test_limits_are_clear_tool_errors(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    helper = create_task(c, project["name"], "helper")
    cwd = {"cwd": boss["worktree_path"]}
    async with mcp_session(daemon.mcp_url) as s:
        made = await call(s, "hera_new_orchestrator", cwd)
        await call(s, "hera_join", {"cwd": helper["worktree_path"], "role_name": "h", "kind": "worker",
                                    "orchestrator": made["orchestrator"]["id"]})
        err = await call_error(s, "hera_send", {**cwd, "to": "h", "body": "x" * (64 * 1024 + 1)})
        assert "64 KiB" in err
        await call(s, "hera_send", {**cwd, "to": "h", "body": "x" * (64 * 1024)})
        for i in range(49):
            await call(s, "hera_send", {**cwd, "to": "h", "body": f"m{i}"})
        assert "50 messages per minute" in await call_error(s, "hera_send", {**cwd, "to": "h", "body": "51"})
        assert "message_ids" in await call_error(s, "hera_mark_read", {**cwd, "message_ids": ["x"]})
        assert "500" in await call_error(s, "hera_mark_read", {**cwd, "message_ids": list(range(501))})
    # the human may write to any role; the inbox cap holds for everyone
    role_h = next(r for r in c.get("/api/hera").json()["orchestrators"][0]["roles"] if r["name"] == "h")
    assert role_h["unread"] == 50
    resp = c.post(f"/api/hera/roles/{role_h['id']}/messages", json={"subject": "from you", "body": "hello"})
    assert resp.status_code == 201 and resp.json()["message"]["from"] == "user"
    assert c.post(f"/api/hera/roles/{role_h['id']}/messages", json={}).status_code == 400


async def test_disabled_hera_serves_no_tools_and_comes_back_live(daemon: Any) -> None:
    c = daemon.client
    async with mcp_session(daemon.mcp_url) as s:
        assert TOOLS <= {t.name for t in (await s.list_tools()).tools}
        assert c.put("/api/settings", json={"hera": {"enabled": False}}).status_code == 200
        assert not TOOLS & {t.name for t in (await s.list_tools()).tools}
        assert c.get("/api/hera").json() == {"enabled": False, "orchestrators": []}
        resp = c.get("/api/hera/orchestrators")
        assert resp.status_code == 404 and "disabled" in resp.json()["error"]
        # config.toml wins over the saved value and is followed live
        (daemon.home / "config.toml").write_text("[hera]\nenabled = true\n")
        await wait_for_async(lambda: c.get("/api/hera").json()["enabled"], what="config.toml re-read")
        await wait_for_async(lambda: TOOLS <= tool_names(c), what="tools served again")
        assert TOOLS <= {t.name for t in (await s.list_tools()).tools}
    assert {e["data"]["enabled"] for e in events(c) if e["type"] == "hera.enabled"} == {False, True}


def tool_names(client: Any) -> set[str]:
    """The registry's tool names over REST."""
    return {t["name"] for t in client.get("/api/mcp/tools").json()["tools"]}


def test_hera_routes_require_a_token(daemon: Any) -> None:
    import httpx

    for method, path in (("GET", "/api/hera"), ("GET", "/api/hera/orchestrators"),
                         ("POST", "/api/hera/roles/r_x/messages"), ("PATCH", "/api/hera/roles/r_x")):
        resp = httpx.request(method, f"{daemon.url}{path}", json={})
        assert resp.status_code == 401, (method, path, resp.text)
    assert daemon.client.get("/api/hera/roles/r_nope").status_code == 404


async def test_a_worker_waits_for_the_roles_it_depends_on(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    cwd = {"cwd": boss["worktree_path"]}
    async with mcp_session(daemon.mcp_url) as s:
        await call(s, "hera_new_orchestrator", cwd)
        api = await call(s, "hera_spawn_worker", {**cwd, "name": "api", "prompt": "build the API"})
        ui = await call(s, "hera_spawn_worker", {**cwd, "name": "ui", "prompt": "build the UI",
                                                 "depends_on": ["api"]})
        assert ui["task"]["status"] == "pending" and ui["task"]["running"] is False
        await wait_for_async(lambda: task(c, api["task"]["id"])["running"], what="the api worker running")
        assert task(c, ui["task"]["id"])["status"] == "pending"
        await call(s, "hera_status", {"cwd": api["task"]["worktree_path"], "status": "done"})
        await wait_for_async(lambda: task(c, ui["task"]["id"])["running"], what="the ui worker started")
    paths = c.get("/api/openapi.json").json()["paths"]
    assert {"/api/hera", "/api/hera/roles/{role_id}/messages",
            "/api/hera/orchestrators/{orch_id}/workers"} <= set(paths)


def task_token(daemon: Any, task_id: str) -> str:
    """The token Argus injected into the task's agent (its --mcp-config header)."""
    import json

    config = json.loads((daemon.home / "run" / task_id / "mcp.json").read_text())
    return config["mcpServers"]["argus"]["headers"]["Authorization"].removeprefix("Bearer ")


async def test_an_agent_holding_its_task_token_is_that_task(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    other = create_task(c, project["name"], "other")
    async with mcp_session(daemon.mcp_url, task_token(daemon, boss["id"])) as s:
        made = await call(s, "hera_new_orchestrator", {})  # no cwd needed: the token says who
        assert made["role"]["task_id"] == boss["id"]
        err = await call_error(s, "hera_inbox", {"cwd": other["worktree_path"]})
        assert "acts only as its own task" in err
        assert (await call(s, "hera_inbox", {"cwd": boss["worktree_path"]}))["messages"] == []
