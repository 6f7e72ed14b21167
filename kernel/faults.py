"""Test-only fault injection: SIGKILL a process at a named point, as a power cut or ``kill -9`` would.

The kill-matrix tests start a daemon with ``ARGUS_FAULT=<point>[@N][:supervisor]``; the code calls
:func:`fault_point` at named points (task creation steps, a re-render, a migration step, the
supervisor's spawn). When the point is reached for the ``N``-th time (default: the first) in a
process, the process SIGKILLs itself, or with ``:supervisor`` it SIGKILLs the session-supervisor
(``$ARGUS_HOME/supervisor.pid``) and carries on. Before killing, it creates
``$ARGUS_HOME/fault-<point>.fired``: a point whose marker exists never fires again under that home
(a restarted daemon or supervisor inherits the variable), and the test knows the fault happened.

Never set ``ARGUS_FAULT`` outside tests. The variable is read once at import; when it is unset
(always, in normal use) :func:`fault_point` returns at once.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

FAULT_ENV = "ARGUS_FAULT"

#: The points the code calls, for documentation and tests (name: where it is).
POINTS = {
    "create.inserted": "task creation: the row is inserted, nothing else exists yet",
    "create.worktree": "task creation: the worktree and branch exist, no agent yet",
    "spawn.before_status": "an agent was spawned, its task row is not updated yet",
    "create.spawned": "task creation: the agent runs and the row says so, the creation is not answered",
    "rerender.terminated": "a re-render killed the old agent and has not spawned the new one",
    "migrate.step": "a migration step's statements ran, its transaction is not committed",
    "supervisor.spawned": "(in the supervisor) an agent is forked, the spawn is not answered",
}


def _parse(value: str) -> tuple[str, int, str] | None:
    """``point[@N][:target]`` → ``(point, N, target)``; None when unset."""
    value = value.strip()
    if not value:
        return None
    value, _, target = value.partition(":")
    point, _, count = value.partition("@")
    return point, max(1, int(count or "1")), target or "self"


_ARMED = _parse(os.environ.get(FAULT_ENV, ""))
_hits = 0


def fault_point(name: str) -> None:
    """Test-only: die here (or kill the supervisor) when ``ARGUS_FAULT`` names this point."""
    if _ARMED is None or _ARMED[0] != name:
        return
    _fire(name)


def _fire(name: str) -> None:
    global _hits
    assert _ARMED is not None
    _hits += 1
    if _hits != _ARMED[1]:
        return
    home = Path(os.environ.get("ARGUS_HOME") or Path.home() / ".argus")
    marker = home / f"fault-{name}.fired"
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    if _ARMED[2] == "supervisor":
        try:
            os.kill(int((home / "supervisor.pid").read_text().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        return
    os.kill(os.getpid(), signal.SIGKILL)
