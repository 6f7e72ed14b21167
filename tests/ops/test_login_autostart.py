"""Auto-start at login: the launchd plist (golden file) and the systemd unit's fallbacks."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path

import pytest
from argus.kernel import autostart
from argus.kernel.paths import Paths

GOLDEN = Path(__file__).parent / "golden" / "com.drn.argus.daemon.plist"


def test_plist_matches_the_golden_file() -> None:
    text = autostart.plist_text(Paths(Path("/Users/me/.argus")), ["/Users/me/.argus/argusd", "daemon", "run"])
    assert text == GOLDEN.read_text()
    data = plistlib.loads(text.encode())
    assert data["RunAtLoad"] is True and data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["StandardOutPath"] == data["StandardErrorPath"] == "/Users/me/.argus/launchd.log"


def test_launchd_install_links_the_resolved_executable_and_uninstall_removes_both(
        argus_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("PATH", "/nonexistent")  # no launchctl here: the plist is still written
    paths = Paths(argus_home)
    result = autostart.install(paths, kind="launchd")
    plist = tmp_path / "user" / "Library" / "LaunchAgents" / "com.drn.argus.daemon.plist"
    assert result["plist"] == str(plist) and result["loaded"] is False
    data = plistlib.loads(plist.read_bytes())
    link = argus_home / "argusd"
    exe = autostart.argus_executable()
    if exe is not None:
        assert data["ProgramArguments"] == [str(link), "daemon", "run"]
        assert link.is_symlink() and link.resolve() == exe
        autostart.install(paths, kind="launchd")  # reinstalling rewrites the link in place
        assert link.resolve() == exe
    assert data["EnvironmentVariables"] == {"ARGUS_HOME": str(argus_home), "ARGUS_DAEMON_STANDBY": "0"}
    assert autostart.state(kind="launchd")["installed"] is True
    removed = autostart.uninstall(paths, kind="launchd")
    assert removed["removed"] is True and not plist.exists() and not link.is_symlink()
    assert autostart.state(kind="launchd")["installed"] is False


def _systemd_user_runs() -> bool:
    try:
        return subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True,
                              timeout=10).returncode in (0, 1) and bool(os.environ.get("XDG_RUNTIME_DIR"))
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_systemd_install_enables_the_unit_or_explains_linger(argus_home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "ARGUS_HOME": str(argus_home)}
    out = subprocess.run([sys.executable, "-c", "import json; from argus.kernel import autostart; "
                          "from argus.kernel.paths import Paths; "
                          "print(json.dumps(autostart.install(Paths.default(), kind='systemd')))"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    result = json.loads(out.stdout)
    unit = tmp_path / "xdg" / "systemd" / "user" / "argus-daemon.service"
    assert unit.read_text() == autostart.unit_text(Paths(argus_home))
    if result["enabled"]:
        assert _systemd_user_runs()
        subprocess.run(["systemctl", "--user", "disable", "argus-daemon.service"], env=env, timeout=30)
    else:
        assert "loginctl enable-linger" in str(result["hint"])
