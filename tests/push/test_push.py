"""Web Push end to end: a loopback HTTP server plays the push service; subscriptions use keys made
in the test, so each request's payload is decrypted (http-ece) and its VAPID signature verified."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from argus.plugins.push import screen
from argus_testkit import Daemon, wait_for
from push_helpers import FakePushService, verify_vapid, wait_event


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")

@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with FakePushService() as svc:
        yield svc

def public_key(c: httpx.Client) -> str:
    resp = c.get("/api/push/vapid-public-key")
    assert resp.status_code == 200, resp.text
    return resp.json()["key"]

def subscribe(c: httpx.Client, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    resp = c.post("/api/push/subscribe", json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()

def new_task(c: httpx.Client, name: str) -> dict[str, Any]:
    resp = c.post("/api/tasks", json={"name": name, "prompt": "wait for instructions", "project": "demo-proj"})
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]

def test_vapid_key_is_stable_and_private(daemon: Daemon) -> None:
    key = public_key(daemon.client)
    raw = __import__("base64").urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4
    mode = stat.S_IMODE(os.stat(daemon.home / "vapid-private.pem").st_mode)
    assert mode == 0o600
    assert httpx.get(f"{daemon.url}/api/push/vapid-public-key").status_code == 401
    daemon.restart()
    assert public_key(daemon.client) == key

def test_subscribe_list_unsubscribe(daemon: Daemon, push_service: FakePushService) -> None:
    c = daemon.client
    dev = push_service.device("phone")
    good = dev.subscription("My phone")
    for bad, field in [({**good, "endpoint": "http://push.example.com/x"}, "endpoint"),
                       ({**good, "endpoint": 5}, "endpoint"),
                       ({**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}, "p256dh"),
                       ({**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "AAAA"}}, "auth"),
                       ({"label": "x"}, "endpoint")]:
        resp = c.post("/api/push/subscribe", json=bad)
        assert resp.status_code == 400 and field in resp.json()["error"], resp.text
    made = subscribe(c, good)
    again = subscribe(c, {**good, "label": "Renamed"}, expect=200)
    assert again["id"] == made["id"]
    listed = c.get("/api/push/subscriptions").json()["subscriptions"]
    assert [s["id"] for s in listed] == [made["id"]] and listed[0]["label"] == "Renamed"
    assert dev.endpoint not in str(listed) and good["keys"]["auth"] not in str(listed)
    assert listed[0]["endpoint"].endswith(dev.endpoint[-6:])
    assert httpx.post(f"{daemon.url}/api/push/subscribe", json=good).status_code == 401
    assert c.delete(f"/api/push/subscribe/{made['id']}").json() == {"ok": True}
    assert c.delete(f"/api/push/subscribe/{made['id']}").status_code == 404
    assert c.get("/api/push/subscriptions").json()["subscriptions"] == []

def test_idle_sends_one_encrypted_push_then_throttles(daemon: Daemon, project: dict[str, Any],
                                                      push_service: FakePushService) -> None:
    c = daemon.client
    dev = push_service.device("phone")
    subscribe(c, dev.subscription())
    key = public_key(c)
    task = new_task(c, "needs-you")
    sent = wait_event(c, lambda e: e["type"] == "push.sent" and e["data"]["task_id"] == task["id"],
                      what="push.sent")
    assert sent["data"]["sent"] == 1
    [req] = push_service.to("phone")
    assert req.headers["content-encoding"] == "aes128gcm" and int(req.headers["ttl"]) > 0
    claims = verify_vapid(req, key, push_service.base)
    assert claims["sub"].startswith("mailto:")
    payload = dev.decrypt(req.body)
    assert payload["title"] == "needs-you · demo-proj"
    assert payload["tag"] == f"task-{task['id']}" and payload["url"] == f"/task/{task['id']}"
    assert payload["task_id"] == task["id"] and payload["kind"] in ("idle", "review")
    assert payload["body"] and "\x1b" not in payload["body"]

    # The next turn ends idle again within 5 minutes: throttled, nothing sent.
    resp = c.post(f"/api/tasks/{task['id']}/input", json={"data": "hello\r"})
    assert resp.status_code == 200, resp.text
    skipped = wait_event(c, lambda e: e["type"] == "push.skipped" and e["data"]["task_id"] == task["id"],
                         since=int(sent["id"]), what="push.skipped")
    assert skipped["data"]["reason"] == "throttled"
    assert len(push_service.to("phone")) == 1

def test_presence_suppresses_until_the_client_looks_away(daemon: Daemon, project: dict[str, Any],
                                                         push_service: FakePushService) -> None:
    c = daemon.client
    assert c.put("/api/settings", json={"push": {"enabled": False}}).status_code == 200
    dev = push_service.device("laptop")
    subscribe(c, dev.subscription())
    task = new_task(c, "watched")
    wait_for(lambda: c.get(f"/api/tasks/{task['id']}").json()["task"]["idle"], 30, what="idle")
    assert c.put("/api/settings", json={"push": {"enabled": True, "throttle_seconds": 0}}).status_code == 200
    assert c.post("/api/push/presence", json={"task_id": task["id"], "client": "tab1"}).json() == {"ok": True}
    assert c.post("/api/push/presence", json={"task_id": 5}).status_code == 400
    c.post(f"/api/tasks/{task['id']}/input", json={"data": "one\r"})
    skipped = wait_event(c, lambda e: e["type"] == "push.skipped" and e["data"]["task_id"] == task["id"],
                         what="presence skip")
    assert skipped["data"]["reason"] == "presence"
    assert push_service.to("laptop") == []
    c.post("/api/push/presence", json={"task_id": None, "client": "tab1"})
    c.post(f"/api/tasks/{task['id']}/input", json={"data": "two\r"})
    wait_event(c, lambda e: e["type"] == "push.sent" and e["data"]["task_id"] == task["id"],
               since=int(skipped["id"]), what="push after looking away")
    assert dev.decrypt(push_service.to("laptop")[0].body)["task_id"] == task["id"]

def test_gone_subscriptions_are_pruned_and_failures_retried_once(daemon: Daemon,
                                                                 push_service: FakePushService) -> None:
    c = daemon.client
    ok, gone, broken = (push_service.device(n) for n in ("ok", "gone", "broken"))
    push_service.status["/push/gone"] = 410
    push_service.status["/push/broken"] = 500
    for dev in (ok, gone, broken):
        subscribe(c, dev.subscription())
    out = c.post("/api/push/test").json()
    assert out == {"sent": 1, "pruned": 1, "failed": 1}
    assert ok.decrypt(push_service.to("ok")[0].body)["title"] == "Argus"
    assert len(push_service.to("gone")) == 1 and len(push_service.to("broken")) == 2
    subs = c.get("/api/push/subscriptions").json()["subscriptions"]
    assert len(subs) == 2
    failed = next(s for s in subs if s["endpoint"].endswith(broken.endpoint[-6:]))
    assert "500" in failed["last_error"]

def test_action_answers_the_prompt_on_screen_and_refuses_a_stale_one(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    task = new_task(c, "asker")
    wait_for(lambda: c.get(f"/api/tasks/{task['id']}").json()["task"]["idle"], 30, what="idle")
    # The demo agent echoes typed input at its prompt: leave a yes/no question on its screen.
    c.post(f"/api/tasks/{task['id']}/input", json={"data": "Apply the migration? (y/n)"})

    def prompt_on_screen() -> Any:
        raw = c.get(f"/api/tasks/{task['id']}/output", params={"bytes": 16384}).content
        return screen.excerpt(raw)[1]

    prompt = wait_for(prompt_on_screen, 15, what="the question on screen")
    assert prompt.keys == {"approve": "y\r", "deny": "n\r"}
    assert c.post("/api/push/action", json={"task_id": task["id"], "action": "nuke",
                                            "prompt": prompt.id}).status_code == 400
    resp = c.post("/api/push/action", json={"task_id": task["id"], "action": "approve", "prompt": prompt.id})
    assert resp.status_code == 200 and resp.json()["sent"] == "y\r", resp.text
    wait_for(lambda: "(y/n)y" in c.get(f"/api/tasks/{task['id']}/output", params={"clean": 1}).text, 15,
             what="the answer typed into the agent")
    wait_for(lambda: prompt_on_screen() is None, 15, what="the question answered")
    stale = c.post("/api/push/action", json={"task_id": task["id"], "action": "approve", "prompt": prompt.id})
    assert stale.status_code == 409 and "stale" in stale.json()["error"] and stale.json()["stale"] is True


def test_a_scheduled_fire_notifies_and_run_now_does_not(daemon: Daemon, project: dict[str, Any],
                                                        push_service: FakePushService) -> None:
    c = daemon.client
    assert c.put("/api/settings", json={"push": {"throttle_seconds": 3600}}).status_code == 200
    dev = push_service.device("phone")
    subscribe(c, dev.subscription())
    when = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    s = c.post("/api/schedules", json={"name": "nightly", "project": "demo-proj", "prompt": "p",
                                       "run_once_at": when}).json()["schedule"]
    sent = wait_event(c, lambda e: e["type"] == "push.sent" and e["data"]["kind"] == "scheduled",
                      what="the scheduled-fire push")
    payload = next(p for p in (dev.decrypt(r.body) for r in push_service.to("phone")) if p["kind"] == "scheduled")
    assert payload["title"] == "Scheduled: nightly" and payload["tag"] == f"schedule-{s['id']}"
    assert payload["task_id"] == sent["data"]["task_id"] and payload["url"] == f"/task/{payload['task_id']}"
    task_id = c.post(f"/api/schedules/{s['id']}/run").json()["task_id"]
    skipped = wait_event(c, lambda e: e["type"] == "push.skipped" and e["data"]["task_id"] == task_id,
                         what="no push for run-now")
    assert skipped["data"]["reason"] == "run-now"
