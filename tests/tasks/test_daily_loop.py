"""Issue fixes of the daily loop on the tasks side: stop keeps a complete task complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argus_testkit import Daemon, wait_for
from test_tasks_api import agent_env, create_task, get_task, pid_alive, wait_idle

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


def test_stop_and_stop_all_keep_complete(daemon: Daemon, project: dict[str, Any], agent_env: Path) -> None:
    c = daemon.client
    done = create_task(c, name="finished")
    busy = create_task(c, name="still working")
    for t in (done, busy):
        wait_idle(c, t["id"])
    # the user marks one complete while its agent still runs
    assert c.post(f"/api/tasks/{done['id']}/status", json={"status": "complete"}).json()["task"]["status"] \
        == "complete"
    pid = get_task(c, done["id"])["pid"]
    stopped = c.post(f"/api/tasks/{done['id']}/stop").json()["task"]
    assert stopped["status"] == "complete" and not stopped["running"]
    wait_for(lambda: not pid_alive(pid), 15, what="the stopped agent to be gone")
    assert get_task(c, done["id"])["status"] == "complete"  # the exit did not move it either

    # stop-all: a complete running task stays complete, a working one goes to review
    resumed = c.post(f"/api/tasks/{done['id']}/resume").json()["task"]
    assert resumed["running"]
    wait_idle(c, done["id"])
    c.post(f"/api/tasks/{done['id']}/status", json={"status": "complete"})
    res = c.post("/api/sessions/stop-all")
    assert res.status_code == 200 and set(res.json()["stopped"]) == {done["id"], busy["id"]}
    assert get_task(c, done["id"])["status"] == "complete"
    assert get_task(c, busy["id"])["status"] == "in_review"
