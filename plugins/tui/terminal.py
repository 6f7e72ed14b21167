"""A pyte terminal fed off the UI loop, rendered as prompt_toolkit fragments.

pyte is pure Python (about 0.85 MB/s), far slower than an agent can print, so the rules are:

* only the terminal on screen is fed (the agent view owns one ``Terminal`` at a time);
* bytes are queued and fed in bounded steps (``STEP`` bytes) through ``loop.run_in_executor``
  on a single dedicated worker thread, the only thread the TUI starts: it keeps the asyncio loop
  free to read keys and paint while pyte parses (the GIL is released to the UI thread every
  switch interval, so key handling and painting interleave with a long feed);
* when more than ``BACKLOG`` bytes wait, all but the last ``TAIL`` bytes are dropped (cut after
  a newline so no escape sequence is split) — a flood shows its latest output instead of falling
  ever further behind;
* while bytes keep arriving faster than pyte parses them, the feeder pauses ``FLOOD_PAUSE``
  between steps so the loop keeps time (and the GIL) to read the stream, handle keys and paint;
  :attr:`flooding_for` tells the stream reader how long this has lasted, so it can skip ahead;
* after each step the worker re-renders the dirty lines into an immutable snapshot that the UI
  thread only reads, so the two threads never touch pyte's buffer at the same time.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyte
from prompt_toolkit.formatted_text import StyleAndTextTuples

STEP = 32 * 1024
BACKLOG = 128 * 1024
TAIL = 16 * 1024
FLOOD_PAUSE = 0.03
HISTORY_LINES = 2000

_PRIVATE = 5  # pyte stores private (DEC) modes shifted left by 5 bits
ALT_SCREEN_MODES = {1049 << _PRIVATE, 1047 << _PRIVATE, 47 << _PRIVATE}
BRACKETED_PASTE = 2004 << _PRIVATE

_COLOURS = {
    "black": "ansiblack", "red": "ansired", "green": "ansigreen", "brown": "ansiyellow",
    "yellow": "ansiyellow", "blue": "ansiblue", "magenta": "ansimagenta", "cyan": "ansicyan",
    "white": "ansigray", "brightblack": "ansibrightblack", "brightred": "ansibrightred",
    "brightgreen": "ansibrightgreen", "brightbrown": "ansibrightyellow", "brightyellow": "ansibrightyellow",
    "brightblue": "ansibrightblue", "brightmagenta": "ansibrightmagenta", "bfightmagenta": "ansibrightmagenta",
    "brightcyan": "ansibrightcyan", "brightwhite": "ansiwhite",
}
_HEX = re.compile(r"^[0-9a-fA-F]{6}$")
_style_cache: dict[tuple[Any, ...], str] = {}


def _colour(value: str) -> str | None:
    if value == "default" or not value:
        return None
    if value in _COLOURS:
        return _COLOURS[value]
    if _HEX.match(value):
        return "#" + value.lower()
    return None


def char_style(ch: Any) -> str:
    """The prompt_toolkit style string for one pyte ``Char`` (cached per attribute set)."""
    key = (ch.fg, ch.bg, ch.bold, ch.italics, ch.underscore, ch.strikethrough, ch.reverse, ch.blink)
    style = _style_cache.get(key)
    if style is None:
        parts = []
        fg, bg = _colour(ch.fg), _colour(ch.bg)
        if fg:
            parts.append(f"fg:{fg}")
        if bg:
            parts.append(f"bg:{bg}")
        for flag, name in ((ch.bold, "bold"), (ch.italics, "italic"), (ch.underscore, "underline"),
                           (ch.strikethrough, "strike"), (ch.reverse, "reverse"), (ch.blink, "blink")):
            if flag:
                parts.append(name)
        style = " ".join(parts)
        if len(_style_cache) < 4096:
            _style_cache[key] = style
    return style


def render_line(line: Any, columns: int) -> StyleAndTextTuples:
    """One pyte buffer line as fragments, runs of equal style merged, trailing blanks trimmed."""
    frags: StyleAndTextTuples = []
    cur_style: str | None = None
    cur: list[str] = []
    # Trailing default blanks are not drawn: a shorter line paints faster.
    last = columns - 1
    while last >= 0:
        ch = line.get(last) if hasattr(line, "get") else None
        if ch is not None and (ch.data not in (" ", "") or ch.bg != "default" or ch.reverse):
            break
        last -= 1
    for x in range(last + 1):
        ch = line.get(x) if hasattr(line, "get") else None
        if ch is None:
            data, style = " ", ""
        else:
            data = ch.data
            if data == "":  # right half of a wide character
                continue
            style = char_style(ch)
        if style != cur_style:
            if cur:
                frags.append((cur_style or "", "".join(cur)))
            cur_style, cur = style, []
        cur.append(data)
    if cur:
        frags.append((cur_style or "", "".join(cur)))
    return frags


class CapturingScreen(pyte.Screen):
    """A pyte Screen that keeps lines scrolled off the top (cheaper than ``HistoryScreen``).

    It also emulates the alternate screen (modes 47/1047/1049), which pyte 0.8 ignores: entering
    saves the main buffer, leaving restores it, and nothing scrolled on the alternate screen is
    kept as history.
    """

    def __init__(self, columns: int, lines: int, history: int = HISTORY_LINES) -> None:
        super().__init__(columns, lines)
        self.history: deque[Any] = deque(maxlen=history)
        self.capture = True  # off during a flood: dropped output breaks the history anyway
        self.evicted = 0
        self._saved_main: Any = None

    @property
    def in_alt_screen(self) -> bool:
        """True while the application uses the alternate screen."""
        return self._saved_main is not None

    def index(self) -> None:
        """Scroll like pyte, but remember the line leaving the top of a full-screen region."""
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.capture and self.cursor.y == bottom and top == 0 and not self.in_alt_screen:
            line = self.buffer.get(0)
            if line is not None:
                if len(self.history) == self.history.maxlen:
                    self.evicted += 1
                self.history.append(line)
        super().index()

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        """Enter the alternate screen on 47/1047/1049, then defer to pyte."""
        private = kwargs.get("private", False)
        if private and any((m << _PRIVATE) in ALT_SCREEN_MODES for m in modes) and not self.in_alt_screen:
            self._saved_main = (dict(self.buffer), self.cursor.x, self.cursor.y)
            self.buffer.clear()
            self.dirty.update(range(self.lines))
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        """Leave the alternate screen on 47/1047/1049, then defer to pyte."""
        private = kwargs.get("private", False)
        if private and any((m << _PRIVATE) in ALT_SCREEN_MODES for m in modes) and self.in_alt_screen:
            saved, x, y = self._saved_main
            self._saved_main = None
            self.buffer.clear()
            self.buffer.update(saved)
            self.cursor.x, self.cursor.y = min(x, self.columns - 1), min(y, self.lines - 1)
            self.dirty.update(range(self.lines))
        super().reset_mode(*modes, **kwargs)


def drop_to_tail(data: bytes | bytearray, tail: int = TAIL) -> bytes:
    """The last ``tail`` bytes of ``data``, starting just after a newline when one is near."""
    if len(data) <= tail:
        return bytes(data)
    start = len(data) - tail
    nl = data.find(b"\n", start)
    if 0 <= nl < len(data) - 1 and nl - start < tail // 2:
        start = nl + 1
    return bytes(data[start:])


class Terminal:
    """One session's screen: queue bytes with :meth:`push`, run :meth:`run` as a task, read
    :attr:`lines` / :attr:`cursor` from the UI thread.
    """

    def __init__(self, columns: int = 80, lines: int = 24, *,
                 on_update: Callable[[], None] | None = None,
                 executor: ThreadPoolExecutor | None = None) -> None:
        self.screen = CapturingScreen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.on_update = on_update or (lambda: None)
        self._executor = executor
        self._pending = bytearray()
        self._wake = asyncio.Event()
        self._resize_to: tuple[int, int] | None = None
        self._reset = False
        self.lines: list[StyleAndTextTuples] = [[] for _ in range(lines)]
        self.cursor: tuple[int, int] = (0, 0)
        self.cursor_hidden = False
        self.bracketed_paste = False
        self.fed_bytes = 0
        self.dropped_bytes = 0
        self.end_offset: int | None = None
        self.contiguous_from: int | None = None
        self.generation = 0
        self._clear_history = False
        self._flood_start: float | None = None
        self.skipped_ahead = 0

    @property
    def size(self) -> tuple[int, int]:
        """(columns, lines) of the pyte screen."""
        return self.screen.columns, self.screen.lines

    @property
    def backlog(self) -> int:
        """Bytes queued but not yet fed."""
        return len(self._pending)

    def push(self, data: bytes, end_offset: int | None = None) -> None:
        """Queue output bytes (from the SSE stream); ``end_offset`` is the stream offset after them."""
        if not data:
            return
        if end_offset is not None:
            start = end_offset - len(data)
            if self.contiguous_from is None:
                self.contiguous_from = start
            elif self.end_offset is not None and start > self.end_offset:
                # The stream skipped ahead: history before the gap no longer joins up.
                self.contiguous_from = start
                self._clear_history = True
        self._pending += data
        if end_offset is not None:
            self.end_offset = end_offset
        self._wake.set()

    def resize(self, columns: int, lines: int) -> None:
        """Ask for a new size; applied by the feeder between steps."""
        if (columns, lines) != self.size and columns > 0 and lines > 0:
            self._resize_to = (columns, lines)
            self._wake.set()

    def reset(self) -> None:
        """Clear the screen and history (before re-attaching from a new offset)."""
        self._pending.clear()
        self._reset = True
        self.contiguous_from = None
        self._wake.set()

    def reset_flood_clock(self) -> None:
        """Start measuring :meth:`flooding_for` afresh (after skipping ahead)."""
        if self._flood_start is not None:
            self._flood_start = time.monotonic()

    def flooding_for(self) -> float:
        """Seconds during which every step has had to drop output (0 when keeping up)."""
        return time.monotonic() - self._flood_start if self._flood_start is not None else 0.0

    def _take(self) -> bytes:
        if len(self._pending) > BACKLOG:
            if self._flood_start is None:
                self._flood_start = time.monotonic()
            kept = drop_to_tail(self._pending)
            self.dropped_bytes += len(self._pending) - len(kept)
            if self.end_offset is not None:
                # History before the gap no longer joins up with what follows.
                self.contiguous_from = self.end_offset - len(kept)
                self._clear_history = True
            self._pending = bytearray(kept)
        elif not self._pending:
            self._flood_start = None
        chunk = bytes(self._pending[:STEP])
        del self._pending[:STEP]
        return chunk

    def _work(self, chunk: bytes, resize: tuple[int, int] | None, reset: bool,
              clear_history: bool) -> tuple[list[StyleAndTextTuples], tuple[int, int], bool, bool]:
        """Runs on the worker thread: apply reset/resize, feed, re-render the dirty lines."""
        screen = self.screen
        if reset:
            screen.reset()
            screen.history.clear()
            screen.evicted = 0
        if clear_history:
            screen.history.clear()
            screen.evicted = 0
        if resize is not None:
            screen.resize(resize[1], resize[0])
        if chunk:
            screen.capture = self._flood_start is None
            self.stream.feed(chunk)
        lines = list(self.lines)
        if len(lines) != screen.lines:
            lines = (lines + [[] for _ in range(screen.lines)])[:screen.lines]
            screen.dirty.update(range(screen.lines))
        for y in screen.dirty:
            if 0 <= y < screen.lines:
                lines[y] = render_line(screen.buffer[y], screen.columns)
        screen.dirty.clear()
        cursor = (min(screen.cursor.x, screen.columns - 1), min(screen.cursor.y, screen.lines - 1))
        return lines, cursor, bool(screen.cursor.hidden), BRACKETED_PASTE in screen.mode

    async def step(self) -> bool:
        """Feed at most one ``STEP`` off the loop and publish the new snapshot; False if idle."""
        if not self._pending and self._resize_to is None and not self._reset:
            return False
        chunk = self._take()
        resize, self._resize_to = self._resize_to, None
        reset, self._reset = self._reset, False
        clear_history, self._clear_history = self._clear_history, False
        loop = asyncio.get_running_loop()
        lines, cursor, hidden, paste = await loop.run_in_executor(
            self._executor, self._work, chunk, resize, reset, clear_history)
        self.lines, self.cursor, self.cursor_hidden, self.bracketed_paste = lines, cursor, hidden, paste
        self.fed_bytes += len(chunk)
        self.generation += 1
        self.on_update()
        return True

    async def run(self) -> None:
        """Feed forever (cancel to stop): wait for bytes, then step until the queue is empty."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while await self.step():
                # Still behind: let bytes pile up (and be dropped) while the loop reads and paints.
                await asyncio.sleep(FLOOD_PAUSE if len(self._pending) > STEP else 0)

    def history_complete(self) -> bool:
        """True when the captured history reaches back to the session's first byte."""
        return self.contiguous_from == 0 and self.screen.evicted == 0

    def history_fragments(self) -> list[StyleAndTextTuples]:
        """Lines scrolled off the top, oldest first (call only while the feeder is idle)."""
        cols = self.screen.columns
        return [render_line(line, cols) for line in list(self.screen.history)]

    def text(self) -> str:
        """The visible screen as plain text (tests and debugging)."""
        return "\n".join("".join(frag[1] for frag in line).rstrip() for line in self.lines)
