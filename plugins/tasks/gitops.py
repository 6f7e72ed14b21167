"""Git and worktree operations for tasks: create/remove worktrees, status, diffs, file listings.

Every git call runs ``git -C <dir> ...`` as an argument list through :func:`trio.run_process`
(never a shell string), with a scrubbed environment: no inherited ``GIT_DIR``/``GIT_WORK_TREE``,
no terminal prompts, no optional index locks (so reading the status of a worktree never fights the
agent working in it for ``index.lock``).

Paths that come from clients (``?path=``, ``?dir=``) go through :func:`safe_join`, which refuses
anything that would leave the worktree.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import trio
from argus.kernel.api import Conflict, Invalid, NotFound

from .undo import UndoStack

WORKTREEINCLUDE = ".worktreeinclude"
# Directory names scan_repos never descends into (besides every hidden directory).
SKIP_DIRS = frozenset(
    {"node_modules", "venv", "env", "virtualenv", "__pycache__", "site-packages", "bower_components"}
)
PROGRESS_EVERY = 200  # scan_repos reports progress every this many directories
MAX_DIFF_BYTES = 4 * 1024 * 1024  # cap on a diff returned to a client
MAX_UNTRACKED_IN_DIFF = 200  # untracked files shown in a whole-worktree diff

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


# --------------------------------------------------------------------------------------------
# Running git


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


async def _git_ok(cwd: str | os.PathLike[str], *args: str, literal_pathspecs: bool = False) -> str:
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


async def _commit_exists(repo: str | os.PathLike[str], rev: str) -> bool:
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


# --------------------------------------------------------------------------------------------
# Scanning for repositories


def _head_branch(gitdir: Path) -> str:
    """Read the branch name out of a HEAD-like file (``ref: refs/.../name``); "" when detached."""
    try:
        head = gitdir.read_text(errors="replace").strip()
    except OSError:
        return ""
    for prefix in ("ref: refs/heads/", "ref: refs/remotes/origin/"):
        if head.startswith(prefix):
            return head[len(prefix) :]
    return ""


def _repo_branch(repo: Path) -> str:
    """Default branch of a found repo, read from files (no git process per repo)."""
    dotgit = repo / ".git"
    if dotgit.is_file():  # a linked worktree or submodule: "gitdir: <path>"
        try:
            line = dotgit.read_text(errors="replace").strip()
        except OSError:
            return ""
        if not line.startswith("gitdir:"):
            return ""
        gitdir = Path(line[len("gitdir:") :].strip())
        gitdir = gitdir if gitdir.is_absolute() else (repo / gitdir)
        return _head_branch(gitdir / "HEAD")
    return _head_branch(dotgit / "refs" / "remotes" / "origin" / "HEAD") or _head_branch(dotgit / "HEAD")


def _is_venv(path: str) -> bool:
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def _walk_repos(
    root_dir: str,
    max_depth: int,
    limit: int,
    progress: Callable[[int, str], None] | None,
) -> list[dict[str, str]]:
    """Blocking breadth-first walk (runs in a worker thread); see :func:`scan_repos`."""
    root = Path(root_dir).expanduser()
    if not root.is_dir():
        raise Invalid(f"not a directory: {root_dir}")
    root = root.resolve()
    found: list[dict[str, str]] = []
    seen = 0
    queue: list[tuple[str, int]] = [(os.fspath(root), 0)]
    while queue and len(found) < limit:
        batch, queue = queue, []
        for path, depth in batch:
            seen += 1
            if seen % PROGRESS_EVERY == 0:
                trio.from_thread.check_cancelled()
                if progress is not None:
                    trio.from_thread.run_sync(progress, seen, path)
            if os.path.lexists(os.path.join(path, ".git")):
                name = os.path.basename(path)
                found.append({"name": name, "path": path, "branch": _repo_branch(Path(path))})
                if len(found) >= limit:
                    break
                continue  # never descend into a repository
            if depth >= max_depth:
                continue
            try:
                with os.scandir(path) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue  # unreadable: skip
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                if _is_venv(entry.path):
                    continue
                queue.append((entry.path, depth + 1))
    if progress is not None:
        trio.from_thread.run_sync(progress, seen, os.fspath(root))
    return found


async def scan_repos(
    root: str,
    max_depth: int = 4,
    on_progress: Callable[[int, str], None] | None = None,
    limit: int = 500,
) -> list[dict[str, str]]:
    """Find git repositories (directories holding a ``.git``) under ``root``.

    Does not descend into a repository it found, into hidden directories, ``node_modules`` or
    Python virtualenvs, nor follow symlinks; looks at most ``max_depth`` levels below ``root``
    and stops after ``limit`` repositories. ``on_progress(dirs_seen, current_dir)`` is called (in
    the trio thread) every few hundred directories and once at the end. Returns
    ``[{"name", "path", "branch"}]`` sorted by path, ``branch`` being ``origin/HEAD``'s branch or
    the checked-out one ("" when detached). Invalid when ``root`` is not a directory.
    """
    if not root or "\x00" in root:
        raise Invalid("no directory to scan")
    found = await trio.to_thread.run_sync(_walk_repos, root, max(0, max_depth), max(1, limit), on_progress)
    return sorted(found, key=lambda r: r["path"])


# --------------------------------------------------------------------------------------------
# Creating and removing worktrees


async def list_worktrees(repo: str | os.PathLike[str]) -> list[dict[str, str | bool]]:
    """``git worktree list --porcelain`` as ``[{"path", "head", "branch", "bare", "detached", "prunable"}]``.

    ``branch`` is the short name ("" when detached); the first entry is the main worktree.
    """
    out = await _git_ok(repo, "worktree", "list", "--porcelain")
    result: list[dict[str, str | bool]] = []
    cur: dict[str, str | bool] | None = None
    for line in out.splitlines():
        if line.startswith("worktree "):
            cur = {
                "path": line[len("worktree ") :],
                "head": "",
                "branch": "",
                "bare": False,
                "detached": False,
                "prunable": False,
            }
            result.append(cur)
        elif cur is None:
            continue
        elif line.startswith("HEAD "):
            cur["head"] = line[len("HEAD ") :]
        elif line.startswith("branch "):
            cur["branch"] = line[len("branch ") :].removeprefix("refs/heads/")
        elif line in ("bare", "detached"):
            cur[line] = True
        elif line.startswith("prunable"):
            cur["prunable"] = True
    return result


def _same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


async def _registered(repo: str | os.PathLike[str], worktree_path: str | os.PathLike[str]) -> bool:
    return any(_same_path(str(w["path"]), worktree_path) for w in await list_worktrees(repo))


async def prune_worktrees(repo: str | os.PathLike[str]) -> None:
    """``git worktree prune``: forget worktrees whose directory is gone."""
    await git(repo, "worktree", "prune")


async def _delete_branch(repo: str | os.PathLike[str], branch: str) -> None:
    if await branch_exists(repo, branch):
        res = await git(repo, "branch", "-D", "--", branch)
        if not res.ok:
            raise Conflict(f"cannot delete branch {branch}: {res.error()}")


def _rmtree(path: str) -> None:
    """Delete ``path`` (a directory tree, a file or a link) if it exists; blocking."""

    def onerror(func: Callable[..., object], p: str, _exc: object) -> None:
        # read-only files (e.g. git objects, go module cache) block deletion: make writable, retry
        try:
            os.chmod(p, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
            func(p)
        except OSError:
            pass

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, onerror=onerror)  # onerror: the target is 3.11 (onexc is 3.12+)


async def _discard_worktree(repo: str, worktree_path: str) -> None:
    """Remove a worktree we own, whatever state it is in, then prune git's records."""
    if await _registered(repo, worktree_path):
        await git(repo, "worktree", "remove", "--force", "--force", worktree_path)
    await trio.to_thread.run_sync(_rmtree, worktree_path)
    await prune_worktrees(repo)


