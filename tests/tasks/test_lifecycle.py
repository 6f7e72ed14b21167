"""A task's whole life against a real daemon: worktree and branch, streamed output, typed input,
idle, stop, resume, and how the agent's exit (clean, non-zero, crash, lost) sets the status.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import Daemon, run_git, stop_supervisor_in, wait_for
from test_tasks_api import (
    agent_env,
    argus_branches,
    create_task,
    events_until,
    get_task,
    nth_launch,
    pid_alive,
    read_sse,
    send,
    stream_bytes,
    wait_idle,
    wait_output,
    wait_task,
    worktrees,
)

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


def test_full_lifecycle_create_stream_input_idle_stop_resume_complete(
        daemon: Daemon, project: dict[str, Any], agent_env: Path) -> None:
    c = daemon.client
    repo = project["path"]
    t = create_task(c, prompt="Fix the login bug", backend="claude")
    tid = t["id"]
    assert t["status"] == "in_progress" and t["running"] and t["pid"]
    assert t["slug"] == "fix-login-bug" and t["branch"] == "argus/fix-login-bug"

    # worktree + branch
    wt = Path(t["worktree_path"])
    assert wt.is_dir() and wt.parent == daemon.home / "worktrees" / "demo-proj"
    assert argus_branches(repo) == [t["branch"]]
    assert worktrees(repo) == [str(repo), str(wt)]
    assert run_git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == t["branch"]
    assert run_git(wt, "rev-parse", "HEAD") == run_git(repo, "rev-parse", "main")
    assert nth_launch(agent_env, 1)["cwd"] == str(wt)

    # output streams: from offset 0 the stream carries the banner, the prompt and the work
    messages = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": 0},
                        until=lambda ms: b"? for shortcuts" in stream_bytes(ms), what="the agent's prompt")
    assert messages[0]["event"] == "session" and messages[0]["data"]["session_id"] == t["session_id"]
    assert messages[0]["data"]["offset"] == 0
    data = stream_bytes(messages)
    assert data.startswith("✻ Argus demo agent (claude)".encode())
    assert b"> Fix the login bug" in data and b"esc to interrupt" in data

    # idle flagged: task.idle on the bus and idle: true on the task
    event = events_until(c, lambda e: e.get("event") == "task.idle" and e["data"]["data"]["id"] == tid,
                         what="task.idle")
    assert event["data"]["type"] == "task.idle"
    idle = wait_idle(c, tid)
    assert idle["status"] == "in_progress" and idle["display_status"] == "in_review"
    assert (wt / "ARGUS_DEMO.md").read_text().count("Fix the login bug") == 1

    # input echoes on the stream (the agent echoes each key itself)
    # The fake claude runs its Stop command hook (a Python subprocess) after drawing the prompt
    # and before reading keys, so the echo of a first key proves that hook has reported.
    end = int(messages[-1]["id"])
    send(c, tid, "h")
    echoed = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": end},
                      until=lambda ms: stream_bytes(ms).endswith(b"h"), what="the echo of 'h'")
    assert stream_bytes(echoed).startswith(b"h")  # exactly what followed `end`, nothing older
    send(c, tid, "ello agent")
    read_sse(c, f"/api/tasks/{tid}/stream", params={"since": int(echoed[-1]["id"])},
             until=lambda ms: stream_bytes(ms) == b"ello agent", what="the echo")
    assert get_task(c, tid)["idle"] is False  # typing clears the idle flag
    send(c, tid, "\r")
    wait_output(c, tid, "you said: hello agent")
    wait_output(c, tid, "I heard: hello agent")
    wait_idle(c, tid)

    # stop → in_review; the agent is gone
    pid = get_task(c, tid)["pid"]
    stopped = c.post(f"/api/tasks/{tid}/stop").json()["task"]
    assert stopped["status"] == "in_review" and not stopped["running"] and stopped["idle"] is False
    wait_for(lambda: not pid_alive(pid), 15, what="the stopped agent to be gone")
    assert c.post(f"/api/tasks/{tid}/input", json={"data": "x"}).status_code == 409
    assert c.post(f"/api/tasks/{tid}/stop").json()["task"]["status"] == "in_review"  # idempotent

    # resume → in_progress with the same conversation (--resume <agent session id>)
    resumed = c.post(f"/api/tasks/{tid}/resume").json()["task"]
    assert resumed["status"] == "in_progress" and resumed["running"]
    assert resumed["session_id"] != t["session_id"] and resumed["pid"] != pid
    assert c.post(f"/api/tasks/{tid}/resume").status_code == 409  # already running
    last = nth_launch(agent_env, 2)
    assert last["resume"] == t["agent_session_id"] and last["prompt"] == ""
    wait_output(c, tid, f"resumed session {t['agent_session_id']}")
    wait_idle(c, tid)

    # /exit → exit code 0 → complete
    send(c, tid, "/exit\r")
    done = wait_task(c, tid, lambda x: x["status"] == "complete", "complete after /exit")
    assert done["exit_code"] == 0 and not done["running"] and done["ended_at"]
    final = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": 0},
                     until=lambda ms: ms[-1]["event"] == "exit", what="the exit message")
    assert final[-1]["data"]["code"] == 0
    assert final[-1]["data"]["end_offset"] == len(stream_bytes(final))
    assert b"you said: /exit" in stream_bytes(final)
    # completing keeps the worktree and branch (deleting/pruning removes them)
    assert wt.is_dir() and argus_branches(repo) == [t["branch"]]


@pytest.mark.parametrize(("command", "code"), [("/exit 3", 3), ("/crash", 1)])
def test_failed_exit_goes_to_review(daemon: Daemon, project: dict[str, Any], command: str, code: int) -> None:
    c = daemon.client
    t = create_task(c, name="will fail")
    wait_idle(c, t["id"])
    send(c, t["id"], command + "\r")
    done = wait_task(c, t["id"], lambda x: not x["running"], "the agent to exit")
    assert done["status"] == "in_review" and done["exit_code"] == code
    if command == "/crash":
        wait_output(c, t["id"], "RuntimeError: demo agent crashed on purpose")


def test_restart_respawns_then_ctrl_d_completes(daemon: Daemon, project: dict[str, Any], agent_env: Path) -> None:
    c = daemon.client
    t = create_task(c, name="restartable")
    wait_idle(c, t["id"])
    # restart kills the live session and starts a resumed one in the same worktree
    restarted = c.post(f"/api/tasks/{t['id']}/restart").json()["task"]
    assert restarted["session_id"] != t["session_id"] and restarted["status"] == "in_progress"
    assert nth_launch(agent_env, 2)["resume"] == t["agent_session_id"]
    wait_idle(c, t["id"])
    # the replaced session's exit does not change the status (it was stopped on purpose)
    assert get_task(c, t["id"])["status"] == "in_progress"
    send(c, t["id"], "\x04")  # Ctrl-D on an empty line: a clean exit
    done = wait_task(c, t["id"], lambda x: x["status"] == "complete", "complete after Ctrl-D")
    assert done["exit_code"] == 0


def test_agent_killed_while_daemon_down_goes_to_review(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="orphan")
    wait_idle(c, t["id"])
    pid = get_task(c, t["id"])["pid"]
    daemon.stop()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 15, what="the agent to die")
    daemon.start()
    after = wait_task(daemon.client, t["id"], lambda x: x["status"] != "in_progress", "recovery")
    assert after["status"] == "in_review" and not after["running"]


def test_session_gone_with_supervisor_goes_to_review(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="lost")
    wait_idle(c, t["id"])
    pid = get_task(c, t["id"])["pid"]
    daemon.kill9()
    stop_supervisor_in(daemon.home)  # the supervisor and its agents are gone: the session is lost
    wait_for(lambda: not pid_alive(pid), 15, what="the agent to die")
    daemon.start()
    after = get_task(daemon.client, t["id"])
    assert after["status"] == "in_review" and not after["running"] and after["idle"] is False
    # it can be resumed in the same worktree
    resumed = daemon.client.post(f"/api/tasks/{t['id']}/resume").json()["task"]
    assert resumed["status"] == "in_progress" and resumed["running"]
    wait_idle(daemon.client, t["id"])


def test_agent_keeps_running_across_daemon_restart(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="survivor")
    wait_idle(c, t["id"])
    pid = get_task(c, t["id"])["pid"]
    daemon.restart()
    c = daemon.client
    after = get_task(c, t["id"])
    assert after["status"] == "in_progress" and after["running"] and after["pid"] == pid
    send(c, t["id"], "still there?\r")
    wait_output(c, t["id"], "you said: still there?")
    # the idle watcher was re-attached: the next prompt is flagged again
    wait_idle(c, t["id"])
