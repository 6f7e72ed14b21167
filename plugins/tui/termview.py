"""One way to show a task's terminal: drawing a :class:`Terminal` into a prompt_toolkit control,
following a task's output stream, and sending its input.

Shared by the agent view, the Hera tab's agent panes and plugin views.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence

from prompt_toolkit.data_structures import Point
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout.controls import UIContent

from .client import ApiError, SseEvent
from .host import UiHost
from .state import as_dict
from .terminal import Terminal


def lines_content(lines: Sequence[StyleAndTextTuples]) -> UIContent:
    """Static lines (a message, a scrollback window), without a cursor."""
    return UIContent(get_line=lambda i: lines[i] if 0 <= i < len(lines) else [],
                     line_count=max(1, len(lines)), show_cursor=False)


def message_content(text: str, style: str = "class:task.dim") -> UIContent:
    """One dim line in place of a terminal (``connecting…``, ``no agent``)."""
    return lines_content([[(style, text)]])


def screen_content(term: Terminal, *, cursor: bool = True,
                   last_line: StyleAndTextTuples | None = None) -> UIContent:
    """The terminal's current screen with its cursor (shown when ``cursor`` and the program did not
    hide it); ``last_line`` replaces the bottom line (a notice such as ``session ended``)."""
    lines = term.lines if last_line is None else [*term.lines[:-1], last_line]
    x, y = term.cursor
    return UIContent(get_line=lambda i: lines[i] if 0 <= i < len(lines) else [],
                     line_count=max(1, len(lines)),
                     cursor_position=Point(x=x, y=min(y, max(0, len(lines) - 1))),
                     show_cursor=cursor and not term.cursor_hidden)


def decode_output(ev: SseEvent, since: int | None) -> tuple[bytes, int, int] | None:
    """An ``output`` event of ``/api/tasks/{id}/stream`` as ``(new bytes, start, end offset)``.

    The bytes before ``since`` (sent again after a reconnect) are dropped; a malformed event is None.
    Both forms of the stream's ``output`` are read: base64 ``data`` and ``text`` (``encoding=text``).
    """
    msg = as_dict(ev.json())
    try:
        text = msg.get("text")  # ``encoding=text``: UTF-8 output as a string, else base64 ``data``
        data = text.encode() if isinstance(text, str) else base64.b64decode(str(msg.get("data") or ""))
        start = int(msg.get("offset", since or 0))
    except (ValueError, TypeError):
        return None
    if since is not None and start < since:
        data = data[since - start:]
    end = int(ev.id) if ev.id and ev.id.isdigit() else start + len(data)
    return data, start, end


class InputSender:
    """Keys for one task's agent: queued in order, bursts coalesced into one ``POST .../input``."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.sent = 0

    def put(self, data: bytes) -> None:
        """Queue ``data`` (never blocks)."""
        if data:
            self.queue.put_nowait(data)

    async def run(self, host: UiHost, task_id: str, on_sent: Callable[[int], None] | None = None) -> None:
        """Send what is queued until cancelled; a refused delivery becomes a status line."""
        while True:
            data = await self.queue.get()
            while not self.queue.empty():
                data += self.queue.get_nowait()
            try:
                await host.client.send_input(task_id, data)
                self.sent += len(data)
                if on_sent is not None:
                    on_sent(len(data))
            except ApiError as exc:
                host.set_status(f"input not delivered: {exc}", error=True)