_REPO_LOCKS: dict[str, trio.Lock] = {}


def repo_lock(repo: str | os.PathLike[str]) -> trio.Lock:
    """One lock per repository: git's worktree bookkeeping is not safe under concurrent changes."""
    key = os.path.realpath(os.fspath(repo))
    lock = _REPO_LOCKS.get(key)
    if lock is None:
        lock = _REPO_LOCKS[key] = trio.Lock()
    return lock


async def create_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    base_branch: str,
    undo: UndoStack,
) -> None:
    """Create a worktree under the repository's lock (see :func:`_create_worktree`)."""
    async with repo_lock(repo):
        await _create_worktree(repo, worktree_path, branch, base_branch, undo)


async def _create_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    base_branch: str,
    undo: UndoStack,
) -> None:
    """Create ``worktree_path`` on a new ``branch`` forked from ``base_branch`` (``git worktree add -b``).

    Registers on ``undo`` how to take it all back (remove the worktree with ``--force``, prune,
    delete the branch, remove parent directories this call created). Invalid when ``repo`` is not
    a repository, the branch name is bad or ``base_branch`` does not exist (``origin/<base>`` is
    used when only the remote branch exists); Conflict when ``branch`` or ``worktree_path`` already
    exist. On failure nothing is left behind.
    """
    if not await is_git_repo(repo):
        raise Invalid(f"not a git repository: {repo}")
    await validate_branch_name(repo, branch)
    if not base_branch:
        raise Invalid("no base branch given")
    path = _abs_path(worktree_path)
    if await branch_exists(repo, branch):
        raise Conflict(f"branch {branch} already exists in {repo}")
    if await _lexists(path):
        raise Conflict(f"worktree path already exists: {path}")
    start = base_branch
    if not await _commit_exists(repo, start):
        if await _commit_exists(repo, f"origin/{base_branch}"):
            start = f"origin/{base_branch}"
        else:
            raise Invalid(f"base branch {base_branch!r} does not exist in {repo}")
    await prune_worktrees(repo)  # a stale record for this path would make `worktree add` refuse

    # Parent directories we create here are removed again on rollback (only if left empty).
    created_parents = await trio.to_thread.run_sync(_make_parents, path)

    async def remove_parents() -> None:
        await trio.to_thread.run_sync(_remove_empty_dirs, created_parents)

    async def remove_branch() -> None:
        await _delete_branch(repo, branch)

    async def remove_worktree_dir() -> None:
        async with repo_lock(repo):
            await _discard_worktree(repo, path)

    res = await git(repo, "worktree", "add", "--no-track", "-b", branch, "--", path, start)
    if not res.ok:
        # `worktree add` may have got halfway (branch made, checkout failed): clean up now.
        await _discard_worktree(repo, path)
        await _delete_branch(repo, branch)
        await remove_parents()
        message = res.error()
        if "already exists" in message or "already checked out" in message:
            raise Conflict(f"cannot create worktree: {message}")
        raise Invalid(f"cannot create worktree: {message}")
    # Reverse order on rollback: worktree first, then the branch it had checked out, then dirs.
    undo.push(remove_parents, f"remove created directories above {path}")
    undo.push(remove_branch, f"delete branch {branch}")
    undo.push(remove_worktree_dir, f"remove worktree {path}")


