"""``argus.testing`` as a third-party plugin author sees it: only the public fixtures and helpers
(registered through the ``pytest11`` entry point, no import from this suite's conftest or testkit).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
from argus.testing import Daemon, make_repo, wait_for


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
