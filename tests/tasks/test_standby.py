"""The warm standby: a spare daemon, already imported, takes over when the daemon is killed; a
requested stop takes it down too; it can be turned off; it never takes over a home that is gone.

Real daemons (``argus daemon run``), a real supervisor and demo agents; the standby is asked for
with ``ARGUS_DAEMON_STANDBY=1`` (the suite turns it off for every other daemon) and starts after
``ARGUS_STANDBY_DELAY`` seconds instead of the default six.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.kernel.pidlock import lock_is_held, pid_alive
from argus_testkit import Daemon, make_repo, stop_supervisor_in, wait_for
from orch_helpers import FAST_AGENT, create_task, task
from test_tasks_api import send, wait_idle, wait_output

STANDBY = {"ARGUS_DAEMON_STANDBY": "1", "ARGUS_STANDBY_DELAY": "0.2", **FAST_AGENT}
SETTING_DECIDES = {**STANDBY, "ARGUS_DAEMON_STANDBY": ""}  # empty: the daemon.standby setting decides


def _standby_pid(home: Path, timeout: float = 60.0, other_than: int = 0) -> int:
    """Wait until ``home`` has a ready standby (``standby.pid``, alive); its pid."""
    def ready() -> int | None:
        try:
            pid = int((home / "standby.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if pid != other_than and pid_alive(pid) else None

    return wait_for(ready, timeout, what="a ready standby daemon")


def _status(d: Daemon) -> dict[str, Any] | None:
    try:
        with d.unix_client(timeout=2) as c:
            resp = c.get("/api/status")
    except (httpx.HTTPError, OSError):
        return None
    return resp.json() if resp.status_code == 200 else None


def _cli(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argus.kernel.cli", *args], env=d.env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def standby_daemon(tmp_path: Path, daemon_factory: Any) -> Daemon:
    """A daemon with a warm standby and project ``sb`` registered; everything stopped afterwards."""
    d: Daemon = daemon_factory("sb", env=STANDBY)
    resp = d.client.post("/api/projects", json={"name": "sb", "path": str(make_repo(tmp_path / "repo"))})
    assert resp.status_code in (200, 201), resp.text
    return d


def _idle_agent_and_standby(d: Daemon, name: str) -> tuple[str, int, int]:
    """A demo task waiting for input, once the daemon's standby is ready: (task id, agent pid, standby pid)."""
    t = create_task(d.client, "sb", name)
    wait_idle(d.client, t["id"])
    return t["id"], task(d.client, t["id"])["pid"], _standby_pid(d.home)


def test_a_killed_daemon_is_replaced_by_its_standby_and_the_agents_carry_on(standby_daemon: Daemon) -> None:
    d = standby_daemon
    tid, agent, spare = _idle_agent_and_standby(d, "keeper")
    assert spare != d.proc.pid  # type: ignore[union-attr]
    status = _cli(d, "daemon", "status")
    assert f'"standby_pid": {spare}' in status.stdout, status.stdout

    d.kill9()
    # Nothing is launched: the standby holds the lock and serves, re-attached to the live agent.
    wait_for(lambda: (_status(d) or {}).get("version"), 30, what="the standby to serve")
    assert int((d.home / "daemon.pid").read_text()) == spare
    c = httpx.Client(base_url=d.url, headers=d.headers, timeout=15)
    try:
        after = task(c, tid)
        assert after["running"] and after["pid"] == agent and after["status"] == "in_progress"
        send(c, tid, "still there?\r")
        wait_output(c, tid, "you said: still there?")
        # The new daemon keeps a standby of its own.
        _standby_pid(d.home, other_than=spare)
        assert f"standby daemon (pid {spare}) taking over (the daemon died)" in (d.home / "daemon.log").read_text()
    finally:
        c.close()

    # `argus daemon stop` stops the daemon and its standby: nothing takes over.
    nxt = int((d.home / "standby.pid").read_text())
    assert _cli(d, "daemon", "stop").stdout.strip() == "stopped"
    wait_for(lambda: not pid_alive(nxt) and not pid_alive(spare), 15, what="the daemon and its standby to exit")
    time.sleep(0.5)
    assert _status(d) is None and not lock_is_held(d.home / "daemon.lock")
    assert not (d.home / "standby.pid").exists()
    assert pid_alive(agent)  # the agent lives on in the supervisor


def test_a_requested_stop_takes_the_standby_down_with_the_daemon(standby_daemon: Daemon) -> None:
    d = standby_daemon
    spare = _standby_pid(d.home)
    d.stop()  # SIGTERM, as `argus daemon stop` sends
    wait_for(lambda: not pid_alive(spare), 15, what="the standby to exit")
    time.sleep(0.5)
    assert _status(d) is None and not lock_is_held(d.home / "daemon.lock")
    assert f"standby daemon (pid {spare}) stopped" in (d.home / "daemon.log").read_text()


def test_no_standby_when_it_is_turned_off(daemon_factory: Any) -> None:
    d: Daemon = daemon_factory("off", env=SETTING_DECIDES, start=False)
    (d.home / "config.toml").write_text("[daemon]\nstandby = false\n")
    d.start()
    assert d.client.get("/api/settings").json()["sections"]["daemon"]["standby"] is False
    time.sleep(2.0)
    assert not (d.home / "standby.pid").exists()
    assert "standby daemon started" not in (d.home / "daemon.log").read_text()
    d.kill9()
    time.sleep(1.0)
    assert _status(d) is None  # killed means down


