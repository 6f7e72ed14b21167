"""Is this pid really ours? Identity checks before anything is signalled.

A pid file outlives its process, and the kernel reuses pids: ``daemon.pid`` may name an unrelated
program after a crash. The daemon and the supervisor each hold an ``flock`` on their lock file
while they run, so the pid worth signalling is the one the kernel lists as holding that lock
(``/proc/locks``). Where ``/proc/locks`` cannot be read, the lock must be held and the process's
command line must be an Argus one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited: a zombie (exited, not yet reaped) counts
    as gone; a process of another user that we may not signal counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def lock_is_held(path: Path) -> bool:
    """True while some process holds an flock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def lock_holders(path: Path) -> set[int] | None:
    """The pids holding an flock on ``path`` per ``/proc/locks``; None when that file is unreadable."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return set()
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    holders: set[int] = set()
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted:
            try:
                holders.add(int(fields[4]))
            except ValueError:
                continue
    return holders


def cmdline(pid: int) -> list[str]:
    """The argv of ``pid`` ([] when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def holds_lock(pid: int, lock: Path, *markers: str) -> bool:
    """Whether ``pid`` is the process holding ``lock`` (fallback: the lock is held and the pid's
    command line contains every one of ``markers``)."""
    if pid <= 0:
        return False
    holders = lock_holders(lock)
    if holders is not None:
        return pid in holders
    argv = " ".join(cmdline(pid))
    return lock_is_held(lock) and bool(argv) and all(m in argv for m in markers)


def read_pid_file(path: Path) -> int | None:
    """The pid written in a pid (or lock) file, if any."""
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None
