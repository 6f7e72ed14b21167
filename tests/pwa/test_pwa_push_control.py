"""The PWA's Settings push control in headless Chromium, against a loopback push service.

Headless Chromium has no push service to subscribe with, so the page's ``PushManager``
``subscribe``/``getSubscription`` are stubbed (an init script) to hand back a subscription whose
endpoint is the loopback fake push service and whose keys the test generated: everything after
that is real (the daemon's VAPID-signed, aes128gcm-encrypted request is decrypted with those keys).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "push"))  # the loopback push service
from push_helpers import Device, FakePushService, verify_vapid  # noqa: E402

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 20_000

STUB = """
(() => {
  const fake = %s;
  let current = null;
  const make = () => ({
    endpoint: fake.endpoint, expirationTime: null,
    toJSON: () => ({ endpoint: fake.endpoint, expirationTime: null, keys: { p256dh: fake.p256dh, auth: fake.auth } }),
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    window.__argusServerKeyBytes = new Uint8Array(options.applicationServerKey).length;
    current = make();
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with FakePushService() as svc:
        yield svc


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/install.sh --test installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, daemon: Any, device: Device | None) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.grant_permissions(["notifications"], origin=daemon.url)
    if device is not None:
        sub = device.subscription()
        context.add_init_script(STUB % json.dumps({"endpoint": sub["endpoint"], **sub["keys"]}))
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(daemon.url + "/")
    pg.fill("#token-input", daemon.token)
    pg.click("#login-btn")
    pg.wait_for_selector("#login-btn", state="detached")
    pg.errors = errors
    return pg


def _subscriptions(daemon: Any) -> list[dict[str, Any]]:
    return daemon.client.get("/api/push/subscriptions").json()["subscriptions"]


def test_push_control_subscribes_with_a_label_tests_and_unsubscribes(browser: Any, daemon: Any,
                                                                     push_service: FakePushService) -> None:
    device = push_service.device("browser")
    page = _page(browser, daemon, device)
    page.goto(daemon.url + "/settings")
    page.wait_for_selector("#push-slot[data-state=shown] #push-section")
    page.wait_for_function("() => document.querySelector('#push-status').textContent.includes('not subscribed')")
    assert _subscriptions(daemon) == []

    page.fill("#push-label", "Kitchen tablet")
    page.click("#push-subscribe")
    page.wait_for_selector("#push-unsubscribe")
    assert page.evaluate("() => window.__argusServerKeyBytes") == 65  # the VAPID key, decoded
    [sub] = wait_for(lambda: _subscriptions(daemon) or None, 30, what="the subscription")
    assert sub["label"] == "Kitchen tablet"
    assert "Kitchen tablet" in page.inner_text("#push-status")
    row = page.wait_for_selector(f"li.push-device[data-sub-id='{sub['id']}']")
    assert "Kitchen tablet" in row.inner_text() and "this device" in row.inner_text()

    page.click("#push-test")
    [req] = wait_for(lambda: push_service.to("browser") or None, 15, what="the test push")
    key = daemon.client.get("/api/push/vapid-public-key").json()["key"]
    verify_vapid(req, key, push_service.base)
    payload = device.decrypt(req.body)
    assert payload["kind"] == "test" and payload["tag"] == "argus-test"

    page.click("#push-unsubscribe")
    page.wait_for_selector("#push-subscribe")
    wait_for(lambda: _subscriptions(daemon) == [], 30, what="the subscription removed")
    page.wait_for_selector("li.push-device", state="detached")
    assert page.errors == []
    page.context.close()


def test_push_control_lists_other_devices_and_removes_one(browser: Any, daemon: Any,
                                                          push_service: FakePushService) -> None:
    other = push_service.device("phone")
    resp = daemon.client.post("/api/push/subscribe", json=other.subscription("Old phone"))
    assert resp.status_code == 201, resp.text
    page = _page(browser, daemon, push_service.device("browser"))
    page.goto(daemon.url + "/settings")
    row = page.wait_for_selector(f"li.push-device[data-sub-id='{resp.json()['id']}']")
    assert "Old phone" in row.inner_text() and "this device" not in row.inner_text()
    row.query_selector(".push-remove").click()
    page.wait_for_selector("li.push-device", state="detached")
    assert _subscriptions(daemon) == []
    assert page.errors == []
    page.context.close()


def test_push_control_is_absent_when_the_key_route_does_not_answer(browser: Any, daemon: Any) -> None:
    page = _page(browser, daemon, None)
    page.route("**/api/push/vapid-public-key", lambda route: route.fulfill(
        status=404, content_type="application/json", body='{"error": "not found"}'))
    page.goto(daemon.url + "/settings")
    page.wait_for_selector("#push-slot[data-state=absent]", state="attached")
    assert page.query_selector("#push-section") is None
    page.context.close()
