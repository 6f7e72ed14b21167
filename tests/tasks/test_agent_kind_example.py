"""The agent-kind example plugin (docs/examples/agent_kind.py) in a real daemon: its kind is listed
as a backend and selectable as a backend ``kind``, a task of that kind runs the fake agent with the
argv the kind built (new launch and resume), idle detection follows the kind's patterns, and the
plugin's tasks hook adds its field to the Task JSON.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.api import Invalid
from argus.plugins.tasks.api import AgentKind
from argus.plugins.tasks.launch import build_launch, screen_rules
from orch_helpers import eventually

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "agent_kind.py"


def test_the_example_is_small_and_imports_only_the_contract() -> None:
    assert len(EXAMPLE.read_text().splitlines()) < 60
    tree = ast.parse(EXAMPLE.read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in modules if m.startswith("argus")} == {"argus.kernel.api", "argus.plugins.tasks.api"}


def launches(record: Path) -> list[dict[str, Any]]:
    """The fake agent's launch records (one JSON line per launch)."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


async def test_a_plugin_agent_kind_runs_the_fake_agent(daemon_factory: Any, git_repo: Path, tmp_path: Path) -> None:
    record = tmp_path / "launches.jsonl"
    d = daemon_factory("kinds", env={"ARGUS_PLUGINS": str(EXAMPLE), "FAKEAGENT_BUSY": "0.2",
                                     "FAKEAGENT_RECORD": str(record)})
    c = d.client
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201

    # The kind is listed as a backend of its name, and selectable as a backend kind.
    backends = {b["name"]: b for b in c.get("/api/backends").json()["backends"]}
    assert backends["fake"]["kind"] == "fake" and backends["fake"]["command"] == "fakeagent"
    assert backends["fake"]["available"] is True and backends["demo"]["kind"] == "demo"
    made = c.post("/api/backends", json={"name": "fake-fast", "kind": "fake", "model": "m1"})
    assert made.status_code == 201, made.text
    assert made.json()["backend"]["kind"] == "fake" and made.json()["backend"]["command"] == "fakeagent"
    bad = c.post("/api/backends", json={"name": "nope", "kind": "gemini"})
    assert bad.status_code == 400 and "unknown agent kind 'gemini'" in bad.json()["error"]
    assert c.post("/api/backends", json={"name": "nope", "kind": "claude"}).status_code == 400

    # A task of that kind: launched with the kind's argv, the agent's output comes back.
    resp = c.post("/api/tasks", json={"project": "p", "name": "k", "prompt": "hello kinds", "backend": "fake"})
    assert resp.status_code == 201, resp.text
    task = resp.json()["task"]
    tid, sid = task["id"], task["agent_session_id"]
    assert task["status"] == "in_progress" and sid

    def output() -> str:
        return c.get(f"/api/tasks/{tid}/output", params={"clean": "1"}).text

    await eventually(lambda: "fakeagent" in output() and "? for shortcuts" in output(), what="the agent's prompt")
    first = launches(record)[0]
    assert first["argv"][-3:] == ["--session-id", sid, "hello kinds"]
    assert first["env"]["ARGUS_TASK_ID"] == tid
    await eventually(lambda: c.get(f"/api/tasks/{tid}").json()["task"]["idle"], what="idle by the kind's pattern")
    assert c.get(f"/api/tasks/{tid}").json()["task"]["fake"] == {"launches": 1}
    assert c.post(f"/api/tasks/{tid}/input", json={"data": "ping\r"}).status_code == 200
    await eventually(lambda: "you said: ping" in output(), what="the echoed input")

    # A resume goes through the kind's argv builder too.
    assert c.post(f"/api/tasks/{tid}/stop").status_code == 200
    resumed = c.post(f"/api/tasks/{tid}/resume")
    assert resumed.status_code == 200, resumed.text
    await eventually(lambda: len(launches(record)) == 2, what="the resumed launch")
    assert launches(record)[1]["argv"][-2:] == ["--resume", sid]
    await eventually(lambda: c.get(f"/api/tasks/{tid}").json()["task"].get("fake") == {"launches": 2},
                     what="the second launch counted")

    # A stored backend with that kind (and a model) launches the same way.
    other = c.post("/api/tasks", json={"project": "p", "name": "k2", "prompt": "again", "backend": "fake-fast"})
    assert other.status_code == 201, other.text
    await eventually(lambda: len(launches(record)) == 3, what="the third launch")
    assert launches(record)[2]["argv"][-4:] == [other.json()["task"]["agent_session_id"], "--model", "m1", "again"]


def test_a_kind_whose_builder_fails_refuses_the_launch_with_its_reason() -> None:
    backend = {"name": "x", "command": "fakeagent --flag", "prompt_flag": "", "model": ""}
    task = {"id": "t_1", "agent_session_id": None, "model": ""}
    args = {"backend": backend, "task": task, "prompt": "hi", "resume": False, "mcp_url": "u", "hook_url": "h",
            "token": "tok"}
    ok = build_launch(AgentKind("x", lambda spec: [*spec.command, spec.prompt or ""]), **args)
    assert ok.argv == ["fakeagent", "--flag", "hi"] and ok.env["ARGUS_MCP_TOKEN"] == "tok"

    def broken(spec: Any) -> list[str]:
        raise KeyError("oops")

    with pytest.raises(Invalid, match="agent kind 'x' could not build the command"):
        build_launch(AgentKind("x", broken), **args)
    with pytest.raises(Invalid, match="built no command"):
        build_launch(AgentKind("x", lambda spec: []), **args)
    rules = screen_rules(AgentKind("x", broken, waiting=r"^ready>$"))
    assert rules["waiting"].search("work\nready>") and rules["busy"].search("Esc To Interrupt")
