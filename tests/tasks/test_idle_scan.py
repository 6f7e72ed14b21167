"""The idle detector's per-batch screen scan looks at the end of the tail only: the same last lines
as stripping the whole tail."""

from __future__ import annotations

import random

import pytest
from argus.kernel.api import strip_ansi
from argus.plugins.tasks.idle import TAIL_CHARS, IdleDetector, IdleState


def reference(tail: str, n: int) -> str:
    """The last ``n`` non-blank lines of the whole tail, stripped."""
    lines = [ln for ln in strip_ansi(tail).split("\n") if ln.strip()]
    return "\n".join(lines[-n:])


PIECES = ["plain text", "\x1b[1;32mgreen\x1b[0m", "\x1b[2K\r", "spinner \u280b working", "\r\n", "\n",
          "\x1b[?25l", "> ", "\x1b]0;title\x07", "\x1b[K", "  ", "\t", "\r", "x" * 300]


@pytest.mark.parametrize("seed", range(40))
def test_last_lines_match_the_whole_tail_stripped(seed: int) -> None:
    rng = random.Random(seed)
    tail = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 400)))[-TAIL_CHARS:]
    state = IdleState("s", "generic", tail=tail)
    for n in (1, 3, 12):
        assert IdleDetector._last_lines(state, n) == reference(tail, n)


def test_blank_redraws_at_the_end_reach_back_for_the_last_lines() -> None:
    tail = "line one\nline two\nline three\n" + "\x1b[2K\r\x1b[1A\n" * 300
    state = IdleState("s", "generic", tail=tail[-TAIL_CHARS:])
    assert IdleDetector._last_lines(state, 3) == reference(state.tail, 3)
    no_newline = "x" * TAIL_CHARS
    assert IdleDetector._last_lines(IdleState("s", "generic", tail=no_newline), 3) == no_newline
