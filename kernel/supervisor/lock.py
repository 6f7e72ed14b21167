"""The supervisor's single-instance lock: an flock on ``supervisor.lock`` plus ``supervisor.pid``."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from .. import errors, pidlock
from ..paths import atomic_write

log = logging.getLogger("argus.supervisor")


class SupervisorLock:
    """The single-instance flock on ``supervisor.lock`` (the file holds the owner's pid)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise Conflict naming the pid that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise errors.Conflict(
                f"another supervisor (pid {pid_file_owner(self.path)}) holds {self.path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        try:  # a plain pid file too, for tools that look for one
            atomic_write(self.pid_path, f"{os.getpid()}\n".encode())
        except OSError as exc:
            log.warning("cannot write %s: %s", self.pid_path, exc)

    @property
    def pid_path(self) -> Path:
        """``supervisor.pid`` next to the lock file."""
        return self.path.with_name("supervisor.pid")

    def release(self) -> None:
        """Drop the lock (and the pid file)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            if pid_file_owner(self.pid_path) == os.getpid():
                self.pid_path.unlink(missing_ok=True)
            os.close(fd)


def pid_file_owner(path: Path) -> int | None:
    """The pid written in a pid (or lock) file, if any."""
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def lock_is_held(path: Path) -> bool:
    """True while some process holds the supervisor lock."""
    return pidlock.lock_is_held(path)
