"""The merge flow on real repositories: ahead/behind and the conflict preview, rebase, merge into
the base (fast-forward, merge commit, refused on a dirty base or a conflict), and push + PR with a
fake ``gh`` on PATH against a local bare remote; over REST and MCP ``task_merge``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import trio
from argus_testkit import Daemon, run_git
from orch_helpers import call, call_error, mcp_session
from test_tasks_api import agent_env, create_task, wait_idle

__all__ = ["agent_env"]  # the autouse fixture (short busy phases, launch record)


def _task_with_commit(c: Any, name: str, files: dict[str, str]) -> dict[str, Any]:
    """A task whose branch holds one commit writing ``files`` (and what the fake agent wrote)."""
    t = create_task(c, name=name)
    wait_idle(c, t["id"])
    wt = Path(t["worktree_path"])
    for rel, text in files.items():
        (wt / rel).write_text(text)
    run_git(wt, "add", "-A")
    run_git(wt, "commit", "-q", "-m", f"{name} work")
    return t


def _commit_on_main(repo: Path, rel: str, text: str) -> None:
    (repo / rel).write_text(text)
    run_git(repo, "add", rel)
    run_git(repo, "commit", "-q", "-m", f"main: {rel}")


def _merge(c: Any, tid: str, **body: Any) -> Any:
    return c.post(f"/api/tasks/{tid}/merge", json=body)


def test_preview_merge_ff_and_merge_commit_dirty_base(daemon: Daemon, project: dict[str, Any]) -> None:
    c, repo = daemon.client, Path(project["path"])
    a = _task_with_commit(c, "feature a", {"a.txt": "a\n", "shared.txt": "same\n"})
    b = _task_with_commit(c, "feature b", {"b.txt": "b\n", "shared.txt": "same\n"})

    pre = c.get(f"/api/tasks/{a['id']}/merge").json()
    assert pre["ahead"] == 1 and pre["behind"] == 0 and pre["fast_forward"] is True
    assert pre["conflicts"] == [] and pre["commits"][0]["subject"] == "feature a work"
    assert pre["base"] == "main" and pre["base_dirty"] is False
    # "conflicts with": b, a live task of the project, changed the same file
    assert [(o["id"], "shared.txt" in o["files"]) for o in pre["overlaps"]] == [(b["id"], True)]

    # a dirty base worktree: refused, nothing moves
    head = run_git(repo, "rev-parse", "main")
    (repo / "scratch.txt").write_text("uncommitted\n")
    resp = _merge(c, a["id"], action="merge")
    assert resp.status_code == 409 and "uncommitted changes" in resp.json()["error"], resp.text
    assert run_git(repo, "rev-parse", "main") == head and (repo / "scratch.txt").exists()
    (repo / "scratch.txt").unlink()

    # fast-forward
    done = _merge(c, a["id"], action="merge").json()
    assert done["fast_forward"] is True and (repo / "a.txt").read_text() == "a\n"
    assert run_git(repo, "rev-parse", "main").strip() == run_git(repo, "rev-parse", a["branch"]).strip()
    assert done["merge"]["ahead"] == 0
    assert _merge(c, a["id"], action="merge").status_code == 409  # nothing left to merge

    # b is now behind main: a merge commit
    pre = c.get(f"/api/tasks/{b['id']}/merge").json()
    assert pre["ahead"] == 1 and pre["behind"] == 1 and pre["fast_forward"] is False
    done = _merge(c, b["id"], action="merge").json()
    assert done["fast_forward"] is False
    assert (repo / "a.txt").exists() and (repo / "b.txt").exists()
    parents = run_git(repo, "rev-list", "--parents", "-n", "1", "main").split()
    assert len(parents) == 3  # a merge commit
    assert run_git(repo, "status", "--porcelain") == ""


def test_conflict_preview_refuses_merge_and_rebase_then_clean_rebase(daemon: Daemon,
                                                                      project: dict[str, Any]) -> None:
    c, repo = daemon.client, Path(project["path"])
    clash = _task_with_commit(c, "clash", {"README.md": "the task's readme\n"})
    later = _task_with_commit(c, "later", {"later.txt": "l\n"})
    _commit_on_main(repo, "README.md", "main's readme\n")

    pre = c.get(f"/api/tasks/{clash['id']}/merge").json()
    assert pre["conflicts"] == ["README.md"] and pre["behind"] == 1
    main_head = run_git(repo, "rev-parse", "main")
    resp = _merge(c, clash["id"], action="merge")
    assert resp.status_code == 409 and resp.json()["conflicts"] == ["README.md"], resp.text
    assert run_git(repo, "rev-parse", "main") == main_head

    wt = Path(clash["worktree_path"])
    head = run_git(wt, "rev-parse", "HEAD")
    resp = _merge(c, clash["id"], action="rebase")
    assert resp.status_code == 409 and "README.md" in resp.json()["error"], resp.text
    assert run_git(wt, "rev-parse", "HEAD") == head and run_git(wt, "status", "--porcelain") == ""
    assert (wt / "README.md").read_text() == "the task's readme\n"  # nothing lost

    # a clean rebase puts the task on top of main
    done = _merge(c, later["id"], action="rebase").json()
    assert done["merge"]["behind"] == 0 and done["merge"]["ahead"] == 1
    assert (Path(later["worktree_path"]) / "README.md").read_text() == "main's readme\n"

    # a dirty task worktree is never rebased
    (Path(later["worktree_path"]) / "later.txt").write_text("edited\n")
    resp = _merge(c, later["id"], action="rebase")
    assert resp.status_code == 409 and "uncommitted" in resp.json()["error"]
    assert _merge(c, later["id"], action="squash").status_code == 400


@pytest.fixture
def fake_gh(argus_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``gh`` on the daemon's PATH that records its arguments and prints a PR URL."""
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    record = tmp_path / "gh-calls.jsonl"
    gh = bin_dir / "gh"
    line = "json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd()}) + '\\n'"
    gh.write_text(f"#!/usr/bin/env python3\nimport json, os, sys\nopen({str(record)!r}, 'a').write({line})\n"
                  "print('https://forge.invalid/demo/pull/7')\n")
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return record


