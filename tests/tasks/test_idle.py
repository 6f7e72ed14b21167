"""Idle detection end to end: the agent's hooks and the screen rule flag "waiting for input"
(``idle: true`` on the task, ``task.idle`` on the event bus); typing and busy phases clear it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from argus_testkit import Daemon
from test_tasks_api import (
    agent_env,
    create_task,
    events_until,
    get_task,
    read_sse,
    send,
    wait_idle,
    wait_output,
    wait_task,
)

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


def last_event_id(daemon: Daemon) -> int:
    """The id of the newest event on the bus: a cursor from the future gets a ``resync`` naming it."""
    msgs = read_sse(daemon.client, "/api/events/stream", lambda ms: True, params={"since": 10**15})
    assert msgs[0]["event"] == "resync"
    return int(msgs[0]["data"]["id"])


def idle_event(daemon: Daemon, task_id: str, since: int = 0) -> dict[str, Any]:
    """The first ``task.idle`` of ``task_id`` after event ``since``; returns the event envelope."""
    msg = events_until(daemon.client, lambda e: e.get("event") == "task.idle" and e["data"]["data"]["id"] == task_id,
                       since=since, what=f"task.idle for {task_id}")
    return msg["data"]


@pytest.mark.parametrize("backend", ["claude", "codex", "pi", "demo"])
def test_each_backend_is_flagged_idle_at_its_prompt(daemon: Daemon, project: dict[str, Any], backend: str) -> None:
    c = daemon.client
    t = create_task(c, prompt="look around", backend=backend)
    event = idle_event(daemon, t["id"])
    assert event["type"] == "task.idle" and event["data"]["reason"]
    # (under load the hook can overtake the last busy-spinner bytes, which briefly clear the flag
    # again before the screen rule restores it: wait for the settled state)
    task = wait_idle(c, t["id"])
    assert task["status"] == "in_progress" and task["display_status"] == "in_review"
    assert "Waiting for you." in wait_output(c, t["id"], "? for shortcuts")
    ids = {x["id"] for x in c.get("/api/tasks", params={"status": "idle"}).json()["tasks"]}
    assert ids == {t["id"]}
    assert c.get("/api/status").json()["sessions"] == {"running": 0, "idle": 1}


def test_screen_rule_alone_flags_idle(daemon: Daemon, project: dict[str, Any]) -> None:
    """A CLI without hooks: only the output (quiet after a prompt) says it waits."""
    c = daemon.client
    resp = c.post("/api/backends", json={"name": "nohooks", "command": "env -u ARGUS_HOOK_URL fakeagent"})
    assert resp.status_code == 201, resp.text
    t = create_task(c, prompt="no hooks here", backend="nohooks")
    session_idle = events_until(
        c, lambda e: e.get("event") == "session.idle" and e["data"]["data"]["task_id"] == t["id"],
        what="session.idle")
    assert session_idle["data"]["data"]["reason"] == "screen:prompt"
    wait_idle(c, t["id"])
    # busy output clears it, the next prompt sets it again
    since = last_event_id(daemon)
    send(c, t["id"], "/sleep 1\r")
    busy = events_until(c, lambda e: e.get("event") == "session.busy" and e["data"]["data"]["task_id"] == t["id"],
                        since=since, what="session.busy")
    # whichever comes first: the daemon noting the input, or the agent's busy spinner
    assert busy["data"]["data"]["reason"] in ("input", "screen:busy")
    again = idle_event(daemon, t["id"], since=int(busy["id"]))
    assert again["data"]["reason"] == "screen:prompt"


def test_typing_clears_idle_and_the_next_turn_sets_it(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="chatty", backend="demo")  # demo: hooks only through ARGUS_HOOK_URL
    tid = t["id"]
    first = idle_event(daemon, tid)
    wait_idle(c, tid)
    since = last_event_id(daemon)
    send(c, tid, "partial inp")
    cleared = events_until(c, lambda e: e.get("event") == "task.updated" and e["data"]["data"]["task"]["id"] == tid
                           and e["data"]["data"]["task"]["idle"] is False, since=since, what="idle cleared")
    assert cleared["data"]["data"]["task"]["display_status"] == "in_progress"
    wait_output(c, tid, "> partial inp")
    assert get_task(c, tid)["idle"] is False  # half-typed input is not "waiting for you"
    send(c, tid, "ut\r")
    wait_output(c, tid, "I heard: partial input")
    second = idle_event(daemon, tid, since=int(cleared["id"]))
    assert second["id"] > first["id"]
    assert get_task(c, tid)["idle"] is True


def test_busy_agent_is_not_idle(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="sleeper")
    tid = t["id"]
    wait_idle(c, tid)
    send(c, tid, "/sleep 60\r")
    wait_output(c, tid, "esc to interrupt")
    busy = wait_task(c, tid, lambda x: not x["idle"], "not idle while busy")
    assert busy["display_status"] == "in_progress"
    assert c.get("/api/status").json()["sessions"] == {"running": 1, "idle": 0}
    send(c, tid, "\x1b")  # ESC interrupts the busy phase
    wait_output(c, tid, "[interrupted]")
    wait_idle(c, tid)


def test_stopped_and_finished_tasks_are_not_idle(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="quitter")
    wait_idle(c, t["id"])
    send(c, t["id"], "/exit\r")
    done = wait_task(c, t["id"], lambda x: x["status"] == "complete", "complete")
    assert done["idle"] is False and done["display_status"] == "complete"
    assert c.get("/api/status").json()["sessions"] == {"running": 0, "idle": 0}


def test_agent_hook_endpoint_authenticates_by_task_token(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="hooked")
    wait_idle(c, t["id"])
    url = f"http://127.0.0.1:{daemon.mcp_port}/api/agent/hook"
    body = {"event": "Stop", "task_id": t["id"]}
    assert httpx.post(url, json=body).status_code == 401  # no token
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {daemon.token}"}).status_code == 200
    assert httpx.post(url, json={"event": "Stop"}, headers={"Authorization": f"Bearer {daemon.token}"}
                      ).status_code == 400
    # the API port serves the same route
    assert c.post("/api/agent/hook", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
