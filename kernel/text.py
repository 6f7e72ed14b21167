"""The one terminal-text helper: strip ANSI escapes from agent output, as a string or as lines.

``strip_ansi`` is what the daemon scans (idle patterns, ``?clean=1`` output, fork context): escapes
and control characters go, and a line redrawn after ``\\r`` keeps only its last drawing (agents
redraw spinners and prompts that way, usually with an erase-line escape that is stripped too).
``terminal_lines`` is what a viewer shows for raw bytes: the same escapes removed, ``\\r``
overwrites laid over the line like a terminal does, tabs expanded.
"""

from __future__ import annotations

import re

ESCAPE = (
    r"\x1b\[[0-?]*[ -/]*[@-~]"             # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (hyperlinks, titles)
    r"|\x1b[PX^_][^\x1b]*\x1b\\"           # DCS / SOS / PM / APC
    r"|\x1b[@-Z\\-_]"                      # two-byte escapes
    r"|\x1b[^\n]?"                         # anything else after ESC (e.g. DECSC "ESC 7")
)
ANSI_RE = re.compile(ESCAPE + r"|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
"""Escape sequences and control characters other than ``\\t``, ``\\n`` and ``\\r``."""


def strip_ansi(text: str, *, redraws: bool = False) -> str:
    """``text`` without escapes and control characters; each ``\\r``-redrawn line keeps its last drawing.

    With ``redraws=True`` every drawing is kept (the ``\\r`` stay): for a search of everything a
    terminal ever showed, e.g. whether a line was typed at all.
    """
    text = ANSI_RE.sub("", text)
    if redraws:
        return text
    # The line's own terminator (the \r of a PTY's \r\n) is dropped first, or it would hide that
    # last drawing.
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def terminal_lines(data: bytes | str, tabsize: int = 8) -> list[str]:
    """Raw terminal output as plain lines: escapes removed, ``\\r`` overwrites laid over the line."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = ANSI_RE.sub("", text)
    out = []
    for raw in text.split("\n"):
        parts = raw.rstrip("\r").split("\r")
        line = parts[0]
        for part in parts[1:]:
            line = part + line[len(part):]
        out.append(line.expandtabs(tabsize))
    return out
