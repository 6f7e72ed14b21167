"""``argus daemon install|uninstall`` writes and removes a systemd user unit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argus.kernel.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_install_writes_a_user_unit_for_this_home_and_uninstall_removes_it(argus_home: Path,
                                                                          tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "ARGUS_HOME": str(argus_home)}
    out = run_cli("daemon", "install", env=env)
    assert out.returncode == 0, out.stderr
    unit = tmp_path / "xdg" / "systemd" / "user" / "argus-daemon.service"
    text = unit.read_text()
    assert f"Environment=ARGUS_HOME={argus_home}" in text
    assert "daemon run" in text and "Restart=on-failure" in text
    out = run_cli("daemon", "uninstall", env=env)
    assert out.returncode == 0, out.stderr
    assert not unit.exists()


def test_help_and_plugins_create_no_argus_home(tmp_path: Path) -> None:
    home = tmp_path / "never-made"
    env = {**os.environ, "ARGUS_HOME": str(home)}
    assert run_cli("--help", env=env).returncode == 0
    assert run_cli("plugins", env=env).returncode == 0
    assert not home.exists()


def test_under_systemd_only_as_the_services_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A self-update exits for the unit to restart it only when this process is the unit's main
    process: inherited ``INVOCATION_ID``/``SYSTEMD_EXEC_PID`` of another process do not count."""
    from argus.kernel import autostart

    monkeypatch.delenv("INVOCATION_ID", raising=False)
    monkeypatch.delenv("SYSTEMD_EXEC_PID", raising=False)
    assert autostart.under_systemd() is False
    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef")
    assert autostart.under_systemd() is (sys.platform != "darwin")  # systemd before v248: no exec pid
    monkeypatch.setenv("SYSTEMD_EXEC_PID", str(os.getpid()))
    assert autostart.under_systemd() is (sys.platform != "darwin")
    monkeypatch.setenv("SYSTEMD_EXEC_PID", str(os.getppid()))
    assert autostart.under_systemd() is False
    unit = autostart.unit_text(autostart.Paths(Path("/home/u/.argus")))
    assert f"RestartForceExitStatus={autostart.RESTART_STATUS}" in unit
    assert f"SuccessExitStatus={autostart.RESTART_STATUS}" in unit
