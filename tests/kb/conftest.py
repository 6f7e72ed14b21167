"""Fixtures for the kb tests: one real daemon per module (PTY supervisor off) over a generated vault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import Daemon
from kb_helpers import INDEXED, enable, make_vault


def _daemon(home: Path) -> Daemon:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[supervisor]\nenabled = false\n")
    return Daemon(home)


@pytest.fixture(scope="module")
def kb_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A daemon with the kb enabled (through ``PUT /api/settings``) on the generated vault."""
    base = tmp_path_factory.mktemp("kb")
    vault = make_vault(base / "vault", base / "outside")
    d = _daemon(base / "home")
    try:
        d.start()
        status = enable(d.client, vault, documents=len(INDEXED))
        yield {"daemon": d, "vault": vault, "outside": base / "outside", "status": status}
    finally:
        d.cleanup()


@pytest.fixture
def fresh_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon of its own (kb disabled) for tests that change the kb settings."""
    d = _daemon(tmp_path / "home")
    try:
        yield d.start()
    finally:
        d.cleanup()
