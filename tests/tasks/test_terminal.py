"""Terminal I/O of a task through the daemon: the SSE output stream and its exact ``since=``
resume across a daemon bounce, input encodings, ``/output`` (raw and clean), ``/links``, and
resize with its re-render rule.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
from argus_testkit import Daemon, wait_for
from test_tasks_api import (
    agent_env,
    create_task,
    get_task,
    nth_launch,
    output,
    parse_sse,
    read_sse,
    send,
    stream_bytes,
    wait_idle,
    wait_output,
    wait_task,
)

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)

FLOOD_KB = 3000  # output the agent keeps producing while the daemon is down


def test_stream_resumes_exactly_after_daemon_kill9(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="streamer")
    tid = t["id"]
    wait_idle(c, tid)
    pid = get_task(c, tid)["pid"]
    session_id = t["session_id"]

    # Read the stream from the top, start a flood, and stop reading part-way through it.
    before: list[dict[str, Any]] = []
    with c.stream("GET", f"/api/tasks/{tid}/stream", params={"since": 0},
                  timeout=httpx.Timeout(10.0, read=30.0)) as resp:
        assert resp.status_code == 200
        typed = False
        for message in parse_sse(resp.iter_lines()):
            before.append(message)
            data = stream_bytes(before)
            if not typed and data.endswith(b"> "):
                send(c, tid, f"/flood {FLOOD_KB}\r")
                typed = True
            if typed and data.count(b"flood ") >= 200:
                break
    last_id = int(before[-1]["id"])
    assert last_id == len(stream_bytes(before))

    daemon.kill9()  # no clean shutdown: the daemon's persisted offsets may lag behind the client's
    daemon.start()
    c = daemon.client
    assert get_task(c, tid)["pid"] == pid  # the agent kept running under the supervisor

    after = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": last_id, "session": session_id},
                     until=lambda ms: stream_bytes(ms).endswith(b"? for shortcuts\r\n> "),
                     timeout=60, what="the end of the flood and the next prompt")
    assert after[0]["event"] == "session" and after[0]["data"]["offset"] == last_id
    first = next(m for m in after if m["event"] == "output")
    assert first["data"]["offset"] == last_id  # no gap, no duplicate at the seam
    whole = stream_bytes(before) + stream_bytes(after)
    assert f"flood done: {FLOOD_KB} KB".encode() in whole

    # The concatenation is the session's output byte for byte: the supervisor's log file, and
    # what /output serves.
    log = (daemon.home / "sessions" / f"{session_id}.log").read_bytes()
    assert len(whole) == len(log) and whole == log
    served = c.get(f"/api/tasks/{tid}/output", params={"bytes": len(whole)}).content
    assert served == whole
    lines = [ln for ln in whole.split(b"\r\n") if ln.startswith(b"flood 0")]
    assert len(lines) == FLOOD_KB * 1024 // 64
    assert [int(ln.split()[1]) for ln in lines] == list(range(1, len(lines) + 1))
    assert get_task(c, tid)["pid"] == pid


def test_stream_tail_exit_event_and_other_session(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="tail")
    tid = t["id"]
    wait_idle(c, tid)
    send(c, tid, "/flood 100\r")
    wait_output(c, tid, "flood done: 100 KB")
    wait_idle(c, tid)
    # Without since the stream starts with the last 64 KiB.
    msgs = read_sse(c, f"/api/tasks/{tid}/stream", until=lambda ms: len(stream_bytes(ms)) >= 64 * 1024)
    end = int(msgs[-1]["id"])
    assert msgs[0]["data"]["offset"] == end - 64 * 1024 == msgs[1]["data"]["offset"]
    assert c.get(f"/api/tasks/{tid}/stream", params={"since": "x"}).status_code == 400
    assert c.get(f"/api/tasks/{tid}/stream", params={"since": -1}).status_code == 400
    assert c.get("/api/tasks/t_nothere/stream").status_code == 404

    send(c, tid, "/exit 7\r")
    msgs = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": end},
                    until=lambda ms: ms[-1]["event"] == "exit", what="the exit event")
    assert msgs[-1]["data"] == {"code": 7, "signal": None, "end_offset": end + len(stream_bytes(msgs))}
    done = wait_task(c, tid, lambda x: not x["running"], "the exit")
    assert done["status"] == "in_review" and done["exit_code"] == 7
    # An exited session still streams its output, then the exit.
    again = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": 0},
                     until=lambda ms: ms[-1]["event"] == "exit")
    assert b"you said: /exit 7" in stream_bytes(again)

    # After a resume, offsets of the old session restart the new one from its top.
    c.post(f"/api/tasks/{tid}/resume")
    new = get_task(c, tid)
    msgs = read_sse(c, f"/api/tasks/{tid}/stream", params={"since": end, "session": t["session_id"]},
                    until=lambda ms: b"resumed session" in stream_bytes(ms))
    assert msgs[0]["data"]["session_id"] == new["session_id"] and msgs[0]["data"]["offset"] == 0


def test_input_encodings_and_errors(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="typist")
    tid = t["id"]
    wait_idle(c, tid)
    wait_output(c, tid, "? for shortcuts")
    resp = c.post(f"/api/tasks/{tid}/input", content=b"raw ", headers={"Content-Type": "application/octet-stream"})
    assert resp.json() == {"ok": True, "bytes": 4}
    resp = c.post(f"/api/tasks/{tid}/input", json={"b64": base64.b64encode("bytes é".encode()).decode()})
    assert resp.json() == {"ok": True, "bytes": len("bytes é".encode())}
    send(c, tid, " text\r")
    wait_output(c, tid, "you said: raw bytes é text")
    for bad in ({"b64": "!!!"}, {"other": 1}, {"data": ""}, [1]):
        assert c.post(f"/api/tasks/{tid}/input", json=bad).status_code == 400, bad
    assert c.post(f"/api/tasks/{tid}/input", content=b"", headers={"Content-Type": "application/octet-stream"}
                  ).status_code == 400
    assert c.post(f"/api/tasks/{tid}/input", content=b"x" * (1024 * 1024 + 1)).status_code == 400
    assert c.post("/api/tasks/t_nothere/input", json={"data": "x"}).status_code == 404


def test_output_raw_and_clean(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, prompt="do some work")
    tid = t["id"]
    wait_idle(c, tid)
    raw = output(c, tid, clean=False)
    assert "\x1b[K" in raw and "\r" in raw and "esc to interrupt" in raw
    clean = output(c, tid)
    assert "\x1b" not in clean and "\r" not in clean
    # what was drawn last on a redrawn line survives (the spinner is overwritten by the result)
    assert f"● Read 1 files in {t['worktree_path']}" in clean.splitlines()
    assert "● Done: I noted your request in ARGUS_DEMO.md. Waiting for you." in clean
    assert clean.rstrip().endswith("? for shortcuts\n>")
    tail = c.get(f"/api/tasks/{tid}/output", params={"bytes": 10}).content
    assert len(tail) == 10 and raw.encode().endswith(tail)
    assert c.get(f"/api/tasks/{tid}/output", params={"bytes": "lots"}).status_code == 400
    assert c.get(f"/api/tasks/{tid}/output", params={"bytes": -1}).status_code == 400


def test_links_found_in_output(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="linker")
    tid = t["id"]
    wait_idle(c, tid)
    assert c.get(f"/api/tasks/{tid}/links").json() == {"links": []}
    send(c, tid, "/link\r")
    url = f"https://example.com/argus/{t['agent_session_id']}"
    wait_output(c, tid, f"● {url}")
    links = c.get(f"/api/tasks/{tid}/links").json()["links"]
    assert links == [{"label": url, "url": url}]
    send(c, tid, "see http://127.0.0.1:8080/x?a=1, and again\r")  # echoed + "you said" + answer
    wait_output(c, tid, "I heard: see")
    links = c.get(f"/api/tasks/{tid}/links").json()["links"]
    assert [x["url"] for x in links] == ["http://127.0.0.1:8080/x?a=1", url]  # newest first, no dups


def test_resize_rerender_rule(daemon: Daemon, project: dict[str, Any], agent_env: Path) -> None:
    c = daemon.client
    t = create_task(c, name="resizer")
    tid = t["id"]
    wait_idle(c, tid)
    assert c.get(f"/api/tasks/{tid}/size").json() == {"cols": 120, "rows": 40}

    # a small change (< 15 columns from the start width) resizes in place
    resp = c.post(f"/api/tasks/{tid}/resize", json={"cols": 130, "rows": 30})
    assert resp.json() == {"cols": 130, "rows": 30, "rerendered": False}
    same = get_task(c, tid)
    assert same["session_id"] == t["session_id"]
    assert c.get(f"/api/tasks/{tid}/size").json() == {"cols": 130, "rows": 30}

    # while the agent is busy, even a large change does not re-render
    send(c, tid, "/sleep 30\r")
    wait_output(c, tid, "esc to interrupt")
    wait_task(c, tid, lambda x: not x["idle"], "busy")
    resp = c.post(f"/api/tasks/{tid}/resize", json={"cols": 80, "rows": 30})
    assert resp.json()["rerendered"] is False
    send(c, tid, "\x1b")  # interrupt the sleep
    wait_output(c, tid, "[interrupted]")
    wait_idle(c, tid)

    # idle and ≥ 15 columns from the start width (120): kill + resume at the new width, once
    # no client has typed for a few seconds (until then the resize is in place)
    def rerendered() -> bool:
        resp = c.post(f"/api/tasks/{tid}/resize", json={"cols": 150, "rows": 45})
        assert resp.json()["cols"] == 150 and resp.json()["rows"] == 45
        return resp.json()["rerendered"]

    wait_for(rerendered, 40, what="a re-render once the typing stopped")
    replaced = get_task(c, tid)
    assert replaced["session_id"] != t["session_id"] and replaced["status"] == "in_progress"
    assert replaced["running"] and replaced["pid"] != same["pid"]
    assert c.get(f"/api/tasks/{tid}/size").json() == {"cols": 150, "rows": 45}
    assert nth_launch(agent_env, 2)["resume"] == t["agent_session_id"]
    wait_output(c, tid, f"resumed session {t['agent_session_id']}")
    wait_idle(c, tid)
    # the old session's exit did not move the task (it was replaced on purpose)
    assert get_task(c, tid)["status"] == "in_progress"
    # the new start width is 150: 10 columns away is a plain resize
    resp = c.post(f"/api/tasks/{tid}/resize", json={"cols": 140, "rows": 45})
    assert resp.json()["rerendered"] is False

    for bad in ({"cols": 5, "rows": 40}, {"cols": 100}, {"cols": "100", "rows": 40}, {"cols": True, "rows": 40}):
        assert c.post(f"/api/tasks/{tid}/resize", json=bad).status_code == 400, bad
    c.post(f"/api/tasks/{tid}/stop")
    assert c.post(f"/api/tasks/{tid}/resize", json={"cols": 100, "rows": 40}).status_code == 409
    wait_for(lambda: c.get(f"/api/tasks/{tid}/size").status_code == 200, 20, what="size after stop")
