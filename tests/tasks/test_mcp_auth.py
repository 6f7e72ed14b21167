"""Who may use ``/mcp`` and the agent hook endpoint: the auth matrix (no token, a bad one, another
task's token, device, scope, master) through the official MCP client and the fake agent.

A task's agent gets a per-launch task token in the MCP config Argus writes for it; the tests read
it from there (``$ARGUS_HOME/run/<task id>/mcp.json``), as the agent does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import wait_for_async
from orch_helpers import FAST_AGENT, call, call_error, create_task, mcp_session, output, task

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "probe", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def task_token(daemon: Any, task_id: str) -> str:
    """The token Argus injected into the task's agent (its --mcp-config header)."""
    config = json.loads((daemon.home / "run" / task_id / "mcp.json").read_text())
    header = config["mcpServers"]["argus"]["headers"]["Authorization"]
    assert header.startswith("Bearer task:")
    return header.removeprefix("Bearer ")


def scope_token(daemon: Any, scope: str) -> str:
    """A scope token minted with the CLI (never over HTTP)."""
    env = {**daemon.env}
    out = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "token", "mint", "--scope", scope],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def device_token(daemon: Any) -> str:
    resp = daemon.client.post("/api/tokens", json={"label": "phone"})
    assert resp.status_code == 201, resp.text
    return resp.json()["token"]


def raw_mcp(daemon: Any, headers: dict[str, str], query: str = "") -> httpx.Response:
    """A bare MCP ``initialize`` POST with ``headers``."""
    return httpx.post(daemon.mcp_url + query, json=INIT, headers={**MCP_HEADERS, **headers}, timeout=10)


