"""The sandbox end to end: a real daemon launches fake agents through bwrap.

The daemon runs with HOME set to a fake home holding ``~/.aws/credentials`` and ``~/.ssh``
keys. The ``probe`` backend (``probe_agent.sh``) tries reads and writes the sandbox must refuse or
allow, prints one ``PROBE name=allowed|denied`` line each, then becomes the fake agent, so the
same task also proves the PTY still behaves. Skipped, with the reason, where bwrap cannot run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import Daemon, make_repo, run_git, wait_for
from sandbox_helpers import make_home, require_bwrap, require_checkout_outside_tmp

HERE = Path(__file__).resolve().parent
PROJECT = "proj"
GIT_ID = {"GIT_AUTHOR_NAME": "Argus Test", "GIT_AUTHOR_EMAIL": "test@argus.invalid",
          "GIT_COMMITTER_NAME": "Argus Test", "GIT_COMMITTER_EMAIL": "test@argus.invalid"}


@pytest.fixture
def world(tmp_path: Path, daemon_factory: Callable[..., Daemon]) -> Iterator[dict[str, Any]]:
    """A daemon whose HOME holds credentials, a project, and the ``probe`` backend. The probe
    writes ``/tmp/<tmpname>`` for real when a test runs it unconfined: removed afterwards."""
    home = make_home(tmp_path / "home")
    d = daemon_factory("sbx", env={"HOME": str(home), "FAKEAGENT_BUSY": "0.2", **GIT_ID})
    repo = make_repo(tmp_path / "repo")
    c = d.client
    assert c.post("/api/projects", json={"name": PROJECT, "path": str(repo)}).status_code == 201
    tmpname = f"argus-sbx-{uuid.uuid4().hex}"
    command = f"bash {HERE / 'probe_agent.sh'} {d.home / 'api-token'} {repo} {tmpname}"
    resp = c.post("/api/backends", json={"name": "probe", "command": command})
    assert resp.status_code in (200, 201), resp.text
    try:
        yield {"daemon": d, "client": c, "home": home, "repo": repo, "tmpname": tmpname}
    finally:
        Path(f"/tmp/{tmpname}").unlink(missing_ok=True)


def enable_globally(c: httpx.Client, **values: Any) -> None:
    resp = c.put("/api/settings", json={"sandbox": {"enabled": True, **values}})
    assert resp.status_code == 200, resp.text


def set_project_sandbox(c: httpx.Client, **sandbox: Any) -> None:
    resp = c.put(f"/api/projects/{PROJECT}", json={"sandbox": sandbox})
    assert resp.status_code == 200, resp.text


def create(c: httpx.Client, expect: int = 201, **body: Any) -> dict[str, Any]:
    resp = c.post("/api/tasks", json={"project": PROJECT, **body})
    assert resp.status_code == expect, resp.text
    return resp.json()["task"] if expect == 201 else resp.json()


def output(c: httpx.Client, task_id: str) -> str:
    resp = c.get(f"/api/tasks/{task_id}/output", params={"bytes": 65536, "clean": 1})
    assert resp.status_code == 200, resp.text
    return resp.text


def wait_output(c: httpx.Client, task_id: str, text: str, timeout: float = 30.0) -> str:
    last = [""]

    def check() -> str | None:
        last[0] = output(c, task_id)
        return last[0] if text in last[0] else None

    return wait_for(check, timeout, f"{text!r} in the output", detail=lambda: f"output: {last[0][-2000:]!r}")


def probes(c: httpx.Client, task_id: str) -> dict[str, str]:
    """The probe agent's verdicts, once it printed them all."""
    text = wait_output(c, task_id, "PROBE done")
    return dict(re.findall(r"PROBE (\w+)=(allowed|denied)", text))


