"""``ctrl+r`` in the agent view against a real daemon: the task's Claude conversations in a
picker; picking one restarts the fake claude on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.tasks.claude_sessions import mangle
from argus.plugins.tui.client import ArgusClient
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


def _order_exit_and_answer(h: Harness, exit_last: bool) -> tuple[asyncio.Event, asyncio.Event]:
    """Fix the order in which the agent view gets the old agent's exit and the picker gets the
    resume's answer (both come from the real daemon, on two connections): ``exit_last`` holds the
    exit until the answer is in, else the answer waits until the exit was handed to the view.
    Returns the events "the exit reached the view" and "the view then followed the new session"
    (its stream is opened again: the exit was handled)."""
    client = h.tui.client
    real_terminal, real_post = client.terminal, client.post
    answered, delivered, followed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def terminal(task_id: str, params: dict[str, Any]) -> AsyncIterator[Any]:
        if delivered.is_set():
            followed.set()
        async for ev in real_terminal(task_id, params):
            if ev.event == "exit" and not delivered.is_set():
                if exit_last:
                    await answered.wait()
                delivered.set()
            yield ev

    async def post(path: str, body: Any = None) -> Any:
        out = await real_post(path, body)
        if path.endswith("/claude-sessions/resume"):
            if not exit_last:
                await delivered.wait()
            answered.set()
        return out

    client.terminal = terminal  # type: ignore[method-assign]
    client.post = post  # type: ignore[method-assign]
    return delivered, followed


@pytest.mark.parametrize("exit_last", [True, False], ids=["exit-after-answer", "exit-before-answer"])
def test_ctrl_r_picks_a_claude_session_to_resume(daemon: Any, project: dict[str, Any], claude_home: Path,
                                                 exit_last: bool) -> None:
    body = {"project": project["name"], "prompt": "hello", "backend": "claude", "name": "picky"}
    task = daemon.client.post("/api/tasks", json=body).json()["task"]
    folder = claude_home / "projects" / mangle(task["worktree_path"])
    folder.mkdir(parents=True)
    (folder / f"{OLD}.jsonl").write_text(json.dumps({"type": "summary", "summary": "Old refactor chat"}) + "\n")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("picky")
        delivered, followed = _order_exit_and_answer(h, exit_last)
        h.tui.tasklist.selected_id = task["id"]
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=30)
        h.keys(CTRL_R)
        await h.until_screen("Old refactor chat")
        h.keys("refactor")
        h.keys(ENTER)
        await h.until(lambda: daemon.client.get(f"/api/tasks/{task['id']}").json()["task"]
                      .get("agent_session_id") == OLD, timeout=30, what="the picked session resumed")
        # The old agent (stopped with SIGHUP: code 129) exits in the view, which then follows the new
        # agent; the status line still says what the resume did, whichever came first.
        await h.until(delivered.is_set, what="the old agent's exit in the view")
        await h.until(followed.is_set, what="the view following the resumed agent")
        assert f"picky: resumed Claude session {OLD[:8]}" in h.tui.status_text
        assert "exited" not in h.tui.status_text

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=150)
