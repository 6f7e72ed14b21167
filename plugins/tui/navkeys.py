"""The agent view's Alt/Cmd+arrow keys: Alt+←/→ switch panels, Alt+↑/↓ the next/previous task.

Terminals send Alt+arrow as ``ESC [1;3X`` (xterm), ``ESC [1;9X`` (iTerm2's Cmd/meta) or
``ESC ESC [X`` (Option sending Esc+); prompt_toolkit reads the first two as Esc followed by the
arrow, which the agent view would forward as a lone Esc. ``install()`` maps them to four otherwise
unused keys (F21–F24) instead, and :func:`direction` tells them from a real Shift+F9..F12 by the raw
bytes, which then still reach the agent.
"""

from __future__ import annotations

from prompt_toolkit.input import vt100_parser
from prompt_toolkit.input.ansi_escape_sequences import ANSI_SEQUENCES
from prompt_toolkit.key_binding.key_processor import KeyPress
from prompt_toolkit.keys import Keys

NAV_KEYS = {"left": Keys.F21, "right": Keys.F22, "up": Keys.F23, "down": Keys.F24}
_SUFFIX = {"left": "D", "right": "C", "up": "A", "down": "B"}
SEQUENCES = {f"\x1b[1;{mod}{letter}": name for name, letter in _SUFFIX.items() for mod in (3, 9)} | {
    f"\x1b\x1b[{letter}": name for name, letter in _SUFFIX.items()}


def install() -> None:
    """Make the input parser read Alt/Cmd+arrows as the keys of ``NAV_KEYS`` (idempotent)."""
    for seq, name in SEQUENCES.items():
        ANSI_SEQUENCES[seq] = NAV_KEYS[name]
    vt100_parser._IS_PREFIX_OF_LONGER_MATCH_CACHE.clear()  # prefixes of the new sequences (ESC ESC)


def direction(press: KeyPress) -> str | None:
    """``left``/``right``/``up``/``down`` for an Alt/Cmd+arrow press, None for anything else."""
    return SEQUENCES.get(press.data)


def next_panel(current: str, step: int, zoomed: bool) -> str | None:
    """The agent-view focus after Alt+←/→ from ``current`` (None when zoomed: no side panels)."""
    if zoomed:
        return None
    center = "diff" if current == "diff" else "terminal"
    order = ["changes", "files", center]
    index = order.index(current) if current in order else len(order) - 1
    return order[max(0, min(len(order) - 1, index + step))]


def neighbour(ids: list[str], current: str | None, step: int) -> str | None:
    """The task id ``step`` places from ``current`` in the list order (wrapping), None if alone."""
    if not ids:
        return None
    if current not in ids:
        return ids[0]
    target = ids[(ids.index(current) + step) % len(ids)]
    return None if target == current else target
