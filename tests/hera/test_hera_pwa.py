"""The PWA's Hera screen in headless Chromium against a real daemon: orchestrators and roles with
their status and unread counts, a role's live terminal, and a message sent to a role as the user
(typed into its idle agent).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from argus_testkit import wait_for
from hera_helpers import call, create_task, mcp_session, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pwa"))
import test_pwa_browser as pwa  # noqa: E402

# The browser fixtures of the PWA tests (one Chromium per module, a context per app).
playwright, browser, app_factory = pwa.playwright, pwa.browser, pwa.app_factory

pytestmark = pytest.mark.browser

HERA_TERM = "() => (document.querySelector('.hera-term .xterm-rows')?.textContent || '').replace(/\\u00a0/g, ' ')"


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")


def test_hera_screen_lists_roles_and_sends_a_message_to_a_role(app_factory: Any, daemon: Any,
                                                               project: dict[str, Any]) -> None:
    boss = create_task(daemon.client, project["name"], "boss")

    async def setup() -> None:
        async with mcp_session(daemon.mcp_url) as s:
            await call(s, "hera_new_orchestrator", {"cwd": boss["worktree_path"], "name": "release"})
            w = await call(s, "hera_spawn_worker", {"cwd": boss["worktree_path"], "name": "api", "prompt": "x"})
            await call(s, "hera_send", {"cwd": w["task"]["worktree_path"], "subject": "hello boss", "body": "b"})

    trio.run(setup)
    app = app_factory("hera")
    app.login(path="/hera")
    page = app.page
    page.wait_for_selector(".hera-orch >> text=release")
    page.wait_for_selector("#tabbar a[data-tab='hera']:not([hidden])")
    coordinator = page.locator(".hera-role", has_text="coordinator")
    assert coordinator.locator(".badge").inner_text() == "1"  # the worker's unread message
    assert page.locator(".hera-role", has_text="api").count() == 1
    app.shot("list")
    coordinator.locator("a").click()
    page.wait_for_selector(".hera-role-view")
    page.wait_for_selector(".hera-message >> text=hello boss")
    app.wait_js(f"() => ({HERA_TERM})().includes('for shortcuts')", what="the coordinator's terminal")
    # the phone's width re-renders the idle agent once (kill + resume): wait until that settled
    app.wait_js("() => { const t = window.argus.terminal; return t && !t.exited && !t.expectRerender"
                " && !t.resizing && t.conn; }", what="the terminal settled")
    app.wait_js(f"() => ({HERA_TERM})().includes('for shortcuts')", what="the prompt after the re-render")
    wait_for(lambda: task(daemon.client, boss["id"])["idle"], what="the coordinator idle")
    page.fill(".hera-send input", "from the phone")
    page.fill(".hera-send textarea", "please review api")
    page.click(".hera-send button[type=submit]")
    page.wait_for_selector(".hera-message >> text=from the phone")
    # the idle coordinator gets the notice typed in, live in the same terminal
    app.wait_js(f"() => ({HERA_TERM})().includes('from user: from the phone')", what="the typed notice")
    msgs = daemon.client.get("/api/hera").json()["orchestrators"][0]["roles"][0]
    assert msgs["name"] == "coordinator" and msgs["unread"] == 2
    page.click("text=Status ▶")
    page.wait_for_selector(".status-chip >> text=working")
    app.assert_no_page_scroll_x()
    app.shot("role")
