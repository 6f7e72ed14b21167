"""The event bus: exclusive cursors, resync for stale or future cursors, no gap between replay and
live, slow subscribers dropped, and the SSE endpoint (replay, resync, keepalives) on real sockets.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from argus.kernel import routes
from argus.kernel.events import SUBSCRIBER_BUFFER, EventBus
from argus.kernel.http import sse_message
from kernel_helpers import bearer, mint_device, parse_sse, serve_kernel

# -- EventBus (unit) ------------------------------------------------------------------------


def test_ids_increase_and_since_is_an_exclusive_cursor() -> None:
    bus = EventBus(ring_size=100)
    assert bus.last_id == 0
    ids = [bus.publish("t.x", {"n": n}).id for n in range(10)]
    assert ids == list(range(1, 11))
    assert bus.last_id == 10
    replay, resync = bus.since(4)
    assert not resync
    assert [e.id for e in replay] == [5, 6, 7, 8, 9, 10]
    assert bus.since(10) == ([], False)
    assert [e.id for e in bus.since(0)[0]] == ids


def test_cursor_older_than_the_ring_resyncs() -> None:
    bus = EventBus(ring_size=5)
    for n in range(20):
        bus.publish("t.x", {"n": n})
    # The ring holds 16..20: cursor 15 is exactly covered, 14 missed event 15.
    assert [e.id for e in bus.since(15)[0]] == [16, 17, 18, 19, 20]
    assert bus.since(15)[1] is False
    assert bus.since(14) == ([], True)
    assert bus.since(0) == ([], True)


def test_cursor_from_the_future_resyncs() -> None:
    bus = EventBus(ring_size=5)
    assert bus.since(0) == ([], False)
    assert bus.since(7) == ([], True)  # an empty bus after a restart: the client's cursor is stale
    for _ in range(3):
        bus.publish("t.x")
    assert bus.since(3) == ([], False)
    assert bus.since(4) == ([], True)


def test_start_id_continues_numbering() -> None:
    bus = EventBus(ring_size=5, start_id=41)
    assert bus.publish("t.x").id == 42


async def test_subscription_after_resync_gets_only_new_events() -> None:
    bus = EventBus(ring_size=5)
    for _ in range(20):
        bus.publish("t.old")
    async with bus.subscribe(3) as sub:
        assert sub.resync and sub.replay == []
        bus.publish("t.new")
        event = await sub.live.receive()
        assert (event.id, event.type) == (21, "t.new")


async def test_nothing_is_lost_or_duplicated_between_replay_and_live() -> None:
    """Subscribers join at random moments while events are published; each sees every id after its
    cursor exactly once, in order."""
    total = 3000
    bus = EventBus(ring_size=total + 10)
    rng = random.Random(7)
    results: dict[int, tuple[int, list[int]]] = {}

    async def publisher() -> None:
        for n in range(total):
            bus.publish("t.x", {"n": n})
            for _ in range(3):  # let subscribers keep up: a lagging one is dropped by design
                await trio.lowlevel.checkpoint()

    async def subscriber(index: int) -> None:
        for _ in range(rng.randrange(0, 400)):
            await trio.lowlevel.checkpoint()
        cursor = rng.randrange(0, bus.last_id + 1)
        seen: list[int] = []
        async with bus.subscribe(cursor) as sub:
            assert not sub.resync
            seen.extend(e.id for e in sub.replay)
            while not seen or seen[-1] < total:
                seen.append((await sub.live.receive()).id)
        results[index] = (cursor, seen)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for i in range(25):
                nursery.start_soon(subscriber, i)
            nursery.start_soon(publisher)
    assert len(results) == 25
    for cursor, seen in results.values():
        assert seen == list(range(cursor + 1, total + 1))


async def test_live_only_subscription_starts_at_the_next_event() -> None:
    bus = EventBus()
    bus.publish("t.before")
    async with bus.subscribe(None) as sub:
        assert sub.replay == [] and not sub.resync
        bus.publish("t.after")
        assert (await sub.live.receive()).type == "t.after"


async def test_slow_subscriber_is_dropped_and_publisher_never_blocks() -> None:
    bus = EventBus()
    async with bus.subscribe(None) as sub:
        for _ in range(SUBSCRIBER_BUFFER + 50):
            bus.publish("t.flood")  # synchronous: would deadlock here if it could block
        got = 0
        with pytest.raises(trio.EndOfChannel):
            while True:
                await sub.live.receive()
                got += 1
        assert got == SUBSCRIBER_BUFFER
    # The bus is still healthy for others.
    async with bus.subscribe(bus.last_id) as sub2:
        bus.publish("t.after")
        assert (await sub2.live.receive()).type == "t.after"


def test_a_failing_listener_does_not_break_publishing() -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(event: Any) -> None:
        raise RuntimeError("plugin bug")

    bus.add_listener(broken)
    bus.add_listener(lambda e: seen.append(e.type))
    assert bus.publish("t.x").id == 1
    assert seen == ["t.x"]


def test_sse_message_format() -> None:
    assert sse_message({"a": 1}, event="task.updated", id=7) == 'id: 7\nevent: task.updated\ndata: {"a":1}\n\n'
    assert sse_message("line one\nline two") == "data: line one\ndata: line two\n\n"
    assert sse_message("") == "data: \n\n"


# -- the SSE endpoint on an in-process kernel (real hypercorn, real sockets) ------------------


async def test_sse_sends_keepalive_comments_when_idle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "KEEPALIVE_SECONDS", 0.2)
    async with serve_kernel(tmp_path) as live:
        kernel, url = live.kernel, live.url
        async with httpx.AsyncClient(timeout=10) as client:
            params = {"since": str(kernel.bus.last_id)}
            async with client.stream("GET", f"{url}/api/events/stream", params=params,
                                     headers=bearer(kernel.tokens.master)) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                assert resp.headers["cache-control"] == "no-cache"
                raw = ""
                chunks = resp.aiter_text()
                with trio.fail_after(10):
                    async for chunk in chunks:
                        raw += chunk
                        if raw.count(": keepalive\n\n") >= 2:
                            break
                assert raw.startswith(": connected\n\n")
                # A keepalive is a bare comment block: no data, no id, so clients ignore it.
                blocks = [b for b in raw.split("\n\n") if b]
                assert set(blocks) == {": connected", ": keepalive"}
                kernel.bus.publish("t.after_keepalive", {"ok": True})
                with trio.fail_after(10):
                    async for chunk in chunks:
                        raw += chunk
                        if "t.after_keepalive" in raw:
                            break


async def test_sse_slow_client_gets_resync_then_stream_ends(tmp_path: Path) -> None:
    async with serve_kernel(tmp_path) as live:
        kernel, url = live.kernel, live.url
        async with httpx.AsyncClient(timeout=10) as client:
            async with client.stream("GET", f"{url}/api/events/stream",
                                     params={"token": kernel.tokens.master}) as resp:
                it = resp.aiter_lines()
                assert await it.__anext__() == ": connected"
                # Overflow this subscriber's buffer while the client is not reading.
                for n in range(SUBSCRIBER_BUFFER + 10):
                    kernel.bus.publish("t.flood", {"n": n})
                lines = []
                with trio.fail_after(20):
                    async for line in it:
                        lines.append(line)
        messages = list(parse_sse(lines))
        assert messages[-1].event == "resync"
        assert messages[-1].json()["type"] == "resync"


# -- the SSE endpoint on a real daemon --------------------------------------------------------


def _events(daemon: Any, since: int | str | None, until: Any, *, headers: dict[str, str] | None = None,
            trigger: Any = None) -> list[Any]:
    """Open the stream, run ``trigger()``, and collect messages until ``until(messages)``."""
    params = {} if since is None else {"since": str(since)}
    out: list[Any] = []
    with httpx.stream("GET", f"{daemon.url}/api/events/stream", params=params,
                      headers=headers or daemon.headers, timeout=10) as resp:
        assert resp.status_code == 200, resp.read()
        lines = resp.iter_lines()
        assert next(lines) == ":" + " connected"
        if trigger:
            trigger()
        for msg in parse_sse(lines):
            out.append(msg)
            if until(out):
                return out
    raise AssertionError(f"stream ended early: {out}")


def _save(daemon: Any, value: bool) -> None:
    assert daemon.client.put("/api/settings", json={"supervisor": {"enabled": value}}).status_code == 200


def test_sse_replays_after_the_cursor_exclusively_then_goes_live(daemon: Any) -> None:
    def first_settings(msgs: list[Any]) -> bool:
        return any(m.event == "settings.updated" for m in msgs)

    msgs = _events(daemon, None, first_settings, trigger=lambda: _save(daemon, True))
    cursor = int(next(m for m in msgs if m.event == "settings.updated").id)
    for value in (False, True, False):
        _save(daemon, value)
    # Replay from the cursor: the three later saves, not the one at the cursor, then live.
    seen: list[Any] = []

    def done(msgs: list[Any]) -> bool:
        return sum(1 for m in msgs if m.event == "settings.updated") >= 4

    seen = _events(daemon, cursor, done, trigger=lambda: _save(daemon, True))
    ids = [int(m.id) for m in seen if m.id]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert min(ids) == cursor + 1  # exclusive, and nothing between cursor and the first replayed
    settings = [m for m in seen if m.event == "settings.updated"]
    assert len(settings) == 4
    body = settings[0].json()
    assert body["type"] == "settings.updated" and body["id"] == int(settings[0].id)
    assert body["data"] == {"section": "supervisor", "keys": ["enabled"]} and body["ts"].endswith("Z")


def test_sse_last_event_id_header_works_like_since(daemon: Any) -> None:
    msgs = _events(daemon, None, lambda m: any(x.event == "settings.updated" for x in m),
                   trigger=lambda: _save(daemon, True))
    cursor = int(msgs[-1].id)
    _save(daemon, False)
    got = _events(daemon, None, lambda m: any(x.event == "settings.updated" for x in m),
                  headers={**daemon.headers, "Last-Event-ID": str(cursor)})
    assert int(got[0].id) == cursor + 1


def test_sse_cursor_from_the_future_gets_a_resync_first(daemon: Any) -> None:
    msgs = _events(daemon, 10**9, lambda m: len(m) >= 2, trigger=lambda: _save(daemon, True))
    assert msgs[0].event == "resync"
    last = msgs[0].json()["id"]
    assert msgs[0].json()["type"] == "resync" and int(msgs[0].id) == last
    assert msgs[1].event == "settings.updated" and int(msgs[1].id) == last + 1


def test_sse_rejects_a_malformed_cursor(daemon: Any) -> None:
    for bad in ("abc", "-1", "1.5"):
        resp = daemon.client.get("/api/events/stream", params={"since": bad})
        assert resp.status_code == 400, bad
        assert "since" in resp.json()["error"]


def test_sse_replays_from_zero_for_a_device_token(daemon: Any) -> None:
    device = mint_device(daemon.client)
    msgs = _events(daemon, 0, lambda m: any(x.event == "daemon.started" for x in m),
                   headers={"Authorization": f"Bearer {device['token']}"})
    assert any(m.event == "daemon.started" for m in msgs)


def test_a_cursor_from_an_earlier_daemon_life_resyncs() -> None:
    """Ids start at the daemon's start time, so an old life's cursor is below this life's ids."""
    old = EventBus(start_id=1_000)
    for _ in range(5):
        old.publish("t.x", {})
    cursor = old.last_id  # 1005, what a client saw before the restart
    new = EventBus(start_id=2_000)  # the restarted daemon
    new.publish("task.updated", {})
    assert new.since(cursor) == ([], True)
    assert [e.id for e in new.since(0)[0]] == [2_001]
