"""``GET/PUT /api/autostart`` (Settings → Auto-start at login) against a temporary unit directory
and a fake ``systemctl`` on PATH: the real user's systemd is never touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argus.kernel import autostart
from argus_testkit import Daemon
from fake_systemd import FakeSystemd


@pytest.fixture
def fake_systemd(tmp_path: Path) -> FakeSystemd:
    """Fake systemctl/loginctl and a temporary unit directory."""
    return FakeSystemd(tmp_path / "systemd")


@pytest.fixture
def autostart_daemon(argus_home: Path, fake_systemd: FakeSystemd, tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(argus_home, env=fake_systemd.daemon_env(tmp_path / "xdg"))
    try:
        yield d.start()
    finally:
        d.cleanup()


@pytest.mark.skipif(autostart.system() != "systemd", reason="the systemd unit (Linux)")
def test_put_autostart_writes_and_removes_the_unit(autostart_daemon: Daemon, fake_systemd: FakeSystemd,
                                                    argus_home: Path) -> None:
    c = autostart_daemon.client
    unit = fake_systemd.unit
    state = c.get("/api/autostart").json()
    assert state["installed"] is False and state["available"] is True and state["unit"] == str(unit)

    on = c.put("/api/autostart", json={"enabled": True})
    assert on.status_code == 200, on.text
    body = on.json()
    assert body["installed"] is True and body["enabled"] is True and body["result"]["enabled"] is True
    assert f"Environment=ARGUS_HOME={argus_home}" in unit.read_text()
    assert "--user enable argus-daemon.service" in fake_systemd.calls()
    assert c.get("/api/autostart").json()["enabled"] is True

    off = c.put("/api/autostart", json={"enabled": False}).json()
    assert off["installed"] is False and off["enabled"] is False and off["result"]["removed"] is True
    assert not unit.exists() and "--user disable argus-daemon.service" in fake_systemd.calls()
    assert not (Path(autostart_daemon.env["XDG_CONFIG_HOME"]) / "systemd").exists()  # the override won


def test_autostart_is_master_only_and_validates_its_body(autostart_daemon: Daemon,
                                                         fake_systemd: FakeSystemd) -> None:
    c = autostart_daemon.client
    bad = c.put("/api/autostart", json={"enabled": "yes"})
    assert bad.status_code == 400 and "enabled" in bad.json()["error"]
    assert c.put("/api/autostart", json={}).status_code == 400
    device = c.post("/api/tokens", json={"label": "phone"}).json()["token"]
    headers = {"Authorization": f"Bearer {device}"}
    with httpx.Client(base_url=autostart_daemon.url, headers=headers, timeout=10) as phone:
        for resp in (phone.get("/api/autostart"), phone.put("/api/autostart", json={"enabled": True})):
            assert resp.status_code == 403 and "error" in resp.json()
    assert not fake_systemd.unit.exists()


def test_state_says_why_without_a_user_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSystemd(tmp_path / "down", down=True)
    monkeypatch.setenv("ARGUS_SYSTEMCTL", str(fake.systemctl))
    monkeypatch.setenv("ARGUS_SYSTEMD_USER_DIR", str(tmp_path / "units"))
    state = autostart.state(kind="systemd")
    assert state["available"] is False and "no systemd user session" in str(state["reason"])
    assert "loginctl enable-linger" in str(state["hint"])
    monkeypatch.setenv("ARGUS_SYSTEMCTL", str(tmp_path / "no-such-systemctl"))
    assert "not found" in str(autostart.state(kind="systemd")["reason"])
    json.dumps(state)  # what the route answers
