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
from typing import TYPE_CHECKING, Any

from . import pidlock
from .local import LocalDaemon
from .paths import Paths, atomic_write, private_file
from .tokens import ensure_master_token

if TYPE_CHECKING:  # pragma: no cover
    import httpx


def runtime_info(paths: Paths) -> dict[str, Any]:
    """The running daemon's ``daemon.json`` ({} when absent)."""
    try:
        info = json.loads((paths.home / "daemon.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def local_client(paths: Paths, timeout: float = 5.0) -> httpx.Client:
    """An HTTP client on the daemon's unix socket, authenticated with the master token."""
    ensure_master_token(paths.token)
    return LocalDaemon(paths.home).client(timeout)


def ping(paths: Paths) -> dict[str, Any] | None:
    """``GET /api/status`` over the unix socket, or None if nothing answers."""
    return LocalDaemon(paths.home).status()


def daemon_lock(paths: Paths) -> Path:
    """The single-instance lock file ``argus daemon run`` holds while it runs."""
    return paths.home / "daemon.lock"


def read_pid(paths: Paths) -> int | None:
    """The pid in daemon.pid if that process is the running daemon (it holds ``daemon.lock``).

    A stale pid file naming an unrelated process (the pid was reused) gives None: nothing may
    signal it.
    """
    pid = pidlock.read_pid_file(paths.daemon_pid)
    if pid is None or not pidlock.pid_alive(pid):
        return None
    return pid if pidlock.holds_lock(pid, daemon_lock(paths), "argus", "daemon") else None


def acquire_daemon_lock(paths: Paths) -> int:
    """Take the single-instance lock for ``argus daemon run``; exit with a message if held."""
    fd = os.open(daemon_lock(paths), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        owner = read_pid(paths)
        raise SystemExit(f"another argus daemon is already running for {paths.home}"
                         + (f" (pid {owner})" if owner else "")) from None
    atomic_write(paths.daemon_pid, f"{os.getpid()}\n".encode(), 0o600)
    return fd


def start(paths: Paths, wait: float = 60.0) -> int:
    """Start a detached daemon (no-op if one answers); return the running daemon's pid.

    Concurrent starts race for ``daemon.lock``: one wins, and every caller reports the winner's pid.
    """
    if ping(paths) is not None and read_pid(paths):
        return read_pid(paths) or 0
    log = open(private_file(paths.daemon_log), "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "argus.kernel.cli", "daemon", "run"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        env={**os.environ, "ARGUS_HOME": str(paths.home)}, close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        winner = read_pid(paths)
        if ping(paths) is not None and winner:
            return winner  # ours, or another start's that took the lock first
        if proc.poll() is not None and not (winner or pidlock.lock_is_held(daemon_lock(paths))):
            reason = _refusal(paths)
            raise SystemExit((f"argus daemon did not start: {reason}" if reason else
                              f"argus daemon exited during start-up (code {proc.returncode})")
                             + f"; see {paths.daemon_log}")
        time.sleep(0.05)
    raise SystemExit(f"argus daemon did not answer within {wait:.0f}s; see {paths.daemon_log}")


def _refusal(paths: Paths) -> str | None:
    """The last ``argus: <reason>`` line ``daemon run`` wrote to daemon.log, if any."""
    try:
        with open(paths.daemon_log, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 8192))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    return next((line[7:] for line in reversed(lines) if line.startswith("argus: ")), None)


def stop(paths: Paths, wait: float = 15.0) -> bool:
    """SIGTERM the daemon and wait for it to exit (SIGKILL after ``wait``). True if it ran.

    The daemon terminates its warm standby itself; when it has to be killed, the standby is
    terminated first (it would take over otherwise).
    """
    from .standby import kill_leftover

    pid = read_pid(paths)  # verified: the process holding daemon.lock, never a reused pid
    if pid is None:
        kill_leftover(paths)  # a standby whose daemon is gone without it taking over
        return False
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if read_pid(paths) != pid or not pidlock.pid_alive(pid):
            return True
        time.sleep(0.05)
    if read_pid(paths) == pid:
        kill_leftover(paths)
        _signal(pid, signal.SIGKILL)
    return True


def restart(paths: Paths, wait: float = 60.0) -> int:
    """Restart the daemon; the new daemon's pid. With a warm standby ready, the daemon is asked
    to hand over (it stops; the standby, already loaded, takes over); otherwise, or when no new
    daemon holds the lock a few seconds after the old one is gone, a stop and a cold start."""
    from .standby import HANDOVER_SIGNAL, ready_pid

    old = read_pid(paths)
    if old is not None and ready_pid(paths) is not None:
        _signal(old, HANDOVER_SIGNAL)
        deadline = time.monotonic() + wait
        gone_at: float | None = None
        while time.monotonic() < deadline:
            new = read_pid(paths)
            if new is not None and new != old and ping(paths) is not None:
                return new
            if new is None and not pidlock.pid_alive(old):
                gone_at = gone_at or time.monotonic()
                if time.monotonic() - gone_at > 5.0 and not pidlock.lock_is_held(daemon_lock(paths)):
                    break  # nobody took over (the standby died meanwhile): start one
            time.sleep(0.02)
    stop(paths)
    return start(paths, wait)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def status(paths: Paths) -> dict[str, Any]:
    """A summary for ``argus daemon status``."""
    from .standby import ready_pid

    info = runtime_info(paths)
    answer = ping(paths)
    return {"running": answer is not None, "pid": read_pid(paths), "home": str(paths.home),
            "socket": str(paths.daemon_sock), "api_port": info.get("api_port"),
            "mcp_port": info.get("mcp_port"), "standby_pid": ready_pid(paths), "status": answer}
