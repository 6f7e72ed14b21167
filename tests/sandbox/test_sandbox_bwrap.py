"""Real bubblewrap runs of the policy: what a confined process can and cannot read and write.

Each test builds a fake user's machine under ``tmp_path`` (``sandbox_helpers.make_layout``), runs
a small shell probe inside ``bwrap_argv(policy, ...)`` and checks the outcome on the host. Skipped,
with the reason, where bubblewrap cannot create a sandbox (no bwrap, user namespaces off).
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.sandbox.bwrap import bwrap_argv
from argus.plugins.sandbox.policy import PolicyInputs, compute_policy
from argus.plugins.sandbox.service import git_common_dir
from argus_testkit import run_git
from sandbox_helpers import Layout, make_layout, require_bwrap


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    require_bwrap()
    return make_layout(tmp_path)


def confined(layout: Layout, script: str, **policy: Any) -> subprocess.CompletedProcess[str]:
    """Run ``bash -c script`` inside the layout's policy; HOME is the fake home, cwd the worktree."""
    pol = compute_policy(PolicyInputs(
        task_id="t_test", worktree=str(layout.worktree), run_dir=str(layout.run_dir),
        argus_home=str(layout.argus_home), home=str(layout.home), git_dir=git_common_dir(str(layout.worktree)),
        repo=str(layout.repo), **policy))
    env = {"PATH": os.environ["PATH"], "HOME": str(layout.home), "SSH_AUTH_SOCK": "/tmp/agent.sock",
           "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@argus.invalid",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@argus.invalid"}
    return subprocess.run(bwrap_argv(pol, ["bash", "-c", script]), env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def can(layout: Layout, command: str, **policy: Any) -> bool:
    """Whether ``command`` succeeds inside the sandbox."""
    return confined(layout, f"( {command} ) >/dev/null 2>&1", **policy).returncode == 0


def test_credentials_cannot_be_read(layout: Layout) -> None:
    h = layout.home
    assert not can(layout, f"cat {h}/.aws/credentials")
    assert not can(layout, f"cat {h}/.ssh/id_ed25519")
    assert not can(layout, f"cat {h}/.gnupg/secring.gpg")
    out = confined(layout, f"cat {h}/.aws/credentials {h}/.ssh/id_ed25519 {h}/.gnupg/secring.gpg 2>/dev/null")
    assert "SECRET" not in out.stdout


def test_public_ssh_material_and_the_rest_of_home_stay_readable(layout: Layout) -> None:
    h = layout.home
    out = confined(layout, f"cat {h}/.ssh/id_ed25519.pub {h}/.ssh/known_hosts {h}/notes.txt")
    assert out.returncode == 0, out.stderr
    assert "ssh-ed25519 AAAA test" in out.stdout and "readable" in out.stdout


def test_ssh_keys_and_agent_are_available_when_allowed(layout: Layout) -> None:
    out = confined(layout, f"cat {layout.home}/.ssh/id_ed25519; echo sock=$SSH_AUTH_SOCK", allow_ssh_keys=True)
    assert "SECRET" in out.stdout and "sock=/tmp/agent.sock" in out.stdout
    assert "sock=\n" in confined(layout, "echo sock=$SSH_AUTH_SOCK").stdout


def test_argus_home_is_hidden_except_the_run_dir(layout: Layout) -> None:
    assert not can(layout, f"cat {layout.argus_home}/api-token")
    assert can(layout, f"cat {layout.run_dir}/mcp.json")
    assert not can(layout, f"touch {layout.run_dir}/new")


def test_writes_land_in_the_worktree_only(layout: Layout) -> None:
    assert can(layout, "echo hi > made-inside.txt")
    assert (layout.worktree / "made-inside.txt").read_text() == "hi\n"
    assert not can(layout, f"echo x > {layout.repo}/escaped.txt")
    assert not can(layout, f"echo x > {layout.home}/escaped.txt")
    assert not can(layout, "echo x > /etc/escaped.txt")
    assert not (layout.repo / "escaped.txt").exists() and not (layout.home / "escaped.txt").exists()


def test_agent_state_and_extra_write_are_writable(layout: Layout) -> None:
    scratch = layout.home / "scratch"
    scratch.mkdir()
    assert can(layout, f"touch {layout.home}/.claude/state.json")
    assert not can(layout, f"touch {scratch}/out")
    assert can(layout, f"touch {scratch}/out", extra_write=[str(scratch)])
    assert (scratch / "out").exists()


def test_tmp_is_private_to_the_task(layout: Layout) -> None:
    name = f"argus-sbx-{uuid.uuid4().hex}"
    out = confined(layout, f"echo private > /tmp/{name} && cat /tmp/{name} && echo tmpdir=$TMPDIR")
    assert out.returncode == 0, out.stderr
    assert "private" in out.stdout and "tmpdir=/tmp" in out.stdout
    assert not Path(f"/tmp/{name}").exists()
    assert (layout.run_dir / "tmp" / name).read_text() == "private\n"


def test_git_commit_in_the_worktree_works_but_hooks_and_config_are_read_only(layout: Layout) -> None:
    out = confined(layout, "echo change > f.txt && git add f.txt && git commit -q -m 'from the sandbox' && echo ok")
    assert out.returncode == 0, out.stderr
    assert "from the sandbox" in run_git(layout.repo, "log", "-1", "--format=%s", "argus/slug")
    assert not can(layout, f"echo 'exit 0' > {layout.repo}/.git/hooks/pre-commit")
    assert not can(layout, "git config core.fsmonitor 'touch /tmp/pwned'")


def test_deny_read_entries_are_enforced(layout: Layout) -> None:
    secret_dir = layout.home / "secrets"  # (under /tmp but outside home it would be hidden anyway)
    secret_dir.mkdir()
    (secret_dir / "a.txt").write_text("SECRET")
    (layout.home / "project-secret.txt").write_text("SECRET")
    assert can(layout, f"cat {secret_dir}/a.txt")
    denied = {"deny_read": [str(secret_dir), "~/project-secret.txt"]}
    assert not can(layout, f"cat {secret_dir}/a.txt", **denied)
    assert not can(layout, f"cat {layout.home}/project-secret.txt", **denied)


def test_network_switch_unshares_the_network(layout: Layout) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        probe = f"exec 3<>/dev/tcp/127.0.0.1/{port}"
        assert can(layout, probe), "the host's loopback is reachable with the network on"
        assert not can(layout, probe, network=False)


def _pty_policy(layout: Layout) -> Any:
    return compute_policy(PolicyInputs(task_id="t_test", worktree=str(layout.worktree), run_dir=str(layout.run_dir),
                                       argus_home=str(layout.argus_home), home=str(layout.home)))


def _read_until(proc: Any, needle: str, timeout: float = 15.0) -> str:
    """Read the PTY until ``needle`` shows up (select-based, with a deadline)."""
    import select
    import time

    buf = ""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {needle!r}; got {buf!r}"
        ready, _, _ = select.select([proc.fd], [], [], left)
        if ready:
            try:
                buf += os.read(proc.fd, 4096).decode(errors="replace")
            except OSError:
                break
    return buf


def test_the_pty_stays_the_controlling_terminal(layout: Layout) -> None:
    """No --new-session: the agent sees its tty, its size changes, and Ctrl+C reaches it."""
    ptyprocess = pytest.importorskip("ptyprocess")
    script = ("tty; stty size; echo ready; read _; stty size; "
              "trap 'echo got-int; exit 7' INT; echo armed; sleep 30 & wait")
    argv = bwrap_argv(_pty_policy(layout), ["bash", "-c", script], signal_env=require_bwrap().env)
    proc = ptyprocess.PtyProcess.spawn(argv,
                                       env={"PATH": os.environ["PATH"], "HOME": str(layout.home)},
                                       dimensions=(24, 80))
    try:
        out = _read_until(proc, "ready")
        # bwrap's --dev shows the controlling tty as /dev/console
        assert "24 80" in out and "not a tty" not in out
        proc.setwinsize(50, 132)
        proc.write(b"\n")
        assert "50 132" in _read_until(proc, "armed")
        proc.write(b"\x03")
        assert "got-int" in _read_until(proc, "got-int")
        proc.wait()
        assert proc.exitstatus == 7
    finally:
        if proc.isalive():
            proc.kill(9)


def test_a_terminate_signal_reaches_the_agent_and_bwrap_returns_its_status(layout: Layout) -> None:
    """Argus stops an agent with SIGHUP/SIGTERM to the process group: the agent handles it, bwrap
    waits for it and exits with its status (instead of dying first and SIGKILLing it)."""
    ptyprocess = pytest.importorskip("ptyprocess")
    import signal

    script = "trap 'echo got-term; exit 9' TERM; echo armed; sleep 30 & wait"
    argv = bwrap_argv(_pty_policy(layout), ["bash", "-c", script], signal_env=require_bwrap().env)
    proc = ptyprocess.PtyProcess.spawn(argv, env={"PATH": os.environ["PATH"], "HOME": str(layout.home)})
    try:
        _read_until(proc, "armed")
        os.killpg(proc.pid, signal.SIGTERM)
        assert "got-term" in _read_until(proc, "got-term")
        proc.wait()
        assert proc.exitstatus == 9
    finally:
        if proc.isalive():
            proc.kill(9)


def test_sandbox_check_cli_reports_the_backend_or_why_not(tmp_path: Path) -> None:
    import json
    import sys

    found = require_bwrap()
    env = {**os.environ, "ARGUS_HOME": str(tmp_path / "argus-home")}
    cmd = [sys.executable, "-m", "argus.kernel.cli", "sandbox", "check"]
    ok = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["backend"] == f"bubblewrap {found.version}".strip()
    missing = subprocess.run([*cmd, "--bwrap", "/nonexistent/bwrap"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 1 and "not installed" in missing.stdout
