"""Pid files lie after a crash: ``argus daemon stop``/``status`` and the supervisor check that a pid
is really theirs (it holds their lock) before reporting or signalling it; concurrent
``argus daemon start`` calls agree on the one daemon that won.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from argus.kernel import pidlock
from argus_testkit import wait_for
from kernel_helpers import argus


@contextmanager
def foreign_sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process (``sleep``), killed afterwards."""
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@contextmanager
def lock_holder(lock: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holding an flock on ``lock`` (as a running daemon/supervisor would)."""
    code = ("import fcntl,os,sys,time\nfd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT,0o600)\n"
            "fcntl.flock(fd,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"locked"
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def _alive(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None


def test_stop_and_status_leave_a_process_with_the_stale_pid_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with foreign_sleeper() as victim:
        (home / "daemon.pid").write_text(f"{victim.pid}\n")
        (home / "daemon.lock").write_text("")
        status = argus(home, "daemon", "status")
        assert status.returncode == 1
        assert json.loads(status.stdout)["pid"] is None  # not reported as the daemon
        stop = argus(home, "daemon", "stop")
        assert stop.returncode == 0 and stop.stdout.strip() == "not running"
        assert _alive(victim)
        # even while someone else holds the lock, the stale pid is not the holder
        with lock_holder(home / "daemon.lock"):
            assert argus(home, "daemon", "stop").stdout.strip() == "not running"
            assert json.loads(argus(home, "daemon", "status").stdout)["pid"] is None
        assert _alive(victim)


def test_lock_identity_names_only_the_holder(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with foreign_sleeper() as victim, lock_holder(lock) as holder:
        assert pidlock.lock_is_held(lock)
        assert pidlock.holds_lock(holder.pid, lock)
        assert not pidlock.holds_lock(victim.pid, lock)
        assert not pidlock.holds_lock(os.getpid(), lock)
    assert not pidlock.lock_is_held(lock)
    assert pidlock.lock_holders(tmp_path / "missing.lock") == set()


def test_stop_supervisor_does_not_kill_a_stale_pid(tmp_path: Path) -> None:
    from argus.kernel.paths import Paths
    from argus.kernel.supervisor import stop_supervisor

    paths = Paths(tmp_path)
    with foreign_sleeper() as victim:
        paths.supervisor_lock.write_text(f"{victim.pid}\n")
        (tmp_path / "supervisor.pid").write_text(f"{victim.pid}\n")
        assert stop_supervisor(paths, timeout=0.5) is False
        with lock_holder(paths.supervisor_lock):
            paths.supervisor_lock.write_text(f"{victim.pid}\n")
            stop_supervisor(paths, timeout=0.5)
        assert _alive(victim)
        status = argus(tmp_path, "session-supervisor", "status")
        assert str(victim.pid) not in status.stdout


def test_concurrent_daemon_starts_agree_on_one_daemon(daemon_factory: Any) -> None:
    d = daemon_factory("race", api=False, start=False)
    cmd = [sys.executable, "-m", "argus.kernel.cli", "daemon", "start"]
    try:
        procs = [subprocess.Popen(cmd, env=d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, (out, err, d.log_tail())
        pids = {int(m.group(1)) for out, _ in outs for m in [re.search(r"pid (\d+)", out)] if m}
        assert len(pids) == 1, outs
        (pid,) = pids
        assert int((d.home / "daemon.pid").read_text()) == pid
        status = json.loads(argus(d.home, "daemon", "status", env=d.env).stdout)
        assert status["running"] is True and status["pid"] == pid
    finally:
        argus(d.home, "daemon", "stop", env=d.env)
        pid_file = d.home / "daemon.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            if pidlock.holds_lock(pid, d.home / "daemon.lock", "argus", "daemon"):
                os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pidlock.lock_is_held(d.home / "daemon.lock"), what="the daemon gone")


def test_pid_alive_counts_a_zombie_and_a_reaped_process_as_gone() -> None:
    assert pidlock.pid_alive(os.getpid())
    proc = subprocess.Popen(["sh", "-c", "exit 0"])
    # not reaped yet: a zombie once it has exited
    wait_for(lambda: not pidlock.pid_alive(proc.pid), 10, what="the child to exit (a zombie)")
    assert Path(f"/proc/{proc.pid}").exists()  # still listed: only the zombie rule says it is gone
    proc.wait()
    assert not pidlock.pid_alive(proc.pid)
    # a process of another user that we may not signal still exists
    assert pidlock.pid_alive(1)