def _abs_path(path: str) -> str:
    """``~`` expanded, made absolute and normalised (string work, plus getcwd for relative paths)."""
    return os.path.abspath(os.path.expanduser(path))


async def _lexists(path: str | os.PathLike[str]) -> bool:
    p = trio.Path(path)
    return await p.is_symlink() or await p.exists()


def _make_parents(path: str) -> list[str]:
    """Create the missing parent directories of ``path``; return those created, deepest first."""
    created: list[str] = []
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return created


def _remove_empty_dirs(dirs: list[str]) -> None:
    """rmdir each of ``dirs`` in order, stopping at the first that is not empty."""
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError:
            break


def _parse_worktreeinclude(text: str) -> list[str]:
    return [ln.rstrip("\r") for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _copy_entries(repo: str, worktree: str, rels: list[str]) -> list[str]:
    """Copy ``rels`` (files, or ``dir/``) from repo into worktree; blocking, runs in a thread."""
    copied: list[str] = []
    for rel in rels:
        clean = rel.rstrip("/")
        try:
            src = safe_join(repo, clean, follow_last=False)
            dst = safe_join(worktree, clean, follow_last=False)
        except Invalid:
            continue
        if src == Path(repo).resolve() or dst == Path(worktree).resolve() or os.path.islink(dst):
            continue  # never write through a link
        if os.path.isdir(src) and not os.path.islink(src):
            if os.path.lexists(dst) and not dst.is_dir():
                continue
            shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
            copied.append(clean + "/")
        elif os.path.lexists(src):
            if dst.is_dir():
                continue  # never replace a directory with a file
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst, follow_symlinks=False)
            copied.append(clean)
    return copied


