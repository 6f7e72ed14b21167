"""The sandbox policy: one model, computed per launch, rendered as a bwrap argv or an SBPL profile.

``compute_policy`` turns what is known about one launch (the task's worktree and run dir, the
home directory, ``ARGUS_HOME``, the settings) into a ``Policy``: which paths the agent may not
read, which it may write, which read-only islands stay inside writable ones, whether ``/tmp`` is
private and whether the network is reachable. The Linux and macOS renderers read only this model,
so both platforms enforce the same rules and ``GET /api/tasks/{id}/sandbox`` shows exactly them.

Rules (the reference manual's sandbox section, plus Linux specifics):

- always denied for reading: ``~/.gnupg``, ``~/.aws``, ``~/.kube``, ``~/.config/gcloud``; every
  file under ``~/.ssh`` except public material (``*.pub``, ``known_hosts*``, ``config``,
  ``authorized_keys*``) unless ``allow_ssh_keys``; ``ARGUS_HOME`` itself (the master token, the
  database, other tasks' worktrees) except this task's run dir (read-only) and worktree;
- then the global ``deny_read`` list and the project's, appended;
- writable: the worktree, the main repository's ``.git`` (a worktree commits into it) minus its
  ``hooks`` and ``config`` (they run code outside the sandbox), ``/tmp`` (a private per-task
  directory on Linux; ``/tmp`` and ``/var/folders`` on macOS), the agent CLIs' own state
  (``~/.claude.json``, ``~/.claude/``, ``~/.codex/``), then global and project ``extra_write``;
- everything else is read-only; a denied read beats a write grant on the same path;
- a deny entry that would hide the worktree or the run dir is ignored (the agent could not start)
  and reported in ``ignored``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Platform = Literal["linux", "darwin"]

ALWAYS_DENY = ("~/.gnupg", "~/.aws", "~/.kube", "~/.config/gcloud")
AGENT_STATE = ("~/.claude.json", "~/.claude", "~/.codex")
MACOS_TMP_WRITE = ("/private/tmp", "/private/var/folders")
MACOS_EXTRA_WRITE = ("~/Library/Application Support/Google/Chrome",)


@dataclass(frozen=True)
class PolicyInputs:
    """Everything one launch's policy depends on (no settings lookups inside ``compute_policy``)."""

    task_id: str
    worktree: str
    run_dir: str
    argus_home: str
    home: str
    git_dir: str | None = None          # the main repository's common .git directory
    repo: str | None = None             # the main repository's working tree (read-only)
    deny_read: Sequence[str] = ()       # global then project entries
    extra_write: Sequence[str] = ()     # global then project entries
    allow_ssh_keys: bool = False
    network: bool = True
    apple_events: Sequence[str] = ()
    platform: Platform = "linux"


@dataclass(frozen=True)
class Policy:
    """The effective confinement of one agent launch (absolute, normalised paths)."""

    task_id: str
    platform: Platform
    worktree: str
    run_dir: str
    home: str
    deny_read: tuple[str, ...]          # directories and files the agent may not read
    hidden_except: tuple[str, str]      # (ARGUS_HOME, run dir): hidden, but the run dir stays readable
    write: tuple[str, ...]              # writable paths
    read_only: tuple[str, ...]          # read-only islands inside writable paths
    visible: tuple[str, ...]            # paths that must stay readable (re-exposed over a private /tmp)
    private_tmp: str | None             # Linux: the host directory mounted at /tmp
    network: bool
    apple_events: tuple[str, ...]
    ssh_dir: str | None                 # ~/.ssh when its private keys are hidden
    ignored: tuple[tuple[str, str], ...] = field(default=())  # (path, reason)

    def to_json(self) -> dict[str, Any]:
        """The policy as ``GET /api/tasks/{id}/sandbox`` shows it."""
        return {
            "platform": self.platform, "worktree": self.worktree, "run_dir": self.run_dir,
            "deny_read": list(self.deny_read), "hidden": self.hidden_except[0],
            "hidden_except": [self.hidden_except[1], self.worktree],
            "write": list(self.write), "read_only": list(self.read_only),
            "private_tmp": self.private_tmp, "network": self.network,
            "apple_events": list(self.apple_events),
            "ssh_private_keys_hidden": self.ssh_dir is not None,
            "ignored": [{"path": p, "reason": r} for p, r in self.ignored],
        }


