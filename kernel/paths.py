"""Where Argus keeps its state: everything lives under ``ARGUS_HOME`` (default ``~/.argus``).

The home is private: 0700 (a looser existing one is tightened, with a log line), and the files
that hold data, secrets or logs (``data.sql``, ``api-token``, logs, session logs, generated agent
configs) are 0600. Worktrees below it keep the user's umask; the closed home guards them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path


def argus_home(*, create: bool = True) -> Path:
    """Return ``$ARGUS_HOME`` or ``~/.argus``, created with mode 0700 if missing (unless not ``create``)."""
    home = Path(os.environ.get("ARGUS_HOME") or Path.home() / ".argus").expanduser()
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def secure_home(home: Path) -> bool:
    """Make ``home`` 0700 (creating it); True when an existing looser mode had to be tightened."""
    home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    mode = home.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(home, PRIVATE_DIR)
        log.warning("ARGUS_HOME %s was mode %03o; tightened to 0700 (it holds tokens and agent output)",
                    home, mode)
        return True
    return False


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing; tighten an existing looser one. Returns it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


@dataclass(frozen=True)
class Paths:
    """Every well-known file under one ARGUS_HOME."""

    home: Path

    @classmethod
    def default(cls, *, create: bool = True) -> Paths:
        """Paths for the current environment's ARGUS_HOME (``create=False``: only read, make nothing)."""
        return cls(argus_home(create=create))

    @property
    def db(self) -> Path:
        return self.home / "data.sql"

    @property
    def token(self) -> Path:
        return self.home / "api-token"

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    @property
    def daemon_log(self) -> Path:
        return self.home / "daemon.log"

    @property
    def ux_log(self) -> Path:
        return self.home / "ux.log"

    @property
    def daemon_sock(self) -> Path:
        return self.home / "daemon.sock"

    @property
    def daemon_pid(self) -> Path:
        return self.home / "daemon.pid"

    @property
    def supervisor_sock(self) -> Path:
        return self.home / "supervisor.sock"

    @property
    def supervisor_lock(self) -> Path:
        return self.home / "supervisor.lock"

    @property
    def supervisor_log(self) -> Path:
        return self.home / "supervisor.log"

    @property
    def sessions(self) -> Path:
        return self.home / "sessions"

    @property
    def worktrees(self) -> Path:
        return self.home / "worktrees"

    @property
    def run(self) -> Path:
        """Scratch files generated per launch (MCP configs, hook scripts)."""
        return self.home / "run"


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename) with ``mode`` permissions."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
