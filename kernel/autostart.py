"""Auto-start at login: a systemd user unit on Linux (launchd on macOS is the reference's way).

``argus daemon install`` writes ``~/.config/systemd/user/argus-daemon.service`` running
``argus daemon run`` with this ARGUS_HOME, restarted on failure but not after a clean stop, and
enables it when ``systemctl --user`` is available. ``uninstall`` disables and removes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .paths import Paths

UNIT_NAME = "argus-daemon.service"


def unit_path() -> Path:
    """Where the user unit lives (honours XDG_CONFIG_HOME)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "systemd" / "user" / UNIT_NAME


def unit_text(paths: Paths) -> str:
    """The unit file: foreground daemon, restart on crash only, logs in ARGUS_HOME."""
    exe = f"{sys.executable} -m argus.kernel.cli"
    return (
        "[Unit]\n"
        "Description=Argus daemon (LLM coding agent orchestrator)\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        f"Environment=ARGUS_HOME={paths.home}\n"
        f"ExecStart={exe} daemon run\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "KillMode=process\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _systemctl(*args: str) -> tuple[bool, str]:
    if shutil.which("systemctl") is None:
        return False, "systemctl not found"
    proc = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def install(paths: Paths) -> dict[str, object]:
    """Write and (when possible) enable the unit; report what happened."""
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(paths))
    ok, out = _systemctl("daemon-reload")
    if ok:
        ok, out = _systemctl("enable", UNIT_NAME)
    return {"unit": str(path), "enabled": ok, "detail": out}


def uninstall() -> dict[str, object]:
    """Disable and remove the unit."""
    path = unit_path()
    _systemctl("disable", UNIT_NAME)
    existed = path.exists()
    if existed:
        path.unlink()
    _systemctl("daemon-reload")
    return {"unit": str(path), "removed": existed}


def state() -> dict[str, object]:
    """Installed / enabled state for ``argus daemon status`` and the Settings row."""
    path = unit_path()
    enabled, _ = _systemctl("is-enabled", UNIT_NAME) if path.exists() else (False, "")
    return {"unit": str(path), "installed": path.exists(), "enabled": enabled}
