"""The PWA's list shows a task in ``limit`` with its planned resume, and its button cancels the plan."""

from __future__ import annotations

from typing import Any

import pytest
from test_pwa_browser import DESKTOP, app_factory, browser, create_task, fast_agents, playwright, wait_until

__all__ = ["app_factory", "browser", "fast_agents", "playwright"]

pytestmark = pytest.mark.browser


def test_limit_row_and_its_cancel_button(app_factory: Any, daemon: Any, project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "work until the limit")
    tid = task["id"]

    def server_task() -> dict[str, Any]:
        return daemon.client.get(f"/api/tasks/{tid}").json()["task"]

    wait_until(lambda: server_task()["idle"], "the agent to go idle")
    app = app_factory("limit", DESKTOP)
    page = app.page
    app.login()
    row = f'.task-row[data-task-id="{tid}"]'
    page.wait_for_selector(f'{row}[data-status="needs_you"]')
    assert daemon.client.post(f"/api/tasks/{tid}/input", json={"data": "/limit 600\r"}).status_code == 200
    page.wait_for_selector(f'{row}[data-status="limit"] .badge.limit:text("limit · resumes")')
    assert page.locator(f"{row} .status-ico").inner_text() == "⧗"
    page.click(f"{row} .limit-cancel")
    page.wait_for_selector(':text("Limit resume cancelled")')
    wait_until(lambda: server_task()["limit_resume_at"] is None, "the plan cancelled")
    assert server_task()["status"] == "in_progress"
    page.wait_for_selector(f'{row}[data-status="needs_you"]')
    assert page.locator(f"{row} .limit-cancel").count() == 0