def test_the_standby_is_on_by_default(daemon_factory: Any) -> None:
    d: Daemon = daemon_factory("default", env=SETTING_DECIDES)
    body = d.client.get("/api/settings").json()
    assert body["sections"]["daemon"]["standby"] is True and body["sources"]["daemon"]["standby"] == "default"
    _standby_pid(d.home)
    d.cleanup()
    assert not (d.home / "standby.pid").exists()


def test_a_standby_whose_home_is_gone_never_serves(tmp_path: Path) -> None:
    """A second standby for the same home steps aside; the daemon's home removed while the standby
    waits (e.g. a deleted test home): when the lock comes free it exits instead of serving a home
    that is not there."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    lock = home / "daemon.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the "daemon"
    env = {**os.environ, "ARGUS_HOME": str(home), "ARGUS_MCP_PORT": "0"}
    env.pop("ARGUS_API_PORT", None)
    proc = subprocess.Popen([sys.executable, "-m", "argus.kernel.cli", "daemon", "standby"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(lambda: (home / "standby.pid").exists(), 60, what="the standby to be ready")
        second = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "standby"], env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        assert second.returncode == 0, second
        assert int((home / "standby.pid").read_text()) == proc.pid  # the first one stays the standby
        for path in sorted(home.rglob("*"), reverse=True):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
        home.rmdir()
        os.close(fd)  # the "daemon" dies
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert not home.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stop_supervisor_in(home)


def test_restart_hands_over_to_the_ready_standby(standby_daemon: Daemon) -> None:
    d = standby_daemon
    tid, agent, spare = _idle_agent_and_standby(d, "handed")
    out = _cli(d, "daemon", "restart")
    assert out.returncode == 0 and out.stdout.strip() == f"argus daemon restarted (pid {spare})", out
    assert d.proc is not None and d.proc.wait(15) == 0  # the old daemon stopped cleanly
    log = (d.home / "daemon.log").read_text()
    assert "handing over to the standby" in log and f"standby daemon (pid {spare}) taking over (hand-over)" in log
    assert not (d.home / "run" / "standby-takeovers").exists()  # a hand-over is not a crash
    with httpx.Client(base_url=d.url, headers=d.headers, timeout=15) as c:
        after = task(c, tid)
        assert after["running"] and after["pid"] == agent
        send(c, tid, "after the hand-over\r")
        wait_output(c, tid, "you said: after the hand-over")


PLUGIN = '''"""A do-nothing plugin file whose mtime the test moves (code "updated" on disk)."""
from argus.kernel.api import hookimpl


@hookimpl
def argus_started(kernel: object) -> None:
    """Nothing."""
'''


def test_a_standby_whose_code_changed_on_disk_starts_a_fresh_daemon(tmp_path: Path, daemon_factory: Any) -> None:
    plugin = tmp_path / "stamped.py"
    plugin.write_text(PLUGIN)
    d: Daemon = daemon_factory("stamped", env={**STANDBY, "ARGUS_PLUGINS": str(plugin)})
    spare = _standby_pid(d.home)
    st = plugin.stat()
    os.utime(plugin, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # an update
    d.kill9()
    wait_for(lambda: (_status(d) or {}).get("version"), 60, what="a fresh daemon to serve")
    log = (d.home / "daemon.log").read_text()
    assert f"standby daemon (pid {spare}): the code changed since it loaded; starting a fresh daemon" in log
    assert f"standby daemon (pid {spare}) taking over" not in log
    argv = Path(f"/proc/{spare}/cmdline").read_bytes().split(b"\0")
    assert argv[-3:] == [b"daemon", b"run", b""]  # the standby's process runs a fresh daemon


def test_turning_the_setting_off_and_on_takes_effect_at_once(daemon_factory: Any) -> None:
    d: Daemon = daemon_factory("live", env=SETTING_DECIDES)
    spare = _standby_pid(d.home)
    resp = d.client.put("/api/settings", json={"daemon": {"standby": False}})
    assert resp.status_code == 200, resp.text
    wait_for(lambda: not pid_alive(spare) and not (d.home / "standby.pid").exists(), 15,
             what="the standby to be stopped")
    resp = d.client.put("/api/settings", json={"daemon": {"standby": True}})
    assert resp.status_code == 200, resp.text
    _standby_pid(d.home, other_than=spare)


def test_a_crash_loop_gets_no_more_standbys_until_a_fresh_start(standby_daemon: Daemon) -> None:
    d = standby_daemon
    spare = 0
    for _ in range(3):  # three deaths in a row, each answered by the standby
        spare = _standby_pid(d.home, other_than=spare)
        os.kill(int((d.home / "daemon.pid").read_text()), signal.SIGKILL)
        wait_for(lambda s=spare: (_status(d) or {}).get("version") and int((d.home / "daemon.pid").read_text()) == s,
                 60, what="the standby to take over")
    log_path = d.home / "daemon.log"
    wait_for(lambda: "standbys took over from a dying daemon 3 times" in log_path.read_text(), 15,
             what="the crash-loop warning")
    assert not (d.home / "standby.pid").exists()
    # A fresh start (restart with no standby ready: stop, then a cold start) clears the count.
    out = _cli(d, "daemon", "restart")
    assert out.returncode == 0, out
    _standby_pid(d.home, other_than=spare)
