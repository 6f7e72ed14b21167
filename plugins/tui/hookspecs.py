"""The hooks the TUI plugin publishes (through ``argus_addhooks``); called in the TUI process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from argus.kernel.api import hookspec


@hookspec
def argus_tui_tabs() -> Sequence[dict[str, Any]]:
    """Return extra TUI tabs: ``{"key": "2", "title": "Hera", "factory": callable}``.

    Called in the TUI process (not the daemon). ``factory(app)`` returns a prompt_toolkit
    container. The TUI plugin lays them out; it hard-wires none.
    """


@hookspec
def argus_tui_commands() -> Sequence[dict[str, Any]]:
    """Return TUI commands: ``{"name", "help", "keys", "views", "run", "hint"}``.

    Called in the TUI process at start, after the tabs are built. ``name`` is unique
    (``kb.search``); ``help`` is the line shown in the help overlay (``?``); ``keys`` are key names
    (``"x"``, ``"ctrl+n"``, ``"alt+x"``, ``"f5"``, ``"enter"``); ``views`` says where the keys work:
    a built-in view (``tasks``, ``settings``, ``dag``, ``hera.rail``, ``agent.terminal``, ...), a
    plugin tab (``tab:4``), ``tabs`` (every tab, the default) or ``agent`` (every focus of the agent
    view); ``run(host)`` is called with the TUI (a ``UiHost``) when a key is pressed; ``hint``, if
    given, puts the command in the footer. The commands join the same registry as the built-in
    ones: a key another command already holds in one of the views is refused (logged, shown in the
    status line) and the command is skipped.
    """
