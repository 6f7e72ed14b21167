"""The one SSE parser (``kernel/eventstream.py``), the one terminal-text helper (``kernel/text.py``)
and the one way to reach the local daemon (``kernel/local.py``), as units."""

from __future__ import annotations

from pathlib import Path

from argus.kernel.eventstream import SseParser, parse_lines
from argus.kernel.http import sse_message
from argus.kernel.local import LocalDaemon
from argus.kernel.text import strip_ansi, terminal_lines


def test_parser_reads_what_the_writer_writes_in_any_chunking() -> None:
    wire = (": connected\n\n" + sse_message({"a": 1}, event="task.updated", id=7)
            + sse_message("two\nlines") + ": keepalive\n\n" + sse_message({"b": 2}, event="x", id=8)).encode()
    for size in (1, 3, 7, len(wire)):
        parser = SseParser()
        events = [ev for i in range(0, len(wire), size) for ev in parser.feed(wire[i:i + size])]
        assert [(e.event, e.id) for e in events] == [("task.updated", "7"), ("message", "7"), ("x", "8")]
        assert events[0].json() == {"a": 1} and events[1].data == "two\nlines" and events[1].json() is None
        assert parser.last_id == "8"


def test_comments_are_observable_when_asked_and_crlf_is_accepted() -> None:
    lines = [": connected", "", "event: e", "data: 1", "", ": keepalive", ""]
    assert [e.event for e in parse_lines(lines)] == ["e"]
    seen = list(parse_lines(lines, comments=True))
    assert [(e.event, e.comments) for e in seen] == [("", ("connected",)), ("e", ()), ("", ("keepalive",))]
    parser = SseParser()
    assert parser.feed(b"event: a\r\ndata: x\r\n\r\n")[0].data == "x"


def test_strip_ansi_keeps_the_last_drawing_of_a_redrawn_line() -> None:
    raw = "\x1b[1mbold\x1b[0m \x1b]0;title\x07ok\r\n\x1b[2K⠋ Thinking… (esc to interrupt)\r\x1b[2K> \x1b7"
    assert strip_ansi(raw) == "bold ok\n> "


def test_strip_ansi_can_keep_every_drawing_for_a_search() -> None:
    raw = "> \x1b[1m[hera d3]\x1b[0m hi\r\x1b[2K> \r\n"
    assert "[hera d3]" not in strip_ansi(raw)
    assert strip_ansi(raw, redraws=True) == "> [hera d3] hi\r> \r\n"


def test_terminal_lines_overlay_carriage_returns_and_expand_tabs() -> None:
    assert terminal_lines(b"\x1b[31mred\x1b[0m\r\nab\rX\x1b]8;;http://x\x07link") == ["red", "Xlink"]
    assert terminal_lines("abc\rX\n\tz\x07") == ["Xbc", "        z"]


def test_local_daemon_without_a_socket_does_not_answer(tmp_path: Path) -> None:
    local = LocalDaemon(tmp_path)
    assert local.token() == "" and local.headers() == {}
    assert not local.answers(timeout=0.5) and local.status(timeout=0.5) is None
    (tmp_path / "api-token").write_text("abc\n")
    assert local.headers() == {"Authorization": "Bearer abc"}


def test_parser_takes_a_long_crlf_message_in_pieces_cut_anywhere() -> None:
    payload = "x" * 300_000
    wire = f"id: 9\r\nevent: output\r\ndata: {payload}\r\n\r\n: keepalive\r\n\r\ndata: y\r\n\r\n".encode()
    for size in (65536, 4096, 7):
        parser = SseParser()
        events = [ev for i in range(0, len(wire), size) for ev in parser.feed(wire[i:i + size])]
        assert [(e.event, e.id, len(e.data)) for e in events] == [("output", "9", 300_000), ("message", "9", 1)]
        assert events[0].data == payload
    parser = SseParser()  # a CR at the end of one piece, its LF at the start of the next
    assert parser.feed(b"data: a\r") == [] and parser.feed(b"\n\r") == [] and parser.feed(b"\n")[0].data == "a"
