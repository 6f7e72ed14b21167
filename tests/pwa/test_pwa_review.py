"""Review in place in the PWA's diff view (headless Chromium against a real daemon and fake agent):
select a range of changed lines, write a comment, see it in the draft review, delete one, send the
review, and watch it arrive in the agent's terminal as one message.
"""

from __future__ import annotations

from typing import Any

import pytest
from argus_testkit import wait_for
from test_pwa_browser import (  # noqa: F401 - pytest fixtures
    app_factory,
    browser,
    create_task,
    fast_agents,
    playwright,
)

pytestmark = pytest.mark.browser


def test_diff_line_comments_become_one_review_typed_into_the_agent(app_factory: Any, daemon: Any,  # noqa: F811
                                                                   project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "add a changelog entry")
    tid = task["id"]
    wait_for(lambda: daemon.client.get(f"/api/tasks/{tid}").json()["task"]["idle"], what="the agent's first turn")
    app = app_factory("review")
    page = app.page
    app.login(path=f"/task/{tid}?tab=diff")
    page.wait_for_selector('.diff-file[data-path="ARGUS_DEMO.md"][open] .dl.add[data-n]')
    added = page.locator('.diff-file[data-path="ARGUS_DEMO.md"] .dl.add[data-n]')
    assert added.count() >= 2

    # one line, then a second tap makes a range; the comment lands in the draft review
    added.nth(0).click()
    page.wait_for_selector("#review-text")
    added.nth(1).click()
    assert page.locator(".dl.sel").count() == 2
    page.fill("#review-text", "say why in the entry")
    page.click("#review-add")
    page.wait_for_selector('.review-item:has-text("say why in the entry")')
    first_n = int(added.nth(0).get_attribute("data-n"))
    # a second comment, then deleted from the draft
    added.nth(0).click()
    page.fill("#review-text", "scratch that")
    page.click("#review-add")
    page.wait_for_selector('.review-item:has-text("scratch that")')
    page.locator('.review-item:has-text("scratch that") button').click()
    page.wait_for_selector('.review-item:has-text("scratch that")', state="detached")
    drafts = daemon.client.get(f"/api/tasks/{tid}/review/comments").json()["comments"]
    assert [(d["path"], d["line"], d["end_line"], d["body"]) for d in drafts] == [
        ("ARGUS_DEMO.md", first_n, first_n + 1, "say why in the entry")]
    app.shot("review-draft")
    app.assert_no_page_scroll_x()

    page.fill("#review-summary", "one thing")
    page.click("#review-send")
    page.wait_for_selector("#review-send", state="detached")
    wait_for(lambda: [r["delivered"] for r in daemon.client.get(f"/api/tasks/{tid}/reviews").json()["reviews"]]
             == [True], what="the review typed into the idle agent")
    page.click('.tab[data-tab="terminal"]')
    app.wait_terminal("you said: Code review of your changes (1 comment)")
    app.wait_terminal(f"ARGUS_DEMO.md:{first_n}-{first_n + 1}")
