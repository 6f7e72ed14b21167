"""The TUI shows a task in ``limit`` (glyph, planned resume time) and ``L`` cancels its planned resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from argus.plugins.tui.client import ArgusClient
from argus.plugins.tui.tasklist import limit_words, render_task_line, status_icon
from argus_testkit import wait_for
from tui_harness import Harness, run_scenario


def test_limit_row_shows_the_planned_resume() -> None:
    task = {"id": "t_1", "name": "capped", "status": "limit", "running": True, "exit_code": None,
            "limit_resets_at": "2026-10-03T13:00:00Z", "limit_resume_at": "2026-10-03T13:01:00Z"}
    assert status_icon(task, "dots")[1] == "⧗"
    local = datetime.fromisoformat("2026-10-03T13:01:00+00:00").astimezone()
    assert limit_words(task) == f"limit · resumes {local:%H:%M}"
    assert limit_words({"status": "limit", "limit_resume_at": None}) == "limit"
    line = "".join(frag[1] for frag in render_task_line(task, selected=False, spinner_style="dots", width=100))
    assert "capped" in line and "limit · resumes" in line and "needs you" not in line
    # an agent that exited while waiting for the reset is not shown as failed
    assert status_icon({**task, "running": False, "exit_code": 1}, "dots")[1] == "⧗"


def test_l_cancels_the_planned_resume(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    tid = c.post("/api/tasks", json={"project": project["name"], "name": "capped", "backend": "claude"}
                 ).json()["task"]["id"]

    def get() -> dict[str, Any]:
        return c.get(f"/api/tasks/{tid}").json()["task"]

    wait_for(lambda: get()["idle"], timeout=30, what="agent waiting")
    assert c.post(f"/api/tasks/{tid}/input", json={"data": "/limit 600\r"}).status_code == 200
    wait_for(lambda: get()["status"] == "limit", timeout=30, what="status limit")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("limit · resumes")
        h.keys("L")
        await h.until(lambda: get()["limit_resume_at"] is None, what="plan cancelled")
        await h.until_screen("limit resume cancelled")
        assert get()["status"] == "in_progress"
        h.keys("L")  # nothing left to cancel: said on the status line
        await h.until_screen("has no planned limit resume")

    run_scenario(ArgusClient.local(daemon.home), scenario)
