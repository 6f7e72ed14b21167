"""Projects defined only in config.toml can hold tasks, and those tasks delete cleanly."""

from __future__ import annotations

from typing import Any

from argus_testkit import Daemon, run_git, wait_for


def test_a_config_only_project_can_hold_and_delete_tasks(daemon: Daemon, git_repo: Any) -> None:
    (daemon.home / "config.toml").write_text(f'[projects.cfgproj]\npath = "{git_repo}"\nbranch = "main"\n')
    c = daemon.client
    wait_for(lambda: "cfgproj" in c.get("/api/projects").json()["projects"], what="config project")
    resp = c.post("/api/tasks", json={"project": "cfgproj", "backend": "demo", "prompt": "from config"})
    assert resp.status_code == 201, resp.text
    task = resp.json()["task"]
    assert c.delete(f"/api/tasks/{task['id']}", params={"force": "1"}).status_code == 200
    assert c.get(f"/api/tasks/{task['id']}").status_code == 404
    assert f"argus/{task['slug']}" not in run_git(git_repo, "branch", "--list")
    assert task["worktree_path"] not in run_git(git_repo, "worktree", "list")
