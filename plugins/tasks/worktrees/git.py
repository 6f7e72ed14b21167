"""The git runner and repository queries (is a repository, its root, branches).

Every git call runs ``git -C <dir> ...`` as an argument list through :func:`trio.run_process`
(never a shell string), with a scrubbed environment: no inherited ``GIT_DIR``/``GIT_WORK_TREE``,
no terminal prompts, no optional index locks (so reading the status of a worktree never fights the
agent working in it for ``index.lock``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import trio
from argus.kernel.api import Invalid

_SCRUBBED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)





@dataclass(frozen=True)
class GitResult:
    """What one git invocation returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when git exited 0."""
        return self.returncode == 0

    def error(self) -> str:
        """The most useful one-line message from a failed call."""
        text = (self.stderr or self.stdout).strip()
        raw = [ln for ln in text.splitlines() if ln.strip()]
        # Prefer git's own diagnosis over progress chatter ("Preparing worktree ...").
        flagged = [ln for ln in raw if ln.startswith(("fatal: ", "error: "))]
        lines = [ln.removeprefix("fatal: ").removeprefix("error: ") for ln in (flagged or raw)]
        return lines[0] if lines else f"git exited with status {self.returncode}"


def _git_env(literal_pathspecs: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["LC_ALL"] = "C"
    if literal_pathspecs:
        env["GIT_LITERAL_PATHSPECS"] = "1"
    return env


async def git(
    cwd: str | os.PathLike[str],
    *args: str,
    stdin: bytes | None = None,
    literal_pathspecs: bool = False,
) -> GitResult:
    """Run ``git -C cwd -c core.quotepath=off <args>``; never raises on a non-zero exit.

    ``literal_pathspecs`` makes paths after ``--`` match literally (no globbing), for paths that
    come from clients.
    """
    cmd = ["git", "-C", os.fspath(cwd), "-c", "core.quotepath=off", *args]
    if any("\x00" in part for part in cmd):  # exec would refuse it (ValueError): say it is bad input
        raise Invalid("paths and git names must not contain NUL bytes")
    proc = await trio.run_process(
        cmd,
        stdin=stdin if stdin is not None else b"",
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        env=_git_env(literal_pathspecs),
    )
    return GitResult(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


async def git_ok(cwd: str | os.PathLike[str], *args: str, literal_pathspecs: bool = False) -> str:
    """Run git and return its stdout, raising Invalid with git's message when it fails."""
    res = await git(cwd, *args, literal_pathspecs=literal_pathspecs)
    if not res.ok:
        raise Invalid(f"git {args[0]} failed: {res.error()}")
    return res.stdout

# --------------------------------------------------------------------------------------------
# Repositories and branches


async def is_git_repo(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an existing directory inside a git work tree."""
    res = await git(path, "rev-parse", "--is-inside-work-tree")
    return res.ok and res.stdout.strip() == "true"


async def repo_root(path: str | os.PathLike[str]) -> str:
    """The top-level directory of the work tree containing ``path``; Invalid if there is none."""
    res = await git(path, "rev-parse", "--show-toplevel")
    if not res.ok or not res.stdout.strip():
        raise Invalid(f"not a git repository: {path}")
    return res.stdout.strip()


async def branch_exists(repo: str | os.PathLike[str], name: str) -> bool:
    """True when the local branch ``refs/heads/<name>`` exists in ``repo``."""
    if not name:
        return False
    res = await git(repo, "show-ref", "--verify", "--quiet", f"refs/heads/{name}")
    return res.ok


async def commit_exists(repo: str | os.PathLike[str], rev: str) -> bool:
    res = await git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    return res.ok


async def default_branch(repo: str | os.PathLike[str]) -> str:
    """The branch new work should fork from.

    ``origin/HEAD`` when the repo has one (``"main"`` for ``origin/main``), else the branch
    currently checked out, else ``main`` or ``master`` if one exists; Invalid otherwise.
    """
    res = await git(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if res.ok and res.stdout.strip():
        return res.stdout.strip().removeprefix("origin/")
    res = await git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    if res.ok and res.stdout.strip():
        return res.stdout.strip()
    for name in ("main", "master"):
        if await branch_exists(repo, name):
            return name
    raise Invalid(f"cannot tell the default branch of {repo}: HEAD is detached and there is no main/master")


async def current_branch(worktree: str | os.PathLike[str]) -> str:
    """The branch checked out in ``worktree``, or ``"HEAD"`` when detached."""
    res = await git(worktree, "symbolic-ref", "--quiet", "--short", "HEAD")
    return res.stdout.strip() if res.ok and res.stdout.strip() else "HEAD"


async def validate_branch_name(repo: str | os.PathLike[str], name: str) -> None:
    """Invalid unless ``name`` is a valid new branch name (``git check-ref-format --branch``)."""
    if not name or name.startswith("-"):
        raise Invalid(f"invalid branch name: {name!r}")
    res = await git(repo, "check-ref-format", "--branch", name)
    if not res.ok:
        raise Invalid(f"invalid branch name: {name!r}")


def same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same file once symlinks are resolved."""
    return os.path.realpath(a) == os.path.realpath(b)


async def lexists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists or is a (possibly dangling) symlink."""
    p = trio.Path(path)
    return await p.is_symlink() or await p.exists()


async def is_worktree_root(path: str) -> bool:
    """True when ``path`` is the top of a work tree (not merely a directory inside another repo)."""
    res = await git(path, "rev-parse", "--show-toplevel")
    return res.ok and same_path(res.stdout.strip(), path)
