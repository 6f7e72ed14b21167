"""Self-update against a real local "upstream": a bare repository with a second commit.

The reinstall step is injected through ``update.install_command`` (no virtualenv is built): it
copies the checkout's ``probe.py`` into a directory the daemon loads as an ``ARGUS_PLUGINS``
plugin, so the probe's ``__version__`` in ``GET /api/plugins`` tells which code the daemon runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.kernel.pidlock import pid_alive as _alive
from argus_testkit import Daemon, make_repo, run_git, stop_supervisor_in, wait_for


def _probe(version: str) -> str:
    return f'"""A probe plugin for the self-update tests."""\n\n__version__ = "{version}"\n'


@pytest.fixture
def upstream(tmp_path: Path) -> dict[str, Path]:
    """A bare upstream, a clone used as update.source_path, and a second clone to push from."""
    seed = make_repo(tmp_path / "seed")
    (seed / "pyproject.toml").write_text("[project]\nname = 'argus-probe'\nversion = '1'\n")
    (seed / "probe.py").write_text(_probe("1"))
    run_git(seed, "add", ".")
    run_git(seed, "commit", "-q", "-m", "probe v1")
    bare = tmp_path / "upstream.git"
    run_git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    source = tmp_path / "source"
    run_git(tmp_path, "clone", "-q", str(bare), str(source))
    pusher = tmp_path / "pusher"
    run_git(tmp_path, "clone", "-q", str(bare), str(pusher))
    site = tmp_path / "site"
    site.mkdir()
    (site / "probe.py").write_text(_probe("1"))  # what is "installed" now
    return {"bare": bare, "source": source, "pusher": pusher, "site": site}


def push_second_commit(pusher: Path) -> str:
    """Bump the probe to version 2 upstream; return the new commit's sha."""
    (pusher / "probe.py").write_text(_probe("2"))
    run_git(pusher, "commit", "-q", "-am", "probe v2")
    run_git(pusher, "push", "-q", "origin", "HEAD")
    return run_git(pusher, "rev-parse", "HEAD").strip()