async def _ignored(repo: str, paths: Sequence[str]) -> set[str]:
    """The subset of ``paths`` git ignores (by .gitignore, info/exclude, core.excludesFile)."""
    if not paths:
        return set()
    data = b"".join(p.encode() + b"\x00" for p in paths)
    res = await git(repo, "check-ignore", "-z", "--stdin", stdin=data)
    return {p for p in res.stdout.split("\x00") if p}


async def copy_worktreeinclude(repo: str, worktree_path: str) -> list[str]:
    """Copy the files named by the repo's ``.worktreeinclude`` into a new worktree.

    ``.worktreeinclude`` holds gitignore-style patterns (one per line, ``#`` comments). An entry is
    copied when it exists in the main checkout, matches a pattern and is ignored by git (tracked
    files are already in the worktree; untracked but not ignored ones are not secrets to carry
    over). Relative paths are kept; nothing is written outside the worktree nor through a symlink
    that leaves it. Returns the copied relative paths (directories end with ``/``), sorted.
    """
    include = os.path.join(repo, WORKTREEINCLUDE)
    try:
        patterns = _parse_worktreeinclude(await trio.Path(include).read_text(errors="replace"))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return []
    if not patterns or not await trio.Path(worktree_path).is_dir():
        return []
    listed = await _git_ok(
        repo, "ls-files", "-z", "--others", "--ignored", "--directory", f"--exclude-from={include}"
    )
    candidates = sorted({p for p in listed.split("\x00") if p})
    ignored = await _ignored(repo, candidates)
    chosen: list[str] = []
    partial_dirs: list[str] = []
    for rel in candidates:
        if rel in ignored:
            chosen.append(rel)
        elif rel.endswith("/"):
            partial_dirs.append(rel)  # matches, but only some of its files are ignored
    if partial_dirs:
        listed = await _git_ok(
            repo,
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            f"--exclude-from={include}",
            "--",
            *partial_dirs,
            literal_pathspecs=True,
        )
        files = sorted({p for p in listed.split("\x00") if p})
        ignored = await _ignored(repo, files)
        chosen.extend(f for f in files if f in ignored)
    # Drop entries inside a directory that is copied whole.
    dirs = [d for d in chosen if d.endswith("/")]
    chosen = sorted({c for c in chosen if not any(c != d and c.startswith(d) for d in dirs)})
    return sorted(await trio.to_thread.run_sync(_copy_entries, repo, worktree_path, chosen))


