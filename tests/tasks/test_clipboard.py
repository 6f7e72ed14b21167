"""The agent-staged clipboard: one slot, last write wins, 5-minute TTL, 1 MiB cap."""

from __future__ import annotations

from typing import Any

import pytest
from argus.kernel.errors import Invalid, NotFound, TooLarge
from argus.plugins.tasks.clipboard import TTL_SECONDS, Clipboard
from orch_helpers import call, call_error, create_task, events, mcp_session


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_last_write_wins_and_consume_clears() -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    clip = Clipboard(lambda t, d: published.append((t, d)), clock=Clock())
    with pytest.raises(NotFound):
        clip.get()
    clip.set("first", "t_a")
    clip.set("second", "t_b")
    assert clip.get()["text"] == "second" and clip.get()["task_id"] == "t_b"
    assert clip.consume()["text"] == "second"
    with pytest.raises(NotFound):
        clip.consume()
    assert [t for t, _ in published] == ["clipboard.set", "clipboard.set", "clipboard.consumed"]


def test_staged_text_expires_after_five_minutes() -> None:
    clock = Clock()
    clip = Clipboard(lambda t, d: None, clock=clock)
    out = clip.set("hello", None)
    assert out["expires_at"] == "2027-01-15T08:05:00Z"
    clock.now += TTL_SECONDS - 1
    assert clip.get()["text"] == "hello"
    clock.now += 1
    with pytest.raises(NotFound):
        clip.get()


def test_size_cap_is_one_mebibyte_of_utf8() -> None:
    clip = Clipboard(lambda t, d: None, clock=Clock())
    clip.set("x" * (1024 * 1024), None)
    with pytest.raises(TooLarge):
        clip.set("x" * (1024 * 1024 + 1), None)
    with pytest.raises(TooLarge):
        clip.set("é" * (512 * 1024 + 1), None)  # 2 bytes each
    with pytest.raises(Invalid):
        clip.set("", None)


async def test_agent_stages_text_the_pwa_copies_and_consumes(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    me = create_task(c, project["name"], "stager")
    assert c.get("/api/clipboard").status_code == 404
    assert c.post("/api/clipboard/consume").status_code == 404
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        out = await call(s, "argus_clipboard_set", {"cwd": me["worktree_path"] + "/docs", "text": "ssh box 'ls -la'"})
        assert out["task_id"] == me["id"] and out["expires_at"].endswith("Z")
        err = await call_error(s, "argus_clipboard_set", {"id": me["id"], "text": "x" * (1024 * 1024 + 1)})
        assert "1 MiB" in err
    staged = c.get("/api/clipboard").json()
    assert staged == {"text": "ssh box 'ls -la'", "task_id": me["id"], "expires_at": out["expires_at"]}
    assert c.get("/api/clipboard").status_code == 200  # reading does not clear it
    assert c.post("/api/clipboard/consume", json={}).json()["text"] == "ssh box 'ls -la'"
    assert c.get("/api/clipboard").status_code == 404
    sets = [e for e in events(c) if e["type"] == "clipboard.set"]
    assert len(sets) == 1 and sets[0]["data"]["task_id"] == me["id"]