class UpdatingDaemon(Daemon):
    """A daemon that may be replaced by self-update: cleanup also stops whatever pid now runs."""

    def current_pid(self) -> int | None:
        try:
            return int(json.loads((self.home / "daemon.json").read_text())["pid"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def cleanup(self) -> None:
        super().cleanup()
        pid = self.current_pid()
        if pid and (self.proc is None or pid != self.proc.pid):
            try:
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not _alive(pid), 15, what="relaunched daemon exit")
            except (ProcessLookupError, AssertionError):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        stop_supervisor_in(self.home)


@pytest.fixture
def updating_daemon(argus_home: Path, upstream: dict[str, Path]) -> Iterator[UpdatingDaemon]:
    d = UpdatingDaemon(argus_home, env={"ARGUS_PLUGINS": str(upstream["site"] / "probe.py"),
                                        "FAKEAGENT_BUSY": "0.2",
                                        "INVOCATION_ID": ""})  # not a systemd service, even if pytest is
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


def probe_version(client: httpx.Client) -> str:
    plugins = client.get("/api/plugins").json()["plugins"]
    return next(p["version"] for p in plugins if p["name"] == "probe")


def configure(d: Daemon, upstream: dict[str, Path], install_command: str) -> None:
    resp = d.client.put("/api/source-path", json={"source_path": str(upstream["source"])})
    assert resp.status_code == 200, resp.text
    assert resp.json()["valid"] is True
    resp = d.client.put("/api/settings", json={"update": {"install_command": install_command}})
    assert resp.status_code == 200, resp.text


def copy_probe(upstream: dict[str, Path]) -> str:
    return f"cp {{source}}/probe.py {upstream['site'] / 'probe.py'}"


def output(client: httpx.Client, task_id: str) -> str:
    return client.get(f"/api/tasks/{task_id}/output", params={"clean": "1", "bytes": 262144}).text


def test_update_restarts_only_the_daemon_and_runs_the_new_code(
        updating_daemon: UpdatingDaemon, upstream: dict[str, Path], git_repo: Path) -> None:
    d = updating_daemon
    c = d.client
    assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
    resp = c.post("/api/tasks", json={"name": "survivor", "prompt": "wait", "project": "p", "backend": "demo"})
    assert resp.status_code == 201, resp.text
    task_id = resp.json()["task"]["id"]
    wait_for(lambda: "? for shortcuts" in output(c, task_id), 20, what="agent prompt")
    agent_pid = c.get(f"/api/tasks/{task_id}").json()["task"]["pid"]
    assert c.post(f"/api/tasks/{task_id}/input", json={"data": "before\r"}).status_code == 200
    wait_for(lambda: "you said: before" in output(c, task_id), 20, what="echo before the update")

    configure(d, upstream, copy_probe(upstream))
    new_head = push_second_commit(upstream["pusher"])
    dry = c.post("/api/update", json={"dry_run": True})
    assert dry.status_code == 200, dry.text
    assert [x["subject"] for x in dry.json()["commits"]] == ["probe v2"]
    assert run_git(upstream["source"], "rev-parse", "HEAD").strip() != new_head  # a dry run changes nothing
    assert probe_version(c) == "1"
    old_pid = d.proc.pid  # type: ignore[union-attr]

    resp = c.post("/api/update", json={})
    assert resp.status_code == 202, resp.text
    assert resp.json()["update"]["status"] == "running"
    c.close()
    d._client = None

    def new_daemon_up() -> bool:
        pid = d.current_pid()
        if not pid or pid == old_pid:
            return False
        return httpx.get(f"{d.url}/api/status", headers=d.headers, timeout=2).status_code == 200

    wait_for(new_daemon_up, 90, what="the updated daemon")
    assert d.proc is not None and d.proc.wait(15) == 0  # the old daemon stopped cleanly
    c = d.client
    assert probe_version(c) == "2"
    status = c.get("/api/update").json()
    assert status["running"]["revision"] == new_head
    # The new daemon reports the update that brought it up as done, with every step.
    assert status["update"]["status"] == "done"
    assert [s["step"] for s in status["update"]["steps"]] == ["check", "fetch", "pull", "install", "verify",
                                                              "restart"]
    assert [x["subject"] for x in status["update"]["commits"]] == ["probe v2"]
    assert run_git(upstream["source"], "rev-parse", "HEAD").strip() == new_head

    # The agent was never restarted: same pid, and its terminal continues where it was.
    wait_for(lambda: c.get(f"/api/tasks/{task_id}").json()["task"]["running"], 20, what="re-attach")
    assert c.get(f"/api/tasks/{task_id}").json()["task"]["pid"] == agent_pid
    assert c.post(f"/api/tasks/{task_id}/input", json={"data": "after\r"}).status_code == 200
    text = wait_for(lambda: (o := output(c, task_id)) and "you said: after" in o and o, 20, what="echo after")
    assert text.index("you said: before") < text.index("you said: after")


def test_update_under_systemd_exits_for_the_unit_to_restart_it(
        argus_home: Path, upstream: dict[str, Path], git_repo: Path) -> None:
    """Under the systemd user unit (systemd sets ``INVOCATION_ID``) the old daemon starts no
    relauncher: it exits with the status the unit restarts on, and the test plays systemd by
    starting ``argus daemon run`` again in the same environment. The agent keeps running."""
    from argus.kernel import autostart

    unit = autostart.unit_text(autostart.Paths(argus_home))
    assert "Restart=on-failure" in unit and f"RestartForceExitStatus={autostart.RESTART_STATUS}" in unit
    d = UpdatingDaemon(argus_home, env={"ARGUS_PLUGINS": str(upstream["site"] / "probe.py"),
                                        "FAKEAGENT_BUSY": "0.2", "INVOCATION_ID": "0123456789abcdef",
                                        "SYSTEMD_EXEC_PID": ""})  # as systemd before v248
    try:
        d.start()
        c = d.client
        assert c.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        resp = c.post("/api/tasks", json={"name": "survivor", "prompt": "wait", "project": "p", "backend": "demo"})
        assert resp.status_code == 201, resp.text
        task_id = resp.json()["task"]["id"]
        wait_for(lambda: "? for shortcuts" in output(c, task_id), 20, what="agent prompt")
        agent_pid = c.get(f"/api/tasks/{task_id}").json()["task"]["pid"]
        configure(d, upstream, copy_probe(upstream))
        new_head = push_second_commit(upstream["pusher"])
        old = d.proc
        assert old is not None
        assert c.post("/api/update", json={}).status_code == 202
        assert old.wait(90) == autostart.RESTART_STATUS  # Restart=on-failure restarts on it
        assert "argus relaunch" not in (argus_home / "daemon.log").read_text()

        d.start()  # what systemd does after RestartSec
        c = d.client
        assert probe_version(c) == "2"
        status = c.get("/api/update").json()
        assert status["running"]["revision"] == new_head and status["update"]["status"] == "done"
        assert "argus relaunch" not in (argus_home / "daemon.log").read_text()  # no second daemon either
        wait_for(lambda: c.get(f"/api/tasks/{task_id}").json()["task"]["running"], 20, what="re-attach")
        assert c.get(f"/api/tasks/{task_id}").json()["task"]["pid"] == agent_pid
        assert c.post(f"/api/tasks/{task_id}/input", json={"data": "after\r"}).status_code == 200
        wait_for(lambda: "you said: after" in output(c, task_id), 20, what="echo after the update")
    finally:
        d.cleanup()


def test_failing_install_stops_the_update_and_keeps_the_daemon(
        updating_daemon: UpdatingDaemon, upstream: dict[str, Path]) -> None:
    d = updating_daemon
    c = d.client
    configure(d, upstream, "sh -c 'echo pip says boom >&2; exit 3'")
    push_second_commit(upstream["pusher"])
    since = c.get("/api/status").status_code and 0
    resp = c.post("/api/update")
    assert resp.status_code == 202, resp.text

    def finished() -> dict[str, Any] | None:
        run = c.get("/api/update").json()["update"]
        return run if run["status"] == "failed" else None

    run = wait_for(finished, 60, what="the update to fail")
    assert run["error"]["step"] == "install"
    assert "pip says boom" in run["error"]["output"]
    assert [s["step"] for s in run["steps"] if s["status"] == "ok"] == ["check", "fetch", "pull"]
    # The running daemon is untouched and still serves the old code.
    assert d.proc is not None and d.proc.poll() is None and d.current_pid() == d.proc.pid
    assert probe_version(c) == "1"
    # Progress went out as events.
    types = []
    with c.stream("GET", "/api/events/stream", params={"since": since},
                  timeout=httpx.Timeout(30)) as stream:  # ends at update.finished
        try:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event["type"].startswith("update."):
                        types.append((event["type"], event["data"].get("step"), event["data"].get("status")))
                    if event["type"] == "update.finished":
                        break
        except httpx.ReadTimeout:
            pass
    assert ("update.step", "install", "failed") in types
    assert types[-1][0] == "update.finished"
    # A second update can start after a failure (and a concurrent one is refused).
    assert c.post("/api/update").status_code == 202
    assert c.post("/api/update").status_code in (202, 409)
    wait_for(finished, 60, what="the second update to fail")


def test_update_input_errors_and_master_only(daemon: Daemon, tmp_path: Path) -> None:
    c = daemon.client
    resp = c.post("/api/update", json={"dry_run": True})
    assert resp.status_code == 400 and "PUT /api/source-path" in resp.json()["error"]
    assert c.get("/api/source-path").json()["valid"] is False
    for body, needle in [({"source_path": "relative/dir"}, "absolute"),
                         ({"source_path": str(tmp_path / "missing")}, "not a directory"),
                         ({"source_path": str(tmp_path)}, "not a git work tree"),
                         ({"source_path": 5}, "source_path"),
                         ({"path": "/tmp"}, "source_path")]:
        resp = c.put("/api/source-path", json=body)
        assert resp.status_code == 400 and needle in resp.json()["error"], (body, resp.text)
    assert c.post("/api/update", json={"dry_run": "soon"}).status_code == 400
    # A checkout without an upstream: the dry run says which step failed and how to fix it.
    repo = make_repo(tmp_path / "lonely")
    (repo / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert c.put("/api/source-path", json={"source_path": str(repo)}).status_code == 200
    resp = c.post("/api/update", json={"dry_run": True})
    assert resp.status_code == 400 and resp.json()["step"] == "check" and "upstream" in resp.json()["error"]
    assert c.put("/api/source-path", json={"source_path": ""}).json()["source_path"] == ""

    device = c.post("/api/tokens", json={"label": "phone"}).json()["token"]
    for method, path in [("GET", "/api/source-path"), ("PUT", "/api/source-path"),
                         ("GET", "/api/update"), ("POST", "/api/update")]:
        assert c.request(method, path, headers={"Authorization": f"Bearer {device}"},
                         json={}).status_code == 403
        assert httpx.request(method, daemon.url + path, json={}).status_code == 401
    assert c.get("/api/doctor", headers={"Authorization": f"Bearer {device}"}).status_code == 200
    assert httpx.get(daemon.url + "/api/doctor").status_code == 401


def test_relauncher_refuses_without_a_pid() -> None:
    import sys

    proc = subprocess.run([sys.executable, "-m", "argus.plugins.ops.relaunch"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2 and "usage" in proc.stderr
    start = time.monotonic()
    assert time.monotonic() - start < 30
