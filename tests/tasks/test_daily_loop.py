"""Issue fixes of the daily loop on the tasks side: stop keeps a complete task complete; the
width re-render (kill + resume at a new width) happens only when nothing can be lost."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from argus.plugins.tasks.terminal import RERENDER_QUIET
from argus_testkit import Daemon, wait_for
from test_tasks_api import agent_env, create_task, events_until, get_task, pid_alive, send, wait_idle, wait_output

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


def _resize(c: Any, tid: str, cols: int, rows: int = 40) -> dict[str, Any]:
    resp = c.post(f"/api/tasks/{tid}/resize", json={"cols": cols, "rows": rows})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_rerender_rules(daemon: Daemon, project: dict[str, Any], agent_env: Path, tmp_path: Path) -> None:
    c = daemon.client
    t = create_task(c, name="wide")
    tid = t["id"]
    wait_idle(c, tid)

    # a complete task is never re-rendered, and stays complete
    c.post(f"/api/tasks/{tid}/status", json={"status": "complete"})
    assert _resize(c, tid, 60)["rerendered"] is False
    after = get_task(c, tid)
    assert after["session_id"] == t["session_id"] and after["status"] == "complete" and after["running"]

    # in review: the re-render happens and the status does not move back to in_progress
    c.post(f"/api/tasks/{tid}/status", json={"status": "in_review"})
    assert _resize(c, tid, 150)["rerendered"] is True
    replaced = get_task(c, tid)
    assert replaced["session_id"] != t["session_id"] and replaced["running"]
    assert replaced["status"] == "in_review"
    c.post(f"/api/tasks/{tid}/status", json={"status": "in_progress"})
    wait_idle(c, tid)

    # a client typed a moment ago: even idle again, the resize is in place
    typed = time.monotonic()
    send(c, tid, "hi\r")
    wait_output(c, tid, "I heard: hi")
    wait_idle(c, tid)
    result = _resize(c, tid, 60)
    if time.monotonic() - typed < RERENDER_QUIET - 0.5:  # (a very slow machine leaves the window)
        assert result["rerendered"] is False
        assert get_task(c, tid)["session_id"] == replaced["session_id"]


def test_no_rerender_when_the_backend_vanished(daemon: Daemon, project: dict[str, Any], agent_env: Path,
                                               tmp_path: Path) -> None:
    c = daemon.client
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").symlink_to(Path(__file__).resolve().parents[1] / "fakeagent" / "claude")
    resp = c.post("/api/backends", json={"name": "mortal", "command": str(bin_dir / "claude")})
    assert resp.status_code == 201, resp.text
    t = create_task(c, name="mortal agent", backend="mortal")
    tid = t["id"]
    wait_idle(c, tid)
    (bin_dir / "claude").unlink()  # the agent CLI is gone: a relaunch would fail
    assert _resize(c, tid, 160)["rerendered"] is False
    alive = get_task(c, tid)
    assert alive["session_id"] == t["session_id"] and alive["running"] and alive["status"] == "in_progress"
    assert c.get(f"/api/tasks/{tid}/size").json() == {"cols": 160, "rows": 40}


def test_input_during_a_rerender_reaches_the_new_session(daemon: Daemon, project: dict[str, Any],
                                                         agent_env: Path) -> None:
    c = daemon.client
    t = create_task(c, name="typing while resizing")
    tid = t["id"]
    wait_idle(c, tid)
    with ThreadPoolExecutor(1) as pool:
        resizing = pool.submit(_resize, c, tid, 160)
        # the old session's exit is the middle of the re-render; type right then
        events_until(c, lambda e: e["data"]["type"] == "session.exited"
                     and e["data"]["data"]["session_id"] == t["session_id"], what="the old session's exit")
        resp = c.post(f"/api/tasks/{tid}/input", json={"data": "typed meanwhile\r"})
        assert resp.status_code == 200, resp.text
        assert resizing.result(timeout=60)["rerendered"] is True
    assert get_task(c, tid)["session_id"] != t["session_id"]
    wait_output(c, tid, "you said: typed meanwhile")
