"""Projects and backends over REST: CRUD and validation, repository scan with progress events, the
master-only backend writes, a backend whose executable is missing, and the flags a backend's
agent receives (permission mode, model, resume) as the fake CLIs record them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argus_testkit import Daemon, make_repo, run_git
from test_tasks_api import (
    NO_KEEPALIVE,
    PROJECT,
    agent_env,
    argus_branches,
    create_task,
    events_until,
    nth_launch,
    wait_idle,
    wait_output,
    worktrees,
)

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


def test_project_crud_and_validation(daemon: Daemon, tmp_path: Path) -> None:
    c = daemon.client
    repo = make_repo(tmp_path / "web")
    run_git(repo, "branch", "develop")
    plain = tmp_path / "not-a-repo"
    plain.mkdir()

    resp = c.post("/api/projects", json={"name": "web", "path": str(repo / ".")})
    assert resp.status_code == 201, resp.text
    assert resp.json()["project"] == {"name": "web", "path": str(repo), "branch": "main", "backend": "",
                                      "sandbox": {"enabled": None, "deny_read": [], "extra_write": [],
                                                  "allow_apple_events": [], "network": None}}
    assert c.post("/api/projects", json={"name": "web", "path": str(repo)}).status_code == 409
    resp = c.post("/api/projects", json={"name": "plain", "path": str(plain)})
    assert resp.status_code == 400 and "not a git repository" in resp.json()["error"]
    assert str(plain) in resp.json()["error"]
    resp = c.post("/api/projects", json={"name": "gone", "path": str(tmp_path / "missing")})
    assert resp.status_code == 400 and str(tmp_path / "missing") in resp.json()["error"]
    for bad in ({"name": "../x", "path": str(repo)}, {"name": "", "path": str(repo)}, {"name": "ok"},
                {"name": "b", "path": str(repo), "branch": "nope"}, {"name": "c", "path": str(repo), "backend": "nope"},
                {"name": "d", "path": str(repo), "sandbox": {"enabled": "yes"}},
                {"name": "e", "path": str(repo), "sandbox": {"deny_read": "/etc"}}):
        assert c.post("/api/projects", json=bad).status_code == 400, bad
    resp = c.post("/api/projects", json={"name": "sub", "path": str(repo), "branch": "develop", "backend": "codex",
                                         "sandbox": {"enabled": True, "deny_read": ["~/.ssh"], "extra_write": []}})
    assert resp.status_code == 201, resp.text

    assert c.get("/api/projects").json() == {"projects": ["sub", "web"]}
    full = {p["name"]: p for p in c.get("/api/projects/full").json()["projects"]}
    assert full["web"]["default_backend"] == "claude" and full["sub"]["default_backend"] == "codex"
    assert full["sub"]["branch"] == "develop" and full["sub"]["sandbox"]["enabled"] is True

    resp = c.put("/api/projects/web", json={"branch": "develop", "backend": "demo"})
    assert resp.status_code == 200 and resp.json()["project"]["branch"] == "develop"
    assert resp.json()["project"]["backend"] == "demo"
    assert c.put("/api/projects/web", json={"path": str(plain)}).status_code == 400
    assert c.put("/api/projects/web", json={"branch": "nope"}).status_code == 400
    assert c.put("/api/projects/web", json={"backend": "nope"}).status_code == 400
    assert c.put("/api/projects/nope", json={"branch": "main"}).status_code == 404

    # a project's backend and branch are the defaults of its tasks; a project with tasks stays
    t = create_task(c, project="web", name="uses defaults")
    assert t["backend"] == "demo" and t["base_branch"] == "develop"
    wait_idle(c, t["id"])
    resp = c.delete("/api/projects/web")
    assert resp.status_code == 409 and "tasks" in resp.json()["error"]
    assert c.delete(f"/api/tasks/{t['id']}").status_code == 200
    assert c.delete("/api/projects/web").status_code == 200
    assert c.delete("/api/projects/web").status_code == 404
    assert c.get("/api/projects").json() == {"projects": ["sub"]}


def test_scan_lists_repositories_with_progress_events(daemon: Daemon, project: dict[str, Any],
                                                      tmp_path: Path) -> None:
    c = daemon.client
    root = tmp_path / "code"
    make_repo(root / "alpha")
    make_repo(root / "group" / "beta", branch="trunk")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a repo")
    make_repo(root / ".hidden" / "gamma")
    resp = c.post("/api/projects/scan", json={"dir": str(root)})
    assert resp.status_code == 200, resp.text
    repos = resp.json()["repos"]
    assert [(r["name"], r["path"], r["branch"], r["registered"]) for r in repos] == [
        ("alpha", str(root / "alpha"), "main", False),
        ("beta", str(root / "group" / "beta"), "trunk", False),
    ]
    progress = events_until(c, lambda e: e.get("event") == "project.scan.progress", what="scan progress")
    scan_id = progress["data"]["data"]["scan_id"]
    assert progress["data"]["data"]["dirs"] >= 1
    done = events_until(c, lambda e: e.get("event") == "project.scan.done", what="scan done")
    assert done["data"]["data"] == {"scan_id": scan_id, "count": 2}

    # the registered project's repository is flagged as such
    resp = c.post("/api/projects/scan", json={"dir": str(project["path"].parent)})
    found = {r["path"]: r["registered"] for r in resp.json()["repos"]}
    assert found[str(project["path"])] is True
    assert c.post("/api/projects/scan", json={"dir": str(tmp_path / "missing")}).status_code == 400
    assert c.post("/api/projects/scan", json={}).status_code == 400


def test_backend_crud_requires_master(daemon: Daemon) -> None:
    c = daemon.client
    listing = c.get("/api/backends").json()
    assert {b["name"] for b in listing["backends"]} >= {"claude", "codex", "pi", "demo"}
    assert listing["default"] == "claude"
    assert [b["name"] for b in listing["backends"] if b["default"]] == ["claude"]

    device = c.post("/api/tokens", json={"label": "phone"}).json()["token"]
    # refused before the body is read: no connection reuse (test_tasks_api's keep-alive test)
    dev = {"Authorization": f"Bearer {device}", **NO_KEEPALIVE}
    assert c.get("/api/backends", headers=dev).status_code == 200
    body = {"name": "mine", "command": "fakeagent --busy 0", "prompt_flag": "-p", "model": "m1"}
    assert c.post("/api/backends", json=body, headers=dev).status_code == 403
    assert c.put("/api/backends/demo", json={"model": "x"}, headers=dev).status_code == 403
    assert c.delete("/api/backends/demo", headers=dev).status_code == 403
    assert c.post("/api/backends", json=body, headers={"Authorization": "Bearer nope", **NO_KEEPALIVE}
                  ).status_code == 401

    resp = c.post("/api/backends", json=body)
    assert resp.status_code == 201, resp.text
    created = resp.json()["backend"]
    assert {k: created[k] for k in ("name", "command", "prompt_flag", "model", "kind", "available", "default")} == {
        "name": "mine", "command": "fakeagent --busy 0", "prompt_flag": "-p", "model": "m1", "kind": "generic",
        "available": True, "default": False}
    assert c.post("/api/backends", json=body).status_code == 409
    for bad in ({"name": "x y", "command": "a"}, {"name": "q", "command": "'unclosed"}, {"name": "r", "command": ""},
                {"name": "s", "command": "a", "model": 3}):
        assert c.post("/api/backends", json=bad).status_code == 400, bad
    resp = c.put("/api/backends/mine", json={"model": "m2"})
    assert resp.status_code == 200 and resp.json()["backend"]["model"] == "m2"
    assert resp.json()["backend"]["command"] == "fakeagent --busy 0"
    assert c.put("/api/backends/ghost", json={"model": "m2"}).status_code == 404
    resp = c.delete("/api/backends/claude")
    assert resp.status_code == 409 and "default" in resp.json()["error"]
    assert c.delete("/api/backends/mine").status_code == 200
    assert c.delete("/api/backends/mine").status_code == 404
    assert "mine" not in {b["name"] for b in c.get("/api/backends").json()["backends"]}


def test_missing_executable_is_refused_by_name(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    resp = c.post("/api/backends", json={"name": "ghost", "command": "no-such-agent-cli --fast"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["backend"]["available"] is False
    resp = c.post("/api/tasks", json={"project": PROJECT, "prompt": "hello", "backend": "ghost"})
    assert resp.status_code == 400, resp.text
    assert "no-such-agent-cli" in resp.json()["error"]
    assert resp.json().get("executable") == "no-such-agent-cli"
    assert c.get("/api/tasks", params={"archived": "all"}).json() == {"tasks": []}
    assert argus_branches(project["path"]) == [] and worktrees(project["path"]) == [str(project["path"])]
    # the project's default backend being missing is refused the same way
    c.put(f"/api/projects/{PROJECT}", json={"backend": "ghost"})
    resp = c.post("/api/tasks", json={"project": PROJECT, "prompt": "hello"})
    assert resp.status_code == 400 and "no-such-agent-cli" in resp.json()["error"]


@pytest.mark.parametrize(("mode", "flags", "banner"), [
    ("bypass-active", ["--dangerously-skip-permissions"], "permissions: bypassPermissions"),
    ("plan", ["--permission-mode", "plan"], "permissions: plan"),
    ("acceptEdits", ["--permission-mode", "acceptEdits"], "permissions: acceptEdits"),
    ("default", [], None),
])
def test_permission_mode_reaches_claude_agents(daemon: Daemon, project: dict[str, Any], agent_env: Path,
                                               mode: str, flags: list[str], banner: str | None) -> None:
    c = daemon.client
    resp = c.put("/api/settings", json={"defaults": {"permission_mode": mode}})
    assert resp.status_code == 200, resp.text
    t = create_task(c, prompt="check flags", backend="claude", model="opus-test")
    launch = nth_launch(agent_env, 1)
    argv = launch["argv"]
    for flag in ("--dangerously-skip-permissions", "--permission-mode", "--allow-dangerously-skip-permissions"):
        assert (flag in argv) == (flag in flags), (flag, argv)
    if flags:
        i = argv.index(flags[0])
        assert argv[i:i + len(flags)] == flags
    assert argv[argv.index("--session-id") + 1] == t["agent_session_id"]
    assert argv[argv.index("--model") + 1] == "opus-test" and launch["model"] == "opus-test"
    assert Path(argv[argv.index("--settings") + 1]).is_file()
    assert Path(argv[argv.index("--mcp-config") + 1]).is_file()
    assert argv[-1] == "check flags"
    assert launch["env"]["ARGUS_TASK_ID"] == t["id"] and launch["env"]["ARGUS_HOOK_TOKEN"] == "<set>"
    out = wait_output(c, t["id"], "model: opus-test")
    if banner:
        assert banner in out
    else:
        assert "permissions:" not in out


def test_other_backends_get_no_permission_flags(daemon: Daemon, project: dict[str, Any], agent_env: Path) -> None:
    c = daemon.client
    c.put("/api/settings", json={"defaults": {"permission_mode": "plan"}})
    create_task(c, prompt="codex work", backend="codex")
    codex = nth_launch(agent_env, 1)
    assert "--permission-mode" not in codex["argv"] and "--dangerously-bypass-approvals-and-sandbox" in codex["argv"]
    assert any(v.startswith("mcp_servers.argus.url=") for v in codex["argv"])
    assert "notify" in codex["config"]
    resp = c.post("/api/backends", json={"name": "flagged", "command": "fakeagent --busy 0 --no-edit",
                                         "prompt_flag": "-p", "model": "m9"})
    assert resp.status_code == 201
    t = create_task(c, prompt="generic work", backend="flagged")
    generic = nth_launch(agent_env, 2)
    assert generic["argv"][-2:] == ["-p", "generic work"] and generic["prompt"] == "generic work"
    assert "--permission-mode" not in generic["argv"] and "--model" not in generic["argv"]
    # generic CLIs find Argus's MCP server in a project-local .mcp.json (removed with the task)
    mcp = Path(t["worktree_path"]) / ".mcp.json"
    assert mcp.is_file() and "/mcp" in mcp.read_text()
    wait_idle(c, t["id"])
    assert c.delete(f"/api/tasks/{t['id']}").status_code == 200  # the generated file is not "unsaved work"


def test_refused_delete_keeps_generated_mcp_config(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    resp = c.post("/api/backends", json={"name": "generic", "command": "fakeagent --busy 0"})
    assert resp.status_code == 201
    t = create_task(c, prompt="edit a file", backend="generic")  # the agent edits ARGUS_DEMO.md: dirty
    wait_idle(c, t["id"])
    mcp = Path(t["worktree_path"]) / ".mcp.json"
    assert mcp.is_file()
    assert c.delete(f"/api/tasks/{t['id']}").status_code == 409
    assert mcp.is_file(), "a refused delete must not change the worktree"


def test_daemon_restarts_after_a_running_tasks_backend_was_deleted(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    assert c.post("/api/backends", json={"name": "temp", "command": "fakeagent"}).status_code == 201
    t = create_task(c, name="orphaned backend", backend="temp")
    wait_idle(c, t["id"])
    assert c.delete("/api/backends/temp").status_code == 200
    daemon.stop()
    daemon.start(timeout=15)
    after = daemon.client.get(f"/api/tasks/{t['id']}").json()["task"]
    assert after["running"] and after["status"] == "in_progress"
