"""The kill -9 matrix: the daemon, and separately the session-supervisor, SIGKILLed at each step of
task creation, during output (an agent flooding), during a re-render and during a migration.

The kills happen at exact points: the daemon runs with ``ARGUS_FAULT=<point>[@N][:supervisor]``
(``argus.kernel.faults``), which SIGKILLs the process reaching the point (or the supervisor) and
leaves ``fault-<point>.fired`` in ARGUS_HOME. Output kills come from outside, mid-flood. After a
restart the invariants hold:

- no committed row is lost (a witness task created before the fault is intact);
- no stray worktree or ``argus/*`` branch (each one belongs to a task row), no task stuck in creation;
- no untracked agent: every process working in a worktree is in the process group of a task's
  running agent, and every child of the supervisor is one;
- the session output is exact: the log, the daemon's stream from offset 0 and what the fake agent
  wrote (``FAKEAGENT_TRANSCRIPT``) are the same bytes;
- ``PRAGMA integrity_check`` is ``ok``.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.kernel.eventstream import parse_lines
from argus_testkit import Daemon, run_git, wait_for
from orch_helpers import create_task, task

PLUGINS = Path(__file__).parent / "plugins"
CREATION = ["create.inserted", "create.worktree", "spawn.before_status", "create.spawned"]


# -- processes ------------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _in_home(home: Path) -> dict[int, int]:
    """Live processes working under ``home``'s worktrees: pid → process group."""
    root = os.path.realpath(home / "worktrees")
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            cwd = os.path.realpath(os.readlink(f"/proc/{pid}/cwd"))
            st = _stat(pid)
            if st is not None and st[0] not in ("Z", "X") and (cwd == root or cwd.startswith(root + "/")):
                found[pid] = int(st[3])
        except OSError:
            continue
    return found


