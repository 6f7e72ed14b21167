"""The PWA's task marks and ops cards in headless Chromium, on a real daemon:

- the list and the task view show a task's usage (``1.2k tok $0.01``) once its (fake) Claude
  transcript reported it, and nothing for a task whose CLI said nothing;
- "⚠ conflicts: <other>" on tasks changing the same file, and a link to the other in the task view;
- Settings: the Usage card lists today's totals; the Auto-start card turns the login service on
  and off (a temporary unit directory and a fake ``systemctl`` on PATH).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argus.kernel import autostart
from argus_testkit import Daemon
from fake_systemd import FakeSystemd
from test_pwa_browser import DESKTOP, app_factory, browser, create_task, fast_agents, playwright, wait_until

__all__ = ["app_factory", "browser", "fast_agents", "playwright"]

pytestmark = pytest.mark.browser


@pytest.fixture
def fake_systemd(tmp_path: Path) -> FakeSystemd:
    return FakeSystemd(tmp_path / "systemd")


@pytest.fixture
def daemon(argus_home: Path, tmp_path: Path, fake_systemd: FakeSystemd) -> Iterator[Daemon]:
    """The suite's daemon, with Claude transcripts in a temporary folder, agents that edit nothing
    and the fake systemd (this module's ``app_factory`` and ``project`` use it)."""
    d = Daemon(argus_home, env={**fake_systemd.daemon_env(tmp_path / "xdg"), "FAKEAGENT_NO_EDIT": "1",
                                "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config")})
    try:
        yield d.start()
    finally:
        d.cleanup()


def _transcript(d: Daemon, task: dict[str, Any]) -> None:
    """A Claude Code transcript for ``task``: 1170 tokens and $0.01 today."""
    folder = Path(d.env["CLAUDE_CONFIG_DIR"]) / "projects" / re.sub(r"[^A-Za-z0-9]", "-", task["worktree_path"])
    folder.mkdir(parents=True)
    line = {"type": "assistant", "timestamp": f"{datetime.now(UTC):%Y-%m-%d}T10:00:00.000Z", "costUSD": 0.01,
            "message": {"id": "msg_1", "role": "assistant", "usage": {
                "input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 50}}}
    (folder / f"{task['agent_session_id']}.jsonl").write_text(json.dumps(line) + "\n")


def test_usage_and_conflicts_in_the_list_and_task_view(app_factory: Any, daemon: Daemon,  # noqa: F811
                                                         project: dict[str, Any]) -> None:
    c = daemon.client
    costly, thrifty = create_task(daemon, project, "spend"), create_task(daemon, project, "save")
    for t in (costly, thrifty):
        wait_until(lambda t=t: c.get(f"/api/tasks/{t['id']}").json()["task"]["idle"], "the agents to go idle")

    app = app_factory("desktop-marks", DESKTOP)
    page = app.page
    app.login()
    row = {t["id"]: f'.task-row[data-task-id="{t["id"]}"]' for t in (costly, thrifty)}
    page.wait_for_selector(row[thrifty["id"]])
    assert "tok" not in page.inner_text(row[costly["id"]])  # nothing known: nothing shown

    _transcript(daemon, costly)
    assert c.get(f"/api/usage/tasks/{costly['id']}").json()["usage"]["cost_usd"] == 0.01
    page.wait_for_selector(f'{row[costly["id"]]} .task-usage:has-text("1.2k tok $0.01")')
    for t in (costly, thrifty):
        (Path(t["worktree_path"]) / "same.txt").write_text(t["id"])
        assert c.post(f"/api/tasks/{t['id']}/input", json={"data": "go on\r"}).status_code == 200
    page.wait_for_selector(f'{row[costly["id"]]} .badge.conflict:has-text("⚠ conflicts: {thrifty["name"]}")')
    page.wait_for_selector(f'{row[thrifty["id"]]} .badge.conflict:has-text("{costly["name"]}")')
    assert "tok" not in page.inner_text(row[thrifty["id"]])
    app.shot("list-marks")

    page.click(f'{row[costly["id"]]} .task-link')
    page.wait_for_selector('.task-head .task-meta:has-text("1.2k tok $0.01")')
    link = page.wait_for_selector(f'.conflict-line a:has-text("{thrifty["name"]}")')
    assert link.get_attribute("href") == f"/task/{thrifty['id']}"


@pytest.mark.skipif(autostart.system() != "systemd", reason="the systemd unit (Linux)")
def test_settings_usage_and_autostart_cards(app_factory: Any, daemon: Daemon, project: dict[str, Any],  # noqa: F811
                                            fake_systemd: FakeSystemd) -> None:
    task = create_task(daemon, project, "count me")
    _transcript(daemon, task)
    assert daemon.client.get(f"/api/usage/tasks/{task['id']}").status_code == 200

    app = app_factory("desktop-ops-cards", DESKTOP)
    page = app.page
    app.login(path="/settings")
    page.wait_for_selector(f'#usage-days tr[data-day="{datetime.now(UTC):%Y-%m-%d}"]:has-text("1.2k tok $0.01")')
    state = page.wait_for_selector("#autostart-state")
    assert state.inner_text().startswith("Off")
    page.click("#autostart-toggle")
    page.wait_for_selector('#autostart-state[data-installed="1"]:has-text("On: enabled")')
    assert fake_systemd.unit.is_file() and "--user enable argus-daemon.service" in fake_systemd.calls()
    app.shot("settings-autostart")
    page.click("#autostart-toggle")
    page.wait_for_selector('#autostart-state[data-installed="0"]')
    assert not fake_systemd.unit.exists()
