"""The tasks REST API end to end: a real daemon, real git worktrees, real agents on real PTYs.

Also holds the small helpers the other ``tests/tasks/test_*`` end-to-end modules import (task
creation, polling with deadlines, SSE parsing, git inspection): pytest's default import mode puts
this folder on ``sys.path``, as ``tests/kernel`` does for ``kernel_helpers``.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.kernel.eventstream import parse_lines
from argus.kernel.pidlock import pid_alive
from argus_testkit import Daemon, make_repo, run_git, wait_for

PROJECT = "demo-proj"
# For requests the daemon answers without reading their body: the connection must not be reused
# (see test_keepalive_survives_a_response_sent_before_the_body).
NO_KEEPALIVE = {"Connection": "close"}
AGENT_BUSY = "0.3"  # seconds of each fake-agent busy phase (keeps the suite quick)


# ---------------------------------------------------------------------------------------------
# helpers shared by the tasks end-to-end modules


@pytest.fixture(autouse=True)
def agent_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Short busy phases, and a launch record (argv, pid, ...) of every fake agent the daemon starts.

    Autouse, so it is set before any daemon fixture copies the environment. Returns the record file.
    """
    record = tmp_path / "agent-launches.jsonl"
    monkeypatch.setenv("FAKEAGENT_BUSY", AGENT_BUSY)
    monkeypatch.setenv("FAKEAGENT_RECORD", str(record))
    return record


def launches(record: Path) -> list[dict[str, Any]]:
    """Every fake-agent launch recorded so far (one JSON object per launch)."""
    try:
        return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def nth_launch(record: Path, n: int, timeout: float = 15.0) -> dict[str, Any]:
    """The ``n``-th (1-based) fake-agent launch, waiting until it is recorded."""
    found = wait_for(lambda: len(launches(record)) >= n, timeout, what=f"agent launch #{n}")
    assert found
    return launches(record)[n - 1]


