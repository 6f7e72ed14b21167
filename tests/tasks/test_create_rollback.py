"""Task creation is a transaction: a failure at any step leaves nothing behind — no task row, no
worktree, no branch, no run directory, no ``.context`` upload, no agent process.

Faults are injected by the daemon itself (env ``ARGUS_FAULT_INJECT=<step>``, see ``_checkpoint``
in ``plugins/tasks/service.py``); a real failure (a base branch that does not exist) is checked too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argus_testkit import Daemon, make_repo, run_git, wait_for
from test_tasks_api import (
    PROJECT,
    agent_env,
    argus_branches,
    launches,
    pid_alive,
    supervisor_sessions,
    wait_idle,
    worktrees,
)

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)

STEPS = ["insert", "worktree", "worktreeinclude", "context", "hooks", "spawn", "started"]


def repo_with_include(path: Path) -> Path:
    """A repository whose ignored ``.env`` is copied into worktrees by ``.worktreeinclude``."""
    repo = make_repo(path)
    (repo / ".worktreeinclude").write_text(".env\n")
    run_git(repo, "add", ".worktreeinclude")
    run_git(repo, "commit", "-q", "-m", "include .env")
    (repo / ".env").write_text("SECRET=1\n")
    return repo


def create_with_files(d: Daemon, **fields: str) -> Any:
    """A multipart create with two attachments (so the context step has work to undo)."""
    return d.client.post("/api/tasks", data={"project": PROJECT, "prompt": "roll me back", **fields},
                         files=[("files", ("a.txt", b"alpha")), ("files", ("b.txt", b"beta"))])


def assert_nothing_left(d: Daemon, repo: Path, record: Path) -> None:
    """No row, worktree, branch, run dir or live agent remains after a failed create."""
    c = d.client
    assert c.get("/api/tasks", params={"archived": "all"}).json() == {"tasks": []}
    assert c.get("/api/status").json()["tasks"] == {"pending": 0, "in_progress": 0, "in_review": 0, "complete": 0,
                                                 "limit": 0}
    project_dir = d.home / "worktrees" / PROJECT
    assert not project_dir.exists() or list(project_dir.iterdir()) == []
    assert argus_branches(repo) == []
    assert worktrees(repo) == [str(repo)]
    assert run_git(repo, "worktree", "prune", "--dry-run", "-v") == ""
    run_dir = d.home / "run"
    assert not run_dir.exists() or [p.name for p in run_dir.iterdir() if p.name.startswith("t_")] == []
    # Every session the supervisor knows has exited, and every agent that started is gone.
    sessions = supervisor_sessions(d.home)
    assert all(s["exited"] for s in sessions), sessions
    for s in sessions:
        wait_for(lambda s=s: not pid_alive(s["pid"]), 15, what=f"session pid {s['pid']} to be gone")
    for launch in launches(record):
        wait_for(lambda launch=launch: not pid_alive(launch["pid"]), 15, what=f"agent {launch['pid']} to be gone")


@pytest.mark.parametrize("step", STEPS)
def test_fault_at_each_creation_step_leaves_nothing(daemon_factory: Any, tmp_path: Path, agent_env: Path,
                                                    step: str) -> None:
    d: Daemon = daemon_factory(step, env={"ARGUS_FAULT_INJECT": step})
    repo = repo_with_include(tmp_path / "repo")
    assert d.client.post("/api/projects", json={"name": PROJECT, "path": str(repo)}).status_code == 201

    resp = create_with_files(d, backend="claude")
    assert resp.status_code == 500, resp.text
    assert "error" in resp.json()
    assert_nothing_left(d, repo, agent_env)
    # even an agent that was spawned (step "started") is killed and its session forgotten
    assert supervisor_sessions(d.home) == []
    # the daemon is healthy and the same name is free again (a second attempt fails the same way)
    assert d.client.get("/api/status").status_code == 200
    assert create_with_files(d, backend="claude", name="roll me back").status_code == 500
    assert_nothing_left(d, repo, agent_env)


def test_real_failure_in_worktree_step_rolls_back(daemon: Daemon, tmp_path: Path, agent_env: Path) -> None:
    repo = repo_with_include(tmp_path / "repo2")
    assert daemon.client.post("/api/projects", json={"name": PROJECT, "path": str(repo)}).status_code == 201
    resp = create_with_files(daemon, base_branch="no-such-branch")
    assert 400 <= resp.status_code < 500, resp.text
    assert "no-such-branch" in resp.json()["error"]
    assert_nothing_left(daemon, repo, agent_env)
    # and a good create afterwards works and copies the included file
    ok = create_with_files(daemon, name="after failure")
    assert ok.status_code == 201, ok.text
    task = ok.json()["task"]
    assert task["slug"] == "after-failure"
    wt = Path(task["worktree_path"])
    assert (wt / ".env").read_text() == "SECRET=1\n"
    assert (wt / ".context" / "a.txt").read_bytes() == b"alpha"
    wait_idle(daemon.client, task["id"])


def test_rollback_after_spawn_leaves_no_session_record_or_log(daemon_factory: Any, tmp_path: Path) -> None:
    d: Daemon = daemon_factory("started-log", env={"ARGUS_FAULT_INJECT": "started"})
    repo = make_repo(tmp_path / "repo3")
    assert d.client.post("/api/projects", json={"name": PROJECT, "path": str(repo)}).status_code == 201
    assert d.client.post("/api/tasks", json={"project": PROJECT, "prompt": "x"}).status_code == 500
    assert sorted(p.name for p in (d.home / "sessions").glob("*.log")) == []
    assert supervisor_sessions(d.home) == []
