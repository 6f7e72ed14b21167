"""Where Argus keeps its state: everything lives under ``ARGUS_HOME`` (default ``~/.argus``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def argus_home(*, create: bool = True) -> Path:
    """Return ``$ARGUS_HOME`` or ``~/.argus``, created with mode 0700 if missing (unless not ``create``)."""
    home = Path(os.environ.get("ARGUS_HOME") or Path.home() / ".argus").expanduser()
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


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
