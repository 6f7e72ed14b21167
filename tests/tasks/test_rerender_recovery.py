"""A re-render a crash cut short, finished when the daemon starts again.

The crash states are made exactly (the daemon stopped, the row given the re-render mark the
interrupted re-render leaves, the old agent killed or left running), not by racing a kill against a
re-render (tests/tasks/test_kill_matrix.py does that).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from typing import Any

import pytest
from argus_testkit import wait_for
from orch_helpers import FAST_AGENT, create_task, task


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def _mark(daemon: Any, task_id: str, cols: int) -> None:
    """Leave the mark a re-render writes before it kills the old agent."""
    db = sqlite3.connect(daemon.home / "data.sql", isolation_level=None)
    try:
        meta = json.loads(db.execute("SELECT meta FROM tasks WHERE id = ?", (task_id,)).fetchone()[0] or "{}")
        meta["rerender"] = {"cols": cols, "rows": 40, "status": "in_progress"}
        db.execute("UPDATE tasks SET meta = ? WHERE id = ?", (json.dumps(meta), task_id))
    finally:
        db.close()


def _started(daemon: Any, project: dict[str, Any]) -> dict[str, Any]:
    t = create_task(daemon.client, project["name"], "rerendered")
    return wait_for(lambda: (x := task(daemon.client, t["id"]))["running"] and x["idle"] and x,
                    what="the agent idle")


def test_the_new_agent_starts_once_the_old_ones_exit_is_known(daemon: Any, project: dict[str, Any]) -> None:
    """The old agent died while the daemon was down (its exit may reach the restarted daemon only
    after the re-attach, which once made the daemon drop the re-render and move the task to review
    in the kill matrix): the re-render is finished, and the status stays in progress."""
    before = _started(daemon, project)
    daemon.stop()  # the agent keeps running under the supervisor
    _mark(daemon, before["id"], 150)
    os.kill(before["pid"], signal.SIGKILL)
    daemon.start()
    after = wait_for(lambda: (x := task(daemon.client, before["id"]))["running"]
                     and x["session_id"] != before["session_id"] and x, 60, what="the re-rendered agent",
                     detail=lambda: task(daemon.client, before["id"]))
    assert after["status"] == "in_progress" and after["pid"] != before["pid"]


def test_a_mark_whose_agent_still_runs_is_dropped(daemon: Any, project: dict[str, Any]) -> None:
    """The crash came after the mark and before the kill: the old agent keeps running and is
    followed as before; no second agent starts."""
    before = _started(daemon, project)
    daemon.stop()
    _mark(daemon, before["id"], 150)
    daemon.start()
    db = sqlite3.connect(daemon.home / "data.sql", isolation_level=None)
    try:
        wait_for(lambda: "rerender" not in json.loads(
            db.execute("SELECT meta FROM tasks WHERE id = ?", (before["id"],)).fetchone()[0] or "{}"),
            30, what="the mark dropped")
    finally:
        db.close()
    now = task(daemon.client, before["id"])
    assert now["running"] and now["session_id"] == before["session_id"] and now["pid"] == before["pid"]
    assert now["status"] == "in_progress"
    daemon.client.post(f"/api/tasks/{before['id']}/input", json={"data": "still here\r"})
    wait_for(lambda: "still here" in daemon.client.get(f"/api/tasks/{before['id']}/output").text, 20,
             what="the old agent answering")
