"""Process control of the supervisor: start it detached, stop it, ask its status; its ``main``.

The CLI (``argus session-supervisor start|stop|status``) and the daemon use these; they talk to the
supervisor only through its socket and lock file.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal as signal_mod
import subprocess
import sys
import time
from typing import Any

import trio

from .. import errors, pidlock
from ..paths import Paths, private_file, secure_home
from . import protocol as proto
from .lock import lock_is_held, pid_file_owner
from .server import serve

log = logging.getLogger("argus.supervisor")


def _probe(paths: Paths, timeout: float = 2.0) -> dict[str, Any] | None:
    """The supervisor's hello reply, or ``None`` if nothing answers on the socket."""
    try:
        client = proto.SyncClient(paths.supervisor_sock, timeout)
    except (OSError, errors.ArgusError):
        return None
    try:
        return client.hello
    finally:
        client.close()


def start_supervisor(paths: Paths, wait: float = 10.0) -> int:
    """Start a detached supervisor for ``paths`` and return its pid once it answers hello.

    A no-op returning the running supervisor's pid if one already answers. Raises Unavailable if
    none answers within ``wait`` seconds (see ``supervisor.log``).
    """
    hello = _probe(paths)
    if hello is not None:
        return int(hello["pid"])
    secure_home(paths.home)
    env = {**os.environ, "ARGUS_HOME": str(paths.home)}
    with open(private_file(paths.supervisor_log), "ab") as logf:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "argus.kernel.supervisor", "--home", str(paths.home), "--detach"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True,
            close_fds=True, cwd="/", env=env)
    deadline = time.monotonic() + wait
    try:
        launcher.wait(timeout=wait)  # it forks the supervisor and exits at once
    except subprocess.TimeoutExpired:
        pass
    while time.monotonic() < deadline:
        hello = _probe(paths, timeout=1.0)
        if hello is not None:
            return int(hello["pid"])
        time.sleep(0.05)
    raise errors.Unavailable(
        f"the session-supervisor did not answer within {wait:g}s; see {paths.supervisor_log}")


def stop_supervisor(paths: Paths, timeout: float = 20.0) -> bool:
    """Ask the supervisor to shut down (it kills its sessions) and wait until it is gone.

    Returns False if none was running. One that has not exited after ``timeout`` seconds is
    SIGKILLed (its agents then get SIGHUP from their closed PTYs).
    """
    try:
        client = proto.SyncClient(paths.supervisor_sock, 2.0)
    except (OSError, errors.ArgusError):
        return False
    try:
        client.request("shutdown")
        client.sock.settimeout(timeout)
        try:
            while client.receive() is not None:
                pass
        except OSError:
            pass
    except (OSError, errors.ArgusError):
        pass
    finally:
        client.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and lock_is_held(paths.supervisor_lock):
        time.sleep(0.05)
    if lock_is_held(paths.supervisor_lock):
        pid = pid_file_owner(paths.supervisor_lock)
        if pid and not pidlock.holds_lock(pid, paths.supervisor_lock, "argus", "supervisor"):
            log.warning("the supervisor did not stop within %gs, but pid %s does not hold %s: "
                        "not signalling it", timeout, pid, paths.supervisor_lock)
            return True
        log.warning("the supervisor (pid %s) did not stop within %gs; killing it", pid, timeout)
        if pid:
            try:
                os.kill(pid, signal_mod.SIGKILL)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 5.0
            while time.monotonic() < end and lock_is_held(paths.supervisor_lock):
                time.sleep(0.05)
    return True


def supervisor_status(paths: Paths) -> dict[str, Any]:
    """``{running, pid, socket, protocol, sessions}``; ``sessions`` is the list of session infos."""
    status: dict[str, Any] = {"running": False, "pid": None, "socket": str(paths.supervisor_sock),
                              "protocol": proto.PROTOCOL_VERSION, "sessions": []}
    try:
        client = proto.SyncClient(paths.supervisor_sock, 2.0)
    except (OSError, errors.ArgusError):
        return status
    try:
        versions = client.hello.get("versions")  # a version-1 supervisor does not list them
        protocol = max(versions) if isinstance(versions, list) and versions else client.hello.get("version")
        status.update(running=True, pid=client.hello.get("pid"), protocol=protocol,
                      sessions=client.request("list")["sessions"])
    except (OSError, errors.ArgusError):
        pass
    finally:
        client.close()
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m argus.kernel.supervisor [--home DIR] [--detach]``."""
    parser = argparse.ArgumentParser(prog="argus session-supervisor")
    parser.add_argument("--home", help="ARGUS_HOME (default: $ARGUS_HOME or ~/.argus)")
    parser.add_argument("--detach", action="store_true", help="fork into the background first")
    args = parser.parse_args(argv)
    if args.home:
        os.environ["ARGUS_HOME"] = args.home
    paths = Paths.default()
    if args.detach:
        if os.fork():
            os._exit(0)
        try:
            os.setsid()  # no controlling terminal, even when started by hand from a shell
        except OSError:
            pass
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal_mod.signal(signal_mod.SIGHUP, signal_mod.SIG_IGN)
    gc.freeze()  # the modules live as long as the process: keep them out of every collection
    try:
        trio.run(serve, paths)
    except errors.Conflict as exc:
        log.error("%s", exc.message)
        return 3
    return 0