async def worktree_dirty(
    repo: str,
    worktree_path: str,
    branch: str,
    base_branch: str | None = None,
) -> str | None:
    """Why removing this worktree would lose work, or None when it is safe.

    Counts uncommitted changes (modified, staged, untracked; not ignored) and commits on
    ``branch`` that are neither on ``base_branch`` (default: the repo's default branch) nor on any
    remote-tracking branch (when the base branch does not exist: commits no other branch holds).
    E.g. ``"3 uncommitted changes, 2 commits not on main"``.
    """
    reasons: list[str] = []
    if await _is_worktree_root(worktree_path):
        res = await git(worktree_path, "status", "--porcelain")
        if res.ok:
            n = len([ln for ln in res.stdout.splitlines() if ln.strip()])
            if n:
                reasons.append(f"{n} uncommitted change{'s' if n != 1 else ''}")
    if branch and await branch_exists(repo, branch):
        base = base_branch
        if not base:
            try:
                base = await default_branch(repo)
            except Invalid:
                base = None
        # Work is safe once it is on the base branch or on any remote-tracking branch.
        exclude: list[str] = ["--remotes"]
        where = ""
        for rev in (base, f"origin/{base}") if base else ():
            if await _commit_exists(repo, rev):
                exclude.append(rev)
                where = f"not on {base}"
                break
        if not where:  # no base to compare with: count what no other branch holds
            # (--exclude takes the name without refs/heads/ when it applies to --branches)
            exclude = [f"--exclude={branch}", "--branches", "--remotes"]
            where = "on no other branch"
        res = await git(repo, "rev-list", "--count", f"refs/heads/{branch}", "--not", *exclude)
        n = int(res.stdout.strip() or 0) if res.ok else 0
        if n:
            reasons.append(f"{n} commit{'s' if n != 1 else ''} {where}")
    return ", ".join(reasons) or None


def _guard_removal(repo: str, path: str) -> None:
    """Refuse to delete a path that is (or contains) the main repository or is another repo."""
    real, repo_real = os.path.realpath(path), os.path.realpath(repo)
    if real == "/" or real == repo_real or repo_real.startswith(real.rstrip("/") + "/"):
        raise Invalid(f"refusing to remove {path}: it holds the repository itself")
    if os.path.isdir(os.path.join(path, ".git")):
        raise Invalid(f"refusing to remove {path}: it is a repository, not a worktree")


async def remove_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    *,
    force: bool,
    base_branch: str | None = None,
) -> None:
    """Remove a worktree under the repository's lock (see :func:`_remove_worktree`)."""
    async with repo_lock(repo):
        await _remove_worktree(repo, worktree_path, branch, force=force, base_branch=base_branch)


async def _remove_worktree(
    repo: str,
    worktree_path: str,
    branch: str,
    *,
    force: bool,
    base_branch: str | None = None,
) -> None:
    """Remove a task's worktree and delete its branch.

    Unless ``force``, refuses with Conflict when the worktree has uncommitted changes or its branch
    has commits not on ``base_branch`` (default: the repo's default branch) nor pushed — the
    message says which (see :func:`worktree_dirty`). Tolerant of what is already gone: a missing
    directory, a stale directory git no longer knows, a missing branch, and (with ``force``) a
    missing repository. Ends with ``git worktree prune``. Invalid when ``worktree_path`` is the
    repository itself, contains it, or is another repository.
    """
    path = _abs_path(worktree_path)
    if not await is_git_repo(repo):
        if not force:
            raise Invalid(f"not a git repository: {repo} (remove with force to delete the worktree anyway)")
        # The project repository is gone: its worktree records went with it; drop the directory.
        _guard_removal(repo, path)
        await trio.to_thread.run_sync(_rmtree, path)
        return
    _guard_removal(repo, path)
    if not force:
        reason = await worktree_dirty(repo, path, branch, base_branch)
        if reason:
            raise Conflict(
                f"worktree has unsaved work ({reason}); commit and push it, or remove with force",
                reason=reason,
            )
    if await _registered(repo, path):
        await git(repo, "worktree", "remove", "--force", "--force", path)
    # Whatever is left: a directory git failed to remove, or a stale one git no longer knows.
    await trio.to_thread.run_sync(_rmtree, path)
    await prune_worktrees(repo)
    if branch and branch != base_branch:
        await _delete_branch(repo, branch)


