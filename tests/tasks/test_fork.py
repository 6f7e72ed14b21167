"""Forking: a new task whose ``.context/`` carries the source's prompt, output and diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argus_testkit import wait_for_async
from orch_helpers import FAST_AGENT, call, create_task, mcp_session, output, task


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


async def test_fork_over_rest_carries_prompt_output_and_diff(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    src = create_task(c, project["name"], "original", prompt="refactor the parser")
    # the demo agent edits ARGUS_DEMO.md in its worktree and prints colourful output
    await wait_for_async(lambda: task(c, src["id"])["idle"], what="source agent done with its first turn")
    Path(src["worktree_path"], "parser.py").write_text("def parse():\n    return 42\n")
    resp = c.post(f"/api/tasks/{src['id']}/fork", json={})
    assert resp.status_code == 201, resp.text
    fork = resp.json()["task"]
    assert resp.json()["source_id"] == src["id"]
    assert fork["id"] != src["id"] and fork["name"] == "original (fork)"
    assert fork["project"] == src["project"] and fork["worktree_path"] != src["worktree_path"]
    ctx = Path(fork["worktree_path"], ".context")
    source_md = (ctx / "fork-source.md").read_text()
    assert src["id"] in source_md and "refactor the parser" in source_md
    out = (ctx / "fork-output.txt").read_text()
    assert "Plan: 1. read files" in out, out
    assert "\x1b" not in out  # ANSI-stripped
    diff = (ctx / "fork-diff.patch").read_text()
    assert "parser.py" in diff and "+    return 42" in diff
    assert ".context/fork-diff.patch" in fork["prompt"] and "refactor the parser" in fork["prompt"]
    await wait_for_async(lambda: task(c, fork["id"])["running"], what="fork started")
    assert "refactor the parser" in output(c, src["id"])


async def test_fork_tool_by_cwd_with_name_and_prompt(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    src = create_task(c, project["name"], "explorer", prompt="map the codebase")
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        out = await call(s, "task_fork", {"cwd": src["worktree_path"], "name": "explorer-2",
                                          "prompt": "try the other approach"})
    fork = out["task"]
    assert out["source_id"] == src["id"] and fork["name"] == "explorer-2"
    assert fork["prompt"].startswith("try the other approach")
    assert Path(fork["worktree_path"], ".context", "fork-source.md").is_file()
    assert c.post("/api/tasks/t_nope/fork", json={}).status_code == 404
    assert c.post(f"/api/tasks/{src['id']}/fork", json={"name": 5}).status_code == 400
