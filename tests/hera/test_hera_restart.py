"""Hera messages survive a daemon crash: a delivery pending when the daemon is killed -9 is typed
exactly once after the restart (a delivery cut mid-typing is covered in test_delivery.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from argus_testkit import wait_for_async
from hera_helpers import FAST_AGENT, busy, call, create_task, interrupt, mcp_session, task, typed_lines


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


async def test_pending_delivery_survives_kill9_and_is_typed_once(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    boss = create_task(c, project["name"], "boss")
    helper = create_task(c, project["name"], "helper")
    cwd = {"cwd": boss["worktree_path"]}
    async with mcp_session(daemon.mcp_url) as s:
        made = await call(s, "hera_new_orchestrator", cwd)
        await call(s, "hera_join", {"cwd": helper["worktree_path"], "role_name": "h", "kind": "worker",
                                    "orchestrator": made["orchestrator"]["id"]})
        await busy(c, boss["id"])
        sent = (await call(s, "hera_send", {"cwd": helper["worktree_path"], "subject": "survive me",
                                            "body": "b"}))["message"]
    daemon.kill9()  # acknowledged means persisted: the message is in data.sql already
    daemon.start()
    c = daemon.client
    role = c.get(f"/api/hera/roles/{sent['to_role']}/messages").json()["messages"]
    assert [m["id"] for m in role] == [sent["id"]] and role[0]["delivery"] == "pending"
    assert typed_lines(c, boss["id"]) == []
    interrupt(c, boss["id"])  # the agent kept running in the supervisor; its turn ends now
    lines = await wait_for_async(lambda: typed_lines(c, boss["id"]), what="the notice after the restart")
    assert len(lines) == 1 and f"#{sent['id']} from h: survive me" in lines[0]
    await wait_for_async(lambda: task(c, boss["id"])["idle"], what="idle after the notice")
    # another bounce does not type it again
    daemon.kill9()
    daemon.start()
    c = daemon.client
    await wait_for_async(lambda: task(c, boss["id"])["idle"], timeout=30, what="idle flagged after the 2nd restart")
    c.post(f"/api/tasks/{boss['id']}/input", json={"data": "ping\r"})
    await wait_for_async(lambda: "you said: ping" in c.get(f"/api/tasks/{boss['id']}/output",
                                                            params={"clean": "1"}).text, what="next turn")
    assert len(typed_lines(c, boss["id"])) == 1
    msgs = c.get(f"/api/hera/roles/{sent['to_role']}/messages").json()["messages"]
    assert msgs[0]["delivery"] == "delivered"