def expand(path: str, home: str) -> str:
    """``~`` expanded against ``home`` (not the daemon's own HOME), made absolute and normalised."""
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return os.path.normpath(os.path.abspath(path))


def resolve(path: str, home: str) -> str:
    """``expand`` then symlinks resolved, so a mount or rule lands on the real file."""
    return os.path.realpath(expand(path, home))


def is_within(path: str, parent: str) -> bool:
    """Whether ``path`` is ``parent`` or below it (both normalised absolute paths)."""
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _unique(paths: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(p, None)
    return tuple(seen)


def ssh_private_files(ssh_dir: str) -> list[str]:
    """Entries of ``ssh_dir`` that are not public material (keys, agent sockets, unknown files)."""
    try:
        names = sorted(os.listdir(ssh_dir))
    except OSError:
        return []
    return [os.path.join(ssh_dir, name) for name in names if not is_ssh_public(name)]


def is_ssh_public(name: str) -> bool:
    """Whether a ``~/.ssh`` entry is public material: ``*.pub``, ``config``, ``known_hosts*``,
    ``authorized_keys*``. Anything else (keys, agent sockets, unknown files) counts as private."""
    return name.endswith(".pub") or name == "config" or name.startswith(("known_hosts", "authorized_keys"))


def compute_policy(inp: PolicyInputs) -> Policy:
    """The policy of one launch (see the module docstring for the rules)."""
    home = os.path.realpath(inp.home)
    worktree = os.path.realpath(inp.worktree)
    run_dir = os.path.realpath(inp.run_dir)
    argus_home = os.path.realpath(inp.argus_home)
    ignored: list[tuple[str, str]] = []

    deny: list[str] = []
    ssh_dir: str | None = None
    for raw in (*ALWAYS_DENY, *inp.deny_read):
        if not isinstance(raw, str) or not raw.strip():
            continue
        path = resolve(raw.strip(), home)
        if path == "/" or is_within(worktree, path) or is_within(run_dir, path):
            ignored.append((path, "it would hide the task's own worktree or run dir"))
            continue
        deny.append(path)
    if not inp.allow_ssh_keys:
        ssh_dir = resolve("~/.ssh", home)
        if inp.platform == "linux":
            deny.extend(ssh_private_files(ssh_dir))

    write: list[str] = [worktree]
    read_only: list[str] = []
    if inp.git_dir:
        git_dir = os.path.realpath(inp.git_dir)
        write.append(git_dir)
        read_only += [os.path.join(git_dir, "hooks"), os.path.join(git_dir, "config")]
    private_tmp: str | None = None
    if inp.platform == "linux":
        private_tmp = os.path.join(run_dir, "tmp")
    else:
        write.extend(MACOS_TMP_WRITE)
        write.extend(resolve(p, home) for p in MACOS_EXTRA_WRITE)
    write.extend(resolve(p, home) for p in AGENT_STATE)
    for raw in inp.extra_write:
        if not isinstance(raw, str) or not raw.strip():
            continue
        path = resolve(raw.strip(), home)
        if path == "/":
            ignored.append((path, "the whole filesystem cannot be made writable"))
            continue
        write.append(path)

    visible = [home, run_dir, worktree]
    if inp.repo:
        visible.append(os.path.realpath(inp.repo))

    return Policy(
        task_id=inp.task_id, platform=inp.platform, worktree=worktree, run_dir=run_dir, home=home,
        deny_read=_unique(deny), hidden_except=(argus_home, run_dir), write=_unique(write),
        read_only=_unique(read_only), visible=_unique(visible), private_tmp=private_tmp,
        network=bool(inp.network), apple_events=_unique(a for a in inp.apple_events if isinstance(a, str) and a),
        ssh_dir=ssh_dir, ignored=tuple(ignored),
    )