def hook(daemon: Any, task_id: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(f"http://127.0.0.1:{daemon.mcp_port}/api/agent/hook",
                      json={"event": "Stop", "task_id": task_id}, headers=headers, timeout=10)


async def test_mcp_and_hook_auth_matrix(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    a = create_task(c, project["name"], "alpha")
    b = create_task(c, project["name"], "bravo")
    token_a, token_b = task_token(daemon, a["id"]), task_token(daemon, b["id"])
    device, scope = device_token(daemon), scope_token(daemon, "probe")

    # -- /mcp: no token or a bad one never reaches the MCP server
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {token_a}x"}):
        resp = raw_mcp(daemon, headers)
        assert resp.status_code == 401, (headers, resp.text)
        assert resp.headers["www-authenticate"] == "Bearer" and "token" in resp.json()["error"]
    assert raw_mcp(daemon, {}, f"?token={daemon.token}").status_code == 401  # a header only, on /mcp
    # device, scope and master tokens: a human or an external client, acting on any task
    for token in (device, scope, daemon.token):
        async with mcp_session(daemon.mcp_url, token) as s:
            got = await call(s, "task_rename", {"id": b["id"], "name": "bravo"})
            assert got["task"]["name"] == "bravo"

    # -- a task token acts as its task
    async with mcp_session(daemon.mcp_url, token_a) as s:
        me = await call(s, "task_get", {})  # no id or cwd: the token says who is calling
        assert me["task"]["id"] == a["id"]
        assert (await call(s, "task_get", {"id": b["id"]}))["task"]["id"] == b["id"]  # reading is open
        assert len((await call(s, "task_list", {}))["tasks"]) >= 2
        # acting on another task is refused, by id or by its worktree
        for tool, extra in (("task_stop", {}), ("task_rename", {"name": "pwned"}), ("task_complete", {}),
                            ("task_archive", {}), ("task_set_result", {"result": 1}),
                            ("task_inbox", {}), ("task_halt_downstream", {})):
            for who in ({"id": b["id"]}, {"cwd": b["worktree_path"]}):
                err = await call_error(s, tool, {**who, **extra})
                assert "not yours" in err, (tool, err)
        # messages: to anyone, but never as someone else
        err = await call_error(s, "task_message_send", {"id": b["id"], "to": a["id"], "body": "spoofed"})
        assert "not yours" in err
        sent = await call(s, "task_message_send", {"to": b["id"], "body": "hello from alpha"})
        assert sent["message"]["from_id"] == a["id"]
        err = await call_error(s, "task_link", {"child_id": b["id"], "parent_id": a["id"]})
        assert "not yours" in err
        # its own task, and the children it creates, are its to change
        assert (await call(s, "task_rename", {"name": "alpha renamed"}))["task"]["name"] == "alpha renamed"
        child = (await call(s, "task_create", {"name": "alpha child", "prompt": "wait",
                                               "backend": "demo", "depends_on": [b["id"]]}))["task"]
        assert child["project"] == project["name"]
        assert (await call(s, "task_rename", {"id": child["id"], "name": "kid"}))["task"]["name"] == "kid"
        await call(s, "task_unlink", {"child_id": child["id"], "parent_id": b["id"]})
    assert task(c, b["id"])["name"] == "bravo" and task(c, b["id"])["status"] == "in_progress"

    # -- the agent itself: the fake agent calls with the token of its --mcp-config (once alpha's note
    # has been typed into it and answered, so the keys below do not land in the middle of it)
    await wait_for_async(lambda: "heard: [argus] note #1" in output(c, b["id"]), what="alpha's note delivered",
                         detail=lambda: output(c, b["id"])[-1500:])
    await wait_for_async(lambda: task(c, b["id"])["idle"], what="bravo idle again")
    c.post(f"/api/tasks/{b['id']}/input", json={"data": "/mcp task_rename " + json.dumps({"name": "by agent"})})
    c.post(f"/api/tasks/{b['id']}/input", json={"data": "\r"})
    await wait_for_async(lambda: task(c, b["id"])["name"] == "by agent", what="the agent renaming its own task",
                         detail=lambda: output(c, b["id"])[-1500:])
    c.post(f"/api/tasks/{b['id']}/input", json={"data": "/mcp task_stop " + json.dumps({"id": a["id"]})})
    c.post(f"/api/tasks/{b['id']}/input", json={"data": "\r"})
    await wait_for_async(lambda: "not yours" in output(c, b["id"]), what="the agent refused another task")
    assert task(c, a["id"])["status"] == "in_progress"

    # -- a task token is not an API token
    assert c.get("/api/tasks", headers={"Authorization": f"Bearer {token_a}"}).status_code == 403

    # -- the agent hook: only the task's own token (or the master token)
    assert hook(daemon, a["id"], None).status_code == 401
    assert hook(daemon, a["id"], "nope").status_code == 401
    assert hook(daemon, a["id"], token_b).status_code == 403
    assert hook(daemon, a["id"], device).status_code == 403
    assert hook(daemon, a["id"], scope).status_code == 403
    assert hook(daemon, a["id"], token_a).status_code == 200
    assert hook(daemon, a["id"], daemon.token).status_code == 200

    # -- tokens are stored hashed, not listed, and revoked with their task
    listed = c.get("/api/tokens").json()["tokens"]
    assert all(t["kind"] != "task" for t in listed)
    db = Path(daemon.home, "data.sql").read_bytes()
    assert token_a.encode() not in db and token_a.split(":")[-1].encode() not in db
    assert c.delete(f"/api/tasks/{a['id']}", params={"force": "1"}).status_code in (200, 204)
    assert raw_mcp(daemon, {"Authorization": f"Bearer {token_a}"}).status_code == 401
    assert hook(daemon, a["id"], token_a).status_code == 401
    assert raw_mcp(daemon, {"Authorization": f"Bearer {token_b}"}).status_code == 200


async def test_a_relaunch_replaces_the_task_token(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, project["name"], "relaunch")
    first = task_token(daemon, t["id"])
    assert c.post(f"/api/tasks/{t['id']}/stop").status_code == 200
    resp = c.post(f"/api/tasks/{t['id']}/resume")
    assert resp.status_code == 200, resp.text
    second = task_token(daemon, t["id"])
    assert second != first
    assert raw_mcp(daemon, {"Authorization": f"Bearer {first}"}).status_code == 401
    assert raw_mcp(daemon, {"Authorization": f"Bearer {second}"}).status_code == 200
