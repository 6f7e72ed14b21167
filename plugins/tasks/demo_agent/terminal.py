"""The demo agent's terminal: cbreak mode, its own echo, key tokenizing."""

from __future__ import annotations

import codecs
import os
import select
import time
import unicodedata
from collections import deque
from typing import Any

ESC = "\x1b"
LONE_ESC_WAIT = 0.05  # seconds to wait after a trailing ESC for the rest of an escape sequence


class Terminal:
    """The agent's side of its PTY: cbreak input (no echo, no signals), raw byte output."""

    def __init__(self, fd_in: int = 0, fd_out: int = 1) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._saved: list[Any] | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.keys: deque[str] = deque()
        self.eof = False
        folder = os.environ.get("FAKEAGENT_TRANSCRIPT")
        self._transcript = os.open(os.path.join(folder, f"{os.getpid()}.out"),
                                   os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if folder else None
        if os.isatty(fd_in):
            import termios

            self._saved = termios.tcgetattr(fd_in)
            mode = termios.tcgetattr(fd_in)
            mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
            mode[6][termios.VMIN] = 1
            mode[6][termios.VTIME] = 0
            termios.tcsetattr(fd_in, termios.TCSANOW, mode)

    def restore(self) -> None:
        """Put the tty back the way we found it."""
        if self._saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd_in, termios.TCSADRAIN, self._saved)
            except termios.error:
                pass
            self._saved = None

    def write(self, text: str) -> None:
        """Write ``text`` (UTF-8) completely."""
        view = memoryview(text.encode("utf-8", "replace"))
        if self._transcript is not None:
            os.write(self._transcript, view)
        while view:
            written = os.write(self.fd_out, view)
            view = view[written:]

    def _readable(self, timeout: float | None) -> bool:
        ready, _, _ = select.select([self.fd_in], [], [], timeout)
        return bool(ready)

    def _fill(self, timeout: float | None) -> bool:
        """Read what is available (waiting up to ``timeout``) into ``keys``; False on timeout."""
        if self.eof or not self._readable(timeout):
            return False
        data = os.read(self.fd_in, 4096)
        if not data:
            self.eof = True
            return True
        # An ESC at the very end may be the start of a sequence split across reads.
        while data.endswith(b"\x1b") and self._readable(LONE_ESC_WAIT):
            more = os.read(self.fd_in, 4096)
            if not more:
                break
            data += more
        self._tokenize(self._decoder.decode(data))
        return True

    def _tokenize(self, text: str) -> None:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == ESC and i + 1 < len(text) and text[i + 1] in "[O":
                j = i + 2
                while j < len(text) and not ("\x40" <= text[j] <= "\x7e"):
                    j += 1
                self.keys.append(text[i : j + 1])
                i = j + 1
                continue
            self.keys.append(ch)
            i += 1

    def next_key(self, timeout: float | None = None) -> str | None:
        """The next key (a character or an escape sequence); None on timeout or end of input."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.keys:
            if self.eof:
                return None
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._fill(remaining) and deadline is not None and time.monotonic() >= deadline:
                return None
        return self.keys.popleft()

    def interrupt_requested(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for ESC or Ctrl-C; other keys stay queued (type-ahead)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, key in enumerate(self.keys):
                if key in (ESC, "\x03"):
                    del self.keys[index]
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                if remaining > 0:
                    time.sleep(remaining)
                return False
            self._fill(remaining)


def char_width(ch: str) -> int:
    """Terminal cells taken by ``ch``."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
