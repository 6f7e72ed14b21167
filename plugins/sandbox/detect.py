"""Whether this host can sandbox agents, with which backend, and if not, why.

Linux needs ``bwrap`` on PATH (or at the configured path) *and* the right to create user and mount
namespaces, which ``bwrap --ro-bind / / true`` proves. macOS needs ``/usr/bin/sandbox-exec``. The
answer is cached per executable (path, mtime) by each kernel's ``Detector``, so the probe runs once
per daemon life unless bubblewrap is installed, removed or the setting changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

PROBE_TIMEOUT = 5.0
SANDBOX_EXEC = "/usr/bin/sandbox-exec"


@dataclass(frozen=True)
class Availability:
    """The answer of one probe."""

    available: bool
    backend: str | None          # "bubblewrap" | "sandbox-exec" | None
    version: str = ""
    executable: str = ""
    reason: str = ""             # why it is unavailable (empty when available)
    env: str = ""                # GNU env with --ignore-signal/--default-signal (Linux signal shim)

    def to_json(self) -> dict[str, Any]:
        """As ``GET /api/settings`` reports it under ``sandbox``."""
        label = f"{self.backend} {self.version}".strip() if self.backend else None
        return {"available": self.available, "backend": label, "executable": self.executable or None,
                "reason": self.reason or None}


def platform() -> str:
    """``linux``, ``darwin`` or another ``sys.platform`` value."""
    return "linux" if sys.platform.startswith("linux") else sys.platform


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)


def _probe_bwrap(exe: str) -> Availability:
    try:
        version = _run([exe, "--version"]).stdout.strip().removeprefix("bubblewrap").strip()
        probe = _run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Availability(False, "bubblewrap", executable=exe, reason=f"bwrap ({exe}) cannot run: {exc}")
    if probe.returncode != 0:
        detail = (probe.stderr or probe.stdout).strip().splitlines()
        return Availability(False, "bubblewrap", version, exe, reason=(
            f"bwrap ({exe}) cannot create a sandbox on this host: {detail[-1] if detail else probe.returncode}; "
            "unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1, "
            "user.max_user_namespaces > 0) or the container forbids them"))
    return Availability(True, "bubblewrap", version, exe, env=_signal_env())


def _signal_env() -> str:
    """GNU ``env`` if it can ignore/reset signals (coreutils 8.31+), else ""."""
    env = shutil.which("env")
    if env is None:
        return ""
    try:
        ok = _run([env, "--ignore-signal=INT", "--default-signal=INT", "true"]).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return os.path.realpath(env) if ok else ""


def detect(bwrap: str = "bwrap") -> Availability:
    """Probe the sandbox backend of this host (no cache). ``bwrap`` is the configured executable."""
    return Detector().detect(bwrap)


class Detector:
    """Probes remembered per executable (path, mtime): one per kernel (``Sandbox.detector``), so the
    probe runs once per daemon life unless bubblewrap changes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, float], Availability] = {}

    def detect(self, bwrap: str = "bwrap") -> Availability:
        """Probe (or recall) the sandbox backend of this host. ``bwrap`` is the configured executable."""
        plat = platform()
        if plat == "darwin":
            if os.access(SANDBOX_EXEC, os.X_OK):
                return Availability(True, "sandbox-exec", executable=SANDBOX_EXEC)
            return Availability(False, "sandbox-exec", reason=f"{SANDBOX_EXEC} is missing")
        if plat != "linux":
            return Availability(False, None, reason=f"no sandbox backend for platform {plat!r}")
        exe = shutil.which(bwrap or "bwrap")
        if exe is None:
            return Availability(False, "bubblewrap", reason=(
                f"bubblewrap is not installed ({bwrap!r} not found on PATH): install the 'bubblewrap' "
                "package, or disable the sandbox"))
        exe = os.path.realpath(exe)
        try:
            mtime = os.stat(exe).st_mtime
        except OSError:
            mtime = 0.0
        key = (plat, exe, mtime)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _probe_bwrap(exe)
        return found

    def forget(self) -> None:
        """Drop cached probes (an admin who just fixed the host)."""
        self._cache.clear()
