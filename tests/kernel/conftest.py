"""Fixtures for the session-supervisor, ptyhost and sessions tests (all prefixed ``sup_``).

Each test gets its own ARGUS_HOME (``tmp_path``); whatever supervisor ran there is stopped at the
end, and killed (with its agents) if it does not stop.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from argus.kernel.paths import Paths
from argus.kernel.sessions import SessionManager
from argus.kernel.supervisor import stop_supervisor, supervisor_status

HERE = Path(__file__).resolve().parent


def sup_kill_home(paths: Paths) -> None:
    """Stop the supervisor of ``paths`` cleanly, then SIGKILL it and its agents if still there."""
    pids: list[int] = []
    try:
        pids = [s["pid"] for s in supervisor_status(paths)["sessions"]]
    except Exception:  # noqa: BLE001 - best effort: cleanup must go on
        pass
    try:
        stop_supervisor(paths, timeout=15)
    finally:
        owner = None
        for name in ("supervisor.pid", "supervisor.lock"):
            try:
                owner = int((paths.home / name).read_text().strip())
                break
            except (OSError, ValueError):
                continue
        if owner:
            try:
                os.kill(owner, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def sup_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paths]:
    """Paths of a fresh ARGUS_HOME (exported); its supervisor is stopped/killed afterwards."""
    monkeypatch.setenv("ARGUS_HOME", str(tmp_path))
    paths = Paths(tmp_path)
    try:
        yield paths
    finally:
        sup_kill_home(paths)


@pytest.fixture
def sup_cleanup() -> Iterator[Any]:
    """Register extra ARGUS_HOME ``Paths`` whose supervisors are stopped/killed after the test."""
    homes: list[Paths] = []
    try:
        yield homes.append
    finally:
        for paths in homes:
            sup_kill_home(paths)


class SupEvents:
    """Collects what a SessionManager publishes."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, type_: str, data: dict[str, Any]) -> None:
        self.items.append((type_, data))

    def of(self, type_: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """The payloads of events of ``type_`` (for ``session_id``)."""
        return [d for t, d in self.items
                if t == type_ and (session_id is None or d.get("session_id") == session_id)]


@pytest.fixture(params=["supervisor", "inprocess"])
async def sup_manager(request: pytest.FixtureRequest, sup_paths: Paths,
                      nursery: trio.Nursery) -> AsyncIterator[SessionManager]:
    """A running SessionManager, once through the supervisor and once in-process."""
    events = SupEvents()
    manager = SessionManager(sup_paths, events, use_supervisor=request.param == "supervisor")
    manager.sup_events = events  # type: ignore[attr-defined]
    await nursery.start(manager.run)
    yield manager
