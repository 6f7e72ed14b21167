"""The pytest plugin of ``argus.testing`` (entry point ``pytest11: argus``): fixtures for plugin authors.

- ``argus_home``: a fresh, short ARGUS_HOME (unix socket paths stay under the OS limit), exported in
  the environment and removed afterwards.
- ``argus_daemon``: a started daemon (API and MCP on ephemeral 127.0.0.1 ports, session-supervisor on
  demand) under ``argus_home``; it has ``.url``, ``.token``, ``.client`` (an authenticated
  ``httpx.Client``), ``.mcp_url`` and ``.home``. Stopped, with the supervisor and its agents, even when
  the test fails.
- ``argus_fake_agent``: the path of ``argus-demo``, the fake agent CLI shipped with Argus (the ``demo``
  backend runs it; it never calls a model).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from argus.testing.daemon import Daemon, stop_supervisor_in

__all__ = ["argus_daemon", "argus_fake_agent", "argus_home"]


def _fake_agent() -> Path:
    """``argus-demo`` next to the running interpreter (the venv's bin), else the one on PATH."""
    local = Path(sys.executable).parent / "argus-demo"
    if local.exists():
        return local
    found = shutil.which("argus-demo")
    if found is None:
        raise RuntimeError("argus-demo is not installed (install the argus-agents package)")
    return Path(found)


@pytest.fixture
def argus_fake_agent() -> Path:
    """The path of the fake agent CLI ``argus-demo`` shipped with Argus."""
    return _fake_agent()


@pytest.fixture
def argus_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh short temporary ARGUS_HOME, exported as ``ARGUS_HOME``; removed after the test."""
    home = Path(tempfile.mkdtemp(prefix="argus-"))
    monkeypatch.setenv("ARGUS_HOME", str(home))
    for var in ("ARGUS_TOKEN", "ARGUS_API_PORT", "ARGUS_MCP_PORT"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield home
    finally:
        stop_supervisor_in(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def argus_daemon(argus_home: Path) -> Iterator[Daemon]:
    """A running daemon under ``argus_home`` on ephemeral loopback ports; always stopped afterwards."""
    d = Daemon(argus_home, extra_path=(_fake_agent().parent,))
    try:
        d.start()
        yield d
    finally:
        d.cleanup()