async def unpushed_or_dirty_summary(
    repo: str,
    worktrees: Iterable[tuple[str, str, str | None]],
    max_parallel: int = 4,
) -> dict[str, str]:
    """For prune: ``{worktree_path: reason}`` for each ``(path, branch, base_branch)`` with unsaved work.

    Clean worktrees are absent from the result. Checks run concurrently, ``max_parallel`` at a time.
    """
    out: dict[str, str] = {}
    limiter = trio.CapacityLimiter(max(1, max_parallel))

    async def check(path: str, branch: str, base: str | None) -> None:
        async with limiter:
            reason = await worktree_dirty(repo, path, branch, base)
        if reason:
            out[path] = reason

    async with trio.open_nursery() as nursery:
        for path, branch, base in worktrees:
            nursery.start_soon(check, path, branch, base)
    return out


# --------------------------------------------------------------------------------------------
# Views of a worktree: status, diff, files


MAX_NAME_BYTES = 255  # a file name (path component), as the file system counts it: UTF-8 bytes
MAX_PATH_BYTES = 4096


def check_path_length(rel: str, parts: list[str]) -> None:
    """Invalid for text that is not valid Unicode, a component over 255 bytes or a path over 4096."""
    try:
        total = len(rel.encode("utf-8"))
        longest = max((len(p.encode("utf-8")) for p in parts), default=0)
    except UnicodeEncodeError:
        raise Invalid("path is not valid Unicode text") from None
    if longest > MAX_NAME_BYTES:
        raise Invalid(f"a path component is longer than {MAX_NAME_BYTES} bytes")
    if total > MAX_PATH_BYTES:
        raise Invalid(f"path is longer than {MAX_PATH_BYTES} bytes")


def safe_join(root: str | os.PathLike[str], rel: str, *, follow_last: bool = True) -> Path:
    """Resolve client-supplied ``rel`` inside ``root`` and return the absolute path.

    Invalid("path escapes the worktree") for NUL bytes, absolute paths, any ``..`` component,
    and symlinks that lead outside ``root``. ``""`` and ``"."`` give
    ``root``. With ``follow_last=False`` the final component is not resolved (a symlink itself
    is returned, its parents still checked).
    """
    if not isinstance(rel, str) or "\x00" in rel:
        raise Invalid("path escapes the worktree")
    if rel.startswith("/") or os.path.isabs(rel):
        raise Invalid("path escapes the worktree")
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", ".")]
    if ".." in parts:
        raise Invalid("path escapes the worktree")
    check_path_length(rel, parts)
    base = Path(root).resolve()
    if not parts:
        return base
    if follow_last:
        target = base.joinpath(*parts).resolve()
    else:
        target = base.joinpath(*parts[:-1]).resolve() / parts[-1]
    if target != base and base not in target.parents:
        raise Invalid("path escapes the worktree")
    return target


def _rel_posix(rel: str) -> str:
    """Normalise a (validated) relative path: forward slashes, no ``.``/empty parts."""
    return "/".join(p for p in PurePosixPath(rel).parts if p not in ("", "."))


async def _is_worktree_root(path: str) -> bool:
    """True when ``path`` is the top of a work tree (not merely a directory inside another repo)."""
    res = await git(path, "rev-parse", "--show-toplevel")
    return res.ok and _same_path(res.stdout.strip(), path)


async def _require_worktree(worktree: str) -> None:
    if not await trio.Path(worktree).is_dir():
        raise NotFound(f"worktree is gone: {worktree}")
    if not await _is_worktree_root(worktree):
        raise NotFound(f"not a git worktree: {worktree}")


