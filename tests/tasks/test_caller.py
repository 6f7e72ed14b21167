"""Caller identity: ``id`` wins, ``cwd`` resolves to the task with the longest worktree prefix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.errors import Conflict, Invalid, NotFound
from argus.plugins.tasks.caller import match_cwd, resolve, resolve_optional


def row(task_id: str, wt: str, *, status: str = "in_progress", archived: int = 0) -> dict[str, Any]:
    return {"id": task_id, "name": task_id, "worktree_path": wt, "status": status, "archived": archived}


def test_cwd_inside_a_worktree_resolves_to_its_task(tmp_path: Path) -> None:
    rows = [row("t_a", f"{tmp_path}/wt/app"), row("t_b", f"{tmp_path}/wt/api")]
    assert match_cwd(rows, f"{tmp_path}/wt/app")["id"] == "t_a"
    assert match_cwd(rows, f"{tmp_path}/wt/app/src/deep")["id"] == "t_a"
    assert match_cwd(rows, f"{tmp_path}/wt/api/")["id"] == "t_b"


def test_prefix_match_is_guarded_by_the_path_separator(tmp_path: Path) -> None:
    rows = [row("t_a", f"{tmp_path}/wt/app")]
    with pytest.raises(NotFound):
        match_cwd(rows, f"{tmp_path}/wt/app-2/src")
    with pytest.raises(NotFound):
        match_cwd(rows, f"{tmp_path}/wt")


def test_longest_prefix_wins_for_nested_worktrees(tmp_path: Path) -> None:
    rows = [row("t_outer", f"{tmp_path}/wt"), row("t_inner", f"{tmp_path}/wt/nested/inner")]
    assert match_cwd(rows, f"{tmp_path}/wt/nested/inner/x")["id"] == "t_inner"
    assert match_cwd(rows, f"{tmp_path}/wt/nested")["id"] == "t_outer"


def test_ties_prefer_non_archived_then_in_progress(tmp_path: Path) -> None:
    wt = f"{tmp_path}/wt/same"
    rows = [row("t_old", wt, archived=1), row("t_new", wt, status="in_review")]
    assert match_cwd(rows, wt)["id"] == "t_new"
    rows = [row("t_review", wt, status="in_review"), row("t_running", wt)]
    assert match_cwd(rows, wt)["id"] == "t_running"


def test_unbreakable_tie_is_a_clear_ambiguity_error(tmp_path: Path) -> None:
    wt = f"{tmp_path}/wt/same"
    rows = [row("t_one", wt), row("t_two", wt)]
    with pytest.raises(Conflict) as err:
        match_cwd(rows, wt + "/src")
    assert "t_one" in err.value.message and "t_two" in err.value.message and "pass id" in err.value.message


def test_symlinked_cwd_resolves(tmp_path: Path) -> None:
    real = tmp_path / "real" / "wt"
    real.mkdir(parents=True)
    link = tmp_path / "link"
    os.symlink(tmp_path / "real", link)
    rows = [row("t_a", str(real))]
    assert match_cwd(rows, str(link / "wt"))["id"] == "t_a"


def test_relative_cwd_is_refused() -> None:
    with pytest.raises(Invalid):
        match_cwd([row("t_a", "/x/wt")], "wt/src")


class FakeStore:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def tasks(self, **_: Any) -> list[dict[str, Any]]:
        return self.rows


class FakeService:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.store = FakeStore(rows)

    def get(self, task_id: str) -> dict[str, Any]:
        for r in self.store.rows:
            if r["id"] == task_id:
                return r
        raise NotFound(f"no task {task_id!r}")


def test_resolve_prefers_id_and_requires_one_of_id_or_cwd(tmp_path: Path) -> None:
    svc = FakeService([row("t_a", f"{tmp_path}/a"), row("t_b", f"{tmp_path}/b")])
    assert resolve(svc, {"id": "t_b", "cwd": f"{tmp_path}/a"})["id"] == "t_b"
    assert resolve(svc, {"cwd": f"{tmp_path}/a/x"})["id"] == "t_a"
    with pytest.raises(Invalid, match="pass id or cwd"):
        resolve(svc, {})
    with pytest.raises(NotFound):
        resolve(svc, {"id": "t_missing"})
    assert resolve_optional(svc, {}) is None
    assert resolve_optional(svc, {"cwd": f"{tmp_path}/b"})["id"] == "t_b"  # type: ignore[index]
