"""Hera's REST routes against a real daemon: role and orchestrator actions, re-attaching a dead
session, marking read, bad input as 4xx, and deleting an orchestrator with its workers' tasks.
"""

from __future__ import annotations

from typing import Any

import pytest
from argus_testkit import wait_for_async
from hera_helpers import FAST_AGENT, call, create_task, mcp_session, task


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


async def test_role_and_orchestrator_actions(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    async with mcp_session(daemon.mcp_url) as s:
        made = await call(s, "hera_new_orchestrator", {"cwd": boss["worktree_path"], "name": "release"})
    orch_id = made["orchestrator"]["id"]
    # spawn a worker as the user (acting for the coordinator)
    resp = c.post(f"/api/hera/orchestrators/{orch_id}/workers", json={"name": "api", "prompt": "build it"})
    assert resp.status_code == 201, resp.text
    worker = resp.json()
    rid, tid = worker["role"]["id"], worker["task"]["id"]
    assert c.post(f"/api/hera/orchestrators/{orch_id}/workers", json={"prompt": "x"}).status_code == 400
    assert c.post(f"/api/hera/orchestrators/{orch_id}/workers",
                  json={"name": "bad name!", "prompt": "x"}).status_code == 400
    # rename, pin (null toggles), archive, status
    assert c.patch(f"/api/hera/roles/{rid}", json={"name": "backend"}).json()["role"]["name"] == "backend"
    assert c.patch(f"/api/hera/roles/{rid}", json={"name": "coordinator"}).status_code == 409
    assert c.patch(f"/api/hera/roles/{rid}", json={"pinned": None}).json()["role"]["pinned"] is True
    assert c.patch(f"/api/hera/roles/{rid}", json={"archived": True}).json()["role"]["archived"] is True
    assert c.post(f"/api/hera/roles/{rid}/status", json={"step": 1}).json()["role"]["status"] == "working"
    assert c.post(f"/api/hera/roles/{rid}/status", json={"step": -1}).json()["role"]["status"] == "idle"
    assert c.post(f"/api/hera/roles/{rid}/status", json={"step": 2}).status_code == 400
    assert c.post(f"/api/hera/roles/{rid}/status", json={"status": "asleep"}).status_code == 400
    assert c.patch(f"/api/hera/orchestrators/{orch_id}", json={"collapsed": True}).json()["orchestrator"]["collapsed"]
    assert c.patch(f"/api/hera/orchestrators/{orch_id}", json={"name": ""}).status_code == 400
    # the human's message, read over REST
    sent = c.post(f"/api/hera/roles/{rid}/messages", json={"body": "hello\nsecond line"}).json()["message"]
    assert sent["subject"] == "hello" and sent["from"] == "user"
    read = c.post(f"/api/hera/roles/{rid}/read", json={"message_ids": [str(sent["id"]), 999]}).json()
    assert read["marked"] == 1 and read["unread"] == 0
    assert c.get(f"/api/hera/roles/{rid}/messages", params={"limit": 0}).status_code == 400
    # re-attach a dead session
    await wait_for_async(lambda: task(c, tid)["running"], what="worker running")
    assert c.post(f"/api/hera/roles/{rid}/reattach").json()["resumed"] is False
    c.post(f"/api/tasks/{tid}/stop")
    await wait_for_async(lambda: not task(c, tid)["running"], what="worker stopped")
    out = c.post(f"/api/hera/roles/{rid}/reattach").json()
    assert out["resumed"] is True
    await wait_for_async(lambda: task(c, tid)["running"], what="worker re-attached")
    # deleting the orchestrator with delete_tasks removes its workers' tasks, not the coordinator's
    done = c.delete(f"/api/hera/orchestrators/{orch_id}", params={"delete_tasks": "1"}).json()
    assert done == {"deleted": orch_id, "roles": 2}
    assert c.get(f"/api/tasks/{tid}").status_code == 404
    assert c.get(f"/api/tasks/{boss['id']}").status_code == 200
    assert "hera" not in task(c, boss["id"])
    assert c.get(f"/api/hera/roles/{rid}").status_code == 404
