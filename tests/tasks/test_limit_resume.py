"""Resume when a usage limit resets, end to end: a real daemon, the fake agent on a real PTY.

The fake agent's ``/limit S`` prints a usage-limit message (Claude Code's wording, or Codex's as
``codex``) whose reset is S seconds ahead, then waits for input. The task goes to ``limit`` with the
reset time; after it (plus ``[limits] resume_margin``, 1 s here) the session receives the continue
message as one typed line and the task is ``in_progress`` again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from argus_testkit import Daemon
from orch_helpers import call, call_error, mcp_session
from test_tasks_api import (
    agent_env,
    create_task,
    events_until,
    get_task,
    output,
    send,
    wait_idle,
    wait_output,
    wait_task,
)

__all__ = ["agent_env"]  # the autouse fixture (short busy phases)

MARGIN = 1
CONTINUE = "please carry on"


def ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture
def limits(daemon: Daemon, project: dict[str, Any]) -> httpx.Client:
    """A daemon whose resumes come 1 s after the reset and type ``CONTINUE``."""
    c = daemon.client
    resp = c.put("/api/settings", json={"limits": {"resume_margin": MARGIN, "continue_message": CONTINUE}})
    assert resp.status_code == 200, resp.text
    return c


def hit_limit(c: httpx.Client, task_id: str, seconds: int) -> dict[str, Any]:
    """Make the agent print its usage-limit message; return the task once it is in ``limit``."""
    wait_idle(c, task_id)
    before = datetime.now(UTC).replace(microsecond=0)
    send(c, task_id, f"/limit {seconds}\r")
    task = wait_task(c, task_id, lambda t: t["status"] == "limit", "status limit")
    resets = ts(task["limit_resets_at"])
    assert before <= resets <= before + timedelta(seconds=seconds + 2), task
    assert ts(task["limit_resume_at"]) == resets + timedelta(seconds=MARGIN)
    assert task["display_status"] == "limit" and task["idle"] is False
    return task


def continued(c: httpx.Client, task_id: str, timeout: float = 40.0) -> dict[str, Any]:
    """Wait until the agent received the continue message; return the task once it is in_progress."""
    wait_output(c, task_id, f"you said: {CONTINUE}", timeout=timeout)
    task = wait_task(c, task_id, lambda t: t["status"] == "in_progress", "in_progress again")
    assert task["limit_resets_at"] is None and task["limit_resume_at"] is None
    return task


@pytest.mark.parametrize("backend", ["claude", "codex"])
def test_limit_message_marks_the_task_and_the_session_gets_the_continue_message_after_the_reset(
        limits: httpx.Client, backend: str) -> None:
    c = limits
    t = create_task(c, prompt="work until the limit", backend=backend)
    limited = hit_limit(c, t["id"], 4)
    event = events_until(c, lambda e: e["event"] == "task.limit" and e["data"]["data"]["id"] == t["id"],
                         what="task.limit")["data"]["data"]
    assert event["resets_at"] == limited["limit_resets_at"] and "limit" in event["message"]
    assert [x["id"] for x in c.get("/api/tasks", params={"status": "limit"}).json()["tasks"]] == [t["id"]]
    assert c.get("/api/status").json()["tasks"]["limit"] == 1
    assert f"you said: {CONTINUE}" not in output(c, t["id"])  # not before the reset
    continued(c, t["id"])
    resumed = events_until(c, lambda e: e["event"] == "task.limit_resumed" and e["data"]["data"]["id"] == t["id"],
                           what="task.limit_resumed")["data"]["data"]
    assert resumed["resumed"] is False and resumed["text"] == CONTINUE
    # one line, typed once: the agent answers it like any prompt and waits again
    wait_idle(c, t["id"])
    assert output(c, t["id"]).count(f"you said: {CONTINUE}") == 1


def test_cancelled_plan_types_nothing(limits: httpx.Client) -> None:
    c = limits
    cancelled = create_task(c, name="cancelled", backend="claude")
    kept = create_task(c, name="kept", backend="claude")
    hit_limit(c, cancelled["id"], 3)
    resp = c.delete(f"/api/tasks/{cancelled['id']}/limit-resume")
    assert resp.status_code == 200, resp.text
    task = resp.json()["task"]
    assert task["status"] == "in_progress" and task["limit_resets_at"] is None and task["idle"] is True
    # a second cancel has nothing to cancel
    again = c.delete(f"/api/tasks/{cancelled['id']}/limit-resume")
    assert again.status_code == 404 and "no planned limit resume" in again.json()["error"]
    # the other task's plan resumes later than the cancelled one would have: once it has fired, the
    # cancelled one's time has passed too
    hit_limit(c, kept["id"], 5)
    continued(c, kept["id"])
    assert f"you said: {CONTINUE}" not in output(c, cancelled["id"])
    assert get_task(c, cancelled["id"])["status"] == "in_progress"


def test_stopping_the_task_cancels_the_plan(limits: httpx.Client) -> None:
    c = limits
    t = create_task(c, name="stopped", backend="claude")
    hit_limit(c, t["id"], 60)
    resp = c.post(f"/api/tasks/{t['id']}/stop")
    assert resp.status_code == 200, resp.text
    stopped = resp.json()["task"]
    assert stopped["status"] == "in_review" and stopped["limit_resets_at"] is None
    event = events_until(c, lambda e: e["event"] == "task.limit_cancelled" and e["data"]["data"]["id"] == t["id"],
                         what="task.limit_cancelled")["data"]["data"]
    assert event["reason"] == "status in_review"
    assert c.delete(f"/api/tasks/{t['id']}/limit-resume").status_code == 404


def test_a_daemon_restart_before_the_reset_keeps_the_plan(daemon: Daemon, limits: httpx.Client) -> None:
    t = create_task(limits, name="survivor", backend="claude")
    limited = hit_limit(limits, t["id"], 25)  # room for a slow restart on a loaded machine
    daemon.restart()  # the agent keeps running under the session-supervisor
    c = daemon.client
    after = get_task(c, t["id"])
    assert after["status"] == "limit" and after["running"] is True, (after, datetime.now(UTC))
    assert after["limit_resets_at"] == limited["limit_resets_at"]
    continued(c, t["id"])
    wait_idle(c, t["id"])  # the re-attached watcher sees the agent wait again


def test_an_exited_agent_is_resumed_then_gets_the_continue_message(limits: httpx.Client) -> None:
    c = limits
    t = create_task(c, name="quitter", prompt="work", backend="claude")
    hit_limit(c, t["id"], 6)
    first_session = get_task(c, t["id"])["session_id"]
    send(c, t["id"], "/exit 0\r")
    gone = wait_task(c, t["id"], lambda x: not x["running"], "the agent to exit")
    assert gone["status"] == "limit" and gone["limit_resets_at"] is not None  # the plan waits for the reset
    back = continued(c, t["id"])
    assert back["running"] is True and back["session_id"] != first_session
    text = output(c, t["id"])
    assert "resumed session" in text and text.index("resumed session") < text.index(f"you said: {CONTINUE}")
    resumed = events_until(c, lambda e: e["event"] == "task.limit_resumed" and e["data"]["data"]["id"] == t["id"],
                           what="task.limit_resumed")["data"]["data"]
    assert resumed["resumed"] is True


def test_bad_input(limits: httpx.Client) -> None:
    c = limits
    t = create_task(c, name="plain", backend="claude")
    resp = c.delete(f"/api/tasks/{t['id']}/limit-resume")
    assert resp.status_code == 404 and resp.json()["error"]
    resp = c.delete("/api/tasks/t_nothere/limit-resume")
    assert resp.status_code == 404 and resp.json()["error"]
    resp = c.post(f"/api/tasks/{t['id']}/status", json={"status": "limit"})  # only detection sets it
    assert resp.status_code == 400 and resp.json()["error"]
    resp = c.get("/api/tasks", params={"status": "limited"})
    assert resp.status_code == 400 and resp.json()["error"]
    for bad in ({"resume_margin": -1}, {"resume_margin": "soon"}, {"resume_margin": 10**6}):
        resp = c.put("/api/settings", json={"limits": bad})
        assert resp.status_code == 400 and resp.json()["error"], (bad, resp.text)


async def test_mcp_tool_cancels_the_plan(daemon: Daemon, limits: httpx.Client) -> None:
    c = limits
    plain = create_task(c, name="plain", backend="claude")
    t = create_task(c, name="by-mcp", backend="claude")
    hit_limit(c, t["id"], 60)
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        err = await call_error(s, "task_limit_cancel", {"id": plain["id"]})
        assert "no planned limit resume" in err
        got = await call(s, "task_limit_cancel", {"cwd": t["worktree_path"]})
    assert got["task"]["status"] == "in_progress" and got["task"]["limit_resume_at"] is None
    assert get_task(c, t["id"])["limit_resets_at"] is None