def test_pr_pushes_to_a_bare_remote_and_calls_gh_and_mcp(fake_gh: Path, daemon: Daemon,
                                                         project: dict[str, Any], tmp_path: Path) -> None:
    c, repo = daemon.client, Path(project["path"])
    t = _task_with_commit(c, "ship it", {"ship.txt": "s\n"})
    resp = _merge(c, t["id"], action="pr", title="Ship it")
    assert resp.status_code == 409 and "no remote" in resp.json()["error"]
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(remote))
    run_git(repo, "remote", "add", "origin", str(remote))

    done = _merge(c, t["id"], action="pr", title="Ship it").json()
    assert done["pushed"] is True and done["pr_url"] == "https://forge.invalid/demo/pull/7"
    assert run_git(remote, "rev-parse", t["branch"]) == run_git(repo, "rev-parse", t["branch"])
    gh_call = json.loads(fake_gh.read_text().splitlines()[-1])
    assert gh_call["argv"][:6] == ["pr", "create", "--base", "main", "--head", t["branch"]]
    assert gh_call["argv"][6:8] == ["--title", "Ship it"] and gh_call["cwd"] == t["worktree_path"]

    async def over_mcp() -> None:
        async with mcp_session(daemon.mcp_url, daemon.token) as session:
            assert (await call(session, "task_merge", {"id": t["id"]}))["ahead"] == 1
            assert await call_error(session, "task_merge", {"id": t["id"], "action": "explode"})
            merged = await call(session, "task_merge", {"id": t["id"], "action": "merge"})
            assert merged["fast_forward"] is True

    trio.run(over_mcp)
    assert (repo / "ship.txt").exists()


def test_merge_routes_need_a_token(daemon: Daemon, project: dict[str, Any]) -> None:
    import httpx
    t = create_task(daemon.client, name="guarded")
    assert httpx.get(f"{daemon.url}/api/tasks/{t['id']}/merge", timeout=10).status_code == 401
    assert httpx.post(f"{daemon.url}/api/tasks/{t['id']}/merge", json={"action": "merge"},
                      timeout=10).status_code == 401
