"""The detached helper self-update starts: wait for the old daemon to exit, then run the new one.

``python -m argus.plugins.ops.relaunch OLD_PID``: it runs in its own session (so it outlives the
daemon that started it), waits up to a minute for ``OLD_PID`` to exit (the daemon's lock and
ports are free then), and replaces itself with ``argus daemon run`` from the same environment,
which now holds the freshly installed code. The session supervisor, and every agent in it, is
never touched; the new daemon re-attaches to the running sessions.
"""

from __future__ import annotations

import os
import sys
import time

from argus.kernel.api import pid_alive

WAIT_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    """Wait for the old daemon, then exec the new one. Returns 2 on bad arguments, 1 on timeout."""
    args = sys.argv[1:] if argv is None else argv
    try:
        old = int(args[0])
    except (IndexError, ValueError):
        print("usage: python -m argus.plugins.ops.relaunch OLD_PID", file=sys.stderr)
        return 2
    deadline = time.monotonic() + WAIT_SECONDS
    while pid_alive(old):
        if time.monotonic() > deadline:
            print(f"argus relaunch: daemon {old} did not exit within {WAIT_SECONDS:.0f} s; not starting a new one",
                  file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"argus relaunch: daemon {old} exited; starting the updated daemon", file=sys.stderr, flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "argus.kernel.cli", "daemon", "run"])
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
