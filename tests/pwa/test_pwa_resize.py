"""A hidden terminal never resizes the PTY: opening a task's Diff (or Links, Artifacts) tab keeps
the agent's session and its terminal size (issue: the hidden xterm sent its default 80×24 and so
killed and resumed the agent)."""

from __future__ import annotations

from typing import Any

import pytest
from argus_testkit import wait_for
from test_pwa_browser import app_factory, browser, create_task, fast_agents, playwright

__all__ = ["app_factory", "browser", "fast_agents", "playwright"]

pytestmark = pytest.mark.browser

LIVE = ("() => { const t = window.argus && window.argus.terminal; return t && t.conn && !t.resizing"
        " && document.querySelector('.stream-state').dataset.kind === 'ok'; }")


def _idle(daemon: Any, task_id: str) -> dict[str, Any]:
    return wait_for(lambda: (t := daemon.client.get(f"/api/tasks/{task_id}").json()["task"])["idle"] and t,
                    what="the agent to go idle")


def test_opening_the_diff_tab_keeps_the_session_and_pty_size(app_factory: Any, daemon: Any,
                                                            project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "change something")
    tid = task["id"]
    before = _idle(daemon, tid)
    size = daemon.client.get(f"/api/tasks/{tid}/size").json()
    app = app_factory("resize")
    page = app.page
    resizes: list[str] = []
    page.on("request", lambda r: resizes.append(r.post_data or "") if r.url.endswith("/resize") else None)

    # Straight onto the Diff tab: the terminal connects hidden and must not send xterm's 80×24.
    app.login(path=f"/task/{tid}?tab=diff")
    page.wait_for_selector('.diff-file[data-path="ARGUS_DEMO.md"]')
    app.wait_js(LIVE, what="the hidden terminal's stream to be live")
    assert resizes == []
    assert daemon.client.get(f"/api/tasks/{tid}/size").json() == size
    after = daemon.client.get(f"/api/tasks/{tid}").json()["task"]
    assert after["session_id"] == before["session_id"] and after["pid"] == before["pid"]

    # The Terminal tab fits the PTY to the screen (which may re-render the agent at the phone's
    # width); once settled, Diff, Links and Artifacts leave the size and the session alone.
    with page.expect_request(lambda r: r.url.endswith("/resize")):
        page.click('.tab[data-tab="terminal"]')
    app.wait_terminal_settled()
    cols, rows = page.evaluate("[window.argus.terminal.term.cols, window.argus.terminal.term.rows]")
    fitted = wait_for(lambda: (got := daemon.client.get(f"/api/tasks/{tid}/size").json())
                      == {"cols": cols, "rows": rows} and got, what="the PTY to take the terminal's size")
    shown = daemon.client.get(f"/api/tasks/{tid}").json()["task"]
    count = len(resizes)
    for tab in ("diff", "links", "artifacts"):
        page.click(f'.tab[data-tab="{tab}"]')
        page.wait_for_selector(f'.tab-panel[data-tab="{tab}"]:not([hidden])')
        page.wait_for_timeout(500)  # the ResizeObserver's fit (150 ms debounce) had its chance
        app.wait_js(LIVE, what="the stream to stay live")
    assert len(resizes) == count, resizes
    assert daemon.client.get(f"/api/tasks/{tid}/size").json() == fitted
    last = daemon.client.get(f"/api/tasks/{tid}").json()["task"]
    assert last["session_id"] == shown["session_id"] and last["pid"] == shown["pid"] and last["running"]
