"""``argus.testing`` as a third-party plugin author sees it: only the public fixtures and helpers
(registered through the ``pytest11`` entry point, no import from this suite's conftest or testkit).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
from pathlib import Path

import httpx
import pytest
import trio
import trio.lowlevel
from argus.testing import Daemon, make_repo, wait_for, wait_for_async


def test_fake_agent_is_the_shipped_demo_cli(argus_fake_agent: Path) -> None:
    assert argus_fake_agent.name == "argus-demo" and os.access(argus_fake_agent, os.X_OK)
    out = subprocess.run([str(argus_fake_agent), "--help"], capture_output=True, text=True, timeout=30)
    assert "usage: demo_agent" in out.stdout + out.stderr


def test_daemon_runs_a_demo_task_and_streams_its_output(argus_daemon: Daemon, tmp_path: Path) -> None:
    d = argus_daemon
    assert d.url.startswith("http://127.0.0.1:") and d.token and (d.home / "daemon.json").exists()
    assert httpx.get(f"{d.url}/api/status", timeout=10).status_code == 401  # the token is required

    repo = make_repo(tmp_path / "repo")
    resp = d.client.post("/api/projects", json={"name": "plug-proj", "path": str(repo)})
    assert resp.status_code in (200, 201), resp.text
    resp = d.client.post("/api/tasks", json={"name": "hello", "prompt": "Say hello from the plugin",
                                              "project": "plug-proj", "backend": "demo"})
    assert resp.status_code == 201, resp.text
    task_id = resp.json()["task"]["id"]

    def output() -> str:
        return d.client.get(f"/api/tasks/{task_id}/output", params={"clean": "1"}).text

    text = wait_for(lambda: "Say hello from the plugin" in output() and output(), 60, what="the demo agent's output")
    assert "Argus demo agent" in text


def test_wait_for_returns_the_first_truthy_value_and_keeps_polling_through_errors() -> None:
    tries = itertools.count()

    def flaky() -> int:
        n = next(tries)
        if n < 2:
            raise ConnectionError("not up yet")
        return n if n >= 4 else 0

    assert wait_for(flaky, 5, interval=0.001) == 4


def test_wait_for_names_what_it_waited_for_the_last_error_and_the_detail() -> None:
    with pytest.raises(AssertionError, match=r"timed out waiting for the thing \(last value: \[\]\)\nscreen: x"):
        wait_for(lambda: [], 0.05, interval=0.01, what="the thing", detail=lambda: "screen: x")

    def boom() -> bool:
        raise ValueError("bad")

    with pytest.raises(AssertionError, match=r"last error: ValueError\('bad'\)"):
        wait_for(boom, 0.05, interval=0.01)

    async def coro() -> bool:
        return True

    with pytest.raises(TypeError, match="wait_for_async"):
        wait_for(coro)


async def test_wait_for_async_takes_sync_and_async_predicates_under_trio() -> None:
    seen: list[int] = []

    async def later() -> int:
        await trio.lowlevel.checkpoint()
        seen.append(1)
        return len(seen) if len(seen) >= 3 else 0

    assert await wait_for_async(later, 5, interval=0.001) == 3
    assert await wait_for_async(lambda: "ok", 5) == "ok"
    with pytest.raises(AssertionError, match="timed out waiting for never"):
        await wait_for_async(lambda: None, 0.05, interval=0.01, what="never")


def test_wait_for_async_sleeps_with_asyncio_too() -> None:
    ticks = itertools.count()
    assert asyncio.run(wait_for_async(lambda: next(ticks) == 3, 5, interval=0.001)) is True
