"""Regression tests from a pre-release review of the tasks plugin's daemon side: concurrent
lifecycle requests on one task, and bad input that used to answer 500 instead of a clear 4xx.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.kernel.pidlock import pid_alive as _alive
from argus_testkit import Daemon, wait_for


@pytest.fixture(autouse=True)
def launch_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every fake agent the daemon starts appends a line here (set before the daemon starts)."""
    record = tmp_path / "launches.jsonl"
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.3")
    monkeypatch.setenv("FAKEAGENT_RECORD", str(record))
    return record


def _launches(record: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _create(daemon: Daemon, prompt: str) -> dict[str, Any]:
    resp = daemon.client.post("/api/tasks", json={"project": "demo-proj", "backend": "demo", "prompt": prompt})
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]


def test_concurrent_resumes_start_one_agent(daemon: Daemon, project: dict[str, Any], launch_record: Path) -> None:
    """A double-clicked resume must not start a second agent that nothing tracks any more."""
    task = _create(daemon, "resume twice")
    wait_for(lambda: len(_launches(launch_record)) >= 1, what="the first launch")
    resp = daemon.client.post(f"/api/tasks/{task['id']}/stop")
    assert resp.status_code == 200 and not resp.json()["task"]["running"], resp.text

    def resume(_: int) -> httpx.Response:
        return httpx.post(f"{daemon.url}/api/tasks/{task['id']}/resume", headers=daemon.headers, timeout=30)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(resume, range(4)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409, 409, 409], [(r.status_code, r.text[:200]) for r in answers]

    current = daemon.client.get(f"/api/tasks/{task['id']}").json()["task"]
    assert current["running"]
    wait_for(lambda: len(_launches(launch_record)) >= 2, what="the resumed launch")
    alive = [e["pid"] for e in _launches(launch_record) if _alive(e["pid"])]
    assert alive == [current["pid"]], f"untracked agents still running: {alive} (task pid {current['pid']})"


def test_agent_hook_with_a_non_ascii_token_is_refused_not_a_crash(daemon: Daemon, project: dict[str, Any]) -> None:
    """The unauthenticated hook endpoint compared str tokens with compare_digest, which raises on
    non-ASCII text (a header byte ≥ 0x80): that was a 500 instead of the usual refusal."""
    task = _create(daemon, "hook token")
    url = f"http://127.0.0.1:{daemon.mcp_port}/api/agent/hook"
    resp = httpx.post(url, json={"task_id": task["id"], "event": "Stop"},
                      headers={"Authorization": b"Bearer \xe9t\xe9"}, timeout=10)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] == "invalid token"


def test_bad_json_bodies_are_400(daemon: Daemon, project: dict[str, Any]) -> None:
    """Too deeply nested JSON (RecursionError) and over-long numbers (ValueError) are bad input."""
    task = _create(daemon, "bad json")
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    long_number = b'{"cols": ' + b"9" * 5000 + b', "rows": 24}'
    for path in ("/api/tasks", f"/api/tasks/{task['id']}/resize", f"/api/tasks/{task['id']}/input"):
        for body in (deep, long_number):
            resp = daemon.client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert resp.status_code == 400, (path, resp.status_code, resp.text[:200])
            assert resp.json()["error"].startswith("malformed JSON body")


def test_nul_bytes_in_git_names_are_400(daemon: Daemon, project: dict[str, Any], tmp_path: Path) -> None:
    """A NUL byte in a branch name reached exec (ValueError: embedded null byte): 500."""
    resp = daemon.client.post("/api/tasks", json={"project": "demo-proj", "backend": "demo", "prompt": "nul",
                                                  "base_branch": "main\x00x"})
    assert resp.status_code == 400, resp.text
    assert "NUL" in resp.json()["error"]
    resp = daemon.client.post("/api/projects", json={"name": "nul-proj", "path": str(project["path"]),
                                                     "branch": "ma\x00in"})
    assert resp.status_code == 400, resp.text
    names = [t["name"] for t in daemon.client.get("/api/tasks").json()["tasks"]]
    assert names == []  # the refused creation left no task behind


def test_out_of_range_message_ids_are_400(daemon: Daemon, project: dict[str, Any]) -> None:
    """Message ids beyond SQLite's 64-bit integers (OverflowError) or non-ASCII digits
    (int('²') raises) were 500s."""
    a = _create(daemon, "sender")
    b = _create(daemon, "recipient")
    for reply_to in (10**30, "²", "9" * 30):
        resp = daemon.client.post(f"/api/tasks/{a['id']}/messages",
                                  json={"to": b["id"], "body": "hi", "in_reply_to": reply_to})
        assert resp.status_code == 400, (reply_to, resp.status_code, resp.text[:200])
    for ids in ([10**30], ["²"], [-(10**30)]):
        resp = daemon.client.post(f"/api/tasks/{b['id']}/inbox/ack", json={"message_ids": ids})
        assert resp.status_code == 400, (ids, resp.status_code, resp.text[:200])
    resp = daemon.client.post(f"/api/tasks/{a['id']}/messages", json={"to": b["id"], "body": "hi"})
    assert resp.status_code == 201, resp.text
    sent_id = str(resp.json()["message"]["id"])
    resp = daemon.client.post(f"/api/tasks/{b['id']}/inbox/ack", json={"message_ids": [sent_id]})
    assert resp.status_code == 200 and resp.json()["acked"] == 1, resp.text


def test_cwd_with_a_nul_byte_is_invalid_not_a_crash(tmp_path: Path) -> None:
    """An MCP tool's cwd reached os.path.realpath, which raises ValueError on NUL: the tool answered
    "internal error" (logged as a crash) instead of telling the agent its cwd is bad."""
    from argus.kernel.errors import Invalid
    from argus.plugins.tasks.caller import match_cwd

    rows = [{"id": "t_a", "name": "a", "worktree_path": str(tmp_path / "wt"), "status": "in_progress",
             "archived": 0}]
    with pytest.raises(Invalid, match="absolute path"):
        match_cwd(rows, f"{tmp_path}/wt/\x00x")