def task(c: httpx.Client, task_id: str) -> dict[str, Any]:
    resp = c.get(f"/api/tasks/{task_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["task"]


def sandbox_of(c: httpx.Client, task_id: str) -> dict[str, Any]:
    resp = c.get(f"/api/tasks/{task_id}/sandbox")
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_sandboxed_agent_cannot_read_credentials_or_write_outside_its_worktree(world: dict[str, Any]) -> None:
    require_checkout_outside_tmp()  # the agent runs inside bwrap
    require_bwrap()
    c, home, repo = world["client"], world["home"], world["repo"]
    enable_globally(c, deny_read=["~/notes.txt"])
    set_project_sandbox(c, deny_read=["~/project-notes.txt"])
    t = create(c, name="probe run", backend="probe", prompt="go")
    verdicts = probes(c, t["id"])
    assert verdicts == {
        "read_aws": "denied", "read_ssh_key": "denied", "read_ssh_pub": "allowed",
        "read_notes": "denied", "read_project_notes": "denied", "read_token": "denied",
        "write_worktree": "allowed", "write_repo": "denied", "write_home": "denied", "write_tmp": "allowed",
        "git_commit": "allowed", "reach_argus": "allowed",
    }
    worktree = Path(t["worktree_path"])
    assert (worktree / "sandbox-probe.txt").read_text() == "inside\n"
    assert not (repo / "escaped.txt").exists() and not (home / "escaped.txt").exists()
    assert not Path("/tmp", world["tmpname"]).exists(), "/tmp writes stay in the task's private /tmp"
    assert "commit from the sandbox" in run_git(repo, "log", "-1", "--format=%s", t["branch"])
    info = sandbox_of(c, t["id"])
    assert info["current"]["sandboxed"] is True and info["current"]["backend"].startswith("bubblewrap")
    assert task(c, t["id"])["sandbox"] == {"sandboxed": True, "backend": info["current"]["backend"], "launched": True}
    policy = info["current"]["policy"]
    assert str(home / "notes.txt") in policy["deny_read"] and str(home / "project-notes.txt") in policy["deny_read"]
    assert policy["network"] is True and policy["private_tmp"]


def test_a_sandboxed_agent_keeps_a_working_terminal(world: dict[str, Any]) -> None:
    """Idle detection, echo, resize, Ctrl+C and the exit code through bwrap."""
    require_checkout_outside_tmp()  # the agent runs inside bwrap
    require_bwrap()
    c = world["client"]
    enable_globally(c)
    t = create(c, name="pty run", backend="probe", prompt="hello")
    tid = t["id"]
    wait_for(lambda: task(c, tid)["idle"] and task(c, tid)["running"], 30, what="the agent to wait for input")
    assert c.post(f"/api/tasks/{tid}/input", json={"data": "ping\r"}).status_code == 200
    wait_output(c, tid, "you said: ping")
    resp = c.post(f"/api/tasks/{tid}/resize", json={"cols": 130, "rows": 30})
    assert resp.status_code == 200, resp.text
    assert c.get(f"/api/tasks/{tid}/size").json() == {"cols": 130, "rows": 30}
    wait_for(lambda: task(c, tid)["idle"], 30, what="idle again")
    for _ in range(2):
        assert c.post(f"/api/tasks/{tid}/input", json={"data": "\x03"}).status_code == 200
    done = wait_for(lambda: (lambda x: x if not x["running"] else None)(task(c, tid)), 30, what="the agent to exit")
    assert done["exit_code"] == 130, done


def test_project_disabled_overrides_global_enabled_and_changes_apply_at_the_next_launch(
        world: dict[str, Any]) -> None:
    require_bwrap()
    c = world["client"]
    enable_globally(c)
    set_project_sandbox(c, enabled=False)
    t = create(c, name="free run", backend="probe", prompt="go")
    assert probes(c, t["id"])["read_aws"] == "allowed"
    assert task(c, t["id"])["sandbox"]["sandboxed"] is False
    info = sandbox_of(c, t["id"])
    assert info["current"]["sandboxed"] is False and info["next"]["enabled_from"] == "project"
    # Back to inherit: the running agent is untouched; its next launch (a resume) is confined.
    set_project_sandbox(c, enabled=None)
    info = sandbox_of(c, t["id"])
    assert info["current"]["sandboxed"] is False and info["next"]["enabled"] is True
    assert c.post(f"/api/tasks/{t['id']}/stop").status_code == 200
    assert c.post(f"/api/tasks/{t['id']}/resume").status_code == 200
    assert sandbox_of(c, t["id"])["current"]["sandboxed"] is True
    assert task(c, t["id"])["sandbox"]["sandboxed"] is True
    # deleting the task forgets its launch record
    assert c.delete(f"/api/tasks/{t['id']}", params={"force": 1}).status_code == 200
    assert c.get(f"/api/tasks/{t['id']}/sandbox").status_code == 404


def test_network_off_for_a_project_unshares_the_network(world: dict[str, Any]) -> None:
    require_checkout_outside_tmp()  # the agent runs inside bwrap
    require_bwrap()
    c = world["client"]
    enable_globally(c)
    set_project_sandbox(c, network=False)
    t = create(c, name="offline", backend="probe", prompt="go")
    assert probes(c, t["id"])["reach_argus"] == "denied"
    assert sandbox_of(c, t["id"])["current"]["policy"]["network"] is False


def test_bwrap_missing_refuses_task_creation_with_400_and_creates_nothing(world: dict[str, Any]) -> None:
    c, d = world["client"], world["daemon"]
    (d.home / "config.toml").write_text('[sandbox]\nenabled = true\nbwrap = "/nonexistent/bwrap"\n')
    err = create(c, expect=400, name="never", backend="probe", prompt="go")
    assert "bubblewrap is not installed" in err["error"] and err["sandbox"]["available"] is False
    assert c.get("/api/tasks").json()["tasks"] == []
    assert not list((d.home / "worktrees").glob("*/*"))
    assert run_git(world["repo"], "branch", "--list", "argus/*").strip() == ""
    settings = c.get("/api/settings").json()
    assert settings["sandbox"]["available"] is False and "not installed" in settings["sandbox"]["reason"]
    # the project turning its sandbox off lets tasks run again (unconfined, and saying so)
    set_project_sandbox(c, enabled=False)
    t = create(c, name="unconfined", backend="probe", prompt="go")
    assert sandbox_of(c, t["id"])["current"]["sandboxed"] is False
    assert probes(c, t["id"])["read_aws"] == "allowed"  # (and its /tmp write is done: the fixture removes it)


def test_settings_report_the_sandbox_backend(world: dict[str, Any]) -> None:
    found = require_bwrap()
    settings = world["client"].get("/api/settings").json()
    assert settings["sandbox"]["available"] is True
    assert settings["sandbox"]["backend"] == f"bubblewrap {found.version}".strip()
    assert settings["sandbox"]["enabled"] is False and settings["sandbox"]["network"] is True
    schema = {s["name"]: s for s in settings["schema"]}
    assert schema["sandbox"]["master_only"] is True


def test_a_device_token_cannot_change_the_sandbox(world: dict[str, Any]) -> None:
    c, d = world["client"], world["daemon"]
    minted = c.post("/api/tokens", json={"label": "phone"})
    assert minted.status_code == 201, minted.text
    device = httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {minted.json()['token']}"}, timeout=15)
    with device:
        assert device.put("/api/settings", json={"sandbox": {"enabled": False}}).status_code == 403
        current = c.get("/api/projects/full").json()["projects"][0]["sandbox"]
        resp = device.put(f"/api/projects/{PROJECT}", json={"sandbox": {**current, "enabled": False}})
        assert resp.status_code == 403 and "master token" in resp.json()["error"]
        # other fields, and the sandbox object sent back unchanged, are fine
        assert device.put(f"/api/projects/{PROJECT}", json={"sandbox": current, "branch": ""}).status_code == 200
        new = device.post("/api/projects", json={"name": "other", "path": str(world["repo"]),
                                                 "sandbox": {"enabled": False}})
        assert new.status_code == 403
        assert device.get("/api/tasks/nonexistent/sandbox").status_code == 404
    assert httpx.get(f"{d.url}/api/tasks/x/sandbox").status_code == 401
    minted_scope = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "token", "mint", "--scope", "probe"],
                                  env={**os.environ, "ARGUS_HOME": str(d.home)}, capture_output=True, text=True,
                                  timeout=60)
    assert minted_scope.returncode == 0, minted_scope.stderr
    scope = {"Authorization": f"Bearer {minted_scope.stdout.strip()}"}
    assert httpx.put(f"{d.url}/api/settings", json={"sandbox": {"enabled": False}}, headers=scope,
                     timeout=15).status_code == 403
    assert c.put(f"/api/projects/{PROJECT}", json={"sandbox": {"enabled": False}}).status_code == 200