def create_task(client: httpx.Client, *, expect: int = 201, **body: Any) -> dict[str, Any]:
    """POST /api/tasks (project defaults to demo-proj) and return the task (or the error body)."""
    body.setdefault("project", PROJECT)
    resp = client.post("/api/tasks", json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()["task"] if expect == 201 else resp.json()


def get_task(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """GET /api/tasks/{id}."""
    resp = client.get(f"/api/tasks/{task_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["task"]


def wait_task(client: httpx.Client, task_id: str, predicate: Callable[[dict[str, Any]], Any], what: str,
              timeout: float = 30.0) -> dict[str, Any]:
    """Poll the task until ``predicate(task)`` holds; return it."""
    seen: list[dict[str, Any]] = []

    def check() -> dict[str, Any] | None:
        task = get_task(client, task_id)
        seen[:] = [task]
        return task if predicate(task) else None

    return wait_for(check, timeout, what, detail=lambda: f"last task state: {seen[-1] if seen else None}")


def wait_idle(client: httpx.Client, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the task's agent waits for input (``idle: true``) with a live session."""
    return wait_task(client, task_id, lambda t: t["idle"] and t["running"], "the agent to wait for input", timeout)


def output(client: httpx.Client, task_id: str, *, clean: bool = True, nbytes: int = 256 * 1024) -> str:
    """GET /api/tasks/{id}/output (ANSI stripped unless ``clean=False``)."""
    resp = client.get(f"/api/tasks/{task_id}/output", params={"bytes": nbytes, **({"clean": 1} if clean else {})})
    assert resp.status_code == 200, resp.text
    return resp.text


def wait_output(client: httpx.Client, task_id: str, text: str, timeout: float = 30.0) -> str:
    """Wait until the task's recent output contains ``text``; return the output."""
    last: list[str] = [""]

    def check() -> str | None:
        last[0] = output(client, task_id)
        return last[0] if text in last[0] else None

    return wait_for(check, timeout, f"{text!r} in the output", detail=lambda: f"output tail: {last[0][-1500:]!r}")


def send(client: httpx.Client, task_id: str, text: str) -> None:
    """Type ``text`` into the agent (JSON ``{"data": ...}``)."""
    resp = client.post(f"/api/tasks/{task_id}/input", json={"data": text})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": True, "bytes": len(text.encode())}


def argus_branches(repo: Path) -> list[str]:
    """Branch names under ``argus/`` in ``repo``."""
    out = run_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/argus/")
    return [line for line in out.splitlines() if line.strip()]


def worktrees(repo: Path) -> list[str]:
    """Paths of ``git worktree list`` (the main checkout first)."""
    out = run_git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def supervisor_sessions(home: Path) -> list[dict[str, Any]]:
    """The session list of ``argus session-supervisor status`` (empty when it is not running)."""
    env = {**os.environ, "ARGUS_HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "argus.kernel.cli",
                          "session-supervisor", "status"], env=env, capture_output=True, text=True, timeout=30)
    if not out.stdout.strip():
        return []
    return json.loads(out.stdout).get("sessions") or []


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """SSE messages from text lines: ``{"event", "id", "data"}`` (data JSON-decoded when possible)."""
    for ev in parse_lines(lines):
        data = ev.json()
        yield {"event": ev.event, "id": ev.id, "data": ev.data if data is None and ev.data != "null" else data}


def read_sse(client: httpx.Client, path: str, until: Callable[[list[dict[str, Any]]], bool], *,
             params: dict[str, Any] | None = None, timeout: float = 30.0, what: str = "SSE messages",
             ) -> list[dict[str, Any]]:
    """Read the SSE stream at ``path`` until ``until(messages)`` holds; return the messages.

    Fails after ``timeout`` seconds in total. The stream is closed on return.
    """
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        with client.stream("GET", path, params=params, timeout=httpx.Timeout(10.0, read=timeout)) as resp:
            assert resp.status_code == 200, resp.read().decode(errors="replace")
            for message in parse_sse(resp.iter_lines()):
                messages.append(message)
                if until(messages):
                    return messages
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass
    raise AssertionError(f"timed out waiting for {what}; got {len(messages)} messages: {messages[-5:]}")


def stream_bytes(messages: list[dict[str, Any]]) -> bytes:
    """The output bytes of a task stream's ``output`` messages, checking they are gapless."""
    out = b""
    expected: int | None = None
    for m in messages:
        if m["event"] != "output":
            continue
        text = m["data"].get("text")  # ``?encoding=text``: UTF-8 output as a JSON string
        chunk = text.encode() if text is not None else base64.b64decode(m["data"]["data"])
        if expected is not None:
            assert m["data"]["offset"] == expected, f"gap or overlap at {expected} (chunk at {m['data']['offset']})"
        expected = m["data"]["offset"] + len(chunk)
        assert int(m["id"]) == expected, "the SSE id must be the chunk's end offset"
        out += chunk
    return out


def events_until(client: httpx.Client, predicate: Callable[[dict[str, Any]], bool], *, since: int = 0,
                 timeout: float = 30.0, what: str = "an event") -> dict[str, Any]:
    """The first bus event (replayed from ``since``, then live) matching ``predicate``.

    A predicate that raises KeyError/TypeError on an event of another shape just does not match.
    """
    def match(messages: list[dict[str, Any]]) -> bool:
        try:
            return bool(predicate(messages[-1]))
        except (KeyError, TypeError):
            return False

    found = read_sse(client, "/api/events/stream", match, params={"since": since}, timeout=timeout, what=what)
    return found[-1]


# ---------------------------------------------------------------------------------------------
# tests


@pytest.fixture
def other_project(daemon: Daemon, tmp_path: Path) -> dict[str, Any]:
    """A second registered repository, ``other-proj``."""
    repo = make_repo(tmp_path / "other-repo")
    resp = daemon.client.post("/api/projects", json={"name": "other-proj", "path": str(repo)})
    assert resp.status_code == 201, resp.text
    return {"name": "other-proj", "path": repo}


def test_create_validation_errors_leave_nothing(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    assert c.post("/api/tasks", json={"prompt": "x"}).status_code == 400  # no project
    assert c.post("/api/tasks", json={"prompt": "x", "project": "nope"}).status_code == 404
    resp = c.post("/api/tasks", json={"prompt": "x", "project": PROJECT, "backend": "nope"})
    assert resp.status_code == 400 and "nope" in resp.json()["error"]
    assert c.post("/api/tasks", json={"project": PROJECT}).status_code == 400  # no name nor prompt
    assert c.post("/api/tasks", json={"project": PROJECT, "prompt": 3}).status_code == 400
    assert c.post("/api/tasks", json={"project": PROJECT, "prompt": "x", "model": 5}).status_code == 400
    resp = c.post("/api/tasks", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "error" in resp.json()
    resp = c.post("/api/tasks", json={"project": PROJECT, "prompt": "x", "base_branch": "no-such-branch"})
    assert 400 <= resp.status_code < 500, resp.text
    assert c.get("/api/tasks", params={"archived": "all"}).json() == {"tasks": []}
    assert argus_branches(project["path"]) == []
    assert worktrees(project["path"]) == [str(project["path"])]
    assert c.get("/api/tasks/t_nothere").status_code == 404


def test_list_filters(daemon: Daemon, project: dict[str, Any], other_project: dict[str, Any]) -> None:
    c = daemon.client
    a = create_task(c, name="alpha")  # name only: no initial prompt, the agent edits nothing
    b = create_task(c, name="beta")
    o = create_task(c, name="gamma", project="other-proj")
    for t in (a, b, o):
        wait_idle(c, t["id"])
    c.post(f"/api/tasks/{b['id']}/stop")
    c.post(f"/api/tasks/{o['id']}/archive")

    def ids(**params: Any) -> set[str]:
        resp = c.get("/api/tasks", params=params)
        assert resp.status_code == 200, resp.text
        return {t["id"] for t in resp.json()["tasks"]}

    assert ids() == {a["id"], b["id"]}
    assert ids(status="in_progress") == {a["id"]}
    assert ids(status="in_review") == {b["id"]}
    assert ids(status="complete") == set()
    assert ids(status="idle") == {a["id"]}
    assert ids(project="other-proj") == set()
    assert ids(project="other-proj", archived="1") == {o["id"]}
    assert ids(archived="1") == {o["id"]}
    assert ids(archived="all") == {a["id"], b["id"], o["id"]}
    assert ids(archived="all", project=PROJECT) == {a["id"], b["id"]}
    assert c.get("/api/tasks", params={"status": "bogus"}).status_code == 400
    assert c.get("/api/tasks", params={"archived": "maybe"}).status_code == 400
    status = c.get("/api/status").json()
    assert status["tasks"]["in_progress"] == 1 and status["tasks"]["in_review"] == 1
    assert status["sessions"]["idle"] == 2  # sessions count archived tasks' agents too


def test_archive_unarchive_rename_pin_status(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="chores")
    wait_idle(c, t["id"])
    tid = t["id"]

    c.post(f"/api/tasks/{tid}/stop")
    assert c.post(f"/api/tasks/{tid}/archive").json()["task"]["archived"] is True
    assert c.post(f"/api/tasks/{tid}/resume").status_code == 409  # archived tasks are not resumed
    assert c.post(f"/api/tasks/{tid}/unarchive").json()["task"]["archived"] is False

    renamed = c.post(f"/api/tasks/{tid}/rename", json={"name": "  Better name  "}).json()["task"]
    assert renamed["name"] == "Better name"
    assert (renamed["slug"], renamed["branch"], renamed["worktree_path"]) == (t["slug"], t["branch"],
                                                                               t["worktree_path"])
    assert c.post(f"/api/tasks/{tid}/rename", json={"name": "  "}).status_code == 400
    assert c.post(f"/api/tasks/{tid}/rename", json={"name": "x" * 201}).status_code == 400

    assert c.post(f"/api/tasks/{tid}/pin").json()["task"]["pinned"] is True  # no body toggles
    assert c.post(f"/api/tasks/{tid}/pin").json()["task"]["pinned"] is False
    assert c.post(f"/api/tasks/{tid}/pin", json={"pinned": True}).json()["task"]["pinned"] is True
    assert c.post(f"/api/tasks/{tid}/pin", json={"pinned": "yes"}).status_code == 400

    for status in ("pending", "in_progress", "complete", "in_review"):
        assert c.post(f"/api/tasks/{tid}/status", json={"status": status}).json()["task"]["status"] == status
    assert c.post(f"/api/tasks/{tid}/status", json={"status": "done"}).status_code == 400
    done = c.post(f"/api/tasks/{tid}/status", json={"status": "complete"}).json()["task"]
    assert done["ended_at"]
    for op in ("archive", "unarchive", "pin", "stop", "resume"):
        assert c.post(f"/api/tasks/t_missing/{op}").status_code == 404


def test_stop_all_stops_every_running_agent(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    tasks = [create_task(c, name=f"worker {i}") for i in range(3)]
    for t in tasks:
        wait_idle(c, t["id"])
    pids = [get_task(c, t["id"])["pid"] for t in tasks]
    c.post(f"/api/tasks/{tasks[2]['id']}/stop")
    resp = c.post("/api/sessions/stop-all")
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["stopped"]) == {tasks[0]["id"], tasks[1]["id"]}
    for t in tasks:
        after = get_task(c, t["id"])
        assert after["status"] == "in_review" and after["running"] is False and after["pid"] is None
    for pid in pids:
        wait_for(lambda pid=pid: not pid_alive(pid), 15, what=f"agent {pid} to be gone")
    assert c.post("/api/sessions/stop-all").json() == {"stopped": []}


def test_delete_refuses_dirty_worktree_unless_forced(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, prompt="note something")  # the fake agent appends to ARGUS_DEMO.md
    wait_idle(c, t["id"])
    assert (Path(t["worktree_path"]) / "ARGUS_DEMO.md").exists()
    pid = get_task(c, t["id"])["pid"]

    resp = c.delete(f"/api/tasks/{t['id']}")
    assert resp.status_code == 409, resp.text
    body = resp.json()
    assert "1 uncommitted change" in body["reason"] and "force" in body["error"]
    after = get_task(c, t["id"])  # nothing was touched
    assert after["running"] and after["pid"] == pid
    assert Path(t["worktree_path"]).is_dir() and argus_branches(project["path"]) == [t["branch"]]

    resp = c.delete(f"/api/tasks/{t['id']}", params={"force": "1"})
    assert resp.status_code == 200, resp.text
    assert c.get(f"/api/tasks/{t['id']}").status_code == 404
    assert not Path(t["worktree_path"]).exists()
    assert argus_branches(project["path"]) == []
    assert worktrees(project["path"]) == [str(project["path"])]
    wait_for(lambda: not pid_alive(pid), 15, what="the agent to be killed")


def test_delete_refuses_unmerged_commits(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="committer")
    wait_idle(c, t["id"])
    wt = Path(t["worktree_path"])
    (wt / "feature.txt").write_text("work\n")
    run_git(wt, "add", "feature.txt")
    run_git(wt, "commit", "-q", "-m", "feature")
    resp = c.delete(f"/api/tasks/{t['id']}")
    assert resp.status_code == 409 and "1 commit not on main" in resp.json()["reason"], resp.text
    assert c.delete(f"/api/tasks/{t['id']}?force=1").status_code == 200
    assert argus_branches(project["path"]) == []


def test_delete_clean_task_needs_no_force(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="clean one")  # no prompt: no edit
    wait_idle(c, t["id"])
    assert c.delete(f"/api/tasks/{t['id']}").status_code == 200
    assert not Path(t["worktree_path"]).exists() and argus_branches(project["path"]) == []
    assert c.delete(f"/api/tasks/{t['id']}").status_code == 404


def test_prune_completed_skips_dirty_worktrees(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    dirty = create_task(c, prompt="leave a note")
    clean = create_task(c, name="tidy")
    running = create_task(c, name="still going")
    for t in (dirty, clean, running):
        wait_idle(c, t["id"])
    for t in (dirty, clean):
        c.post(f"/api/tasks/{t['id']}/stop")
        assert c.post(f"/api/tasks/{t['id']}/status", json={"status": "complete"}).status_code == 200
    resp = c.post("/api/maintenance/prune-completed")
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["deleted"] == [clean["id"]]
    assert [s["id"] for s in result["skipped"]] == [dirty["id"]]
    assert "uncommitted" in result["skipped"][0]["reason"]
    left = {t["id"] for t in c.get("/api/tasks", params={"archived": "all"}).json()["tasks"]}
    assert left == {dirty["id"], running["id"]}
    assert Path(dirty["worktree_path"]).is_dir() and not Path(clean["worktree_path"]).exists()
    assert sorted(argus_branches(project["path"])) == sorted([dirty["branch"], running["branch"]])


def test_traversal_attempts_are_refused(daemon: Daemon, project: dict[str, Any], tmp_path: Path) -> None:
    c = daemon.client
    t = create_task(c, name="sandboxed views")
    wait_idle(c, t["id"])
    tid = t["id"]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    os.symlink(outside, Path(t["worktree_path"]) / "escape")

    for rel in ("../..", "..", "/etc", "a/../../..", "escape", "escape/"):
        resp = c.get(f"/api/tasks/{tid}/files", params={"dir": rel})
        assert resp.status_code == 400, (rel, resp.text)
        assert "escapes" in resp.json()["error"]
    for rel in ("../../etc/passwd", "/etc/passwd", "escape/secret.txt", "x/../../y"):
        resp = c.get(f"/api/tasks/{tid}/git/diff", params={"path": rel})
        assert resp.status_code == 400, (rel, resp.text)
    for name in ("../x", "..", "a/b", "..\\x", "/etc/passwd"):
        resp = c.post(f"/api/tasks/{tid}/upload", files=[("files", (name, b"payload"))])
        assert resp.status_code == 400, (name, resp.text)
    resp = c.post("/api/tasks", data={"project": PROJECT, "prompt": "p"}, files=[("files", ("../evil", b"x"))])
    assert resp.status_code == 400, resp.text
    assert not (Path(t["worktree_path"]).parent / "x").exists()
    assert not (Path(t["worktree_path"]) / ".context").exists()
    assert [x["id"] for x in c.get("/api/tasks").json()["tasks"]] == [tid]


def test_worktree_views(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, prompt="write the note")
    wait_idle(c, t["id"])
    tid = t["id"]
    status = c.get(f"/api/tasks/{tid}/git/status").json()
    assert status["branch"] == t["branch"] and status["base_branch"] == "main"
    assert {"path": "ARGUS_DEMO.md", "status": "??"} in status["files"] or \
        any(f["path"] == "ARGUS_DEMO.md" for f in status["files"])
    diff = c.get(f"/api/tasks/{tid}/git/diff", params={"path": "ARGUS_DEMO.md"}).json()
    assert diff["path"] == "ARGUS_DEMO.md" and "+write the note" in diff["diff"]
    whole = c.get(f"/api/tasks/{tid}/git/diff").json()
    assert whole["path"] is None and "ARGUS_DEMO.md" in whole["diff"]
    listing = c.get(f"/api/tasks/{tid}/files").json()
    names = {e["name"]: e for e in listing["entries"]}
    assert {"README.md", "ARGUS_DEMO.md"} <= set(names) and ".git" not in names
    assert names["README.md"]["type"] == "file" and names["README.md"]["size"] == len("# test repo\n")


def test_multipart_create_with_files_lands_in_context(daemon: Daemon, project: dict[str, Any],
                                                      agent_env: Path) -> None:
    c = daemon.client
    files = [("files", ("spec.md", b"# spec\n")), ("files", ("spec.md", b"# second\n")),
             ("files", ("shot.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256))))]
    resp = c.post("/api/tasks", data={"project": PROJECT, "prompt": "read the attachments", "name": "attach"},
                  files=files)
    assert resp.status_code == 201, resp.text
    t = resp.json()["task"]
    ctx = Path(t["worktree_path"]) / ".context"
    assert (ctx / "spec.md").read_bytes() == b"# spec\n"
    assert (ctx / "spec-1.md").read_bytes() == b"# second\n"  # collisions are suffixed
    assert (ctx / "shot.png").read_bytes() == files[2][1][1]
    assert t["prompt"].startswith("read the attachments")
    for rel in (".context/spec.md", ".context/spec-1.md", ".context/shot.png"):
        assert f"- {rel}" in t["prompt"]
    wait_output(c, t["id"], "- .context/shot.png")  # the agent got the prompt with the listing
    assert nth_launch(agent_env, 1)["prompt"] == t["prompt"]

    more = c.post(f"/api/tasks/{t['id']}/upload", files=[("files", ("spec.md", b"third"))])
    assert more.status_code == 200 and more.json() == {"paths": [".context/spec-2.md"]}
    # (these are refused before their body is read: a fresh connection each, see
    # test_keepalive_survives_a_response_sent_before_the_body)
    assert c.post(f"/api/tasks/{t['id']}/upload", json={}, headers=NO_KEEPALIVE).status_code == 400
    assert c.post(f"/api/tasks/{t['id']}/upload", data={"x": "1"}, files=[],
                  headers=NO_KEEPALIVE).status_code == 400


def test_upload_caps(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    many = [("files", (f"f{i}.txt", b"x")) for i in range(21)]
    resp = c.post("/api/tasks", data={"project": PROJECT, "prompt": "too many"}, files=many)
    assert resp.status_code == 413, resp.text
    assert c.get("/api/tasks", params={"archived": "all"}).json() == {"tasks": []}
    assert argus_branches(project["path"]) == []

    big = b"y" * (10 * 1024 * 1024 + 1)
    resp = c.post("/api/tasks", data={"project": PROJECT, "prompt": "too big"}, files=[("files", ("big.bin", big))])
    assert resp.status_code == 413, resp.text
    assert c.get("/api/tasks", params={"archived": "all"}).json() == {"tasks": []}

    # Within every cap (20 files, 10 MB each, 18 MB in total): accepted.
    nine = b"z" * (9 * 1024 * 1024)
    files = [("files", ("a.bin", nine)), ("files", ("b.bin", nine))] + \
            [("files", (f"s{i}.txt", b"s")) for i in range(18)]
    resp = c.post("/api/tasks", data={"project": PROJECT, "prompt": "just right"}, files=files)
    assert resp.status_code == 201, resp.text
    t = resp.json()["task"]
    assert (Path(t["worktree_path"]) / ".context" / "b.bin").stat().st_size == len(nine)
    resp = c.post(f"/api/tasks/{t['id']}/upload", files=many)
    assert resp.status_code == 413, resp.text


def test_delete_removes_the_task_session_logs(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, name="logged")
    wait_idle(c, t["id"])
    c.post(f"/api/tasks/{t['id']}/stop")
    second = c.post(f"/api/tasks/{t['id']}/resume").json()["task"]["session_id"]
    wait_idle(c, t["id"])
    logs = daemon.home / "sessions"
    assert (logs / f"{t['session_id']}.log").exists() and (logs / f"{second}.log").exists()
    assert c.delete(f"/api/tasks/{t['id']}").status_code == 200
    assert not (logs / f"{second}.log").exists()
    assert not (logs / f"{t['session_id']}.log").exists()


def _read_http_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response (head + Content-Length body) from ``sock``; b"" if it closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def test_keepalive_survives_a_route_that_ignores_its_body(daemon: Daemon) -> None:
    """POST /api/sessions/stop-all ignores its body, and a 401 is decided before the body is read; with
    the body arriving late, the next request on the same connection must still be answered."""
    auth = f"Authorization: Bearer {daemon.token}\r\n".encode()
    host = f"Host: 127.0.0.1:{daemon.api_port}\r\n".encode()  # on TCP the Host must name the listener
    with socket.create_connection(("127.0.0.1", daemon.api_port), timeout=30) as sock:
        for head in (b"POST /api/sessions/stop-all HTTP/1.1\r\n" + host + auth,
                     b"POST /api/sessions/stop-all HTTP/1.1\r\n" + host + b"Authorization: Bearer nope\r\n"):
            sock.sendall(head + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n")
            time.sleep(0.2)  # set-up, not an assertion: the body arrives after the headers were handled
            sock.sendall(b"{}")
            answer = _read_http_response(sock)
            assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 401")), answer
        sock.sendall(b"GET /api/status HTTP/1.1\r\n" + host + auth + b"\r\n")
        try:
            head = _read_http_response(sock)
        except TimeoutError:
            raise AssertionError("the next request on the connection got no answer within 30 s") from None
        assert head.startswith(b"HTTP/1.1 200"), head
