"""The TUI task list's marks and the Settings → Status rows of the ops plugin, on a real daemon:

- usage (``1.2k tok $0.01``) on the row of a task whose (fake) Claude transcript reported it, and
  nothing on a task whose CLI said nothing; a per-day summary under Settings → Status → Usage;
- ``⚠ conflicts: <other task>`` on tasks changing the same file;
- "Auto-start at login": Enter writes the systemd user unit (a temporary directory, a fake
  ``systemctl`` on PATH) and Enter again removes it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argus.kernel import autostart
from argus.plugins.tui.client import ArgusClient
from argus_testkit import Daemon, wait_for
from fake_systemd import FakeSystemd
from tui_harness import Harness, run_scenario

ENTER, ESC = "\r", "\x1b"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    fake = FakeSystemd(tmp_path / "systemd")
    return {"fake": fake, "claude": tmp_path / "claude-config",
            "vars": {**fake.daemon_env(tmp_path / "xdg"), "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config"),
                     "FAKEAGENT_NO_EDIT": "1"}}


@pytest.fixture
def marks_daemon(argus_home: Path, git_repo: Path, env: dict[str, Any]) -> Iterator[Daemon]:
    d = Daemon(argus_home, env=env["vars"])
    try:
        d.start()
        assert d.client.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        yield d
    finally:
        d.cleanup()


def _transcript(claude_dir: Path, task: dict[str, Any]) -> None:
    """A Claude Code transcript for ``task`` reporting 1170 tokens and $0.01 today."""
    folder = claude_dir / "projects" / re.sub(r"[^A-Za-z0-9]", "-", task["worktree_path"])
    folder.mkdir(parents=True)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    line = {"type": "assistant", "timestamp": f"{day}T10:00:00.000Z", "costUSD": 0.01,
            "message": {"id": "msg_1", "role": "assistant", "usage": {
                "input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 50}}}
    (folder / f"{task['agent_session_id']}.jsonl").write_text(json.dumps(line) + "\n")


def _line(h: Harness, name: str) -> str:
    """The task row whose name (after the status icon) is ``name``."""
    return next((ln for ln in h.screen().splitlines() if re.match(rf"\s+\S+ {name}\s", ln)), "")


def _select(h: Harness, label: str) -> None:
    tab = h.tui.settings
    tab.index = next(i for i, r in enumerate(tab.rows) if r.label == label)
    h.tui.invalidate()


def test_usage_and_conflict_marks_in_the_list(marks_daemon: Daemon, env: dict[str, Any]) -> None:
    c = marks_daemon.client
    made = [c.post("/api/tasks", json={"name": n, "prompt": f"work on {n}", "project": "p", "backend": "claude"})
            for n in ("costly", "thrifty")]
    costly, thrifty = (r.json()["task"] for r in made)
    for t in (costly, thrifty):
        wait_for(lambda t=t: c.get(f"/api/tasks/{t['id']}").json()["task"]["idle"], 30, what="idle agents")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("thrifty")
        assert "tok" not in _line(h, "costly") and "tok" not in _line(h, "thrifty")  # nothing known yet

        def report() -> None:  # the CLI records usage; a refresh re-publishes the task
            _transcript(env["claude"], costly)
            assert c.get(f"/api/usage/tasks/{costly['id']}").json()["usage"]["cost_usd"] == 0.01
        await asyncio.to_thread(report)
        await h.until(lambda: "1.2k tok $0.01" in _line(h, "costly"), 20, what="costly's usage")
        assert "tok" not in _line(h, "thrifty")

        def overlap() -> None:  # both change the same file, then finish a turn
            for t in (costly, thrifty):
                (Path(t["worktree_path"]) / "same.txt").write_text(t["id"])
                assert c.post(f"/api/tasks/{t['id']}/input", json={"data": "go on\r"}).status_code == 200
        await asyncio.to_thread(overlap)
        await h.until(lambda: "⚠ conflicts: thrifty" in _line(h, "costly"), 30, what="costly's mark")
        await h.until(lambda: "⚠ conflicts: costly" in _line(h, "thrifty"), 30, what="thrifty's mark")

        h.keys("3")  # Settings → Status → Usage: today's totals, then the per-day dialog
        await h.until_screen("Auto-start at login")
        await h.until_screen("today 1.2k tok $0.01")
        _select(h, "Usage")
        h.keys(ENTER)
        await h.until_screen(f"{datetime.now(UTC):%Y-%m-%d}  1.2k tok $0.01")
        h.keys(ESC)
        await h.until(lambda: h.tui.modal is None, what="the usage dialog to close")

    run_scenario(ArgusClient.local(marks_daemon.home), scenario, timeout=120)


@pytest.mark.skipif(autostart.system() != "systemd", reason="the systemd unit (Linux)")
def test_autostart_row_toggles_the_unit(marks_daemon: Daemon, env: dict[str, Any]) -> None:
    fake: FakeSystemd = env["fake"]

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("off (systemd) · Enter toggles")
        _select(h, "Auto-start at login")
        h.keys(ENTER)
        await h.until(lambda: "auto-start on" in h.tui.status_text, 20, what="the unit to be written")
        await h.until_screen("on · enabled (systemd)")
        assert fake.unit.is_file() and "--user enable argus-daemon.service" in fake.calls()
        h.keys(ENTER)
        await h.until(lambda: "auto-start off" in h.tui.status_text, 20, what="the unit to be removed")
        await h.until_screen("off (systemd) · Enter toggles")
        assert not fake.unit.exists()

    run_scenario(ArgusClient.local(marks_daemon.home), scenario, timeout=90)


def test_usage_text_is_compact_and_empty_when_unknown() -> None:
    from argus.plugins.tui.marks import compact_count, conflicts_text, usage_text

    assert usage_text(None) == "" and usage_text({}) == ""
    assert usage_text({"input_tokens": 950, "output_tokens": 0, "cost_usd": None}) == "950 tok"  # no cost: none shown
    assert usage_text({"input_tokens": 12_000, "output_tokens": 300, "cost_usd": 0.4123}) == "12.3k tok $0.41"
    assert [compact_count(n) for n in (999, 1000, 123_456, 4_100_000)] == ["999", "1.0k", "123k", "4.1M"]
    tasks = {"t_b": {"id": "t_b", "name": "beta"}}
    assert conflicts_text({"conflicts_with": ["t_b", "t_gone"]}, tasks) == "⚠ conflicts: beta, t_gone"
    assert conflicts_text({"conflicts_with": []}, tasks) == "" and conflicts_text({}, tasks) == ""
