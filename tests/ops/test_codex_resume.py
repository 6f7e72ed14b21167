"""Codex tasks resume their conversation: the session id comes from Codex's notify payload (or its
rollout files), and stop + resume runs ``codex resume <id>``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from argus.plugins.tasks.kinds.codex import codex_session_for, codex_thread_id
from argus_testkit import Daemon, wait_for


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def test_codex_task_resumes_by_the_session_id_from_notify(argus_home: Path, git_repo: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    codex_home = tmp_path / "codex-home"
    d = Daemon(argus_home, env={"FAKEAGENT_BUSY": "0.2", "FAKEAGENT_RECORD": str(record),
                                "CODEX_HOME": str(codex_home)})
    try:
        d.start()
        c = d.client
        assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        resp = c.post("/api/tasks", json={"name": "cx", "prompt": "hello codex", "project": "p", "backend": "codex"})
        assert resp.status_code == 201, resp.text
        task_id = resp.json()["task"]["id"]
        assert resp.json()["task"]["agent_session_id"] is None  # Codex picks its own id

        def sid() -> str | None:
            return c.get(f"/api/tasks/{task_id}").json()["task"]["agent_session_id"]

        captured = wait_for(sid, 30, what="the session id from notify")
        first = _records(record)[0]
        assert first["session_id"] == captured  # the id the (fake) Codex really uses
        rollouts = list(codex_home.glob("sessions/*/*/*/rollout-*.jsonl"))
        assert len(rollouts) == 1 and captured in rollouts[0].name

        assert c.post(f"/api/tasks/{task_id}/stop").status_code == 200
        wait_for(lambda: not c.get(f"/api/tasks/{task_id}").json()["task"]["running"], 20, what="stop")
        assert c.post(f"/api/tasks/{task_id}/resume").status_code == 200
        wait_for(lambda: len(_records(record)) == 2, 20, what="the resumed launch")
        argv = _records(record)[1]["argv"]
        assert argv[:2] == ["resume", captured], argv
        assert _records(record)[1]["resume"] == captured
        wait_for(lambda: f"resumed session {captured}" in c.get(
            f"/api/tasks/{task_id}/output", params={"clean": "1"}).text, 20, what="resumed banner")
    finally:
        d.cleanup()


def test_notify_payloads_even_cut_short_give_the_thread_id() -> None:
    full = json.dumps({"type": "agent-turn-complete", "thread-id": "0199a213-81c0-7800-8aa1-bbab2a035a53",
                       "turn-id": "1", "cwd": "/w", "input-messages": ["x" * 5000]})
    assert codex_thread_id(full[:4000]) == "0199a213-81c0-7800-8aa1-bbab2a035a53"
    assert codex_thread_id('{"type": "something-else", "thread-id": "abcdefgh-1"}') is None
    assert codex_thread_id(None) is None and codex_thread_id("not json") is None


def test_rollout_files_find_the_newest_session_of_a_worktree(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    day = tmp_path / "sessions" / "2026" / "01" / "02"
    day.mkdir(parents=True)
    for i, (sid, cwd) in enumerate([("old-session-1", "/w/a"), ("other-session", "/w/b"), ("new-session-2", "/w/a")]):
        f = day / f"rollout-2026-01-02T00-00-0{i}-{sid}.jsonl"
        f.write_text(json.dumps({"type": "session_meta", "payload": {"id": sid, "cwd": cwd}}) + "\n{}\n")
        os.utime(f, (1_000_000 + i, 1_000_000 + i))
    (day / "rollout-broken.jsonl").write_text("{not json\n")
    assert codex_session_for("/w/a") == "new-session-2"
    assert codex_session_for("/w/b") == "other-session"
    assert codex_session_for("/w/none") is None


def test_opencode_is_seeded_gets_its_mcp_config_and_resumes_its_own_session(
        argus_home: Path, git_repo: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    data_home = tmp_path / "xdg-data"
    d = Daemon(argus_home, env={"FAKEAGENT_BUSY": "0.2", "FAKEAGENT_RECORD": str(record),
                                "XDG_DATA_HOME": str(data_home)})
    try:
        d.start()
        c = d.client
        backends = {b["name"]: b for b in c.get("/api/backends").json()["backends"]}
        assert backends["opencode"]["command"] == "opencode" and backends["opencode"]["prompt_flag"] == "--prompt"
        assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        resp = c.post("/api/tasks", json={"name": "oc", "prompt": "hello opencode", "project": "p",
                                          "backend": "opencode", "model": "anthropic/claude-haiku"})
        assert resp.status_code == 201, resp.text
        task = resp.json()["task"]
        wait_for(lambda: _records(record), 20, what="the launch")
        first = _records(record)[0]
        assert first["argv"][-2:] == ["--prompt", "hello opencode"] and first["model"] == "anthropic/claude-haiku"
        config = json.loads((argus_home / "run" / task["id"] / "opencode.json").read_text())
        assert config["mcp"]["argus"] == {"type": "remote", "url": d.mcp_url, "enabled": True,
                                          "headers": {"Authorization": "Bearer {env:ARGUS_MCP_TOKEN}"}}
        # the agent records its launch before it writes its session file: wait for the file
        wait_for(lambda: list(data_home.glob("opencode/storage/session/*/ses_*.json")), 20,
                 what="the opencode session file")
        sessions = list(data_home.glob("opencode/storage/session/*/ses_*.json"))
        assert len(sessions) == 1
        sid = json.loads(sessions[0].read_text())["id"]
        assert sid == first["session_id"]

        assert c.post(f"/api/tasks/{task['id']}/stop").status_code == 200
        wait_for(lambda: not c.get(f"/api/tasks/{task['id']}").json()["task"]["running"], 20, what="stop")
        assert c.post(f"/api/tasks/{task['id']}/resume").status_code == 200
        wait_for(lambda: len(_records(record)) == 2, 20, what="the resumed launch")
        second = _records(record)[1]
        assert second["argv"][second["argv"].index("--session") + 1] == sid and "--prompt" not in second["argv"]
        assert c.get(f"/api/tasks/{task['id']}").json()["task"]["agent_session_id"] == sid
    finally:
        d.cleanup()
