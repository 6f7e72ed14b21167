"""A benchmark agent: silent until told, then prints at a fixed rate; always shows its input count.

Run in a PTY as ``python bench/tui_flood_agent.py [RATE_BYTES_PER_S]`` (default 5 MB/s).
``ctrl+f`` toggles the flood. Every other byte it receives increments a counter shown on the last
line as ``> typed=NNNNN``. Like an agent TUI with streaming output above a pinned input box, the
flood scrolls inside a scroll region (DECSTBM) that leaves the last line alone, and the input line
is repainted after every flood chunk (every 2 ms, about 10 KB) and at once on each keystroke.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import termios
import time
import tty


def main() -> None:
    rate = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5_000_000
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    try:
        old = termios.tcgetattr(fd_in)
        tty.setraw(fd_in)
    except termios.error:
        old = None
    typed = 0
    flooding = False
    tick = 0.002
    rows = 24
    line = b"\x1b[32mflood\x1b[0m " + b"x" * 70 + b"\r\n"
    chunk = line * max(1, int(rate * tick) // len(line))
    next_at = time.monotonic()

    def prompt() -> bytes:
        # Save the cursor, paint the last line, restore: the scrolling output is not disturbed.
        return b"\x1b7\x1b[%d;1H\x1b[2K> typed=%05d\x1b8" % (rows, typed)

    def layout() -> bytes:
        nonlocal rows
        try:
            rows = os.get_terminal_size(fd_out).lines
        except OSError:
            rows = 24
        return b"\x1b[2J\x1b[1;%dr\x1b[H" % (rows - 1)

    signal.signal(signal.SIGWINCH, lambda *_: os.write(fd_out, layout() + prompt()))
    os.write(fd_out, layout() + b"bench agent ready (ctrl+f floods)\r\n" + prompt())
    try:
        while True:
            timeout = max(0.0, next_at - time.monotonic()) if flooding else None
            ready, _, _ = select.select([fd_in], [], [], timeout)
            if ready:
                data = os.read(fd_in, 4096)
                if not data:
                    return
                for b in data:
                    if b == 6:
                        flooding = not flooding
                        next_at = time.monotonic()
                    elif b == 4:
                        return
                    else:
                        typed += 1
                if not flooding:
                    os.write(fd_out, prompt())
            if flooding and time.monotonic() >= next_at:
                os.write(fd_out, chunk + prompt())
                next_at += tick
                if next_at < time.monotonic() - 0.5:  # fell behind: don't burst to catch up
                    next_at = time.monotonic()
    finally:
        if old is not None:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, old)


if __name__ == "__main__":
    main()