def _children(parent: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        st = _stat(int(entry)) if entry.isdigit() else None
        if st is not None and st[0] not in ("Z", "X") and int(st[1]) == parent:
            out.add(int(entry))
    return out


def _supervisor_pid(home: Path) -> int:
    return int((home / "supervisor.pid").read_text().strip())


def _kill_leftovers(home: Path) -> None:
    for group in set(_in_home(home).values()):
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass


# -- state ----------------------------------------------------------------------------------------

def _rows(home: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(f"file:{home / 'data.sql'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM tasks")]
    finally:
        db.close()


def _integrity(home: Path) -> str:
    db = sqlite3.connect(f"file:{home / 'data.sql'}?mode=ro", uri=True)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def _argus_branches(repo: Path) -> set[str]:
    return set(run_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/argus/").split())


def _log_size(d: Daemon) -> int:
    path = d.home / "daemon.log"
    return path.stat().st_size if path.exists() else 0


def _reconciled(d: Daemon, since: int) -> None:
    """Wait for the reconciliation line the daemon started last logs after byte ``since`` of daemon.log
    (the log is shared with the earlier runs in the same home, which logged their own)."""
    def fresh() -> str:
        with (d.home / "daemon.log").open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    wait_for(lambda: "start-up reconciliation" in fresh(), 60, what="the start-up reconciliation")


def _consistent(d: Daemon, repo: Path, witnesses: list[dict[str, Any]]) -> str:
    """'' when every invariant holds, else what is wrong (polled: agents settle after a restart)."""
    rows = _rows(d.home)
    by_id = {r["id"]: r for r in rows}
    for w in witnesses:
        r = by_id.get(w["id"])
        if r is None or (r["name"], r["branch"], r["worktree_path"], r["created_at"]) != \
                (w["name"], w["branch"], w["worktree_path"], w["created_at"]):
            return f"committed row {w['id']} lost or changed: {r}"
    if any(r["status"] == "pending" and not r["session_id"] for r in rows):
        return f"a task is stuck in creation: {[r['id'] for r in rows if r['status'] == 'pending']}"
    paths = {os.path.realpath(r["worktree_path"]) for r in rows}
    folder = d.home / "worktrees" / "p"
    strays = [p.name for p in (folder.iterdir() if folder.is_dir() else []) if os.path.realpath(p) not in paths]
    if strays:
        return f"stray worktrees: {strays}"
    branches = _argus_branches(repo) - {r["branch"] for r in rows}
    if branches:
        return f"stray branches: {branches}"
    for r in rows:
        if not os.path.isdir(r["worktree_path"]):
            return f"task {r['id']} lost its worktree"
    running = {}
    for r in rows:
        t = task(d.client, r["id"])
        if t["running"]:
            if not _alive(t["pid"]):
                return f"task {r['id']} says running with a dead agent {t['pid']}"
            running[t["pid"]] = r["id"]
    daemon_group = d.proc.pid if d.proc else -1
    untracked = {pid: g for pid, g in _in_home(d.home).items() if g not in running and g != daemon_group}
    if untracked:
        return f"untracked agent processes (pid: group): {untracked}"
    sup = _children(_supervisor_pid(d.home)) - set(running)
    if sup:
        return f"supervisor children that are no task's agent: {sup}"
    if len(set(running.values())) != len(running):
        return "two agents for one task"
    return ""


def _settle(d: Daemon, repo: Path, witnesses: list[dict[str, Any]]) -> None:
    problem: list[str] = []

    def ok() -> bool:
        problem[:] = [_consistent(d, repo, witnesses)]
        return not problem[0]

    try:
        wait_for(ok, 30, interval=0.2, what="a consistent state")
    except AssertionError:
        raise AssertionError(f"{problem[0] if problem else ''}{d.log_tail()}") from None


# -- output ---------------------------------------------------------------------------------------

def _stream_bytes(d: Daemon, task_id: str, want: int, seen: list[str]) -> bytes:
    """The current session's output from offset 0 as the daemon streams it (``want`` bytes); the
    events other than output go to ``seen`` (for failure messages)."""
    out = bytearray()
    with d.client.stream("GET", f"/api/tasks/{task_id}/stream", params={"since": 0},
                         timeout=httpx.Timeout(30)) as resp:
        assert resp.status_code == 200
        for msg in parse_lines(resp.iter_lines()):
            if msg.event != "output":
                seen.append(f"{msg.event}: {msg.data}")
            if msg.event == "output":
                data = msg.json()
                assert data["offset"] == len(out), "a gap or an overlap in the stream"
                out += base64.b64decode(data["data"])
                if len(out) >= want:
                    break
            elif msg.event == "exit":
                break
    return bytes(out)


def _exact(d: Daemon, transcripts: Path, t: dict[str, Any], *, whole: bool) -> None:
    """The session's log equals what the agent wrote (``whole``: once the agent sits at its prompt;
    else a prefix of it: a killed supervisor loses what the agent wrote after its last read), and
    the daemon's stream from offset 0 holds the log's bytes, in order, with no gap or overlap."""
    log = d.home / "sessions" / f"{t['session_id']}.log"
    mine = transcripts / f"{t['pid']}.out"
    wait_for(lambda: mine.exists() and log.exists(), what="the agent's transcript and log")
    if whole:
        def settled() -> bytes | None:  # compared once the agent is quiet at its prompt
            logged = log.read_bytes()
            return logged if logged.endswith(b"> ") and logged == \
                mine.read_bytes().replace(b"\n", b"\r\n") else None

        logged = wait_for(settled, 20, what="the log to hold exactly what the agent wrote")
        seen: list[str] = []
        streamed = _stream_bytes(d, t["id"], len(logged), seen)
        now = task(d.client, t["id"])
        assert now["session_id"] == t["session_id"], "the task changed sessions meanwhile"
        assert streamed[:len(logged)] == logged, \
            f"stream {len(streamed)} B, log {len(logged)} B; events {seen}; task {now}"
    else:
        assert mine.read_bytes().replace(b"\n", b"\r\n").startswith(log.read_bytes()), \
            "the log has bytes the agent never wrote"


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def matrix(daemon_factory: Any, git_repo: Path, tmp_path: Path) -> Any:
    """Make a daemon with a fault armed, the project ``p`` registered and a witness task running."""
    made: list[Daemon] = []
    transcripts = tmp_path / "transcripts"
    transcripts.mkdir()

    def make(fault: str | None, **env: str) -> tuple[Daemon, dict[str, Any]]:
        d: Daemon = daemon_factory("km", env={"FAKEAGENT_BUSY": "0.1", "FAKEAGENT_TRANSCRIPT": str(transcripts),
                                              **({"ARGUS_FAULT": fault} if fault else {}), **env})
        made.append(d)
        assert d.client.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        witness = create_task(d.client, "p", "witness")
        wait_for(lambda: task(d.client, witness["id"])["running"], what="the witness agent")
        return d, _rows(d.home)[0]

    make.transcripts = transcripts  # type: ignore[attr-defined]
    make.repo = git_repo  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for d in made:
            d.cleanup()
            _kill_leftovers(d.home)


def _fired(d: Daemon, point: str) -> bool:
    return (d.home / f"fault-{point}.fired").exists()


def _died(d: Daemon) -> None:
    assert d.proc is not None
    d.proc.wait(15)
    d.kill9()  # closes the client


def _create_victim(d: Daemon) -> None:
    try:
        d.client.post("/api/tasks", json={"name": "victim", "prompt": "hi", "project": "p", "backend": "demo"})
    except httpx.HTTPError:
        pass  # the daemon died under the request


# -- the matrix -----------------------------------------------------------------------------------

@pytest.mark.parametrize("point", CREATION)
def test_daemon_killed_during_creation(matrix: Any, point: str) -> None:
    d, witness = matrix(f"{point}@2")  # the witness's creation passed the point once
    _create_victim(d)
    assert _fired(d, point)
    _died(d)
    since = _log_size(d)
    d.start()
    _reconciled(d, since)
    _settle(d, matrix.repo, [witness])
    rows = _rows(d.home)
    victim = [r for r in rows if r["name"] == "victim"]
    if point in ("create.inserted", "create.worktree"):
        assert not victim  # rolled back
    for r in rows:  # every task that survived runs its agent, with exact output
        t = task(d.client, r["id"])
        assert t["running"] and t["status"] == "in_progress", t
        _exact(d, matrix.transcripts, t, whole=True)
    assert _integrity(d.home) == "ok"


def test_a_creation_cut_short_in_the_second_of_the_restart_is_rolled_back(matrix: Any) -> None:
    """``created_at`` has one-second resolution: a creation the crash cut short in the same second as
    the restart is as stale as an older one. Stamped a minute ahead here (as the same second, or a
    clock stepped back, would make it look), the victim is still rolled back."""
    d, witness = matrix("create.worktree@2")
    _create_victim(d)
    assert _fired(d, "create.worktree")
    _died(d)
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    db = sqlite3.connect(d.home / "data.sql")
    try:
        with db:
            assert db.execute("UPDATE tasks SET created_at = ? WHERE name = 'victim' AND status = 'pending'",
                              (ahead,)).rowcount == 1
    finally:
        db.close()
    since = _log_size(d)
    d.start()
    _reconciled(d, since)
    _settle(d, matrix.repo, [witness])
    assert [r["name"] for r in _rows(d.home)] == ["witness"]
    assert _integrity(d.home) == "ok"


@pytest.mark.parametrize("point", [*CREATION, "supervisor.spawned"])
def test_supervisor_killed_during_creation(matrix: Any, point: str) -> None:
    fault = f"{point}@2" if point == "supervisor.spawned" else f"{point}@2:supervisor"
    d, witness = matrix(fault)
    _create_victim(d)
    assert _fired(d, point)
    # the witness's agent died with the supervisor and resumes under a new one; the victim was
    # rolled back or runs (its spawn reached a new supervisor); nothing stays pending
    resumed = wait_for(lambda: (x := task(d.client, witness["id"]))["running"]
                       and x["session_id"] != witness["session_id"] and x, 60, what="the witness resumed")
    _settle(d, matrix.repo, [witness])
    for r in _rows(d.home):
        t = resumed if r["id"] == witness["id"] else \
            wait_for(lambda r=r: (x := task(d.client, r["id"]))["running"] and x, 60, what="the victim running")
        _exact(d, matrix.transcripts, t, whole=True)
    assert _integrity(d.home) == "ok"


@pytest.mark.parametrize("victim", ["daemon", "supervisor"])
def test_killed_while_an_agent_floods(matrix: Any, victim: str) -> None:
    d, witness = matrix(None)
    t = task(d.client, witness["id"])
    log = d.home / "sessions" / f"{t['session_id']}.log"
    wait_for(lambda: b"? for shortcuts" in log.read_bytes(), what="the agent's prompt")
    assert d.client.post(f"/api/tasks/{t['id']}/input", json={"data": "/flood 4096\r"}).status_code < 300
    wait_for(lambda: log.stat().st_size > 200_000, what="the flood under way")
    if victim == "daemon":
        d.kill9()
        since = _log_size(d)
        d.start()
        _reconciled(d, since)
        wait_for(lambda: b"flood done: 4096 KB" in log.read_bytes(), 60, what="the flood to finish")
        again = task(d.client, t["id"])
        assert again["session_id"] == t["session_id"]  # the agent lived on in the supervisor
        _exact(d, matrix.transcripts, again, whole=True)
    else:
        os.kill(_supervisor_pid(d.home), signal.SIGKILL)
        wait_for(lambda: not _alive(t["pid"]), 15, what="the flooding agent taken down")
        _exact(d, matrix.transcripts, t, whole=False)
        wait_for(lambda: (x := task(d.client, t["id"]))["running"] and x["session_id"] != t["session_id"], 60,
                 what="the task resumed")
    _settle(d, matrix.repo, [witness])
    assert _integrity(d.home) == "ok"


@pytest.mark.parametrize("victim", ["daemon", "supervisor"])
def test_killed_during_a_rerender(matrix: Any, victim: str) -> None:
    d, witness = matrix("rerender.terminated" + (":supervisor" if victim == "supervisor" else ""))
    t = task(d.client, witness["id"])
    wait_for(lambda: task(d.client, t["id"])["idle"], 20, what="the agent idle")
    wait_for(lambda: _resize(d, t["id"]) or _fired(d, "rerender.terminated"), 30, what="a re-render")
    if victim == "daemon":
        _died(d)
        since = _log_size(d)
        d.start()
        _reconciled(d, since)
    # the re-render is finished after the crash: the task runs a new agent, in the same status
    after = wait_for(lambda: (x := task(d.client, t["id"]))["running"] and x["session_id"] != t["session_id"]
                     and x, 60, what="the re-rendered agent",
                     detail=lambda: f"task: {task(d.client, t['id'])}\n--- daemon.log (tail) ---\n"
                                    + (d.home / "daemon.log").read_text()[-4000:])
    assert after["status"] == "in_progress"
    _exact(d, matrix.transcripts, after, whole=True)
    _settle(d, matrix.repo, [witness])
    assert _integrity(d.home) == "ok"


def _resize(d: Daemon, task_id: str) -> bool:
    """Ask for a re-render (40 columns wider); True once one was attempted (or the daemon died)."""
    try:
        resp = d.client.post(f"/api/tasks/{task_id}/resize", json={"cols": 160, "rows": 40})
    except httpx.HTTPError:
        return True
    return resp.status_code == 200 and bool(resp.json().get("rerendered"))


def test_daemon_killed_during_a_migration(matrix: Any) -> None:
    d, witness = matrix(None)
    second = create_task(d.client, "p", "second")
    wait_for(lambda: task(d.client, second["id"])["running"], what="the second agent")
    committed = _rows(d.home)
    d.kill9()
    d.env.update({"ARGUS_PLUGINS": str(PLUGINS / "kmmigration.py"), "ARGUS_FAULT": "migrate.step"})
    died = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "run"], env=d.env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert died.returncode == -signal.SIGKILL and _fired(d, "migrate.step")
    assert _integrity(d.home) == "ok"
    db = sqlite3.connect(f"file:{d.home / 'data.sql'}?mode=ro", uri=True)
    try:  # the half-done step left nothing
        assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'km_names'").fetchall()
    finally:
        db.close()
    since = _log_size(d)
    d.start()
    _reconciled(d, since)
    _settle(d, matrix.repo, committed)
    db = sqlite3.connect(f"file:{d.home / 'data.sql'}?mode=ro", uri=True)
    try:
        names = dict(db.execute("SELECT task_id, name FROM km_names").fetchall())
        versions = db.execute("SELECT version FROM schema_migrations WHERE plugin = 'kmmigration'").fetchall()
    finally:
        db.close()
    assert names == {r["id"]: r["name"] for r in committed} and versions == [(1,)]
    for r in committed:
        _exact(d, matrix.transcripts, task(d.client, r["id"]), whole=True)
    assert _integrity(d.home) == "ok"
    assert json.loads((d.home / "daemon.json").read_text())["pid"] == d.proc.pid  # type: ignore[union-attr]
