"""The in-memory cache of valid tokens: a request reads no token row, and a revoked or replaced
token is refused at once, whoever revoked it (this daemon or another connection to the database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argus.kernel.core import argus_migrations
from argus.kernel.db import Database
from argus.kernel.errors import Unauthorized
from argus.kernel.tokens import Tokens


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[Tokens]:
    db = Database(tmp_path / "data.sql")
    db.migrate(argus_migrations())
    yield Tokens(db, tmp_path / "api-token")
    db.close()


def token_reads(tokens: Tokens) -> list[str]:
    """Every SELECT on the tokens table the connection runs from now on."""
    seen: list[str] = []
    tokens.db.conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.startswith("SELECT") and "FROM tokens" in sql else None)
    return seen


def test_a_known_device_token_is_answered_from_memory(tokens: Tokens) -> None:
    device = tokens.mint_device("phone")
    assert tokens.authenticate(device["token"]).kind == "device"
    reads = token_reads(tokens)
    for _ in range(3):
        principal = tokens.authenticate(device["token"])
        assert (principal.kind, principal.token_id, principal.label) == ("device", device["id"], "phone")
    assert reads == []


def test_a_revoked_device_token_is_refused_at_once(tokens: Tokens) -> None:
    device = tokens.mint_device("phone")
    other = tokens.mint_device("laptop")
    tokens.authenticate(device["token"])
    tokens.authenticate(other["token"])
    tokens.revoke(device["id"])
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.authenticate(device["token"])
    assert tokens.authenticate(other["token"]).token_id == other["id"]


def test_a_revoke_by_another_connection_is_seen_at_once(tokens: Tokens, tmp_path: Path) -> None:
    """``argus token revoke`` writes the database itself when it cannot reach the daemon."""
    device = tokens.mint_device("phone")
    tokens.authenticate(device["token"])
    cli = Database(tmp_path / "data.sql")
    try:
        Tokens(cli, tmp_path / "api-token").revoke(device["id"])
    finally:
        cli.close()
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.authenticate(device["token"])


def test_a_deleted_token_row_is_refused_at_once(tokens: Tokens, tmp_path: Path) -> None:
    device = tokens.mint_device("phone")
    tokens.authenticate(device["token"])
    other = Database(tmp_path / "data.sql")
    try:
        other.execute("DELETE FROM tokens WHERE id = ?", (device["id"],))
    finally:
        other.close()
    with pytest.raises(Unauthorized, match="invalid"):
        tokens.authenticate(device["token"])


def test_a_relaunch_refuses_the_old_task_token_and_a_delete_refuses_the_new(tokens: Tokens) -> None:
    old = tokens.mint_task("t1")
    assert tokens.authenticate(old).task_id == "t1"
    new = tokens.mint_task("t1")
    with pytest.raises(Unauthorized):
        tokens.authenticate(old)
    assert tokens.authenticate(new).task_id == "t1"
    tokens.revoke_task("t1")
    with pytest.raises(Unauthorized):
        tokens.authenticate(new)
