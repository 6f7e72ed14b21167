"""Helpers for the sandbox tests: whether bwrap can run here, and a realistic host layout."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from argus.plugins.sandbox import detect
from argus_testkit import make_repo, run_git


def require_bwrap() -> detect.Availability:
    """Skip the calling test, saying why, when bubblewrap cannot create a sandbox on this host."""
    found = detect.detect("bwrap")
    if not found.available:
        pytest.skip(f"bubblewrap cannot run here: {found.reason}")
    return found


def require_checkout_outside_tmp() -> None:
    """Skip the calling test when this checkout or its venv lies under /tmp: the Linux sandbox
    gives an agent a private /tmp (docs/sandbox.md), so the fake agent and the interpreter it runs
    on would be invisible inside it. Clone elsewhere to run the end-to-end sandbox tests."""
    for what, path in (("checkout", Path(__file__).resolve().parents[2]), ("venv", Path(sys.prefix).resolve())):
        if Path(os.path.realpath(path)).is_relative_to("/tmp"):
            pytest.skip(f"this {what} is under /tmp ({path}), which a sandboxed agent cannot see")


@dataclass
class Layout:
    """A fake user's machine: HOME with credentials, ARGUS_HOME with a task, a repo and its worktree."""

    root: Path
    home: Path
    argus_home: Path
    repo: Path
    worktree: Path
    run_dir: Path


def make_home(home: Path) -> Path:
    """A home directory holding credentials (~/.aws, ~/.ssh keys, ~/.gnupg) and ordinary files."""
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = SECRET\n")
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET\n")
    (home / ".ssh" / "id_ed25519.pub").write_text("ssh-ed25519 AAAA test\n")
    (home / ".ssh" / "known_hosts").write_text("example.com ssh-ed25519 AAAA\n")
    (home / ".gnupg").mkdir()
    (home / ".gnupg" / "secring.gpg").write_text("SECRET")
    (home / ".claude").mkdir()
    (home / "notes.txt").write_text("readable\n")
    (home / "project-notes.txt").write_text("readable\n")
    return home


def make_layout(root: Path, task_id: str = "t_test") -> Layout:
    """Build the layout under ``root`` (credentials, ssh keys, master token, repo + linked worktree)."""
    home = make_home(root / "home")
    argus_home = root / "argus-home"
    (argus_home / "run" / task_id).mkdir(parents=True)
    (argus_home / "run" / task_id / "mcp.json").write_text("{}")
    (argus_home / "api-token").write_text("MASTERTOKEN\n")
    repo = make_repo(root / "repo")
    worktree = argus_home / "worktrees" / "proj" / "slug"
    worktree.parent.mkdir(parents=True)
    run_git(repo, "worktree", "add", "-q", "-b", "argus/slug", str(worktree))
    return Layout(root, home, argus_home, repo, worktree, argus_home / "run" / task_id)
