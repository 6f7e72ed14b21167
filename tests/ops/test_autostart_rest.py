"""``GET/PUT /api/autostart`` (Settings → Auto-start at login) against a temporary unit directory
and a fake ``systemctl`` on PATH: the real user's systemd is never touched."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argus.kernel import autostart
from argus_testkit import Daemon

FAKE_SYSTEMCTL = """#!/bin/sh
# A fake `systemctl --user`: records its arguments; "enable" leaves a marker that is-enabled reads.
echo "$*" >> "{log}"
marker="{state}/enabled"
case "$2" in
  show-environment) [ -n "{down}" ] && {{ echo "Failed to connect to bus: No medium found" >&2; exit 1; }}; echo HOME=/x ;;
  daemon-reload) ;;
  enable) touch "$marker" ;;
  disable) rm -f "$marker" ;;
  is-enabled) [ -e "$marker" ] && echo enabled && exit 0; echo disabled; exit 1 ;;
  is-active) echo inactive; exit 3 ;;
esac
exit 0
"""


def _fake_bin(tmp_path: Path, *, down: bool = False) -> tuple[Path, Path]:
    """A folder holding fake ``systemctl`` and ``loginctl``; returns it and the systemctl log."""
    bin_dir, state = tmp_path / "fakebin", tmp_path / "fake-systemd"
    bin_dir.mkdir()
    state.mkdir()
    log = tmp_path / "systemctl.log"
    script = bin_dir / "systemctl"
    script.write_text(FAKE_SYSTEMCTL.format(log=log, state=state, down="1" if down else ""))
    (bin_dir / "loginctl").write_text("#!/bin/sh\necho yes\n")
    for f in (script, bin_dir / "loginctl"):
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    return bin_dir, log


@pytest.fixture
def fake_systemd(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(fake bin folder, systemctl log, temporary unit directory)."""
    bin_dir, log = _fake_bin(tmp_path)
    return bin_dir, log, tmp_path / "units"


@pytest.fixture
def autostart_daemon(argus_home: Path, fake_systemd: tuple[Path, Path, Path], tmp_path: Path) -> Iterator[Daemon]:
    bin_dir, _, units = fake_systemd
    d = Daemon(argus_home, env={"ARGUS_SYSTEMD_USER_DIR": str(units), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                                "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    try:
        yield d.start()
    finally:
        d.cleanup()


@pytest.mark.skipif(autostart.system() != "systemd", reason="the systemd unit (Linux)")
def test_put_autostart_writes_and_removes_the_unit(autostart_daemon: Daemon, fake_systemd: tuple[Path, Path, Path],
                                                    argus_home: Path) -> None:
    c = autostart_daemon.client
    _, log, units = fake_systemd
    unit = units / "argus-daemon.service"
    state = c.get("/api/autostart").json()
    assert state["installed"] is False and state["available"] is True and state["unit"] == str(unit)

    on = c.put("/api/autostart", json={"enabled": True})
    assert on.status_code == 200, on.text
    body = on.json()
    assert body["installed"] is True and body["enabled"] is True and body["result"]["enabled"] is True
    assert f"Environment=ARGUS_HOME={argus_home}" in unit.read_text()
    assert "--user enable argus-daemon.service" in log.read_text()
    assert c.get("/api/autostart").json()["enabled"] is True

    off = c.put("/api/autostart", json={"enabled": False}).json()
    assert off["installed"] is False and off["enabled"] is False and off["result"]["removed"] is True
    assert not unit.exists() and "--user disable argus-daemon.service" in log.read_text()
    assert not (Path(autostart_daemon.env["XDG_CONFIG_HOME"]) / "systemd").exists()  # the override won


def test_autostart_is_master_only_and_validates_its_body(autostart_daemon: Daemon,
                                                         fake_systemd: tuple[Path, Path, Path]) -> None:
    c = autostart_daemon.client
    bad = c.put("/api/autostart", json={"enabled": "yes"})
    assert bad.status_code == 400 and "enabled" in bad.json()["error"]
    assert c.put("/api/autostart", json={}).status_code == 400
    device = c.post("/api/tokens", json={"label": "phone"}).json()["token"]
    headers = {"Authorization": f"Bearer {device}"}
    with httpx.Client(base_url=autostart_daemon.url, headers=headers, timeout=10) as phone:
        for resp in (phone.get("/api/autostart"), phone.put("/api/autostart", json={"enabled": True})):
            assert resp.status_code == 403 and "error" in resp.json()
    assert not (fake_systemd[2] / "argus-daemon.service").exists()


def test_state_says_why_without_a_user_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, _ = _fake_bin(tmp_path, down=True)
    monkeypatch.setenv("ARGUS_SYSTEMCTL", str(bin_dir / "systemctl"))
    monkeypatch.setenv("ARGUS_SYSTEMD_USER_DIR", str(tmp_path / "units"))
    state = autostart.state(kind="systemd")
    assert state["available"] is False and "no systemd user session" in str(state["reason"])
    assert "loginctl enable-linger" in str(state["hint"])
    monkeypatch.setenv("ARGUS_SYSTEMCTL", str(tmp_path / "no-such-systemctl"))
    assert "not found" in str(autostart.state(kind="systemd")["reason"])
    json.dumps(state)  # what the route answers
