"""Killing the session-supervisor: agents (even ones that ignore SIGHUP) are taken down with it,
the API stops saying "running" at once, and the interrupted tasks resume when a supervisor is back
(unless ``defaults.resume_interrupted`` is off).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.pidlock import pid_alive as _alive
from argus_testkit import Daemon, wait_for
from orch_helpers import FAST_AGENT, create_task, task


def _supervisor_pid(home: Path) -> int:
    return int((home / "supervisor.pid").read_text().strip())


@pytest.mark.parametrize("resume", [True, False])
def test_agents_die_with_the_supervisor_and_resume(daemon_factory: Any, git_repo: Path, resume: bool) -> None:
    d: Daemon = daemon_factory("supdeath", env=FAST_AGENT, start=False)
    if not resume:
        (d.home / "config.toml").write_text("[defaults]\nresume_interrupted = false\n")
    d.start()
    c = d.client
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    # an agent that ignores SIGHUP and never touches its terminal: it outlives a closed PTY
    stubborn = {"name": "stubborn", "command": "bash -c \"trap '' HUP; exec sleep 600\""}
    assert c.post("/api/backends", json=stubborn).status_code == 201
    t = create_task(c, "p", "stubborn", backend="stubborn")
    first = wait_for(lambda: (x := task(c, t["id"]))["pid"] and x, what="the agent running")
    pid, session = first["pid"], first["session_id"]
    try:
        _kill_and_check(d, c, t, pid, session, resume)
    finally:  # leave no agent behind, whatever happened
        for group in (pid, *([task(d.client, t["id"])["pid"] or 0] if d.proc and d.proc.poll() is None else [])):
            if group and _alive(group):
                os.killpg(group, signal.SIGKILL)


def _kill_and_check(d: Daemon, c: Any, t: dict[str, Any], pid: int, session: str, resume: bool) -> None:
    os.kill(_supervisor_pid(d.home), signal.SIGKILL)
    gone = wait_for(lambda: ((x := task(c, t["id"]))["session_id"] != session or not x["running"]) and x, 10,
                    what="the API noticing the lost agent")
    assert gone["session_id"] != session or gone["status"] == "in_review"
    wait_for(lambda: not _alive(pid), 15, what="the SIGHUP-ignoring agent taken down")
    if resume:
        again = wait_for(lambda: (x := task(c, t["id"]))["running"] and x["session_id"] != session and x, 60,
                         what="the task resumed under a new supervisor")
        assert again["status"] == "in_progress" and again["pid"] != pid and _alive(again["pid"])
    else:
        after = wait_for(lambda: (x := task(c, t["id"]))["status"] == "in_review" and x, 15,
                         what="the task in review")
        assert not after["running"]
        assert c.get("/api/status").json()["supervisor"]["running"] is True
        assert task(c, t["id"])["status"] == "in_review"
