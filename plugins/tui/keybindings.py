"""The ``[keybindings]`` settings: which key runs each of the task list's main commands.

The reference manual lists the section (``new``, ``attach``, ``status``, ``delete``, ``quit``,
``help``, ``filter``, ``prompt``, ``worktree``); each setting names the key of one command of the
registry (:mod:`~argus.plugins.tui.keymap`). A value replaces that command's default key. The
manual's keymap destroys a task with ctrl+d, so ``delete`` defaults to ``ctrl+d`` (the manual's
``[keybindings]`` table says ``d``; set it to rebind).

This module is imported by the daemon (it validates ``PUT /api/settings``), so prompt_toolkit is
imported only inside :func:`problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECTION = "keybindings"

# setting -> (command name, default key, what it does)
BINDINGS: dict[str, tuple[str, str, str]] = {
    "new": ("task.new", "n", "New task"),
    "attach": ("task.open", "enter", "Open the agent view"),
    "status": ("task.status.next", "s", "Advance the status"),
    "delete": ("task.delete", "ctrl+d", "Destroy the task"),
    "quit": ("quit", "q", "Quit"),
    "help": ("help", "?", "Show every key"),
    "filter": ("task.filter", "/", "Filter the task list"),
    "prompt": ("task.prompt", "p", "Show the task's prompt"),
    "worktree": ("task.worktree", "w", "Worktree actions"),
}

# Keys the task list's other commands hold (a [keybindings] value may not take them).
TASKLIST_KEYS = frozenset({
    "j", "k", "down", "up", "g", "G", "S", "a", "P", "L", "r", "m", "c", "c-f", "c-o", "c-r", "A", "H", "c-l",
    "1", "2", "3",
})
# quit and help work in every tab: they may not take a key of the Settings tab either.
EVERY_TAB = frozenset({"quit", "help"})
SETTINGS_KEYS = frozenset({"j", "k", "down", "up", "enter", "right", "l", "left", "h", "n", "e", "d", "a", "m",
                           "i", "t", "r"})


def parse(text: str) -> tuple[str, ...]:
    """A key as settings write it (``v``, ``ctrl+h``, ``alt+x``, ``f5``, ``enter``) as a key sequence."""
    raw = text.strip()
    low = raw.lower().replace("control+", "ctrl+")
    if low.startswith("alt+") and len(raw) > 4:
        return ("escape", *parse(raw[4:]))
    if low.startswith("ctrl+") and len(low) > 5:
        return (f"c-{low[5:]}",)
    if low.startswith("shift+") and len(low) > 6:
        return (f"s-{low[6:]}",)
    if len(raw) == 1:
        return (raw,)
    return (low,)


def _valid_key(key: str) -> bool:
    from prompt_toolkit.keys import KEY_ALIASES, Keys

    if len(key) == 1:
        return True
    return key in KEY_ALIASES or key in {k.value for k in Keys if k not in (Keys.Any, Keys.BracketedPaste)}


def effective(values: Mapping[str, Any]) -> dict[str, str]:
    """``{setting: key text}`` with the defaults for the settings ``values`` leaves out or empty."""
    out = {name: default for name, (_, default, _) in BINDINGS.items()}
    for name in BINDINGS:
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = value.strip()
    return out


def problems(values: Mapping[str, Any]) -> list[str]:
    """Why ``values`` (a ``[keybindings]`` section) cannot be applied: an invalid key, two commands
    on one key, or a key another task-list command holds. Empty when it can."""
    out: list[str] = []
    taken: dict[tuple[str, ...], str] = {}
    for name, text in effective(values).items():
        seq = parse(text)
        if not seq or not all(_valid_key(k) for k in seq) or (len(seq) == 2 and seq[0] != "escape") or len(seq) > 2:
            out.append(f"keybindings.{name}: {text!r} is not a key (write n, ctrl+d, alt+x, f5, enter...)")
            continue
        if seq in taken:
            out.append(f"keybindings.{name}: {text!r} is already keybindings.{taken[seq]}")
            continue
        if len(seq) == 1 and seq[0] in TASKLIST_KEYS:
            out.append(f"keybindings.{name}: {text!r} is already another key of the task list")
            continue
        if name in EVERY_TAB and len(seq) == 1 and seq[0] in SETTINGS_KEYS:
            out.append(f"keybindings.{name}: {text!r} is already a key of the Settings tab")
            continue
        taken[seq] = name
    return out


def check(values: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` with every problem of ``values`` (the settings section's check)."""
    found = problems(values)
    if found:
        raise ValueError("; ".join(found))


def overrides(values: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``{command name: key sequence}`` for every setting of ``values`` that differs from its default."""
    eff = effective(values)
    return {cmd: parse(eff[name]) for name, (cmd, default, _) in BINDINGS.items() if eff[name] != default}
