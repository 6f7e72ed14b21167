"""Worktree and git operations against real repositories made in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import trio
from argus.kernel.errors import Conflict, Invalid, NotFound
from argus.plugins.tasks import worktrees
from argus.plugins.tasks.undo import UndoStack
from argus.plugins.tasks.worktrees import (
    branch_exists,
    copy_worktreeinclude,
    create_worktree,
    default_branch,
    git_diff,
    git_status,
    is_git_repo,
    list_files,
    list_worktrees,
    remove_worktree,
    repo_root,
    safe_join,
    scan_repos,
    unpushed_or_dirty_summary,
    worktree_dirty,
)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user/system git config, a fixed identity, a private HOME and ARGUS_HOME."""
    home = tmp_path / "home"
    home.mkdir()
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test\n\temail = test@example.invalid\n[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ARGUS_HOME", str(tmp_path / "argus-home"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(key, raising=False)


def sh(cwd: Path | str, *args: str) -> str:
    """Run git synchronously (fixtures and sync tests only)."""
    res = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False)
    assert res.returncode == 0, (args, res.stderr)
    return res.stdout


async def agit(cwd: Path | str, *args: str) -> str:
    """Run git from async tests."""
    res = await worktrees.git(cwd, *args)
    assert res.ok, (args, res.stderr)
    return res.stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    sh(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("hello\n")
    (path / ".gitignore").write_text(".env\nconfig/\n*.log\nbuild/\n")
    (path / "src").mkdir()
    (path / "src" / "app.py").write_text("print('hi')\n")
    sh(path, "add", "-A")
    sh(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
async def worktree(repo: Path, tmp_path: Path) -> Path:
    wt = tmp_path / "worktrees" / "repo" / "fix-login"
    async with UndoStack() as undo:
        await create_worktree(str(repo), str(wt), "argus/fix-login", "main", undo)
    return wt


def worktree_paths(repo: Path) -> list[str]:
    out = sh(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def branches(repo: Path) -> list[str]:
    return sh(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


# ------------------------------------------------------------------------------------------ repos


async def test_is_git_repo_and_repo_root(repo: Path, tmp_path: Path) -> None:
    assert await is_git_repo(str(repo))
    assert await is_git_repo(str(repo / "src"))
    assert not await is_git_repo(str(tmp_path / "missing"))
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not await is_git_repo(str(plain))
    assert Path(await repo_root(str(repo / "src"))) == repo.resolve()
    with pytest.raises(Invalid):
        await repo_root(str(plain))


async def test_default_branch_prefers_origin_head(repo: Path, tmp_path: Path) -> None:
    assert await default_branch(str(repo)) == "main"
    clone = tmp_path / "clone"
    sh(tmp_path, "clone", "-q", str(repo), str(clone))
    sh(clone, "checkout", "-q", "-b", "feature")
    assert await default_branch(str(clone)) == "main"


async def test_default_branch_with_detached_head_falls_back_to_main(repo: Path) -> None:
    sh(repo, "checkout", "-q", "--detach", "HEAD")
    assert await default_branch(str(repo)) == "main"


async def test_branch_exists(repo: Path) -> None:
    assert await branch_exists(str(repo), "main")
    assert not await branch_exists(str(repo), "nope")
    assert not await branch_exists(str(repo), "")


# ------------------------------------------------------------------------------------ scan_repos


async def test_scan_repos_finds_nested_repos_within_depth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "code"
    make_repo(root / "alpha")
    make_repo(root / "group" / "beta")
    make_repo(root / "alpha" / "vendor" / "inner")  # inside a found repo: not reported
    make_repo(root / ".hidden" / "gamma")
    make_repo(root / "node_modules" / "delta")
    make_repo(root / "venvish" / "lib" / "eps")
    (root / "venvish" / "pyvenv.cfg").write_text("home = /usr\n")
    make_repo(root / "a" / "b" / "c" / "deep")  # depth 4
    make_repo(root / "a" / "b" / "c" / "d" / "too-deep")  # depth 5
    for i in range(30):
        (root / "filler" / f"d{i}").mkdir(parents=True)
    monkeypatch.setattr(worktrees.scan, "PROGRESS_EVERY", 5)
    progress: list[tuple[int, str]] = []
    found = await scan_repos(str(root), max_depth=4, on_progress=lambda n, p: progress.append((n, p)))
    names = [r["name"] for r in found]
    assert sorted(names) == ["alpha", "beta", "deep"]
    for r in found:
        assert r["branch"] == "main"
        assert Path(r["path"]).is_absolute() and Path(r["path"], ".git").is_dir()
    assert len(progress) >= 6
    counts = [n for n, _ in progress]
    assert counts == sorted(counts) and counts[-1] >= 30


async def test_scan_repos_reports_root_itself_and_respects_limit(repo: Path, tmp_path: Path) -> None:
    found = await scan_repos(str(repo))
    assert [r["path"] for r in found] == [str(repo.resolve())]
    root = tmp_path / "many"
    for i in range(5):
        make_repo(root / f"r{i}")
    assert len(await scan_repos(str(root), limit=3)) == 3


async def test_scan_repos_reads_branch_of_clone_and_linked_worktree(repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "scan"
    root.mkdir()
    sh(tmp_path, "clone", "-q", str(repo), str(root / "clone"))
    sh(repo, "worktree", "add", "-q", "-b", "side", str(root / "linked"), "main")
    found = {r["name"]: r["branch"] for r in await scan_repos(str(root))}
    assert found == {"clone": "main", "linked": "side"}


async def test_scan_repos_rejects_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(Invalid):
        await scan_repos(str(tmp_path / "nope"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(Invalid):
        await scan_repos(str(tmp_path / "file"))


# -------------------------------------------------------------------------------- create/rollback


async def test_create_worktree_makes_path_and_branch(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "worktrees" / "repo" / "fix-login"
    async with UndoStack() as undo:
        await create_worktree(str(repo), str(wt), "argus/fix-login", "main", undo)
    assert (wt / "README.md").read_text() == "hello\n"
    assert "argus/fix-login" in branches(repo)
    assert str(wt.resolve()) in worktree_paths(repo)
    assert sh(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "argus/fix-login"
    # no upstream is configured for the task branch
    res = await worktrees.git(wt, "rev-parse", "--abbrev-ref", "@{upstream}")
    assert not res.ok


def assert_nothing_left(repo: Path, wt: Path, branch: str) -> None:
    assert not wt.exists()
    assert branch not in branches(repo)
    assert worktree_paths(repo) == [str(repo.resolve())]
    assert not (repo / ".git" / "worktrees").exists() or not any((repo / ".git" / "worktrees").iterdir())


async def test_create_worktree_with_missing_base_branch_is_invalid_and_leaves_nothing(
    repo: Path, tmp_path: Path
) -> None:
    wt = tmp_path / "worktrees" / "repo" / "t"
    with pytest.raises(Invalid, match="base branch"):
        async with UndoStack() as undo:
            await create_worktree(str(repo), str(wt), "argus/t", "no-such-branch", undo)
    assert_nothing_left(repo, wt, "argus/t")
    assert not (tmp_path / "worktrees").exists()


async def test_error_after_creation_rolls_back_worktree_branch_and_dirs(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "worktrees" / "repo" / "t"

    class AgentFailedToStart(Exception):
        pass

    with pytest.raises(AgentFailedToStart):
        async with UndoStack() as undo:
            await create_worktree(str(repo), str(wt), "argus/t", "main", undo)
            assert wt.is_dir() and "argus/t" in branches(repo)
            (wt / "scratch.txt").write_text("agent output\n")  # untracked work in the worktree
            (wt / "README.md").write_text("changed\n")
            raise AgentFailedToStart()
    assert_nothing_left(repo, wt, "argus/t")
    assert not (tmp_path / "worktrees").exists()
    assert (repo / "README.md").read_text() == "hello\n"


async def test_cancellation_after_creation_rolls_back(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wts" / "c"
    with trio.CancelScope() as scope:
        async with UndoStack() as undo:
            await create_worktree(str(repo), str(wt), "argus/c", "main", undo)
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert_nothing_left(repo, wt, "argus/c")


async def test_create_worktree_conflicts_on_existing_branch_or_path(repo: Path, tmp_path: Path) -> None:
    sh(repo, "branch", "argus/taken")
    with pytest.raises(Conflict, match="already exists"):
        async with UndoStack() as undo:
            await create_worktree(str(repo), str(tmp_path / "w1"), "argus/taken", "main", undo)
    assert "argus/taken" in branches(repo)  # an existing branch is never deleted by rollback
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="already exists"):
        async with UndoStack() as undo:
            await create_worktree(str(repo), str(occupied), "argus/new", "main", undo)
    assert (occupied / "keep.txt").read_text() == "mine"
    assert "argus/new" not in branches(repo)


async def test_create_worktree_rejects_bad_branch_name_and_non_repo(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(Invalid):
        await create_worktree(str(repo), str(tmp_path / "w"), "bad..name", "main", UndoStack())
    with pytest.raises(Invalid):
        await create_worktree(str(repo), str(tmp_path / "w"), "-x", "main", UndoStack())
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(Invalid):
        await create_worktree(str(plain), str(tmp_path / "w"), "argus/x", "main", UndoStack())


async def test_create_worktree_uses_origin_branch_when_only_remote_has_it(repo: Path, tmp_path: Path) -> None:
    sh(repo, "checkout", "-q", "-b", "develop")
    (repo / "dev.txt").write_text("dev\n")
    sh(repo, "add", "dev.txt")
    sh(repo, "commit", "-q", "-m", "dev")
    sh(repo, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    sh(tmp_path, "clone", "-q", str(repo), str(clone))
    assert not await branch_exists(str(clone), "develop")
    wt = tmp_path / "wt-dev"
    async with UndoStack() as undo:
        await create_worktree(str(clone), str(wt), "argus/dev", "develop", undo)
    assert (wt / "dev.txt").read_text() == "dev\n"


# ---------------------------------------------------------------------------- .worktreeinclude


async def test_worktreeinclude_copies_ignored_files_and_dirs_only(repo: Path, worktree: Path) -> None:
    (repo / ".worktreeinclude").write_text(
        "# secrets the agent needs\n.env\nconfig/\nREADME.md\nnotes.txt\nmissing.txt\nlogs/\n\n"
    )
    (repo / ".env").write_text("TOKEN=1\n")
    (repo / "config" / "sub").mkdir(parents=True)
    (repo / "config" / "a.json").write_text("{}")
    (repo / "config" / "sub" / "b.json").write_text("[]")
    (repo / "notes.txt").write_text("untracked but not ignored\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("ignored but not listed")
    (repo / "logs").mkdir()
    (repo / "logs" / "run.log").write_text("ignored via *.log\n")
    (repo / "logs" / "keep.txt").write_text("not ignored\n")
    (repo / "README.md").write_text("local edit of a tracked file\n")

    copied = await copy_worktreeinclude(str(repo), str(worktree))

    assert copied == [".env", "config/", "logs/run.log"]
    assert (worktree / ".env").read_text() == "TOKEN=1\n"
    assert (worktree / "config" / "sub" / "b.json").read_text() == "[]"
    assert (worktree / "logs" / "run.log").exists()
    assert not (worktree / "logs" / "keep.txt").exists()
    assert not (worktree / "notes.txt").exists()
    assert not (worktree / "build").exists()
    assert (worktree / "README.md").read_text() == "hello\n"  # tracked: untouched


async def test_worktreeinclude_absent_or_empty_copies_nothing(repo: Path, worktree: Path) -> None:
    (repo / ".env").write_text("x")
    assert await copy_worktreeinclude(str(repo), str(worktree)) == []
    (repo / ".worktreeinclude").write_text("# only comments\n\n")
    assert await copy_worktreeinclude(str(repo), str(worktree)) == []
    assert not (worktree / ".env").exists()


async def test_worktreeinclude_never_writes_through_a_link_leaving_the_worktree(
    repo: Path, worktree: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".worktreeinclude").write_text(".env\nconfig/\n")
    (repo / ".env").write_text("secret")
    (repo / "config").mkdir()
    (repo / "config" / "c").write_text("c")
    # the worktree has links where the copies would go
    (worktree / ".env").symlink_to(outside / "env-target")
    (worktree / "config").symlink_to(outside, target_is_directory=True)
    copied = await copy_worktreeinclude(str(repo), str(worktree))
    assert copied == []
    assert list(outside.iterdir()) == []


# ----------------------------------------------------------------------------------- remove


async def test_remove_refuses_uncommitted_changes_unless_forced(repo: Path, worktree: Path) -> None:
    (worktree / "README.md").write_text("edited\n")
    (worktree / "new.txt").write_text("new\n")
    assert (
        await worktree_dirty(str(repo), str(worktree), "argus/fix-login", "main") == "2 uncommitted changes"
    )
    with pytest.raises(Conflict, match="2 uncommitted changes") as err:
        await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False)
    assert err.value.extra["reason"] == "2 uncommitted changes"
    assert worktree.is_dir() and "argus/fix-login" in branches(repo)
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=True)
    assert_nothing_left(repo, worktree, "argus/fix-login")


async def test_remove_refuses_unpushed_commits_unless_forced(repo: Path, worktree: Path) -> None:
    (worktree / "feature.py").write_text("x = 1\n")
    await agit(worktree, "add", "feature.py")
    await agit(worktree, "commit", "-q", "-m", "feature")
    reason = await worktree_dirty(str(repo), str(worktree), "argus/fix-login", "main")
    assert reason == "1 commit not on main"
    with pytest.raises(Conflict, match="1 commit not on main"):
        await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False, base_branch="main")
    assert worktree.is_dir()
    # once merged into main the work is safe and removal goes through
    await agit(repo, "merge", "-q", "--ff-only", "argus/fix-login")
    assert await worktree_dirty(str(repo), str(worktree), "argus/fix-login", "main") is None
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False)
    assert_nothing_left(repo, worktree, "argus/fix-login")


async def test_pushed_commits_are_not_unpushed_work(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    sh(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    sh(repo, "remote", "add", "origin", str(remote))
    sh(repo, "fetch", "-q", "origin")
    wt = tmp_path / "wt"
    async with UndoStack() as undo:
        await create_worktree(str(repo), str(wt), "argus/p", "main", undo)
    (wt / "f.txt").write_text("f")
    await agit(wt, "add", "f.txt")
    await agit(wt, "commit", "-q", "-m", "f")
    assert await worktree_dirty(str(repo), str(wt), "argus/p", "main") == "1 commit not on main"
    await agit(wt, "push", "-q", "origin", "argus/p")
    assert await worktree_dirty(str(repo), str(wt), "argus/p", "main") is None


async def test_commits_count_as_unpushed_even_when_the_base_branch_is_gone(
    repo: Path, worktree: Path
) -> None:
    (worktree / "f.txt").write_text("f")
    await agit(worktree, "add", "f.txt")
    await agit(worktree, "commit", "-q", "-m", "f")
    reason = await worktree_dirty(str(repo), str(worktree), "argus/fix-login", "deleted-base")
    assert reason == "1 commit on no other branch"
    with pytest.raises(Conflict):
        await remove_worktree(
            str(repo), str(worktree), "argus/fix-login", force=False, base_branch="deleted-base"
        )


async def test_untracked_symlink_to_outside_is_not_diffed(worktree: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("top secret\n")
    (worktree / "link").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(Invalid, match="escapes the worktree"):
        await git_diff(str(worktree), "main", "link")
    whole = await git_diff(str(worktree), "main", None)
    assert "top secret" not in whole["diff"]


async def test_remove_clean_worktree_succeeds(repo: Path, worktree: Path) -> None:
    (worktree / ".env").write_text("ignored files do not count as work\n")
    assert await worktree_dirty(str(repo), str(worktree), "argus/fix-login", "main") is None
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False)
    assert_nothing_left(repo, worktree, "argus/fix-login")


async def test_remove_is_tolerant_of_what_is_already_gone(repo: Path, worktree: Path, tmp_path: Path) -> None:
    # directory deleted behind git's back
    shutil.rmtree(worktree)
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False)
    assert_nothing_left(repo, worktree, "argus/fix-login")
    # and again: nothing at all left to remove
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False)


async def test_remove_cleans_a_stale_directory_git_forgot(repo: Path, worktree: Path) -> None:
    shutil.rmtree(repo / ".git" / "worktrees")  # git no longer knows the worktree
    assert worktree.is_dir()
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=True)
    assert_nothing_left(repo, worktree, "argus/fix-login")


async def test_remove_with_force_when_the_repository_is_gone(repo: Path, worktree: Path) -> None:
    shutil.rmtree(repo)
    with pytest.raises(Invalid):
        await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=False)
    assert worktree.exists()
    await remove_worktree(str(repo), str(worktree), "argus/fix-login", force=True)
    assert not worktree.exists()


async def test_remove_refuses_to_delete_the_repository_itself(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(Invalid):
        await remove_worktree(str(repo), str(repo), "", force=True)
    with pytest.raises(Invalid):
        await remove_worktree(str(repo), str(tmp_path), "", force=True)
    other = make_repo(tmp_path / "other")
    with pytest.raises(Invalid):
        await remove_worktree(str(repo), str(other), "", force=True)
    assert (repo / "README.md").exists() and (other / "README.md").exists()


async def test_unpushed_or_dirty_summary_lists_only_unsafe_worktrees(repo: Path, tmp_path: Path) -> None:
    paths = {}
    for name in ("clean", "dirty", "ahead"):
        wt = tmp_path / "wts" / name
        async with UndoStack() as undo:
            await create_worktree(str(repo), str(wt), f"argus/{name}", "main", undo)
        paths[name] = str(wt)
    Path(paths["dirty"], "x.txt").write_text("x")
    Path(paths["ahead"], "y.txt").write_text("y")
    await agit(paths["ahead"], "add", "y.txt")
    await agit(paths["ahead"], "commit", "-q", "-m", "y")
    summary = await unpushed_or_dirty_summary(
        str(repo), [(p, f"argus/{n}", "main") for n, p in paths.items()]
    )
    assert summary == {paths["dirty"]: "1 uncommitted change", paths["ahead"]: "1 commit not on main"}
    assert len(await list_worktrees(str(repo))) == 4


# ------------------------------------------------------------------------------ status / diff


async def test_git_status_shape(repo: Path, worktree: Path) -> None:
    (worktree / "committed.py").write_text("a = 1\n")
    await agit(worktree, "add", "committed.py")
    await agit(worktree, "commit", "-q", "-m", "add committed.py")
    (worktree / "README.md").write_text("hello\nworld\n")
    (worktree / "src" / "new dir").mkdir()
    (worktree / "src" / "new dir" / "ünïcode.txt").write_text("u\n")
    await agit(worktree, "mv", "src/app.py", "src/main.py")
    (worktree / ".env").write_text("ignored")

    st = await git_status(str(worktree), "main")

    assert set(st) == {"branch", "base_branch", "status", "files", "diff_stat", "ahead"}
    assert st["branch"] == "argus/fix-login"
    assert st["base_branch"] == "main"
    assert st["ahead"] == 1
    files = {f["path"]: f["status"] for f in st["files"]}
    assert files == {"README.md": "M", "src/main.py": "R", "src/new dir/ünïcode.txt": "??"}
    # the porcelain text is git's own (it quotes paths with spaces); files[] has the real paths
    assert " M README.md\n" in st["status"] and "R  src/app.py -> src/main.py\n" in st["status"]
    assert "ünïcode.txt" in st["status"]
    assert "committed.py" in st["diff_stat"] and "README.md" in st["diff_stat"]


async def test_git_status_of_missing_worktree_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await git_status(str(tmp_path / "gone"), "main")
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotFound):
        await git_status(str(tmp_path / "plain"), "main")


async def test_git_diff_of_tracked_untracked_and_whole_worktree(repo: Path, worktree: Path) -> None:
    (worktree / "README.md").write_text("hello\nworld\n")
    (worktree / "brand-new.txt").write_text("line one\nline two\n")
    (worktree / "committed.py").write_text("a = 1\n")
    await agit(worktree, "add", "committed.py")
    await agit(worktree, "commit", "-q", "-m", "c")

    d = await git_diff(str(worktree), "main", "README.md")
    assert d["path"] == "README.md"
    assert "+world" in d["diff"] and "--- a/README.md" in d["diff"]

    d = await git_diff(str(worktree), "main", "./brand-new.txt")
    assert d["path"] == "brand-new.txt"
    assert "--- /dev/null" in d["diff"] and "+line one" in d["diff"] and "+line two" in d["diff"]

    d = await git_diff(str(worktree), "main", "committed.py")
    assert "+a = 1" in d["diff"]

    d = await git_diff(str(worktree), "main", "src/app.py")
    assert d["diff"] == ""

    whole = await git_diff(str(worktree), "main", None)
    assert whole["path"] is None and whole["truncated"] is False
    for needle in ("+world", "+a = 1", "+line one"):
        assert needle in whole["diff"]

    with pytest.raises(NotFound):
        await git_diff(str(worktree), "main", "no-such-file.txt")


async def test_git_diff_treats_paths_literally(repo: Path, worktree: Path) -> None:
    (worktree / "src" / "app.py").write_text("changed\n")
    with pytest.raises(NotFound):  # not a glob matching the changed src/app.py
        await git_diff(str(worktree), "main", "*.py")
    # a file literally named like a glob still works
    (worktree / "[x].txt").write_text("x\n")
    d = await git_diff(str(worktree), "main", "[x].txt")
    assert "+x" in d["diff"]


# ------------------------------------------------------------------------------- files


async def test_list_files_shape(worktree: Path) -> None:
    (worktree / "b.txt").write_text("12345")
    (worktree / "A-dir").mkdir()
    (worktree / "A-dir" / "inner.txt").write_text("i")
    listing = await list_files(str(worktree), "")
    assert listing["dir"] == ""
    names = [e["name"] for e in listing["entries"]]
    assert ".git" not in names
    assert names == ["A-dir", "src", ".gitignore", "b.txt", "README.md"]
    by_name = {e["name"]: e for e in listing["entries"]}
    assert by_name["src"] == {"name": "src", "path": "src", "type": "dir", "size": None}
    assert by_name["b.txt"] == {"name": "b.txt", "path": "b.txt", "type": "file", "size": 5}

    sub = await list_files(str(worktree), "A-dir/")
    assert sub == {
        "dir": "A-dir",
        "entries": [{"name": "inner.txt", "path": "A-dir/inner.txt", "type": "file", "size": 1}],
    }


async def test_list_files_errors(worktree: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await list_files(str(worktree), "nope")
    with pytest.raises(Invalid):
        await list_files(str(worktree), "README.md")
    with pytest.raises(Invalid):
        await list_files(str(worktree), ".git")
    with pytest.raises(NotFound):
        await list_files(str(tmp_path / "gone"), "")


TRAVERSALS = ["../", "..", "../repo", "src/../../x", "/etc", "/", "a\x00b", "src/\x00"]


@pytest.mark.parametrize("rel", TRAVERSALS)
async def test_traversal_is_rejected_everywhere(worktree: Path, rel: str) -> None:
    with pytest.raises(Invalid, match="escapes the worktree"):
        safe_join(str(worktree), rel)
    with pytest.raises(Invalid, match="escapes the worktree"):
        await list_files(str(worktree), rel)
    with pytest.raises(Invalid, match="escapes the worktree"):
        await git_diff(str(worktree), "main", rel)


async def test_symlinks_leaving_the_worktree_are_rejected(worktree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (worktree / "escape").symlink_to(outside, target_is_directory=True)
    (worktree / "escape-file").symlink_to(outside / "secret.txt")
    (worktree / "inside-link").symlink_to(worktree / "src", target_is_directory=True)
    for rel in ("escape", "escape/secret.txt", "escape-file"):
        with pytest.raises(Invalid, match="escapes the worktree"):
            safe_join(str(worktree), rel)
    with pytest.raises(Invalid, match="escapes the worktree"):
        await list_files(str(worktree), "escape")
    with pytest.raises(Invalid, match="escapes the worktree"):
        await git_diff(str(worktree), "main", "escape/secret.txt")
    # links that stay inside are fine, and the listing does not follow links out
    assert safe_join(str(worktree), "inside-link/app.py") == (worktree / "src" / "app.py").resolve()
    entries = {e["name"]: e["type"] for e in (await list_files(str(worktree), ""))["entries"]}
    assert entries["escape"] == "file" and entries["inside-link"] == "dir"


def test_safe_join_resolves_inside_paths(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert safe_join(str(tmp_path), "") == tmp_path.resolve()
    assert safe_join(str(tmp_path), ".") == tmp_path.resolve()
    assert safe_join(str(tmp_path), "a/./b.txt") == tmp_path.resolve() / "a" / "b.txt"
    assert safe_join(str(tmp_path), "~x") == tmp_path.resolve() / "~x"
    assert os.fspath(safe_join(str(tmp_path), "a/new")).startswith(os.fspath(tmp_path.resolve()))
