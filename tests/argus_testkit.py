"""Test helpers shared by every test folder: real daemons, git repositories, waiting.

The core lives in the public package ``argus.testing`` (also a pytest plugin for third-party plugin
authors); this module re-exports it and adds what only this suite needs (``tests/fakeagent`` on PATH).

Import them as ``from argus_testkit import Daemon, wait_for, ...`` (never from ``conftest``: each
test folder may have its own conftest.py, and they would shadow each other).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from argus.testing import free_port, make_repo, run_git, stop_supervisor_in, wait_for, wait_for_async
from argus.testing.daemon import Daemon as _Daemon

__all__ = ["FAKEAGENT_DIR", "ROOT", "Daemon", "free_port", "have", "make_repo", "run_git",
           "stop_supervisor_in", "wait_for", "wait_for_async"]

ROOT = Path(__file__).resolve().parent.parent
FAKEAGENT_DIR = ROOT / "tests" / "fakeagent"


class Daemon(_Daemon):
    """A real ``argus daemon run`` process under a temporary ARGUS_HOME, with ``tests/fakeagent`` on PATH."""

    def __init__(self, home: Path, *, api: bool = True, env: dict[str, str] | None = None) -> None:
        """Prepare (not start) a daemon for ``home``; the suite's fake agents go first on its PATH."""
        super().__init__(home, api=api, env=env, extra_path=(FAKEAGENT_DIR,))


def have(executable: str) -> bool:
    """Whether ``executable`` is on PATH."""
    return shutil.which(executable) is not None
