"""The dependency DAG: edges, cycle paths, halting, and launches held back until parents complete.

Unit tests run ``Dag`` on a real SQLite database with the plugin's migrations; the rest drive a
real daemon over REST and MCP.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.db import Database
from argus.kernel.errors import Conflict, Invalid, NotFound
from argus.plugins.tasks.dag import Dag
from argus.plugins.tasks.store import MIGRATIONS, Store
from argus_testkit import wait_for_async
from orch_helpers import FAST_AGENT, call, create_task, events, mcp_session, task


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


# -- unit: Dag on a real database ----------------------------------------------------------


class FakeKernel:
    def __init__(self) -> None:
        self.spawned: list[str] = []

    def spawn_background(self, fn: Any, name: str = "") -> None:
        self.spawned.append(name)


class FakeService:
    """Just enough of TaskService for the DAG: rows, events, and no agents."""

    def __init__(self, db: Database) -> None:
        self.store = Store(db)
        self.kernel = FakeKernel()
        self.events: list[tuple[str, dict[str, Any]]] = []

    def get(self, task_id: str) -> dict[str, Any]:
        row = self.store.task(task_id)
        if row is None:
            raise NotFound(f"no task {task_id!r}")
        return row

    def to_json(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "status": row["status"]}

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        self.events.append((type_, data))

    def changed(self, task_id: str) -> None:
        pass

    def live_session(self, row: dict[str, Any]) -> None:
        return None

    def set_archived(self, task_id: str, archived: bool) -> None:
        self.store.update_task(task_id, archived=int(archived))


@pytest.fixture
def dag(tmp_path: Path) -> Dag:
    db = Database(tmp_path / "data.sql")
    db.migrate(MIGRATIONS)
    db.execute("INSERT INTO projects (name, path, created_at) VALUES ('p', '/x', 'now')")
    svc = FakeService(db)
    for name in "abcdef":
        svc.store.insert_task({"id": name, "slug": name, "name": name.upper(), "project": "p", "backend": "demo",
                               "worktree_path": f"/wt/{name}", "branch": f"argus/{name}", "base_branch": "main"})
    return Dag(svc)


def test_cycle_error_carries_the_path_from_the_new_child_back_to_itself(dag: Dag) -> None:
    dag.link("b", "a")  # b depends on a
    dag.link("c", "b")
    with pytest.raises(Conflict) as err:
        dag.link("a", "c")
    assert err.value.extra["path"] == ["a", "c", "b", "a"]
    assert "a → c → b → a" in err.value.message and "A (a) → C (c)" in err.value.message
    with pytest.raises(Conflict) as err:
        dag.link("d", "d")
    assert err.value.extra["path"] == ["d", "d"]


def test_diamonds_are_fine_and_links_are_idempotent(dag: Dag) -> None:
    assert dag.link("b", "a")["created"] is True
    dag.link("c", "a")
    dag.link("d", "b")
    dag.link("d", "c")
    assert dag.link("d", "c")["created"] is False
    assert sorted(dag.parents("d")) == ["b", "c"]
    assert sorted(dag.descendants("a")) == ["b", "c", "d"]
    assert json.loads(dag.svc.get("d")["meta"])["depends_on"] == ["b", "c"]
    assert [t for t, _ in dag.svc.events].count("link.created") == 4


def test_unlink_is_a_noop_when_absent_and_validates_input(dag: Dag) -> None:
    assert dag.unlink("b", "a")["deleted"] is False
    dag.link("b", "a")
    assert dag.unlink("b", "a")["deleted"] is True
    assert "depends_on" not in json.loads(dag.svc.get("b")["meta"])
    with pytest.raises(Invalid):
        dag.link("b", None)
    with pytest.raises(NotFound):
        dag.link("b", "nope")


def test_launch_gate_holds_until_every_parent_completes(dag: Dag) -> None:
    dag.link("c", "a")
    dag.link("c", "b")
    assert dag.gate(dag.svc.get("c")) == "waiting for a, b"
    dag.svc.store.update_task("a", status="complete")
    dag.on_completed("a")
    assert dag.svc.kernel.spawned == []  # b is not complete yet
    dag.svc.store.update_task("b", status="in_review")  # failed: never starts c
    dag.on_completed("b")
    assert dag.svc.kernel.spawned == []
    dag.svc.store.update_task("b", status="complete")
    dag.on_completed("b")
    assert dag.gate(dag.svc.get("c")) is None
    assert dag.svc.kernel.spawned == ["start:c"]


def test_archived_children_never_start(dag: Dag) -> None:
    dag.link("b", "a")
    dag.svc.set_archived("b", True)
    dag.svc.store.update_task("a", status="complete")
    dag.on_completed("a")
    assert dag.svc.kernel.spawned == []


def test_depends_on_must_name_existing_tasks(dag: Dag) -> None:
    assert dag.validate_parents(["a", "a", "b"]) == ["a", "b"]
    assert dag.validate_parents("a") == ["a"]
    with pytest.raises(Invalid, match="no task"):
        dag.validate_parents(["zzz"])
    with pytest.raises(Invalid):
        dag.validate_parents([1])


# -- against a daemon ----------------------------------------------------------------------


def test_rest_mirrors_of_the_dag_tools(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    a = create_task(c, project["name"], "alpha")
    b = create_task(c, project["name"], "beta")
    resp = c.post(f"/api/tasks/{b['id']}/deps", json={"parent_id": a["id"]})
    assert resp.status_code == 201 and resp.json()["created"] is True
    assert c.post(f"/api/tasks/{b['id']}/deps", json={"parent_id": a["id"]}).status_code == 200
    deps = c.get(f"/api/tasks/{a['id']}/deps").json()
    assert deps["upstream"] == [] and [t["id"] for t in deps["downstream"]] == [b["id"]]
    dag = c.get("/api/dag").json()
    assert dag["edges"] == [{"child_id": b["id"], "parent_id": a["id"]}]
    assert {n["id"] for n in dag["nodes"]} == {a["id"], b["id"]}
    assert task(c, b["id"])["parent_ids"] == [a["id"]]
    cyc = c.post(f"/api/tasks/{a['id']}/deps", json={"parent_id": b["id"]})
    assert cyc.status_code == 409 and cyc.json()["path"] == [a["id"], b["id"], a["id"]]
    assert "→" in cyc.json()["error"]
    slug = c.post(f"/api/tasks/{a['id']}/plan-slug", json={"plan_slug": "milestone-1"})
    assert slug.status_code == 200 and slug.json()["task"]["plan_slug"] == "milestone-1"
    assert c.post(f"/api/tasks/{a['id']}/plan-slug", json={"plan_slug": 5}).status_code == 400
    halted = c.post(f"/api/tasks/{a['id']}/halt-downstream").json()
    assert halted["halted"] == [b["id"]]
    assert task(c, b["id"])["archived"] and not task(c, a["id"])["archived"]
    assert c.delete(f"/api/tasks/{b['id']}/deps/{a['id']}").json()["deleted"] is True
    assert c.delete(f"/api/tasks/{b['id']}/deps/{a['id']}").json()["deleted"] is False
    assert c.get("/api/dag?archived=all").json()["edges"] == []
    assert c.post("/api/tasks/t_nope/deps", json={"parent_id": a["id"]}).status_code == 404
    types = [e["type"] for e in events(c)]
    assert "link.created" in types and "link.deleted" in types


async def test_a_failed_parent_never_starts_its_child(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    parent = create_task(c, project["name"], "flaky")
    child = create_task(c, project["name"], "after-flaky", depends_on=[parent["id"]])
    assert child["status"] == "pending" and child["parent_ids"] == [parent["id"]]
    await wait_for_async(lambda: task(c, parent["id"])["running"], what="parent running")
    # the parent crashes: its agent exits non-zero → in_review, not complete
    c.post(f"/api/tasks/{parent['id']}/input", json={"data": "/crash\r"})
    await wait_for_async(lambda: task(c, parent["id"])["status"] == "in_review", what="parent failed")
    held = task(c, child["id"])
    assert held["status"] == "pending" and held["session_id"] is None and not held["running"]


async def test_unlinking_the_last_unmet_parent_starts_the_held_child(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    done = create_task(c, project["name"], "done-already")
    blocker = create_task(c, project["name"], "blocker")
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        await call(s, "task_complete", {"id": done["id"]})
        child = (await call(s, "task_create", {"project": project["name"], "name": "held", "backend": "demo",
                                               "prompt": "x", "depends_on": [done["id"], blocker["id"]]}))["task"]
        assert child["status"] == "pending"
        await call(s, "task_unlink", {"child_id": child["id"], "parent_id": blocker["id"]})
    await wait_for_async(lambda: task(c, child["id"])["running"], what="held child started")


def test_deleting_a_parent_drops_its_edges(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    parent = create_task(c, project["name"], "gone")
    child = create_task(c, project["name"], "orphan", depends_on=[parent["id"]])
    assert c.delete(f"/api/tasks/{parent['id']}?force=1").status_code == 200
    assert c.get(f"/api/tasks/{child['id']}/deps").json()["upstream"] == []
    assert task(c, child["id"])["parent_ids"] == []
    assert c.get("/api/dag").json()["edges"] == []


def test_rest_create_refuses_unknown_parents(daemon: Any, project: dict[str, Any]) -> None:
    resp = daemon.client.post("/api/tasks", json={"name": "x", "prompt": "x", "project": project["name"],
                                                  "backend": "demo", "depends_on": ["t_missing"]})
    assert resp.status_code == 400 and "t_missing" in resp.json()["error"]
    assert daemon.client.get("/api/tasks").json()["tasks"] == []


async def test_held_task_whose_parents_completed_unobserved_starts_after_a_restart(
        daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")
    child = create_task(c, project["name"], "held", depends_on=[gate["id"]])
    daemon.stop()
    db = sqlite3.connect(daemon.home / "data.sql")
    try:  # the parent completed while the daemon was away
        db.execute("UPDATE tasks SET status = 'complete' WHERE id = ?", (gate["id"],))
        db.commit()
    finally:
        db.close()
    daemon.start()
    await wait_for_async(lambda: task(daemon.client, child["id"])["running"], what="held task started at startup")
