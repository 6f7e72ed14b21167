"""``argus.testing``: a pytest plugin and helpers for testing Argus plugins against a real daemon.

Installed with Argus and registered as the pytest plugin ``argus`` (entry point ``pytest11``), so the
fixtures ``argus_home``, ``argus_daemon`` and ``argus_fake_agent`` are available in any test suite without
a conftest import. The helpers below can also be imported directly.
"""

from __future__ import annotations

from argus.testing.daemon import Daemon, free_port, make_repo, run_git, stop_supervisor_in
from argus.testing.wait import wait_for, wait_for_async

__all__ = ["Daemon", "free_port", "make_repo", "run_git", "stop_supervisor_in", "wait_for", "wait_for_async"]
