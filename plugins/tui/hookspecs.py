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
