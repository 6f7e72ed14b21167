"""Starting, stopping and inspecting the daemon process (``argus daemon ...``)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .local import LocalDaemon
from .paths import Paths
from .tokens import ensure_master_token


def runtime_info(paths: Paths) -> dict[str, Any]:
    """The running daemon's ``daemon.json`` ({} when absent)."""
    try:
        return json.loads((paths.home / "daemon.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def local_client(paths: Paths, timeout: float = 5.0) -> httpx.Client:
    """An HTTP client on the daemon's unix socket, authenticated with the master token."""
    ensure_master_token(paths.token)
    return LocalDaemon(paths.home).client(timeout)


def ping(paths: Paths) -> dict[str, Any] | None:
    """``GET /api/status`` over the unix socket, or None if nothing answers."""
    return LocalDaemon(paths.home).status()


def read_pid(paths: Paths) -> int | None:
    """The pid in daemon.pid if that process is alive."""
    try:
        pid = int(paths.daemon_pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def acquire_daemon_lock(paths: Paths) -> int:
    """Take the single-instance lock for ``argus daemon run``; exit with a message if held."""
    fd = os.open(paths.home / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SystemExit(f"another argus daemon is already running for {paths.home}") from None
    paths.daemon_pid.write_text(f"{os.getpid()}\n")
    return fd


def start(paths: Paths, wait: float = 20.0) -> int:
    """Start a detached daemon (no-op if one answers); return its pid."""
    if ping(paths) is not None and read_pid(paths):
        return read_pid(paths) or 0
    log = open(paths.daemon_log, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "argus.kernel.cli", "daemon", "run"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        env={**os.environ, "ARGUS_HOME": str(paths.home)}, close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"argus daemon exited during start-up (code {proc.returncode}); "
                             f"see {paths.daemon_log}")
        if ping(paths) is not None:
            return proc.pid
        time.sleep(0.05)
    raise SystemExit(f"argus daemon did not answer within {wait:.0f}s; see {paths.daemon_log}")


def stop(paths: Paths, wait: float = 15.0) -> bool:
    """SIGTERM the daemon and wait for it to exit (SIGKILL after ``wait``). True if it ran."""
    pid = read_pid(paths)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if read_pid(paths) is None or not _alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        return state != "Z"
    except (FileNotFoundError, IndexError):
        return False


def status(paths: Paths) -> dict[str, Any]:
    """A summary for ``argus daemon status``."""
    info = runtime_info(paths)
    answer = ping(paths)
    return {"running": answer is not None, "pid": read_pid(paths), "home": str(paths.home),
            "socket": str(paths.daemon_sock), "api_port": info.get("api_port"),
            "mcp_port": info.get("mcp_port"), "status": answer}
