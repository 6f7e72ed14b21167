"""The TUI's Hera tab against a real daemon, driven by pipe input: the rail and its keys, the
coordinator and worker terminals, the fallback to the DAG (label included) when hera is disabled,
and the DAG keys l/L/h.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from argus.plugins.tui.client import ArgusClient
from hera_helpers import FAST_AGENT, call, create_task, mcp_session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
from tui_harness import Harness, run_scenario  # noqa: E402

ENTER, CTRL_Q, CTRL_D, TAB = "\r", "\x11", "\x04", "\t"


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def team(daemon: Any, project: dict[str, Any]) -> dict[str, Any]:
    """A coordinator with one spawned worker ``api``."""
    boss = create_task(daemon.client, project["name"], "boss")
    out: dict[str, Any] = {"boss": boss}

    async def setup() -> None:
        async with mcp_session(daemon.mcp_url) as s:
            out["orch"] = (await call(s, "hera_new_orchestrator", {"cwd": boss["worktree_path"],
                                                                   "name": "release"}))["orchestrator"]
            out["api"] = await call(s, "hera_spawn_worker", {"cwd": boss["worktree_path"], "name": "api",
                                                              "prompt": "build the api"})

    trio.run(setup)
    return out


def role(daemon: Any, name: str) -> dict[str, Any]:
    orchs = daemon.client.get("/api/hera").json()["orchestrators"]
    return next(r for o in orchs for r in o["roles"] if r["name"] == name)


def test_hera_tab_rail_keys_and_live_terminals(daemon: Any, project: dict[str, Any]) -> None:
    t = team(daemon, project)
    worker_task = t["api"]["task"]["id"]

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("2 Hera")
        await h.until_gone("api")  # the worker is hidden from the Tasks tab …
        h.keys("H")
        await h.until_screen("api")  # … unless H toggles it
        h.keys("H")
        h.keys("2")
        await h.until_screen("release")
        await h.until_screen("coordinator")
        h.keys("j")  # coordinator
        await h.until_screen("roster (g: DAG)")
        await h.until_screen("? for shortcuts", timeout=20)  # the coordinator's live terminal
        h.keys("j")  # the worker: its terminal in the details region
        await h.until_screen("api (worker)")
        await h.until(lambda: h.tui.hera.worker.task_id == worker_task, what="worker pane attached")
        await h.until(lambda: h.screen().count("? for shortcuts") >= 2, timeout=20, what="two terminals")
        h.keys("s")
        await h.until(lambda: role(daemon, "api")["status"] == "working", what="status advanced")
        await h.until_screen("api worke working")
        h.keys("S")
        await h.until(lambda: role(daemon, "api")["status"] == "idle", what="status reverted")
        h.keys("P")
        await h.until(lambda: role(daemon, "api")["pinned"], what="pinned")
        await h.until_screen("★ Pinned")
        h.keys("P")
        await h.until(lambda: not role(daemon, "api")["pinned"], what="unpinned")
        await h.until_gone("★ Pinned")
        h.keys("r")
        await h.until_screen("Rename api")
        h.keys("\x15backend" + ENTER)
        await h.until(lambda: role(daemon, "backend"), what="renamed")
        await h.until(lambda: h.tui.modal is None, what="the form closed")
        await h.until_screen("backend (worker)")
        # Enter focuses the worker's pane: keys go to its agent until ctrl+q
        h.keys(ENTER)
        await h.until(lambda: h.tui.hera.focus == "details", what="details focused")
        h.keys("ping")
        h.keys(ENTER)
        await h.until_screen("you said: ping", timeout=20)
        h.keys(CTRL_Q)
        await h.until(lambda: h.tui.hera.focus == "rail", what="back on the rail")
        h.keys(TAB)
        await h.until(lambda: h.tui.hera.focus == "coord", what="Tab to the coordinator pane")
        h.keys(CTRL_Q)
        # Space folds the orchestrator; a archives the worker into the Archive section
        h.keys("k")
        h.keys("k")
        h.keys(" ")
        await h.until_gone("backend worke")  # the rail line (the roster still names it)
        h.keys(" ")
        await h.until_screen("backend worke")
        h.keys("j")
        h.keys("j")
        h.keys("a")
        await h.until(lambda: role(daemon, "backend")["archived"], what="archived")
        await h.until_screen("Archive (1)")
        # w spawns a worker under the selected orchestrator
        h.keys("k")
        h.keys("k")
        h.keys("w")
        await h.until_screen("Spawn a worker in release")
        h.keys("docs")
        h.keys(TAB)
        h.keys("write the docs" + ENTER)
        await h.until(lambda: role(daemon, "docs")["task_id"], timeout=30, what="worker spawned")
        await h.until_screen("docs worke")  # the rail line (the form also showed "docs")
        # ctrl+d deletes the selected role with its task
        await h.until(lambda: h.tui.modal is None, what="the form closed")
        h.keys("j")
        h.keys("j")
        await h.until_screen("docs (worker)")
        h.keys(CTRL_D)
        await h.until_screen("Delete role docs")
        h.keys("y")
        await h.until_gone("docs (worker)", timeout=30)

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=150)


async def select(h: Harness, task_id: str) -> None:
    """Put the DAG cursor on ``task_id`` with j/k, one key at a time: each key is handled before the next
    is chosen (a loaded TUI still handling a key would otherwise be sent one too many)."""
    for _ in range(12):
        if h.tui.dag.selected_id() == task_id:
            return
        ids = [str(t.get("id")) for _, t in h.tui.dag.rows]
        want = ids.index(task_id) if task_id in ids else 0
        before = h.tui.dag.index
        h.keys("j" if want > before else "k")
        try:
            await h.until(lambda before=before: h.tui.dag.index != before, 5, what="the DAG cursor to move")
        except AssertionError:
            pass  # at an end of the list, or the task not drawn yet: look again
    await h.until(lambda: h.tui.dag.selected_id() == task_id, what=f"{task_id} selected")


def test_tab_two_falls_back_to_the_dag_with_its_keys_when_hera_is_off(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    a = create_task(c, project["name"], "alpha")
    b = create_task(c, project["name"], "beta")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("2 Hera")
        c.put("/api/settings", json={"hera": {"enabled": False}})
        await h.until_screen("2 DAG")  # the label follows the setting live
        h.keys("2")
        await h.until_screen("Dependency DAG")
        await h.until_screen("beta")
        await select(h, b["id"])
        h.keys("l")
        await h.until_screen("beta depends on")
        h.keys("alpha" + ENTER)
        await h.until(lambda: c.get(f"/api/tasks/{b['id']}/deps").json()["upstream"], what="linked")
        await h.until_screen("└─ ● beta")  # the view reloaded the edge
        h.keys("L")
        await h.until_screen("Remove a dependency of beta")
        h.keys(ENTER)
        await h.until(lambda: not c.get(f"/api/tasks/{b['id']}/deps").json()["upstream"], what="unlinked")
        await h.until_gone("└─")
        c.post(f"/api/tasks/{b['id']}/deps", json={"parent_id": a["id"]})
        await h.until_screen("└─")
        await select(h, a["id"])
        h.keys("h")
        await h.until_screen("Halt downstream")
        h.keys("y")
        await h.until(lambda: c.get(f"/api/tasks/{b['id']}").json()["task"]["archived"], what="halted", timeout=20)
        c.put("/api/settings", json={"hera": {"enabled": True}})
        await h.until_screen("2 Hera")

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=120)
