"""The warm standby: a spare daemon, already imported, that takes over when the daemon dies.

Most of a daemon's start-up is importing its web stack, its plugins and the MCP SDK (about half a
second of CPU). Once the daemon has served for ``STANDBY_DELAY`` seconds it starts
``argus daemon standby``: a process in its own session that imports all of that, writes
``standby.pid``, and blocks on ``daemon.lock``. When the daemon dies without being asked to (a
crash, kill -9, the OOM killer), the kernel releases the lock and the standby holds it a moment
later: it becomes the daemon (re-attaching every live session from the supervisor) and, once it
has served for ``STANDBY_DELAY`` seconds itself, starts the next standby.

Standbys that take over from a dying daemon ``LOOP_TAKEOVERS`` times within ``LOOP_WINDOW`` mean
a crash loop: no more standbys until a daemon is started afresh.

A requested stop (``argus daemon stop``, SIGTERM, SIGINT, a self-update) terminates the standby
before the lock is released, so stopping means stopped. ``argus daemon restart`` sends
``HANDOVER_SIGNAL`` instead: the daemon stops and leaves its standby to take over (not counted as
a crash). A standby whose
loaded code no longer matches the files on disk (an update since it started) does not serve it:
it starts a fresh ``argus daemon run`` in its place. ``daemon.standby`` turns it off (it takes
effect at the daemon's next start); it is also off when the daemon is a systemd unit's main
process (systemd restarts the unit itself) and when ``ARGUS_DAEMON_STANDBY=0``.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import trio

from . import pidlock
from .paths import Paths, atomic_write

log = logging.getLogger("argus")

STANDBY_DELAY = 6.0  # seconds a daemon serves before it starts its standby (after the MCP build)
RESPAWN_DELAY = 60.0  # seconds before a standby that died is replaced
MAX_FAILURES = 3  # standbys in a row that died within RESPAWN_DELAY: no more for this daemon
STOP_GRACE = 3.0  # seconds a terminated standby gets before SIGKILL
POLL = 1.0  # seconds between looks at the daemon.standby setting
LOOP_TAKEOVERS = 3  # take-overs after a crash within LOOP_WINDOW: the daemon is crash-looping
LOOP_WINDOW = 600.0
HANDOVER_SIGNAL = signal.SIGUSR1  # to the daemon: stop and let the standby take over (`daemon restart`)
ENV_ENABLED = "ARGUS_DAEMON_STANDBY"
ENV_DELAY = "ARGUS_STANDBY_DELAY"

#: What a daemon imports on its way up, imported by the standby ahead of time (plugins and the MCP
#: SDK are added by ``preload``, and every module the daemon that started the standby had loaded).
PRELOAD = ("argus.kernel.kernel", "argus.kernel.sessions", "httpx")


def standby_pid_file(paths: Paths) -> Path:
    """``standby.pid``: written by a standby once it is ready to take over, removed when it does."""
    return paths.home / "standby.pid"


def standby_lock(paths: Paths) -> Path:
    """``standby.lock``: held by the ready standby (one per home; its pid is checked against it)."""
    return paths.home / "standby.lock"


def modules_file(paths: Paths) -> Path:
    """The modules the daemon had loaded when it started its standby (one name a line)."""
    return paths.run / "standby-modules"


def takeovers_file(paths: Paths) -> Path:
    """When standbys took over from a daemon that died (one Unix time a line; hand-overs excluded)."""
    return paths.run / "standby-takeovers"


def handover_file(paths: Paths) -> Path:
    """Written by a daemon that hands over on purpose, read (and removed) by the standby."""
    return paths.run / "standby-handover"


def mark_handover(paths: Paths) -> None:
    """Say this stop is a hand-over (the standby's take-over is not a crash)."""
    paths.run.mkdir(parents=True, exist_ok=True)
    atomic_write(handover_file(paths), f"{os.getpid()}\n".encode(), 0o600)


def record_takeover(paths: Paths) -> bool:
    """At a take-over: note it in ``takeovers_file`` unless the daemon handed over on purpose.
    True for a hand-over."""
    try:
        handover_file(paths).unlink()
        return True
    except FileNotFoundError:
        pass
    paths.run.mkdir(parents=True, exist_ok=True)
    fd = os.open(takeovers_file(paths), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{time.time():.3f}\n".encode())
    finally:
        os.close(fd)
    return False


def forget_takeovers(paths: Paths) -> None:
    """A daemon started afresh (not by a standby): the crash-loop count starts again."""
    for path in (takeovers_file(paths), handover_file(paths)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def crash_looping(paths: Paths, now: float | None = None) -> bool:
    """Whether standbys took over ``LOOP_TAKEOVERS`` times within the last ``LOOP_WINDOW`` seconds."""
    now = time.time() if now is None else now
    try:
        lines = takeovers_file(paths).read_text().split()
    except OSError:
        return False
    recent = 0
    for line in lines:
        try:
            recent += now - float(line) < LOOP_WINDOW
        except ValueError:
            continue
    return recent >= LOOP_TAKEOVERS


def env_enabled(raw: str) -> bool:
    """``ARGUS_DAEMON_STANDBY``'s value as a boolean (``0``, ``false``, ``no``, ``off``: off)."""
    return raw.strip().lower() not in ("0", "false", "no", "off")


def start_delay() -> float:
    """Seconds a daemon serves before starting its standby (``ARGUS_STANDBY_DELAY`` overrides)."""
    raw = os.environ.get(ENV_DELAY, "").strip()
    try:
        return max(0.0, float(raw)) if raw else STANDBY_DELAY
    except ValueError:
        return STANDBY_DELAY


def ready_pid(paths: Paths) -> int | None:
    """The pid of this home's standby when it is alive and ready to take over, else None: the
    process must hold ``standby.lock`` (a stale ``standby.pid`` naming a reused pid gives None)."""
    pid = pidlock.read_pid_file(standby_pid_file(paths))
    if pid is None or not pidlock.pid_alive(pid):
        return None
    return pid if pidlock.holds_lock(pid, standby_lock(paths), "argus", "standby") else None


# -- the standby process ------------------------------------------------------------------------

def preload(paths: Paths, steps: Iterable[Callable[[], object]] = ()) -> int:
    """Import what a daemon imports on its way up: ``PRELOAD``, then ``steps`` (the CLI passes
    loading every plugin and importing the MCP SDK), then the modules the running daemon listed in
    ``modules_file``. Returns how many modules are loaded."""
    for name in PRELOAD:
        importlib.import_module(name)
    for step in steps:
        step()
    try:
        names = modules_file(paths).read_text().split()
    except OSError:
        names = []
    for name in names:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # e.g. a module made at run time; the daemon imports what it needs
                log.debug("standby: could not preload %s", name, exc_info=True)
    return len(sys.modules)


def wait_for_lock(paths: Paths, lock: Path, spare: int) -> int | None:
    """Block until this process holds ``lock`` (the daemon died or released it); then stop being
    the standby (``standby.pid`` removed, ``spare``, the standby lock's fd, closed) and claim the
    daemon's pid file. None when the home went away meanwhile (nothing to take over)."""
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        os.close(spare)
        return None
    fcntl.flock(fd, fcntl.LOCK_EX)  # a SIGTERM here (a requested stop) ends the process
    try:
        same = os.stat(lock).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same or not paths.home.is_dir():
        os.close(fd)
        os.close(spare)
        return None
    with contextlib.suppress(FileNotFoundError):
        standby_pid_file(paths).unlink()
    os.close(spare)
    atomic_write(paths.daemon_pid, f"{os.getpid()}\n".encode(), 0o600)
    return fd


def code_stamp() -> dict[str, tuple[int, int]]:
    """Every loaded module's file (Argus, its plugins, its libraries) with its mtime and size: a
    standby compares this at take-over with what it loaded, so it never serves code older than
    what is installed (about 800 files: a few ms)."""
    out: dict[str, tuple[int, int]] = {}
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if not isinstance(path, str):
            continue
        try:
            st = os.stat(path)
        except OSError:
            out[path] = (-1, -1)
            continue
        out[path] = (st.st_mtime_ns, st.st_size)
    return out


def announce(paths: Paths) -> int | None:
    """Hold ``standby.lock`` and say this standby is ready (``standby.pid``); the lock's fd, or
    None when another standby of this home already holds it (this one is not needed)."""
    fd = os.open(standby_lock(paths), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    atomic_write(standby_pid_file(paths), f"{os.getpid()}\n".encode(), 0o600)
    return fd


# -- the daemon's side --------------------------------------------------------------------------

def standby_argv() -> list[str]:
    """The command line of a standby (the same interpreter and package as this daemon)."""
    return [sys.executable, "-m", "argus.kernel.cli", "daemon", "standby"]


async def keep_standby(paths: Paths, wanted: Callable[[], bool], goes_too: Callable[[], bool], *,
                       delay: float) -> None:
    """Run for the daemon's lifetime: after ``delay`` seconds keep a standby while ``wanted()``
    (the live ``daemon.standby`` setting, checked every ``POLL`` seconds: turning it off
    terminates the standby). One that dies is replaced after ``RESPAWN_DELAY`` (none after
    ``MAX_FAILURES`` in a row died young); none while the daemon is crash-looping (``crash_looping``).
    When the daemon is cancelled and ``goes_too()`` (a requested stop that is not a hand-over) the
    standby is terminated; on any other way out (a crash) it is left to take over."""
    await trio.sleep(delay)
    failures = 0
    said_loop = False
    while True:
        if not wanted() or failures >= MAX_FAILURES:
            await trio.sleep(POLL)
            continue
        if crash_looping(paths):
            if not said_loop:
                log.warning("standbys took over from a dying daemon %d times in %.0f minutes: no standby "
                            "until the daemon is started afresh (`argus daemon restart`)",
                            LOOP_TAKEOVERS, LOOP_WINDOW / 60)
                said_loop = True
            await trio.sleep(POLL)
            continue
        proc = await _spawn(paths)
        started = trio.current_time()
        turned_off = False
        try:
            while proc.returncode is None:
                with trio.move_on_after(POLL):
                    await proc.wait()
                if proc.returncode is None and not wanted():
                    turned_off = True
                    await _terminate(paths, proc)
        finally:
            if proc.returncode is None and goes_too():
                with trio.CancelScope(shield=True):
                    await _terminate(paths, proc)
        if turned_off:
            continue
        lived = trio.current_time() - started
        failures = failures + 1 if lived < RESPAWN_DELAY else 0
        log.warning("the standby daemon (pid %d) exited with code %s after %.0f s; %s", proc.pid, proc.returncode,
                    lived, "starting another in a minute" if failures < MAX_FAILURES else "not starting another")
        _forget(paths, proc.pid)
        await trio.sleep(RESPAWN_DELAY)


def _forget(paths: Paths, pid: int) -> None:
    """Remove ``standby.pid`` if it names ``pid`` (a standby that is gone)."""
    with contextlib.suppress(FileNotFoundError):
        if pidlock.read_pid_file(standby_pid_file(paths)) == pid:
            standby_pid_file(paths).unlink()


async def _spawn(paths: Paths) -> trio.Process:
    loaded = "\n".join(name for name, mod in list(sys.modules.items())
                       if mod is not None and name != "__main__" and not name.startswith("__"))
    paths.run.mkdir(parents=True, exist_ok=True)
    await trio.to_thread.run_sync(atomic_write, modules_file(paths), loaded.encode(), 0o600)
    with contextlib.suppress(FileNotFoundError):  # stale: from a hand-over no standby answered
        handover_file(paths).unlink()
    log_fd = os.open(paths.daemon_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        proc = await trio.lowlevel.open_process(
            standby_argv(), stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, start_new_session=True,
            env={**os.environ, "ARGUS_HOME": str(paths.home)})
    finally:
        os.close(log_fd)
    log.info("standby daemon started (pid %d)", proc.pid)
    return proc


async def _terminate(paths: Paths, proc: trio.Process) -> None:
    """SIGTERM the standby and wait for it (SIGKILL after ``STOP_GRACE``)."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    with trio.move_on_after(STOP_GRACE) as waited:
        await proc.wait()
    if waited.cancelled_caught:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    _forget(paths, proc.pid)
    log.info("standby daemon (pid %d) stopped", proc.pid)


def kill_leftover(paths: Paths, wait: float = 3.0) -> None:
    """Terminate a ready standby of ``paths.home`` whose daemon is gone (tests' and benches'
    clean-up; ``argus daemon stop`` when nothing holds the lock)."""
    pid = ready_pid(paths)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while pidlock.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pidlock.pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
