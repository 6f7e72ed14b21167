"""The one server-sent-events parser: the TUI client, the tests and the benchmarks read
``text/event-stream`` through it (``sse_message`` in ``http.py`` is the writer).

Feed bytes as they arrive (``SseParser.feed``) or iterate decoded lines (``parse_lines``). Lines may
end in LF or CRLF; a blank line ends an event; ``event`` defaults to ``message``; the last ``id``
persists across events, as in browsers' ``EventSource``; ``: comment`` lines (keepalives) are dropped
unless ``comments=True``, which also reports a comment-only block as an event with ``event == ""``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SseEvent:
    """One server-sent event: ``event`` type, ``data`` text, the last ``id`` seen, comments before it."""

    event: str
    data: str
    id: str | None = None
    comments: tuple[str, ...] = ()

    def json(self) -> Any:
        """``data`` parsed as JSON, or None when it is not valid JSON."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


class SseParser:
    """Incremental ``text/event-stream`` parser: feed bytes (or lines), get complete events back."""

    def __init__(self, *, comments: bool = False) -> None:
        self.keep_comments = comments
        self._buf = bytearray()
        self._scanned = 0  # no newline in _buf[:_scanned] (a long line arriving in pieces)
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._comments: list[str] = []
        self._seen = False

    @property
    def last_id(self) -> str | None:
        """The last ``id:`` received (the cursor to resume from)."""
        return self._id

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume ``chunk`` and return every event it completed.

        Linear in the bytes fed: a long line (a large ``output`` message arriving in many pieces)
        is neither copied nor searched again for every piece.
        """
        buf = self._buf
        buf += chunk
        out: list[SseEvent] = []
        pos = 0
        nl = buf.find(b"\n", self._scanned)
        with memoryview(buf) as view:
            while nl >= 0:
                end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
                event = self.line(str(view[pos:end], "utf-8", "replace"))
                if event is not None:
                    out.append(event)
                pos = nl + 1
                nl = buf.find(b"\n", pos)
        if pos:
            del buf[:pos]
        self._scanned = len(buf)
        return out

    def line(self, line: str) -> SseEvent | None:
        """Consume one line (without its newline); return the event it completed, if any."""
        if not line:
            event = None
            if self._data or self._event:
                event = SseEvent(self._event or "message", "\n".join(self._data), self._id, tuple(self._comments))
            elif self.keep_comments and self._comments:
                event = SseEvent("", "", self._id, tuple(self._comments))
            self._event, self._data, self._comments, self._seen = "", [], [], False
            return event
        if line.startswith("data: "):  # the common case, without copying a long payload twice
            self._data.append(line[6:])
            return None
        if line.startswith(":"):
            if self.keep_comments:
                self._comments.append(line[1:].strip())
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


def parse_lines(lines: Iterable[str], *, comments: bool = False) -> Iterator[SseEvent]:
    """The events of an iterable of decoded lines (``httpx``'s ``iter_lines()``)."""
    parser = SseParser(comments=comments)
    for line in lines:
        event = parser.line(line.rstrip("\r\n"))
        if event is not None:
            yield event
