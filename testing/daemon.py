"""The daemon-starting core of ``argus.testing``: a real ``argus daemon run`` process under a temporary
ARGUS_HOME with ephemeral loopback ports, plus polling and git helpers.

Nothing here imports the kernel: the daemon runs as a child process (``python -m argus.kernel.cli``) of the
current interpreter, exactly as a user would start it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from .wait import wait_for

__all__ = ["Daemon", "free_port", "make_repo", "run_git", "stop_supervisor_in", "wait_for"]


PORT_FLOOR = 10000  # test daemons listen between this and the kernel's ephemeral range


def _ephemeral_low() -> int:
    """The first port the kernel hands out for outgoing connections (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port on 127.0.0.1 that is free now, for a daemon to listen on.

    It is taken below the kernel's ephemeral range: a port from that range can be given to some
    outgoing loopback connection (the suite makes thousands) between this check and the daemon's
    bind, which then fails with EADDRINUSE. Parallel pytest-xdist workers draw from separate slices.
    """
    low = _ephemeral_low()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    span = max(1, (low - PORT_FLOOR) // 8)
    base = PORT_FLOOR + (index % 8) * span
    draw = random.SystemRandom()
    if low - PORT_FLOOR >= 8:
        for _ in range(100):
            port = draw.randrange(base, base + span)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    with socket.socket() as s:  # no room below the ephemeral range: any free port
        s.bind(("127.0.0.1", 0))
        picked: int = s.getsockname()[1]
        return picked


def run_git(cwd: Path | str, *args: str) -> str:
    """Run git with a fixed identity; return stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Argus Test", "GIT_AUTHOR_EMAIL": "test@argus.invalid",
           "GIT_COMMITTER_NAME": "Argus Test", "GIT_COMMITTER_EMAIL": "test@argus.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, branch: str = "main") -> Path:
    """A git repository with one commit on ``branch``."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q", "-b", branch)
    (path / "README.md").write_text("# test repo\n")
    (path / ".gitignore").write_text(".env\n")
    run_git(path, "add", ".")
    run_git(path, "commit", "-q", "-m", "initial")
    return path


class Daemon:
    """A real ``argus daemon run`` process under a temporary ARGUS_HOME."""

    def __init__(self, home: Path, *, api: bool = True, env: dict[str, str] | None = None,
                 extra_path: Sequence[Path | str] = ()) -> None:
        """Prepare (not start) a daemon for ``home``; ``extra_path`` folders go first on its PATH."""
        self.home = home
        self.api_port = free_port() if api else 0
        self.mcp_port = free_port()
        path = os.pathsep.join([*(str(p) for p in extra_path), os.environ.get("PATH", "")])
        # No warm standby unless a test asks for one (``env={"ARGUS_DAEMON_STANDBY": "1"}``): a
        # kill9() must leave the daemon down.
        self.env = {**os.environ, "ARGUS_HOME": str(home), "ARGUS_MCP_PORT": str(self.mcp_port),
                    "ARGUS_TEST_PYTHON": sys.executable, "PATH": path, "ARGUS_DAEMON_STANDBY": "0",
                    **(env or {})}
        if api:
            self.env["ARGUS_API_PORT"] = str(self.api_port)
        else:
            self.env.pop("ARGUS_API_PORT", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None

    @property
    def url(self) -> str:
        """The TCP base URL of the API."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint URL."""
        return f"http://127.0.0.1:{self.mcp_port}/mcp"

    @property
    def token(self) -> str:
        """The master API token (read from ARGUS_HOME)."""
        return (self.home / "api-token").read_text().strip()

    @property
    def sock(self) -> Path:
        """The daemon's unix socket."""
        return self.home / "daemon.sock"

    def start(self, timeout: float = 30.0) -> Daemon:
        """Start the daemon and wait until it answers on the unix socket (and TCP if enabled)."""
        log = open(self.home / "daemon-test.out", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "argus.kernel.cli", "daemon", "run"],
                                     env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}: {self.log_tail()}")
            info = json.loads((self.home / "daemon.json").read_text())
            if info.get("pid") != self.proc.pid:
                return False
            with self.unix_client(timeout=2) as c:
                ok = c.get("/api/status").status_code == 200
            if ok and self.api_port:
                ok = httpx.get(f"{self.url}/api/status", headers=self.headers, timeout=2).status_code == 200
            return ok

        wait_for(up, timeout, what="daemon start")
        return self

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header with the master token."""
        return {"Authorization": f"Bearer {self.token}"}

    def unix_client(self, timeout: float = 10.0) -> httpx.Client:
        """A client on the unix socket with the master token."""
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.sock)), base_url="http://argus",
                            headers=self.headers, timeout=timeout)

    @property
    def client(self) -> httpx.Client:
        """A TCP client (unix socket when the API is off) with the master token."""
        if self._client is None:
            self._client = (httpx.Client(base_url=self.url, headers=self.headers, timeout=15)
                            if self.api_port else self.unix_client(timeout=15))
        return self._client

    def log_tail(self, n: int = 4000) -> str:
        """The end of daemon.log and the captured stdout/stderr, for failure messages."""
        out = ""
        for name in ("daemon.log", "daemon-test.out"):
            try:
                out += f"\n--- {name} ---\n" + (self.home / name).read_text(errors="replace")[-n:]
            except FileNotFoundError:
                pass
        return out

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout``)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill9(self) -> None:
        """SIGKILL the daemon (no clean shutdown)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> Daemon:
        """Stop cleanly and start again with the same home and ports."""
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        """Stop the daemon and the supervisor and kill anything left in this home."""
        self.stop()
        if (self.home / "daemon.pid").exists() or (self.home / "standby.pid").exists():
            # A warm standby that took over (not our process), or one still waiting.
            subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "stop"], env=self.env,
                           capture_output=True, timeout=60)
        stop_supervisor_in(self.home)


def stop_supervisor_in(home: Path) -> None:
    """Stop the session-supervisor of ``home`` (and its agents), tolerating its absence."""
    env = {**os.environ, "ARGUS_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "argus.kernel.cli", "session-supervisor", "stop"], env=env,
                   capture_output=True, timeout=30)
    pid_file = home / "supervisor.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            pass
