"""The PWA's scheduled-tasks card and its Web Push service worker, in headless Chromium.

A push is delivered to the service worker through CDP (``ServiceWorker.deliverPushMessage``), as a
push service would; the notification it shows carries Approve/Deny actions, and the worker's
``notificationclick`` handler (dispatched inside the worker) types the answer into the fake agent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.push import screen
from argus_testkit import wait_for

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 20_000


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.3")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/install.sh --test installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, daemon: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    pg = context.new_page()
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(daemon.url + "/")
    pg.fill("#token-input", daemon.token)
    pg.click("#login-btn")
    pg.wait_for_selector("#login-btn", state="detached")
    try:
        yield pg
    finally:
        context.close()
    assert errors == []


def test_schedules_card_create_with_preview_toggle_run_and_delete(page: Any, daemon: Any,
                                                                  project: dict[str, Any]) -> None:
    page.goto(daemon.url + "/settings")
    page.wait_for_selector("#schedules-section")
    page.click("#schedules-section summary")
    page.fill("#sched-name", "standup")
    page.select_option("#sched-project", "demo-proj")
    page.fill("#sched-prompt", "summarize yesterday's commits")
    page.fill("#sched-expr", "@every 2h")
    page.wait_for_function("() => document.querySelector('#sched-preview').textContent.startsWith('Next:')")
    assert page.inner_text("#sched-preview").count("·") == 2  # three upcoming times
    page.fill("#sched-expr", "61 * * * *")
    page.wait_for_function("() => document.querySelector('#sched-preview').textContent.includes(\"'61 * * * *'\")")
    page.fill("#sched-expr", "@every 2h")
    page.click("#schedule-form button[type=submit]")
    row = page.wait_for_selector("#schedules-list li[data-schedule-id]")
    sid = row.get_attribute("data-schedule-id")
    [s] = daemon.client.get("/api/schedules").json()["schedules"]
    assert s["id"] == sid and s["schedule"] == "@every 2h" and s["prompt"] == "summarize yesterday's commits"

    page.click(f"li[data-schedule-id='{sid}'] .sched-toggle")
    page.wait_for_selector(f"li[data-schedule-id='{sid}'][data-enabled='']")
    assert daemon.client.get(f"/api/schedules/{sid}").json()["schedule"]["enabled"] is False

    page.click(f"li[data-schedule-id='{sid}'] .sched-run")
    done = wait_for(lambda: daemon.client.get(f"/api/schedules/{sid}").json()["schedule"]["last_task_id"], 30,
                    what="run now from the PWA")
    assert daemon.client.get(f"/api/tasks/{done}").status_code == 200

    page.click(f"li[data-schedule-id='{sid}'] .sched-delete")
    page.click("[data-confirm]")
    page.wait_for_selector(f"li[data-schedule-id='{sid}']", state="detached")
    assert daemon.client.get("/api/schedules").json()["schedules"] == []


def test_service_worker_shows_a_pushed_prompt_and_its_action_answers_the_agent(page: Any, daemon: Any,
                                                                               project: dict[str, Any]) -> None:
    context = page.context
    context.grant_permissions(["notifications"], origin=daemon.url)
    c = daemon.client
    resp = c.post("/api/tasks", json={"name": "asker", "prompt": "wait", "project": "demo-proj"})
    assert resp.status_code == 201, resp.text
    task = resp.json()["task"]
    wait_for(lambda: c.get(f"/api/tasks/{task['id']}").json()["task"]["idle"], 30, what="idle")
    c.post(f"/api/tasks/{task['id']}/input", json={"data": "Apply the migration? (y/n)"})

    def prompt_on_screen() -> Any:
        return screen.excerpt(c.get(f"/api/tasks/{task['id']}/output", params={"bytes": 16384}).content)[1]

    prompt = wait_for(prompt_on_screen, 15, what="the question on screen")

    # The worker is active and holds the token the page handed over.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    worker = wait_for(lambda: context.service_workers and context.service_workers[0], 15, what="service worker")
    wait_for(lambda: worker.evaluate("caches.open('argus-auth').then((c) => c.match('/__argus/token'))"
                                     ".then((r) => r ? r.text() : '')") == daemon.token, 15, what="token in worker")

    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda ev: registrations.extend(ev["registrations"]))
    cdp.send("ServiceWorker.enable")

    def registration() -> Any:
        page.wait_for_timeout(50)  # lets Playwright dispatch the CDP events
        return next((r for r in registrations if not r.get("isDeleted")), None)

    reg = wait_for(registration, 15, what="the registration id")
    payload = {"title": "asker · demo-proj", "body": prompt.text, "tag": f"task-{task['id']}",
               "task_id": task["id"], "url": f"/task/{task['id']}", "kind": "idle",
               "prompt": {"id": prompt.id, "text": prompt.text},
               "actions": [{"action": "approve", "title": "Approve"}, {"action": "deny", "title": "Deny"}]}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": daemon.url + "/", "registrationId":
                                                  reg["registrationId"], "data": json.dumps(payload)})
    shown = wait_for(lambda: worker.evaluate(
        "self.registration.getNotifications().then((ns) => ns.map((n) => ({title: n.title, body: n.body, tag: n.tag,"
        " actions: n.actions.map((a) => a.action), data: n.data})))"), 15, what="the notification")
    [note] = shown
    assert note["title"] == "asker · demo-proj" and note["tag"] == f"task-{task['id']}"
    assert note["actions"] == ["approve", "deny"] and "(y/n)" in note["body"]
    assert note["data"] == {"url": f"/task/{task['id']}", "taskId": task["id"], "prompt": prompt.id}

    # The user taps Approve: the worker's notificationclick handler answers through the daemon.
    worker.evaluate("self.registration.getNotifications().then(([n]) => self.dispatchEvent("
                    "new NotificationEvent('notificationclick', {notification: n, action: 'approve'})))")
    wait_for(lambda: "(y/n)y" in c.get(f"/api/tasks/{task['id']}/output", params={"clean": 1}).text, 15,
             what="the answer typed into the agent")
    wait_for(lambda: prompt_on_screen() is None, 15, what="the prompt answered")

    # Tapping the same (now stale) action again types nothing and says so.
    worker.evaluate("([taskId, prompt]) => answer({taskId, prompt, url: '/'}, 'approve')", [task["id"], prompt.id])
    stale = wait_for(lambda: worker.evaluate(
        "self.registration.getNotifications().then((ns) => ns.filter((n) => n.title === 'Nothing was sent')"
        ".map((n) => n.body))"), 15, what="the stale notice")
    assert "stale" in stale[0]


def test_needs_you_inbox_lists_waiting_tasks_and_answers_in_one_tap(page: Any, daemon: Any,
                                                                     project: dict[str, Any]) -> None:
    c = daemon.client
    resp = c.post("/api/tasks", json={"name": "waiter", "prompt": "wait", "project": "demo-proj"})
    task = resp.json()["task"]
    wait_for(lambda: c.get(f"/api/tasks/{task['id']}").json()["task"]["idle"], 30, what="idle")
    c.post(f"/api/tasks/{task['id']}/input", json={"data": "Deploy now? (y/n)"})
    inbox = wait_for(lambda: [t for t in c.get("/api/push/inbox").json()["tasks"] if t["prompt"]], 15,
                     what="the question in the inbox")
    assert inbox[0]["id"] == task["id"] and "Deploy now? (y/n)" in inbox[0]["prompt"]["text"]
    page.click("#topnav a[data-tab=inbox]")
    item = page.wait_for_selector(f"li.inbox-item[data-task-id='{task['id']}']")
    assert "Deploy now? (y/n)" in item.inner_text()
    page.click(f"li.inbox-item[data-task-id='{task['id']}'] .inbox-deny")
    wait_for(lambda: "(y/n)n" in c.get(f"/api/tasks/{task['id']}/output", params={"clean": 1}).text, 15,
             what="the answer typed into the agent")
