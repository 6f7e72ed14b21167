"""The "conflicts with" mark on real repositories: live tasks whose changed files (commits against
the base and uncommitted work) overlap each other's carry ``conflicts_with`` in their Task JSON;
a task changing other files carries none; deleting one task clears the mark of the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import Daemon, run_git, wait_for
from test_tasks_api import agent_env, create_task, get_task, send, wait_idle

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


@pytest.fixture
def quiet_daemon(argus_home: Path, git_repo: Path) -> Iterator[Daemon]:
    """A daemon whose fake agents edit nothing (the test decides which files each task changes)."""
    d = Daemon(argus_home, env={"FAKEAGENT_NO_EDIT": "1"})
    try:
        d.start()
        resp = d.client.post("/api/projects", json={"name": "demo-proj", "path": str(git_repo)})
        assert resp.status_code in (200, 201), resp.text
        yield d
    finally:
        d.cleanup()


def _marks(c: Any, *ids: str) -> list[list[str]]:
    return [get_task(c, tid)["conflicts_with"] for tid in ids]


def _turn(c: Any, tid: str) -> None:
    """One more turn of the agent (it goes idle again afterwards: the mark is recomputed then)."""
    send(c, tid, "carry on\r")


def test_overlapping_tasks_mark_each_other_until_one_is_deleted(quiet_daemon: Daemon) -> None:
    c = quiet_daemon.client
    a, b, third = (create_task(c, name=n, prompt=f"work on {n}") for n in ("alpha", "beta", "gamma"))
    for t in (a, b, third):
        wait_idle(c, t["id"])
    assert _marks(c, a["id"], b["id"], third["id"]) == [[], [], []]

    # alpha edits shared.txt without committing; beta commits its own shared.txt; gamma another file
    (Path(a["worktree_path"]) / "shared.txt").write_text("alpha's version\n")
    wt_b = Path(b["worktree_path"])
    (wt_b / "shared.txt").write_text("beta's version\n")
    run_git(wt_b, "add", "shared.txt")
    run_git(wt_b, "commit", "-q", "-m", "beta work")
    (Path(third["worktree_path"]) / "other.txt").write_text("gamma\n")
    for t in (a, b, third):
        _turn(c, t["id"])

    wait_for(lambda: _marks(c, a["id"], b["id"]) == [[b["id"]], [a["id"]]], 30,
             what="alpha and beta to mark each other")
    assert get_task(c, third["id"])["conflicts_with"] == []
    listed = {t["id"]: t for t in c.get("/api/tasks").json()["tasks"]}
    assert listed[a["id"]]["conflicts_with"] == [b["id"]]

    assert c.delete(f"/api/tasks/{b['id']}", params={"force": 1}).status_code in (200, 204)
    wait_for(lambda: get_task(c, a["id"])["conflicts_with"] == [], 30, what="alpha's mark to go")
    assert get_task(c, third["id"])["conflicts_with"] == []


def test_a_completed_task_takes_no_part(quiet_daemon: Daemon) -> None:
    c = quiet_daemon.client
    a, b = (create_task(c, name=n, prompt=f"work on {n}") for n in ("one", "two"))
    for t in (a, b):
        wait_idle(c, t["id"])
        (Path(t["worktree_path"]) / "same.txt").write_text(t["id"])
        _turn(c, t["id"])
    wait_for(lambda: _marks(c, a["id"], b["id"]) == [[b["id"]], [a["id"]]], 30, what="the marks")

    assert c.post(f"/api/tasks/{b['id']}/status", json={"status": "complete"}).status_code == 200
    wait_for(lambda: _marks(c, a["id"], b["id"]) == [[], []], 30, what="the marks to go")
