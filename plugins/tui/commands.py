"""The TUI's command registry: named commands, the views they apply in, and the keys bound to them.

A :class:`Command` has a name (``task.new``), one line of help, the views it applies in (``tasks``,
``agent.terminal``, ...), its keys and what it runs. The prompt_toolkit key bindings, the footer
hints and the help overlay (``?``) are all generated from one :class:`CommandRegistry` (as pymux
does), so what the footer says and what a key does cannot drift apart.

A *view* is where the user is: a tab (``tasks``, ``settings``, ``dag``), a region of the Hera tab
(``hera.rail``, ``hera.agent``, ...), a focus of the agent view (``agent.terminal``,
``agent.lists``, ``agent.diff``), a plugin tab (``tab:4``), a plugin view (``plugin``) or an open
dialog (``modal``). The app computes the current one; a command's binding is active only there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prompt_toolkit.filters import Condition, Filter, buffer_has_focus
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

from . import navkeys
from .keybindings import parse

log = logging.getLogger("argus.tui")

Key = str | Keys
KeySeq = tuple[Key, ...]

# Human labels of prompt_toolkit key names (the footer, the help overlay, the docs).
_LABELS: dict[str, str] = {
    "enter": "Enter", "escape": "Esc", "space": "Space", "tab": "Tab", "s-tab": "Shift+Tab",
    "up": "↑", "down": "↓", "left": "←", "right": "→", "pageup": "PgUp", "pagedown": "PgDn",
    "s-up": "Shift+↑", "s-down": "Shift+↓", "s-pageup": "Shift+PgUp", "s-pagedown": "Shift+PgDn",
    "home": "Home", "end": "End", "backspace": "Backspace", "delete": "Del",
    Keys.Any.value: "any key", Keys.BracketedPaste.value: "paste",
}
_ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
_LABELS.update({navkeys.NAV_KEYS[way].value: f"Alt+{arrow}" for way, arrow in _ARROWS.items()})


def key_label(key: Key) -> str:
    """The label of one key: ``c-f`` → ``ctrl+f``, ``s-up`` → ``Shift+↑``, ``enter`` → ``Enter``."""
    name = key.value if isinstance(key, Keys) else str(key)
    if name in _LABELS:
        return _LABELS[name]
    if name.startswith("c-") and len(name) > 2:
        return "ctrl+" + name[2:]
    return name


def seq_label(seq: KeySeq) -> str:
    """The label of a key sequence (``escape`` + ``x`` → ``Alt+x``)."""
    if len(seq) == 2 and seq[0] == "escape":
        return "Alt+" + key_label(seq[1])
    return " ".join(key_label(k) for k in seq)


def parse_key(text: str) -> KeySeq:
    """A key as plugins and settings write it (``v``, ``ctrl+h``, ``alt+x``, ``f5``, ``enter``)."""
    return parse(text)


def key_matches(hotkey: str, event: KeyPressEvent) -> bool:
    """True when the pressed key is ``hotkey`` (``v``, ``ctrl+h``, ``alt+x``, ``f5``)."""
    hk = hotkey.strip().lower().replace("control+", "ctrl+")
    seq = event.key_sequence
    if hk.startswith("alt+") and len(seq) == 2 and seq[0].key == Keys.Escape:
        return seq[1].data.lower() == hk[4:]
    if len(seq) != 1:
        return False
    kp = seq[0]
    if hk.startswith("ctrl+"):
        return str(kp.key) == f"c-{hk[5:]}" or getattr(kp.key, "value", "") == f"c-{hk[5:]}"
    if len(hk) == 1:
        return kp.data == hotkey.strip()
    return getattr(kp.key, "value", str(kp.key)) == hk


@dataclass(frozen=True)
class View:
    """Where the user is. ``lead``: what the footer says before the commands (``keys go to ...``)."""

    name: str
    title: str
    lead: str = ""


@dataclass(frozen=True)
class Command:
    """One named action.

    ``run()`` or ``on_key(event)`` does it; ``keys`` are key sequences (``("c-q",)``,
    ``("escape", Keys.Any)``); ``views`` names the views it applies in; ``hint`` is its short
    footer label (empty: in the help overlay only; commands next to each other with the same hint
    share one footer entry: ``j/k move``); ``when`` narrows where it applies inside those views;
    a higher ``rank`` comes earlier in the footer (which a narrow terminal cuts).
    """

    name: str
    help: str
    keys: tuple[KeySeq, ...]
    views: frozenset[str]
    run: Callable[[], object] | None = None
    on_key: Callable[[KeyPressEvent], object] | None = None
    hint: str = ""
    eager: bool = False
    when: Filter | None = None
    source: str = "argus"
    rank: int = 0

    def labels(self) -> list[str]:
        """The labels of its keys, in order."""
        return [seq_label(seq) for seq in self.keys]


def command(name: str, help: str, keys: Sequence[Key | KeySeq], views: Iterable[str], *,
            run: Callable[[], object] | None = None, on_key: Callable[[KeyPressEvent], object] | None = None,
            hint: str = "", eager: bool = False, when: Filter | None = None, source: str = "argus",
            rank: int = 0) -> Command:
    """Build a :class:`Command`; a key is a prompt_toolkit name (``c-f``) or a tuple (a sequence)."""
    seqs = tuple(k if isinstance(k, tuple) else (k,) for k in keys)
    return Command(name, help, seqs, frozenset(views), run, on_key, hint, eager, when, source, rank)


@dataclass
class CommandRegistry:
    """Every command of the TUI, the views they apply in, and what is generated from them."""

    views: dict[str, View] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    groups: dict[str, tuple[View, frozenset[str]]] = field(default_factory=dict)

    def add_view(self, name: str, title: str, lead: str = "") -> None:
        """Declare a view (its title heads its section of the help overlay)."""
        self.views[name] = View(name, title, lead)

    def add(self, cmd: Command) -> Command:
        """Register ``cmd``. Raises ``ValueError`` for a duplicate name, an unknown view, a command
        without help or action, or a key another command already holds in one of its views."""
        if cmd.name in self.commands:
            raise ValueError(f"command {cmd.name} is already registered")
        if not cmd.help.strip():
            raise ValueError(f"command {cmd.name} has no help text")
        if cmd.run is None and cmd.on_key is None:
            raise ValueError(f"command {cmd.name} does nothing")
        unknown = sorted(v for v in cmd.views if v not in self.views)
        if unknown:
            raise ValueError(f"command {cmd.name}: unknown view(s) {', '.join(unknown)}")
        if cmd.when is None:
            for other in self.commands.values():
                if other.when is not None or other.eager != cmd.eager:
                    continue
                shared = cmd.views & other.views
                clash = set(cmd.keys) & set(other.keys)
                if shared and clash:
                    raise ValueError(f"command {cmd.name}: {seq_label(sorted(clash, key=str)[0])} is already "
                                     f"{other.name} in {', '.join(sorted(shared))}")
        self.commands[cmd.name] = cmd
        return cmd

    def in_view(self, view: str) -> list[Command]:
        """The commands that apply in ``view``, in registration order."""
        return [c for c in self.commands.values() if view in c.views]

    def bindings(self, current_view: Callable[[], str],
                 on_error: Callable[[Command, Exception], None]) -> KeyBindings:
        """prompt_toolkit key bindings for every command: a key works only in the command's views
        (and never while a text field has the focus); a failing command calls ``on_error``."""
        kb = KeyBindings()
        for cmd in self.commands.values():
            active: Filter = _in_views(current_view, cmd.views) & ~buffer_has_focus
            if cmd.when is not None:
                active = active & cmd.when
            handler = _handler(cmd, on_error)
            for seq in cmd.keys:
                kb.add(*seq, filter=active, eager=cmd.eager)(handler)
        return kb

    def hints(self, view: str) -> str:
        """The footer line of ``view``: its lead, then each command's keys and hint."""
        parts: list[str] = []
        last_hint = ""
        # Ranked commands (help) first, then the view's own, those shared by many views (quit) last.
        for cmd in sorted(self.in_view(view), key=lambda c: (-c.rank, len(c.views))):
            if not cmd.hint:
                last_hint = ""
                continue
            first = cmd.labels()[0]
            if cmd.hint == last_hint and parts:
                keys, _, text = parts[-1].partition(" ")
                parts[-1] = f"{keys}/{_shared_prefix_dropped(keys, first)} {text}"
            else:
                parts.append(f"{first} {cmd.hint}")
            last_hint = cmd.hint
        lead = self.views[view].lead if view in self.views else ""
        return " · ".join(([lead] if lead else []) + parts)

    def hint_of(self, names: Iterable[str]) -> str:
        """A short reminder of the named commands (``ctrl+q back · ctrl+z panes``), skipping unknown names."""
        return " · ".join(f"{self.commands[n].labels()[0]} {self.commands[n].hint or self.commands[n].help}"
                          for n in names if n in self.commands)

    def add_group(self, name: str, title: str, views: Iterable[str]) -> None:
        """Declare a group of views: the help lists a command bound in all of them once, under ``title``."""
        self.groups[name] = (View(name, title), frozenset(views))

    def help_sections(self, first: str = "") -> list[tuple[View, list[tuple[str, str]]]]:
        """The help overlay's sections: ``(view, [(keys, help)])``, the view ``first`` on top.

        A command bound in every view of a group is listed once, in the group's section (placed
        before the group's first view); other commands are listed in each of their views. Empty
        sections are left out.
        """
        in_group: dict[str, list[Command]] = {
            g: [c for c in self.commands.values() if views <= c.views] for g, (_, views) in self.groups.items()}

        def rows_of(cmds: Iterable[Command]) -> list[tuple[str, str]]:
            return [(" / ".join(c.labels()), c.help) for c in cmds]

        def view_rows(view: str) -> list[tuple[str, str]]:
            shown = {c.name for g, (_, views) in self.groups.items() if view in views for c in in_group[g]}
            return rows_of(c for c in self.in_view(view) if c.name not in shown)

        order: list[str] = [first] if first in self.views else []
        order += [g for g, (_, views) in self.groups.items() if first in views]
        for name in self.views:
            order += [g for g, (_, views) in self.groups.items()
                      if g not in order and name in views]
            if name not in order:
                order.append(name)
        out: list[tuple[View, list[tuple[str, str]]]] = []
        for name in order:
            view, rows = ((self.groups[name][0], rows_of(in_group[name])) if name in self.groups
                          else (self.views[name], view_rows(name)))
            if rows:
                out.append((view, rows))
        return out

    def command_for(self, handler: Callable[..., Any]) -> Command | None:
        """The command a generated key binding handler runs (None for a foreign handler)."""
        name = getattr(handler, "argus_command", None)
        return self.commands.get(name) if isinstance(name, str) else None


def _in_views(current_view: Callable[[], str], views: frozenset[str]) -> Condition:
    return Condition(lambda: current_view() in views)


def _shared_prefix_dropped(previous: str, label: str) -> str:
    """``Shift+↓`` after ``Shift+↑`` reads ``↓`` (``Shift+↑/↓``); other labels are kept whole."""
    prefix, plus, rest = label.rpartition("+")
    last = previous.split("/")[-1]
    if plus and rest and last.startswith(prefix + plus):
        return rest
    return label


def _handler(cmd: Command, on_error: Callable[[Command, Exception], None]) -> Callable[[KeyPressEvent], None]:
    def handler(event: KeyPressEvent) -> None:
        try:
            if cmd.on_key is not None:
                cmd.on_key(event)
            elif cmd.run is not None:
                cmd.run()
        except Exception as exc:  # a key must never take the UI down
            log.exception("command %s failed", cmd.name)
            on_error(cmd, exc)

    handler.argus_command = cmd.name  # type: ignore[attr-defined]
    handler.__name__ = f"command_{cmd.name}"
    return handler
