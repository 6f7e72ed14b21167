"""Draft review comments shown inline in the PWA's diff (headless Chromium against a real daemon and
fake agent): two comments render under their lines, one is edited and the other deleted in place,
the remaining one turns "outdated" (listed at the top of its file) once its line changes, and the
review sent mid-turn reaches the agent as one message after it goes idle, with the quoted line;
the sent review is listed in the diff's review history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_pwa_browser import (  # noqa: F401 - pytest fixtures
    app_factory,
    browser,
    create_task,
    fast_agents,
    playwright,
    wait_until,
)

pytestmark = pytest.mark.browser

README = '.diff-file[data-path="README.md"]'


def output(daemon: Any, tid: str) -> str:
    return daemon.client.get(f"/api/tasks/{tid}/output", params={"clean": "1", "bytes": 262144}).text


def test_inline_comments_edit_delete_outdated_and_send_after_idle(app_factory: Any, daemon: Any,  # noqa: F811
                                                                 project: dict[str, Any]) -> None:
    c = daemon.client
    task = create_task(daemon, project, "wait for review")
    tid = task["id"]
    wait_until(lambda: c.get(f"/api/tasks/{tid}").json()["task"]["idle"], "the agent's first turn")
    readme = Path(task["worktree_path"]) / "README.md"
    readme.write_text("# changed title\nsecond line\nthird line\n")  # was "# test repo"
    app = app_factory("review-inline")
    page = app.page
    app.login(path=f"/task/{tid}?tab=diff")
    page.wait_for_selector(f'{README}[open] .dl.add[data-n="3"]')

    def add_comment(n: int, text: str) -> None:
        page.click(f'{README} .dl.add[data-n="{n}"]')
        page.fill("#review-text", text)
        page.click("#review-add")
        page.wait_for_selector(f'{README} .review-inline:has-text("{text}")')

    add_comment(1, "retitle this")
    add_comment(3, "drop the third line")
    drafts = {d["body"]: d for d in c.get(f"/api/tasks/{tid}/review/comments").json()["comments"]}
    first, second = drafts["retitle this"]["id"], drafts["drop the third line"]["id"]
    # each renders right under the line it refers to, which is marked
    under = page.evaluate("""() => [...document.querySelectorAll('.diff-file[data-path="README.md"] .review-inline')]
        .map((b) => [b.dataset.id, b.previousElementSibling.dataset.n, b.previousElementSibling.className])""")
    assert [(int(i), n) for i, n, _ in under] == [(first, "1"), (second, "3")]
    assert all("commented" in cls for _, _, cls in under)
    app.shot("inline-comments")
    app.assert_no_page_scroll_x()

    # edit one in place
    page.click(f'.review-inline[data-id="{first}"] .review-edit')
    page.fill(f'.review-inline[data-id="{first}"] textarea', "use a clearer title")
    page.click(f'.review-inline[data-id="{first}"] .review-save')
    page.wait_for_selector(f'.review-inline[data-id="{first}"]:has-text("use a clearer title")')
    assert page.locator(f'.review-inline[data-id="{first}"] textarea').count() == 0
    # delete the other in place
    page.click(f'.review-inline[data-id="{second}"] .review-delete')
    page.wait_for_selector(f'.review-inline[data-id="{second}"]', state="detached")
    page.wait_for_selector(f'.review-item[data-id="{second}"]', state="detached")
    drafts_now = c.get(f"/api/tasks/{tid}/review/comments").json()["comments"]
    assert [(d["id"], d["line"], d["quote"], d["body"]) for d in drafts_now] == [
        (first, 1, "# changed title", "use a clearer title")]

    # the agent changes the commented line: the comment is outdated, at the top of the file's diff
    readme.write_text("# another title\nsecond line\n")
    page.click('button[aria-label="Refresh diff"]')
    page.wait_for_selector(f'{README} .review-outdated .review-inline[data-id="{first}"]')
    assert "> # changed title" in page.inner_text(f'{README} .review-outdated .review-quote')
    is_first = page.evaluate("""() => {
        const content = document.querySelector('.diff-file[data-path="README.md"] .diff-content');
        return content.firstElementChild.classList.contains('review-outdated'); }""")
    assert is_first
    page.wait_for_selector(f'.review-item.outdated[data-id="{first}"]')
    app.shot("outdated-comment")

    # the agent is mid-turn: the review waits, then goes in as one message once it is idle
    c.post(f"/api/tasks/{tid}/input", json={"data": "/sleep 600"})
    c.post(f"/api/tasks/{tid}/input", json={"data": "\r"})
    wait_until(lambda: "esc to interrupt" in output(daemon, tid).split("/sleep 600")[-1], "the agent mid-turn")
    page.fill("#review-summary", "one thing")
    page.click("#review-send")
    page.wait_for_selector("#review-send", state="detached")
    page.wait_for_selector('#review-history .review-sent[data-delivered="false"]')
    assert "queued until the agent is idle" in page.inner_text("#review-history")
    reviews = c.get(f"/api/tasks/{tid}/reviews").json()["reviews"]
    assert [r["delivered"] for r in reviews] == [False]
    assert "Code review" not in output(daemon, tid)

    c.post(f"/api/tasks/{tid}/input", json={"data": "\x1b"})  # the turn ends
    wait_until(lambda: [r["delivered"] for r in c.get(f"/api/tasks/{tid}/reviews").json()["reviews"]] == [True],
               "the review typed into the idle agent")
    page.wait_for_selector('#review-history .review-sent[data-delivered="true"]')  # the history follows
    page.click("#review-history .review-sent summary")
    assert "README.md:1" in page.inner_text("#review-history .review-message")
    page.click('.tab[data-tab="terminal"]')
    app.wait_terminal("you said: Code review of your changes (1 comment)")
    wait_until(lambda: "use a clearer title" in output(daemon, tid).split("you said: Code review")[-1],
               "the whole review echoed")
    said = output(daemon, tid).split("you said: Code review")[-1]
    for piece in ("one thing", "README.md:1", "> # changed title", "use a clearer title"):
        assert piece in said, piece
    assert "drop the third line" not in said
    wait_until(lambda: c.get(f"/api/tasks/{tid}").json()["task"]["idle"], "idle after the review turn")
    assert output(daemon, tid).count("you said: Code review") == 1
