"""The keystroke path: ``POST /api/tasks/{id}/input`` finds the task's session from memory (no
SQLite read per key), and what it remembers follows the task (stop, resume, delete); keys typed
fast arrive in order through the daemon and the supervisor."""

from __future__ import annotations

from typing import Any

from argus_testkit import Daemon, wait_for
from test_tasks_api import agent_env, create_task, get_task, pid_alive, send, wait_idle, wait_output

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


def test_input_follows_the_task_through_stop_resume_and_delete(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="typist")
    tid = t["id"]
    wait_idle(c, tid)
    send(c, tid, "first words")  # the task's session is remembered from here on
    wait_output(c, tid, "first words")

    pid = get_task(c, tid)["pid"]
    assert c.post(f"/api/tasks/{tid}/stop").status_code == 200
    wait_for(lambda: not pid_alive(pid), 15, what="the stopped agent to be gone")
    resp = c.post(f"/api/tasks/{tid}/input", json={"data": "x"})
    assert resp.status_code == 409 and "not running" in resp.json()["error"]

    resumed = c.post(f"/api/tasks/{tid}/resume").json()["task"]
    assert resumed["session_id"] != t["session_id"]
    wait_idle(c, tid)
    send(c, tid, "after resume")  # reaches the new session, not the remembered old one
    wait_output(c, tid, "after resume")

    assert c.delete(f"/api/tasks/{tid}", params={"force": 1}).status_code == 200
    resp = c.post(f"/api/tasks/{tid}/input", json={"data": "x"})
    assert resp.status_code == 404 and "error" in resp.json()


def test_a_burst_of_keys_arrives_in_order(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="burst")
    tid = t["id"]
    wait_idle(c, tid)
    keys = "".join(chr(ord("a") + i % 26) for i in range(300))
    for key in keys:  # one request per key, as fast as they go
        resp = c.post(f"/api/tasks/{tid}/input", content=key.encode(),
                      headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 200, resp.text
    send(c, tid, "\r")
    wait_output(c, tid, f"you said: {keys}")