async def _merge_base(worktree: str, base_branch: str | None) -> str | None:
    """The commit the worktree's branch forked from ``base_branch``; None if unknown."""
    if not base_branch:
        return None
    for rev in (base_branch, f"origin/{base_branch}"):
        if await _commit_exists(worktree, rev):
            res = await git(worktree, "merge-base", "--end-of-options", rev, "HEAD")
            if res.ok and res.stdout.strip():
                return res.stdout.strip()
            return None
    return None


def _parse_porcelain_z(out: str) -> list[dict[str, str]]:
    """``git status --porcelain -z`` → ``[{"path", "status"}]`` (renames give the new path)."""
    files: list[dict[str, str]] = []
    items = out.split("\x00")
    i = 0
    while i < len(items):
        item = items[i]
        i += 1
        if len(item) < 4:
            continue
        xy, path = item[:2], item[3:]
        if "R" in xy or "C" in xy:
            i += 1  # the next item is the original path
        files.append({"path": path, "status": xy.strip() or xy})
    return files


async def git_status(worktree: str, base_branch: str) -> dict[str, object]:
    """The worktree's state: ``{"branch", "base_branch", "status", "files", "diff_stat", "ahead"}``.

    ``status`` is ``git status --porcelain`` text (untracked files listed one by one), ``files``
    the same as ``[{"path", "status"}]`` (``status`` is the porcelain XY code, trimmed: ``M``,
    ``A``, ``D``, ``R``, ``??``, ...), ``diff_stat`` ``git diff --stat`` of the working tree against
    where the branch forked from ``base_branch``, ``ahead`` the number of commits on the branch
    not on ``base_branch``. NotFound when the worktree is gone.
    """
    await _require_worktree(worktree)
    branch = await current_branch(worktree)
    text = await git(worktree, "status", "--porcelain", "--untracked-files=all")
    z = await git(worktree, "status", "--porcelain", "-z", "--untracked-files=all")
    base = await _merge_base(worktree, base_branch)
    diff_stat, ahead = "", 0
    if base:
        stat_res = await git(worktree, "diff", "--stat", base)
        diff_stat = stat_res.stdout if stat_res.ok else ""
        count = await git(worktree, "rev-list", "--count", f"{base}..HEAD")
        ahead = int(count.stdout.strip() or 0) if count.ok else 0
    return {
        "branch": branch,
        "base_branch": base_branch,
        "status": text.stdout if text.ok else "",
        "files": _parse_porcelain_z(z.stdout) if z.ok else [],
        "diff_stat": diff_stat,
        "ahead": ahead,
    }


async def _untracked(worktree: str, rel: str | None = None) -> list[str]:
    args = ["ls-files", "-z", "--others", "--exclude-standard"]
    if rel is not None:
        args += ["--", rel]
    res = await git(worktree, *args, literal_pathspecs=True)
    return [p for p in res.stdout.split("\x00") if p] if res.ok else []


async def _added_file_diff(worktree: str, rel: str) -> str:
    """An untracked file shown as all-added (``git diff --no-index /dev/null file``)."""
    res = await git(worktree, "diff", "--no-index", "--no-color", "--", "/dev/null", rel)
    return res.stdout if res.returncode in (0, 1) else ""


