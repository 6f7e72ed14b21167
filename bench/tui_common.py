"""Shared scaffolding of the TUI benchmarks: a real daemon in a temporary ARGUS_HOME and the TUI
running headless in this process (pipe input, vt100 output into a sink that discards bytes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from argus.plugins.tui.app import ArgusTui
from argus.plugins.tui.client import ArgusClient
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 160, 48


class NullSink:
    """A terminal that counts what the TUI writes and throws it away."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: str) -> int:
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


class Daemon:
    """``argus daemon run`` under a temporary home (API on the unix socket only)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        fakeagents = ROOT / "tests" / "fakeagent"
        self.env = {**os.environ, "ARGUS_HOME": str(home), "ARGUS_TEST_PYTHON": sys.executable,
                    "PATH": f"{fakeagents}{os.pathsep}{os.environ.get('PATH', '')}",
                    "FAKEAGENT_BUSY": "0.1", "FAKEAGENT_NO_EDIT": "1"}
        self.env.pop("ARGUS_API_PORT", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        log = open(self.home / "bench-daemon.out", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "argus.kernel.cli", "daemon", "run"], env=self.env,
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited; see " + str(self.home / "bench-daemon.out"))
            try:
                if self.api().get("/api/status").status_code == 200:
                    return self
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("daemon did not start")

    def api(self) -> httpx.Client:
        token = (self.home / "api-token").read_text().strip() if (self.home / "api-token").exists() else ""
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.home / "daemon.sock")),
                            base_url="http://argus", headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        subprocess.run([sys.executable, "-m", "argus.kernel.cli", "session-supervisor", "stop"], env=self.env,
                       capture_output=True, timeout=60)


@contextlib.contextmanager
def running_daemon() -> Iterator[Daemon]:
    """A daemon with a git repository registered as project ``bench``; stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="argus-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        repo = Path(tmp) / "repo"
        repo.mkdir()
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@argus.invalid"]
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
        (repo / "README.md").write_text("bench\n")
        subprocess.run([*git, "add", "."], cwd=repo, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=repo, check=True)
        d = Daemon(home).start()
        try:
            with d.api() as api:
                r = api.post("/api/projects", json={"name": "bench", "path": str(repo)})
                r.raise_for_status()
            yield d
        finally:
            d.stop()


def run_headless(home: Path, scenario: Callable[[ArgusTui, Any], Awaitable[Any]]) -> Any:
    """Run the TUI against ``home``'s daemon and return what ``scenario(tui, pipe)`` returns."""

    async def main() -> Any:
        sink = NullSink()
        output = Vt100_Output(sink, lambda: Size(rows=ROWS, columns=COLS), term="xterm-256color")  # type: ignore[arg-type]
        with create_pipe_input() as pipe:
            tui = ArgusTui(ArgusClient.local(home), input=pipe, output=output)
            app_task = asyncio.ensure_future(tui.run())
            try:
                return await scenario(tui, pipe)
            finally:
                tui.app.exit(result=0)
                await asyncio.wait_for(app_task, 15)

    return asyncio.run(main())


async def until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Wait for ``predicate()`` to be truthy (5 ms steps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.005)
    raise TimeoutError(f"timed out waiting for {what}")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]
