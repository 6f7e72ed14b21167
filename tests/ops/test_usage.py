"""Tokens and cost per task from the CLI's own records (a fake Claude transcript, a Codex rollout)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from argus.plugins.ops.usage import read_codex
from argus_testkit import Daemon


def _assistant(mid: str, day: str, usage: dict[str, int], cost: float | None = None) -> str:
    line: dict[str, Any] = {"type": "assistant", "timestamp": f"{day}T10:00:00.000Z",
                            "message": {"id": mid, "role": "assistant", "usage": usage}}
    if cost is not None:
        line["costUSD"] = cost
    return json.dumps(line)


def test_usage_is_recorded_from_a_claude_transcript(argus_home: Path, git_repo: Path, tmp_path: Path) -> None:
    claude_dir = tmp_path / "claude-config"
    d = Daemon(argus_home, env={"FAKEAGENT_BUSY": "0.2", "CLAUDE_CONFIG_DIR": str(claude_dir)})
    try:
        d.start()
        c = d.client
        assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        task = c.post("/api/tasks", json={"name": "u", "prompt": "count me", "project": "p",
                                          "backend": "claude"}).json()["task"]
        assert c.get(f"/api/usage/tasks/{task['id']}").json()["usage"] is None  # the CLI said nothing yet
        folder = claude_dir / "projects" / re.sub(r"[^A-Za-z0-9]", "-", task["worktree_path"])
        folder.mkdir(parents=True)
        u1 = {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 1000,
              "cache_creation_input_tokens": 50}
        lines = [json.dumps({"type": "user", "message": {"role": "user", "content": "count me"}}),
                 _assistant("msg_1", "2026-12-01", u1, 0.01),
                 _assistant("msg_1", "2026-12-01", u1, 0.01),  # one message over two lines: counted once
                 _assistant("msg_2", "2026-12-02", {"input_tokens": 5, "output_tokens": 7}),
                 "{broken"]
        (folder / f"{task['agent_session_id']}.jsonl").write_text("\n".join(lines) + "\n")

        usage = c.get(f"/api/usage/tasks/{task['id']}").json()["usage"]
        assert usage == {"input_tokens": 105, "output_tokens": 27, "cache_read_tokens": 1000,
                         "cache_write_tokens": 50, "cost_usd": 0.01, "source": "claude transcript"}
        # The Task JSON carries it too (the tasks plugin's argus_task_fields hook).
        assert c.get(f"/api/tasks/{task['id']}").json()["task"]["usage"] == usage
        summary = c.get("/api/usage").json()
        assert summary["projects"]["p"]["output_tokens"] == 27
        assert summary["days"]["2026-12-01"]["input_tokens"] == 100
        assert summary["days"]["2026-12-02"]["cost_usd"] is None  # nothing estimated
        assert c.get("/api/usage/tasks/t_nope").status_code == 404
        assert c.get("/api/usage", headers={"Authorization": "Bearer wrong"}).status_code == 401
    finally:
        d.cleanup()


def test_codex_rollout_totals_are_split_by_day(tmp_path: Path) -> None:
    def tc(day: str, inp: int, cached: int, out: int) -> str:
        return json.dumps({"timestamp": f"{day}T01:00:00Z", "type": "event_msg", "payload": {
            "type": "token_count", "info": {"total_token_usage": {
                "input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out}}}})

    path = tmp_path / "rollout.jsonl"
    path.write_text("\n".join([json.dumps({"type": "session_meta", "payload": {"id": "x"}}),
                               tc("2026-12-01", 1000, 400, 50), tc("2026-12-01", 1500, 600, 80),
                               tc("2026-12-02", 2000, 600, 100)]) + "\n")
    days = read_codex(path)
    assert days["2026-12-01"] == {"input_tokens": 900, "output_tokens": 80, "cache_read_tokens": 600,
                                  "cache_write_tokens": 0, "cost_usd": None}
    assert days["2026-12-02"]["input_tokens"] == 500 and days["2026-12-02"]["output_tokens"] == 20
