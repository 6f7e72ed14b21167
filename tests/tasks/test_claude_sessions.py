"""The Claude session picker's daemon side: a task's conversations are the transcripts under
``$CLAUDE_CONFIG_DIR/projects/<mangled worktree>/``; resuming one restarts the fake claude with
``--resume <id>``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.plugins.tasks.claude_sessions import mangle
from argus_testkit import wait_for


@pytest.fixture(autouse=True)
def claude_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Claude's config dir and a launch record, set before the daemon starts."""
    home = tmp_path / "claude-home"
    record = tmp_path / "launches.jsonl"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home))
    monkeypatch.setenv("FAKEAGENT_RECORD", str(record))
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")
    return {"home": home, "record": record}


def transcript(folder: Path, sid: str, prompt: str, age: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{sid}.jsonl"
    lines = [{"type": "system", "content": "hello"},
             {"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": prompt}]}}]
    file.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    stamp = time.time() - age
    os.utime(file, (stamp, stamp))


def test_list_and_resume_a_claude_session(daemon: Any, project: dict[str, Any],
                                          claude_env: dict[str, Path]) -> None:
    c = daemon.client
    body = {"project": project["name"], "prompt": "first", "backend": "claude"}
    task = c.post("/api/tasks", json=body).json()["task"]
    tid = task["id"]
    folder = claude_env["home"] / "projects" / mangle(task["worktree_path"])
    assert mangle("/a/b.c_d") == "-a-b-c-d"
    transcript(folder, "11111111-aaaa-4bbb-8ccc-000000000001", "fix the\n login bug", age=300)
    transcript(folder, "22222222-aaaa-4bbb-8ccc-000000000002", "write docs", age=10)
    (folder / "notes.txt").write_text("not a transcript")

    sessions = c.get(f"/api/tasks/{tid}/claude-sessions").json()["sessions"]
    assert [(s["id"][:8], s["title"]) for s in sessions] == [("22222222", "write docs"),
                                                             ("11111111", "fix the login bug")]
    assert not any(s["current"] for s in sessions)

    wait_for(lambda: claude_env["record"].exists() and claude_env["record"].read_text().strip(), what="first launch")
    old = "11111111-aaaa-4bbb-8ccc-000000000001"
    resp = c.post(f"/api/tasks/{tid}/claude-sessions/resume", json={"session_id": old}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["task"]["agent_session_id"] == old

    def resumed() -> bool:
        launches = [json.loads(x) for x in claude_env["record"].read_text().splitlines() if x.strip()]
        argv = launches[-1].get("argv") or []
        return "--resume" in argv and argv[argv.index("--resume") + 1] == old

    wait_for(resumed, what="claude --resume <old id>")
    assert [s["id"] for s in c.get(f"/api/tasks/{tid}/claude-sessions").json()["sessions"] if s["current"]] == [old]

    # bad input
    assert c.post(f"/api/tasks/{tid}/claude-sessions/resume", json={"session_id": "../etc"}).status_code == 400
    assert c.post(f"/api/tasks/{tid}/claude-sessions/resume", json={"session_id": "nope"}).status_code == 404
    assert c.post(f"/api/tasks/{tid}/claude-sessions/resume", json={}).status_code == 400
    assert c.get("/api/tasks/t_missing/claude-sessions").status_code == 404
    with httpx.Client(base_url=daemon.url, timeout=10) as anon:
        assert anon.get(f"/api/tasks/{tid}/claude-sessions").status_code == 401
        assert anon.post(f"/api/tasks/{tid}/claude-sessions/resume", json={"session_id": old}).status_code == 401
