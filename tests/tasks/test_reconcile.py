"""Start-up reconciliation: what a crash during task creation leaves behind (a row stuck in
``pending``, worktrees and branches with no task, an agent no task knows) is rolled back, removed
or adopted when the daemon starts again; anything holding work is kept and reported.

The crash states are made exactly (the daemon stopped, the database and repository edited as the
interrupted step would have left them), not by racing a kill against creation.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.pidlock import pid_alive as _alive
from argus_testkit import run_git, wait_for
from orch_helpers import FAST_AGENT, create_task, task


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def _db(daemon: Any) -> sqlite3.Connection:
    return sqlite3.connect(daemon.home / "data.sql", isolation_level=None)


def _branches(repo: Path) -> set[str]:
    return set(run_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split())


def _log_size(daemon: Any) -> int:
    path = daemon.home / "daemon.log"
    return path.stat().st_size if path.exists() else 0


def _reconciled(daemon: Any, since: int) -> str:
    """The daemon log written after byte ``since`` once it holds the reconciliation line (the log is
    shared with the daemon's earlier runs in the same home, which logged their own)."""
    def fresh() -> str:
        with (daemon.home / "daemon.log").open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")
    return wait_for(lambda: "start-up reconciliation" in (log := fresh()) and log, 60,
                    what="the reconciliation log line")


def test_crash_leftovers_are_cleaned_and_work_is_kept(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    repo = Path(project["path"])
    orphan = create_task(c, project["name"], "orphan agent")
    pid = wait_for(lambda: task(c, orphan["id"])["pid"], what="the agent's pid")
    worktrees = daemon.home / "worktrees" / project["name"]
    daemon.stop()  # the agents keep running under the supervisor
    with _db(daemon) as db:
        db.execute("DELETE FROM tasks WHERE id = ?", (orphan["id"],))  # an agent no task knows
        db.execute(  # a row inserted just before the crash: no worktree yet
            "INSERT INTO tasks (id, slug, name, project, backend, status, worktree_path, branch, base_branch,"
            " created_at, updated_at) VALUES ('t_stuck', 'stuck', 'stuck', ?, 'demo', 'pending', ?,"
            " 'argus/stuck', 'main', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')",
            (project["name"], str(worktrees / "stuck")))
    run_git(repo, "worktree", "add", "-q", "-b", "argus/stray", str(worktrees / "stray"), "main")
    run_git(repo, "worktree", "add", "-q", "-b", "argus/dirty", str(worktrees / "dirty"), "main")
    (worktrees / "dirty" / "notes.txt").write_text("unsaved work\n")
    run_git(repo, "branch", "argus/lonely", "main")
    run_git(repo, "branch", "feature/mine", "main")
    since = _log_size(daemon)
    daemon.start()
    c = daemon.client
    log = _reconciled(daemon, since)
    wait_for(lambda: not _alive(pid), what="the untracked agent killed")
    assert c.get("/api/tasks/t_stuck").status_code == 404
    assert not (worktrees / "stray").exists()
    assert (worktrees / "dirty" / "notes.txt").exists()  # holds work: kept, and reported
    branches = _branches(repo)
    assert "argus/stray" not in branches and "argus/lonely" not in branches
    assert {"argus/dirty", "feature/mine", "main"} <= branches
    assert "t_stuck" in log and "1 uncommitted change" in log


def test_an_agent_started_just_before_the_crash_is_adopted(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, project["name"], "adopt me")
    pid = wait_for(lambda: task(c, t["id"])["pid"], what="the agent's pid")
    session = task(c, t["id"])["session_id"]
    daemon.stop()
    with _db(daemon) as db:  # the spawn happened, the row update did not
        db.execute("UPDATE tasks SET session_id = NULL, status = 'pending', started_at = NULL WHERE id = ?",
                   (t["id"],))
    since = _log_size(daemon)
    daemon.start()
    c = daemon.client
    _reconciled(daemon, since)
    got = wait_for(lambda: (x := task(c, t["id"]))["session_id"] == session and x, what="the session adopted")
    assert got["status"] == "in_progress" and got["running"] and got["pid"] == pid and _alive(pid)
    # and resuming does not start a second agent in the same worktree
    assert c.post(f"/api/tasks/{t['id']}/resume").status_code == 409


def test_an_adopted_agent_answers_running_at_once_while_a_stray_is_still_dying(
        daemon: Any, project: dict[str, Any]) -> None:
    """Adoption is not queued behind the kill of a stray agent: an agent that ignores SIGHUP takes
    the kill's grace period to die, and until the adoption the API called the adopted task's live
    agent dead (``running: false``) and refused its input."""
    daemon.stop()
    daemon.env["FAKEAGENT_IGNORE_HUP"] = "1"  # the stray survives the SIGHUP: its kill waits the grace
    daemon.start()
    c = daemon.client
    stray = create_task(c, project["name"], "stray agent")  # spawned first: listed first at start-up
    stray_pid = wait_for(lambda: task(c, stray["id"])["pid"], what="the stray agent's pid")
    t = create_task(c, project["name"], "adopt me")
    pid = wait_for(lambda: task(c, t["id"])["pid"], what="the agent's pid")
    session = task(c, t["id"])["session_id"]
    wait_for(lambda: "> " in c.get(f"/api/tasks/{t['id']}/output").text, what="the agent's prompt")
    daemon.stop()
    with _db(daemon) as db:
        db.execute("DELETE FROM tasks WHERE id = ?", (stray["id"],))  # an agent no task knows
        db.execute("UPDATE tasks SET session_id = NULL, status = 'pending', started_at = NULL WHERE id = ?",
                   (t["id"],))  # the spawn happened, the row update did not
    daemon.start()
    c = daemon.client
    got = task(c, t["id"])  # the first answer after the restart
    assert got["running"] and got["session_id"] == session and got["pid"] == pid, got
    resp = c.post(f"/api/tasks/{t['id']}/input", content=b"adopted-echo",
                  headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code < 300, resp.text
    wait_for(lambda: "adopted-echo" in c.get(f"/api/tasks/{t['id']}/output").text, what="the input echoed")
    wait_for(lambda: not _alive(stray_pid), what="the stray agent killed")