async def git_diff(worktree: str, base_branch: str, path: str | None = None) -> dict[str, object]:
    """A unified diff against where the branch forked from ``base_branch``: ``{"path", "diff", "truncated"}``.

    With ``path`` (validated by :func:`safe_join`): that one file — an untracked file appears as
    entirely added. Without: every change in the worktree (committed on the branch, staged,
    unstaged, and untracked files), ``path`` being null. Diffs over 4 MiB (or with more than 200
    untracked files) are cut and flagged ``truncated``. NotFound when the worktree is gone, or the
    file is gone and there is nothing to show.
    """
    await _require_worktree(worktree)
    base = await _merge_base(worktree, base_branch) or "HEAD"
    clipped = False
    has_head = await _commit_exists(worktree, "HEAD")
    if path is not None:
        target = safe_join(worktree, path)
        rel = _rel_posix(path)
        if not rel:
            raise Invalid("path is the worktree itself; omit it for the whole diff")
        if rel in await _untracked(worktree, rel):
            diff = await _added_file_diff(worktree, rel)
        elif has_head:
            res = await git(worktree, "diff", "--no-color", base, "--", rel, literal_pathspecs=True)
            diff = res.stdout if res.ok else ""
        else:
            diff = ""
        if not diff and not await _lexists(target):
            raise NotFound(f"no such file in the worktree: {path}")
        out_path: str | None = rel
    else:
        parts: list[str] = []
        if has_head:
            res = await git(worktree, "diff", "--no-color", base)
            parts.append(res.stdout if res.ok else "")
        size = sum(len(p) for p in parts)
        untracked = await _untracked(worktree)
        clipped = len(untracked) > MAX_UNTRACKED_IN_DIFF
        for rel in untracked[:MAX_UNTRACKED_IN_DIFF]:
            if size > MAX_DIFF_BYTES:
                break
            chunk = await _added_file_diff(worktree, rel)
            parts.append(chunk)
            size += len(chunk)
        diff = "".join(parts)
        out_path = None
    truncated = len(diff) > MAX_DIFF_BYTES or (path is None and clipped)
    if len(diff) > MAX_DIFF_BYTES:
        diff = diff[:MAX_DIFF_BYTES]
    return {"path": out_path, "diff": diff, "truncated": truncated}


def _list_dir(worktree: str, rel_dir: str) -> dict[str, object]:
    """Blocking body of :func:`list_files` (runs in a worker thread)."""
    if not os.path.isdir(worktree):
        raise NotFound(f"worktree is gone: {worktree}")
    root = Path(worktree).resolve()
    target = safe_join(root, rel_dir)
    rel = _rel_posix(rel_dir)
    if rel.split("/")[0] == ".git":
        raise Invalid("the .git directory is not listed")
    if not target.exists():
        raise NotFound(f"no such directory in the worktree: {rel_dir}")
    if not target.is_dir():
        raise Invalid(f"not a directory: {rel_dir}")
    entries: list[dict[str, object]] = []
    with os.scandir(target) as it:
        for entry in it:
            if entry.name == ".git":
                continue
            entry_rel = f"{rel}/{entry.name}" if rel else entry.name
            kind, size = "file", 0
            try:
                if entry.is_symlink():
                    try:  # a link counts as a directory only when it stays inside the worktree
                        resolved = safe_join(root, entry_rel)
                        is_dir = resolved.is_dir()
                    except Invalid:
                        is_dir = False
                    kind = "dir" if is_dir else "file"
                    size = 0 if is_dir else entry.stat(follow_symlinks=False).st_size
                elif entry.is_dir(follow_symlinks=False):
                    kind = "dir"
                else:
                    size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                pass
            entries.append(
                {"name": entry.name, "path": entry_rel, "type": kind, "size": None if kind == "dir" else size}
            )
    entries.sort(key=lambda e: (e["type"] != "dir", str(e["name"]).lower(), str(e["name"])))
    return {"dir": rel, "entries": entries}


async def list_files(worktree: str, rel_dir: str = "") -> dict[str, object]:
    """One directory of the worktree: ``{"dir", "entries": [{"name", "path", "type", "size"}]}``.

    ``type`` is ``"file"`` or ``"dir"``; ``size`` is bytes for files and null for directories;
    directories come first, then files, each by name (case-insensitive). ``.git`` is hidden.
    Invalid for paths leaving the worktree or naming a file; NotFound when the directory is missing.
    """
    return await trio.to_thread.run_sync(_list_dir, worktree, rel_dir or "")
