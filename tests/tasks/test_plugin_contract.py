"""The plugin contract end to end: a plugin using only ``argus.kernel.api`` and
``argus.plugins.tasks.api`` creates hidden tasks, sees the tasks hooks, adds a Task JSON field and
gates launches; a plugin implementing an unknown (misspelled) hook is refused at load.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.kernel import Kernel
from argus.kernel.paths import Paths
from argus.kernel.plugins import load_plugins
from argus_testkit import wait_for_async
from orch_helpers import create_task

PLUGINS = Path(__file__).parent / "plugins"
WATCHER = PLUGINS / "watcher.py"
MISSPELLED = PLUGINS / "misspelled.py"


def test_the_watcher_imports_nothing_of_argus_but_the_two_contract_modules() -> None:
    tree = ast.parse(WATCHER.read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in modules if m.startswith("argus")} == {"argus.kernel.api", "argus.plugins.tasks.api"}


def test_a_misspelled_hook_refuses_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGUS_PLUGINS", f"{MISSPELLED},{WATCHER}")
    pm, infos = load_plugins()
    by_name = {i.name: i for i in infos}
    bad = by_name["misspelled"]
    assert not bad.enabled and "argus_task_creatd" in bad.reason and "unknown hook" in bad.reason
    assert bad.to_json()["reason"] == bad.reason
    assert pm.get_plugin("misspelled") is None
    assert by_name["watcher"].enabled and by_name["tasks"].enabled
    pm.check_pending()  # what is left is consistent


def test_a_hook_object_registered_at_runtime_is_checked_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plugin = tmp_path / "late.py"
    plugin.write_text(
        "from argus.kernel.api import hookimpl\n\n\n"
        "class Hooks:\n    @hookimpl\n    def argus_task_idel(self, task, idle, reason):\n        pass\n\n\n"
        "@hookimpl\ndef argus_register(kernel):\n    kernel.pm.register(Hooks(), name='late.hooks')\n")
    monkeypatch.setenv("ARGUS_PLUGINS", str(plugin))
    kernel = Kernel(Paths(tmp_path))
    try:
        kernel.prepare()
        entry = next(p for p in kernel.plugin_list if p["name"] == "late.hooks")
        assert entry["enabled"] is False and "argus_task_idel" in entry["reason"]
        assert kernel.pm.get_plugin("late.hooks") is None
        kernel.pm.check_pending()
    finally:
        kernel.db.close()


def test_a_tasks_hook_without_the_tasks_plugin_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plugin = tmp_path / "needs_tasks.py"
    plugin.write_text("from argus.kernel.api import hookimpl\n\n\n"
                      "@hookimpl\ndef argus_task_created(task):\n    pass\n")
    monkeypatch.setenv("ARGUS_PLUGINS", str(plugin))
    _, infos = load_plugins()
    assert {i.name: i.enabled for i in infos}["needs_tasks"] is True
    _, infos = load_plugins({"tasks"})
    refused = {i.name: i for i in infos}["needs_tasks"]
    assert not refused.enabled and "argus_task_created" in refused.reason


async def test_a_plugin_drives_tasks_through_the_facade_and_hooks(daemon_factory: Any, git_repo: Path) -> None:
    d = daemon_factory("watch", env={"ARGUS_PLUGINS": str(WATCHER), "FAKEAGENT_BUSY": "0.2"})
    c = d.client
    plugin = next(p for p in c.get("/api/plugins").json()["plugins"] if p["name"] == "watcher")
    assert plugin["enabled"] is True
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    parent = create_task(c, "p", "lead")
    assert parent["hidden"] is False and "watcher" not in parent

    resp = c.post("/api/watcher/workers", json={"parent_id": parent["id"], "name": "worker one"})
    assert resp.status_code == 201, resp.text
    worker = resp.json()["task"]
    assert worker["hidden"] is True and worker["parent_id"] == parent["id"] and worker["project"] == "p"
    assert worker["watcher"] == {"role": "worker", "hold": False}
    assert worker["status"] == "in_progress"
    # Flagged for the UIs' main lists (which hide it unless asked), filterable, and by id with
    # the plugin's field.
    assert [t["id"] for t in c.get("/api/tasks", params={"hidden": "0"}).json()["tasks"]] == [parent["id"]]
    assert [t["id"] for t in c.get("/api/tasks", params={"hidden": "1"}).json()["tasks"]] == [worker["id"]]
    assert {t["id"] for t in c.get("/api/tasks").json()["tasks"]} == {parent["id"], worker["id"]}
    assert c.get("/api/tasks", params={"hidden": "x"}).status_code == 400
    assert c.get(f"/api/tasks/{worker['id']}").json()["task"]["watcher"]["role"] == "worker"

    # A gated worker stays pending until the plugin starts it.
    held = c.post("/api/watcher/workers", json={"parent_id": parent["id"], "name": "held", "hold": True}).json()
    held = held["task"]
    assert held["status"] == "pending" and held["session_id"] is None
    started = c.post(f"/api/watcher/workers/{held['id']}/start").json()
    assert started["task"]["status"] == "in_progress"
    assert set(started["workers"]) == {worker["id"], held["id"]}

    def seen() -> list[list[Any]]:
        return c.get("/api/watcher/seen").json()["seen"]

    # Stop and delete go through the same hooks.
    assert c.post(f"/api/tasks/{worker['id']}/stop").status_code == 200
    await wait_for_async(lambda: ["exited", worker["id"], "stopped"] in seen(), what="the session exited hook")
    assert c.delete(f"/api/tasks/{worker['id']}", params={"force": "1"}).status_code == 200
    await wait_for_async(lambda: ["deleted", worker["id"]] in seen(), what="the deleted hook")
    got = seen()
    assert ["created", parent["id"], "pending", False] in got
    assert ["created", worker["id"], "pending", True] in got
    assert ["status", worker["id"], "pending", "in_progress"] in got
    assert ["status", worker["id"], "in_progress", "in_review"] in got
    assert ["status", held["id"], "pending", "in_progress"] in got
    assert ["session", worker["id"], True, False] in got and ["session", held["id"], True, False] in got
    # Creation is seen before the launch, the launch before the stop, the stop before the delete.
    order = [got.index(e) for e in (["created", worker["id"], "pending", True],
                                     ["status", worker["id"], "pending", "in_progress"],
                                     ["session", worker["id"], True, False],
                                     ["status", worker["id"], "in_progress", "in_review"],
                                     ["exited", worker["id"], "stopped"],
                                     ["deleted", worker["id"]])]
    assert order == sorted(order)


EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "tasks_watcher.py"


def test_the_docs_example_is_small_and_imports_only_the_contract() -> None:
    assert len(EXAMPLE.read_text().splitlines()) < 60
    tree = ast.parse(EXAMPLE.read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m for m in modules if m.startswith("argus")} == {"argus.kernel.api", "argus.plugins.tasks.api"}


async def test_the_docs_example_in_a_daemon(daemon_factory: Any, git_repo: Path) -> None:
    d = daemon_factory("example", env={"ARGUS_PLUGINS": str(EXAMPLE), "FAKEAGENT_BUSY": "0.2"})
    c = d.client
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    parent = create_task(c, "p", "lead")
    held = c.post("/api/watcher/helpers", json={"parent_id": parent["id"], "hold": True})
    assert held.status_code == 201, held.text
    held = held.json()["task"]
    assert held["status"] == "pending" and held["hidden"] and held["watcher"] == {"role": "helper", "hold": True}
    resumed = c.post(f"/api/tasks/{held['id']}/resume")
    assert resumed.status_code == 409 and "held by watcher" in resumed.json()["error"]
    helper = c.post("/api/watcher/helpers", json={"parent_id": parent["id"]}).json()["task"]
    assert helper["status"] == "in_progress" and helper["project"] == "p"
    assert c.post("/api/watcher/helpers", json={}).status_code == 400  # no parent, no project
    seen = c.get("/api/watcher/seen").json()["seen"]
    assert [parent["id"], "pending", "in_progress"] in seen and [helper["id"], "pending", "in_progress"] in seen
    assert not any(s[0] == held["id"] for s in seen)
