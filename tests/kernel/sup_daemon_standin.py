"""A daemon stand-in for the restart tests: a SessionManager (supervisor mode) in its own process.

Usage: ``python sup_daemon_standin.py HOME SESSION_ID CWD -- ARGV...``. It starts (or joins) the
supervisor of HOME, spawns ARGV as SESSION_ID, persists offsets every 0.1 s, and then runs until it
is killed; every published event is printed as a JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import trio
from argus.kernel import sessions
from argus.kernel.paths import Paths
from argus.kernel.sessions import supervised


def publish(type_: str, data: dict[str, Any]) -> None:
    """Print the event (the test reads nothing from it; it is there for failure logs)."""
    print(json.dumps({"type": type_, **data}), flush=True)


async def main(home: str, session_id: str, cwd: str, argv: list[str]) -> None:
    """Spawn the session and keep following it until killed."""
    supervised.OFFSETS_PERSIST_INTERVAL = 0.1
    manager = sessions.SessionManager(Paths(Path(home)), publish)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        session = await manager.spawn(argv, cwd, dict(os.environ), session_id=session_id)
        print(json.dumps({"spawned": session.id, "pid": session.pid}), flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    sep = sys.argv.index("--")
    trio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[sep + 1:])
