"""The session-supervisor: a long-lived, detached process that owns every agent PTY.

It is the parent of the agent processes, so the daemon can restart without interrupting them. It
serves :mod:`~argus.kernel.supervisor.protocol` on ``$ARGUS_HOME/supervisor.sock`` (mode 0600), is
a single instance per ARGUS_HOME (an flock on ``supervisor.lock``; the lock file and
``supervisor.pid`` hold its pid), and keeps exited sessions (with their exit status) until they
are forgotten or it stops, so a daemon that was down when an agent exited still learns the real
exit code.

It knows nothing about the daemon, tasks, SQLite or HTTP: from the rest of the kernel it imports
only ``errors``, ``paths`` and ``pidlock`` (an import-linter contract holds it to that). Modules:

- :mod:`.protocol`: the wire protocol (frames, versions, the socket helpers, a blocking client);
- :mod:`.output`: a session's output (ring by absolute offsets, scrollback log, subscribers);
- :mod:`.ptyhost`: one child process on a PTY (also used by the daemon's in-process host);
- :mod:`.server`: the supervisor's sessions and request handlers;
- :mod:`.lock`: the single-instance lock;
- :mod:`.control`: start, stop and status for the CLI and the daemon, and ``main``.

Run it with ``python -m argus.kernel.supervisor``; the CLI uses :func:`start_supervisor`,
:func:`stop_supervisor` and :func:`supervisor_status`.
"""

from __future__ import annotations

from .control import main, start_supervisor, stop_supervisor, supervisor_status
from .server import Supervisor, serve

__all__ = ["Supervisor", "main", "serve", "start_supervisor", "stop_supervisor", "supervisor_status"]
