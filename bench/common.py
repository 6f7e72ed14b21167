"""Shared plumbing for the benchmarks: a throwaway daemon, SSE reading, a raw PTY, statistics.

Each benchmark starts its own ``argus daemon run`` in a temporary ARGUS_HOME with the API and MCP
on ephemeral 127.0.0.1 ports, the fake agents of ``tests/fakeagent`` first on PATH, and one git
repository registered as project ``bench``. Everything (daemon, session-supervisor, agents, temp
files) is stopped and removed on exit, also on failure or Ctrl-C.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import ptyprocess
import trio
from argus.kernel.eventstream import SseParser

ROOT = Path(__file__).resolve().parent.parent
FAKEAGENT_DIR = ROOT / "tests" / "fakeagent"
PROJECT = "bench"


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity; return stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@argus.invalid",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@argus.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path) -> Path:
    """A git repository with one commit on main."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# bench repo\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    return path


def agent_env(**extra: str) -> dict[str, str]:
    """The environment for agents the benchmarks spawn themselves (fake CLIs first on PATH)."""
    return {**os.environ, "PATH": f"{FAKEAGENT_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
            "ARGUS_TEST_PYTHON": sys.executable, "TERM": "xterm-256color", **extra}


class BenchDaemon:
    """``with BenchDaemon(env) as d:`` a running daemon with project ``bench`` registered."""

    def __init__(self, env: dict[str, str] | None = None, profile: Path | None = None) -> None:
        """``profile``: run the daemon under cProfile, writing its stats there when it stops."""
        self.profile = profile
        self.tmp = Path(tempfile.mkdtemp(prefix="argus-bench-"))
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.repo = make_repo(self.tmp / "repo")
        self.api_port = free_port()
        self.mcp_port = free_port()
        self.env = {**agent_env(), "ARGUS_HOME": str(self.home), "ARGUS_API_PORT": str(self.api_port),
                    "ARGUS_MCP_PORT": str(self.mcp_port), "ARGUS_DAEMON_STANDBY": "0", **(env or {})}
        self.env.pop("ARGUS_TOKEN", None)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {(self.home / 'api-token').read_text().strip()}"}

    def __enter__(self) -> BenchDaemon:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def start(self, timeout: float = 60.0) -> None:
        """Start the daemon, wait for its API, register the repository as project ``bench``."""
        log = open(self.home / "daemon.out", "ab")
        prof = ["-m", "cProfile", "-o", str(self.profile)] if self.profile is not None else []
        if self.profile is not None:  # the supervisor too, started first so the daemon finds it
            self.start_supervisor_profiled(self.profile.with_suffix(".supervisor.prof"))
        self.proc = subprocess.Popen([sys.executable, *prof, "-m", "argus.kernel.cli", "daemon", "run"], env=self.env,
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {(self.home / 'daemon.out').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/status", headers=self.headers, timeout=2).status_code == 200:
                    break
            except (httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon did not start")
            time.sleep(0.1)
        resp = httpx.post(f"{self.url}/api/projects", headers=self.headers, timeout=30,
                          json={"name": PROJECT, "path": str(self.repo)})
        resp.raise_for_status()

    def start_supervisor_profiled(self, path: Path, timeout: float = 30.0) -> None:
        """Run the session-supervisor in the foreground under cProfile (its stats are written
        when ``cleanup`` stops it)."""
        log = open(self.home / "supervisor.out", "ab")
        subprocess.Popen([sys.executable, "-m", "cProfile", "-o", str(path), "-m", "argus.kernel.supervisor",
                          "--home", str(self.home)], env=self.env, stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not (self.home / "supervisor.sock").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the profiled supervisor did not start")
            time.sleep(0.05)

    def client(self, **kw: Any) -> httpx.AsyncClient:
        """An async client with the master token (no timeout on reads: SSE)."""
        return httpx.AsyncClient(base_url=self.url, headers=self.headers,
                                 timeout=httpx.Timeout(30.0, read=None), **kw)

    def sync_client(self) -> httpx.Client:
        """A blocking client with the master token."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=60)

    def cleanup(self) -> None:
        """Stop the daemon, the supervisor and every agent; remove the temporary tree."""
        pids: list[int] = []
        try:
            out = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "session-supervisor", "status"],
                                 env=self.env, capture_output=True, text=True, timeout=30)
            pids = [s["pid"] for s in json.loads(out.stdout or "{}").get("sessions", [])]
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # A daemon this object did not start (a warm standby that took over), and its standby.
        subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "stop"], env=self.env,
                       capture_output=True, timeout=60)
        subprocess.run([sys.executable, "-m", "argus.kernel.cli", "session-supervisor", "stop"], env=self.env,
                       capture_output=True, timeout=60)
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.kill(int((self.home / "supervisor.pid").read_text().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# SSE


@dataclass
class Message:
    """One SSE message and when its last line arrived (``time.perf_counter()``)."""

    event: str
    id: str | None
    data: Any
    at: float

    def output(self) -> bytes:
        """The bytes of a task stream ``output`` message."""
        return base64.b64decode(self.data["data"]) if self.event == "output" else b""


async def sse(client: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[Message]:
    """Yield the messages of an SSE stream as they arrive."""
    async with client.stream("GET", path, params=params) as resp:
        resp.raise_for_status()
        parser = SseParser()
        async for line in resp.aiter_lines():
            ev = parser.line(line)
            if ev is None:
                continue
            payload = ev.json()
            yield Message(ev.event, ev.id, ev.data if payload is None else payload, time.perf_counter())


async def create_task(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """POST /api/tasks in project ``bench``; the task."""
    resp = await client.post("/api/tasks", json={"project": PROJECT, **body})
    if resp.status_code != 201:
        raise RuntimeError(f"create failed: {resp.status_code} {resp.text}")
    return resp.json()["task"]


async def wait_idle(client: httpx.AsyncClient, task_id: str, timeout: float = 60.0) -> None:
    """Poll until the task is flagged idle."""
    with trio.fail_after(timeout):
        while not (await client.get(f"/api/tasks/{task_id}")).json()["task"]["idle"]:
            await trio.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# a raw PTY (the baselines)


class RawPty:
    """A process on a PTY this benchmark owns directly: no supervisor, no daemon, no HTTP."""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str], cols: int = 120, rows: int = 40) -> None:
        exe = shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            raise RuntimeError(f"{argv[0]} not found")
        self.proc = ptyprocess.PtyProcess.spawn([exe, *argv[1:]], cwd=cwd, env=env, dimensions=(rows, cols))
        os.set_blocking(self.proc.fd, False)
        self.buffer = b""

    async def read(self) -> bytes:
        """Wait for output and return what is available (b"" at EOF)."""
        while True:
            try:
                data = os.read(self.proc.fd, 65536)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.proc.fd)
                continue
            except OSError:
                return b""
            self.buffer += data
            return data

    async def read_until(self, needle: bytes, timeout: float = 30.0) -> None:
        """Read until ``needle`` appears in everything read so far."""
        with trio.fail_after(timeout):
            while needle not in self.buffer:
                if not await self.read():
                    raise EOFError("the process closed its terminal")

    def write(self, data: bytes) -> None:
        """Write input to the PTY."""
        os.write(self.proc.fd, data)

    def close(self) -> None:
        """Kill the process and close the PTY."""
        try:
            self.proc.terminate(force=True)
        except Exception:  # noqa: BLE001 - best effort teardown
            pass
        try:
            self.proc.close(force=True)
        except Exception:  # noqa: BLE001 - best effort teardown
            pass


# ---------------------------------------------------------------------------------------------
# statistics and output


def percentile(samples: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation."""
    data = sorted(samples)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(samples: list[float]) -> dict[str, float]:
    """n, median, p95, p99, mean, min, max of ``samples`` (seconds)."""
    return {"n": len(samples), "median": statistics.median(samples), "p95": percentile(samples, 0.95),
            "p99": percentile(samples, 0.99), "mean": statistics.fmean(samples), "min": min(samples),
            "max": max(samples)}


def ms(seconds: float) -> str:
    """Seconds as a millisecond string."""
    return f"{seconds * 1000:8.1f} ms"


def print_table(title: str, rows: dict[str, list[float]], cols: tuple[str, ...] = ("median", "p95", "p99")) -> None:
    """Print one line of statistics per named sample set."""
    print(f"\n{title}")
    width = max(len(k) for k in rows)
    print(f"  {'':{width}}  {'n':>4}  " + "  ".join(f"{c:>11}" for c in cols))
    for name, samples in rows.items():
        s = summary(samples)
        print(f"  {name:{width}}  {s['n']:>4}  " + "  ".join(ms(s[c]) for c in cols))


def ratio(a: float, b: float) -> str:
    """``a / b`` formatted, guarding against a zero baseline."""
    return f"{a / b:.3g}x" if b > 0 else "n/a"
