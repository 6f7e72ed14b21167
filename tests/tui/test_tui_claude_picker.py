"""``ctrl+r`` in the agent view against a real daemon: the task's Claude conversations in a
picker; picking one restarts the fake claude on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.tasks.claude_sessions import mangle
from argus.plugins.tui.client import ArgusClient
from argus_testkit import wait_for
from tui_harness import Harness, run_scenario

ENTER, CTRL_R = "\r", "\x12"
OLD = "33333333-aaaa-4bbb-8ccc-000000000003"


@pytest.fixture(autouse=True)
def claude_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Claude's config dir for the daemon (set before it starts)."""
    home = tmp_path / "claude-home"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home))
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")
    return home


def test_ctrl_r_picks_a_claude_session_to_resume(daemon: Any, project: dict[str, Any], claude_home: Path) -> None:
    body = {"project": project["name"], "prompt": "hello", "backend": "claude", "name": "picky"}
    task = daemon.client.post("/api/tasks", json=body).json()["task"]
    folder = claude_home / "projects" / mangle(task["worktree_path"])
    folder.mkdir(parents=True)
    (folder / f"{OLD}.jsonl").write_text(json.dumps({"type": "summary", "summary": "Old refactor chat"}) + "\n")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("picky")
        h.tui.tasklist.selected_id = task["id"]
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=30)
        h.keys(CTRL_R)
        await h.until_screen("Old refactor chat")
        h.keys("refactor")
        h.keys(ENTER)
        # the daemon resumed the picked session (the status line may already show the old agent's
        # exit, which can reach the view after the resume's answer)
        await h.until(lambda: daemon.client.get(f"/api/tasks/{task['id']}").json()["task"]
                      .get("agent_session_id") == OLD, timeout=30, what="the picked session resumed")

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=150)
    wait_for(lambda: daemon.client.get(f"/api/tasks/{task['id']}").json()["task"]["agent_session_id"] == OLD,
             what="the task on the old session")
