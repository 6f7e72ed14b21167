"""The TUI's Settings → Scheduled Tasks section against a real daemon: n / e / d / t / r."""

from __future__ import annotations

from typing import Any

from argus.plugins.tui.client import ArgusClient
from tui_harness import Harness, run_scenario

ENTER, ESC = "\r", "\x1b"


def schedules(daemon: Any) -> list[dict[str, Any]]:
    return daemon.client.get("/api/schedules").json()["schedules"]


def test_scheduled_tasks_section_keys(daemon: Any, project: dict[str, Any]) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("Scheduled Tasks")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "header" and r.section == "schedules")
        h.keys("n")
        await h.until_screen("New schedule")
        h.keys("nightly\t\trun the tests\t@daily" + ENTER)
        await h.until(lambda: h.tui.modal is None, what="form closed")
        [s] = await h.until(lambda: schedules(daemon), what="schedule created")
        assert s["name"] == "nightly" and s["project"] == "demo-proj" and s["schedule"] == "@daily"
        assert s["prompt"] == "run the tests" and s["enabled"] is True
        await h.until_screen("@daily · demo-proj · next")

        def select() -> None:
            tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "schedule")

        select()
        h.keys("t")
        await h.until(lambda: schedules(daemon)[0]["enabled"] is False, what="toggled off")
        await h.until_screen("@daily (off)")
        select()
        h.keys("r")
        await h.until(lambda: schedules(daemon)[0]["last_task_id"], timeout=30, what="run now")
        await h.until(lambda: h.tui.status_text.startswith("schedule nightly fired: task t_"), what="status")
        select()
        h.keys("e")
        await h.until_screen("Edit schedule nightly")
        h.keys(ESC)
        await h.until(lambda: h.tui.modal is None, what="edit closed")
        select()
        h.keys("d")
        await h.until_screen("Tasks it created stay")
        h.keys("y")
        await h.until(lambda: schedules(daemon) == [], what="deleted")
        await h.until_gone("@daily")

    run_scenario(ArgusClient.local(daemon.home), scenario)


def test_the_agent_view_reports_presence_while_open(daemon: Any, project: dict[str, Any]) -> None:
    task = daemon.client.post("/api/tasks", json={"name": "looked-at", "prompt": "wait",
                                                  "project": "demo-proj"}).json()["task"]

    def watching() -> list[dict[str, Any]]:
        return daemon.client.get("/api/push/presence").json()["watching"]

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("looked-at")
        h.tui.tasklist.selected_id = task["id"]
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        [w] = await h.until(watching, what="presence reported")
        assert w["task_id"] == task["id"] and ":tui-" in w["client"]
        h.keys("\x11")  # ctrl+q: back to the list
        await h.until(lambda: watching() == [], what="presence cleared")

    run_scenario(ArgusClient.local(daemon.home), scenario)
