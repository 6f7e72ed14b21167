"""The PWA's merge sheet: the task's branch against its base, then a merge into the base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argus_testkit import run_git, wait_for
from test_pwa_browser import app_factory, browser, create_task, fast_agents, playwright

__all__ = ["app_factory", "browser", "fast_agents", "playwright"]

pytestmark = pytest.mark.browser


def test_merge_sheet_previews_and_merges(app_factory: Any, daemon: Any, project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "add a feature")
    tid, wt, repo = task["id"], Path(task["worktree_path"]), Path(project["path"])
    wait_for(lambda: daemon.client.get(f"/api/tasks/{tid}").json()["task"]["idle"], what="the agent to go idle")
    (wt / "feature.txt").write_text("f\n")
    run_git(wt, "add", "-A")
    run_git(wt, "commit", "-q", "-m", "feature")

    app = app_factory("merge")
    page = app.page
    app.login(path=f"/task/{tid}?tab=diff")
    page.click("#task-actions")
    page.click('.sheet-item[data-action="merge-"]')
    summary = page.locator(".merge-summary")
    summary.wait_for()
    assert summary.inner_text() == "1 ahead, 0 behind main"
    assert page.locator(".merge-conflicts").count() == 0
    page.click('.sheet-item[data-action="merge-merge"]')
    page.wait_for_selector(':text("Merged into main")')
    assert (repo / "feature.txt").read_text() == "f\n"
    assert run_git(repo, "rev-parse", "main") == run_git(repo, "rev-parse", task["branch"])
