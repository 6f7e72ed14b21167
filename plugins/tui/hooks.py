"""The tui plugin's hooks: the ``argus`` / ``argus tui`` command and the Appearance settings.

This module is imported by the daemon too (every plugin's hooks are), so it imports nothing of
the UI at module level; prompt_toolkit is loaded only when the command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from argus.kernel.api import Field, SettingsSection, hookimpl

from . import hookspecs, keybindings

if TYPE_CHECKING:  # pragma: no cover
    import click
    import pluggy


@hookimpl
def argus_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Publish the TUI hooks (``argus_tui_tabs``)."""
    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """The ``[ui]`` section the TUI reads (spinner style, agent view layout, list columns) and ``[keybindings]``."""
    return [SettingsSection("ui", "Appearance", [
        Field("spinner_style", "enum", "progress", "Spinner", "Animation of running tasks",
              ("progress", "dots", "braille", "classic")),
        Field("default_agent_zoom", "bool", True, "Default agent view zoomed",
              "On: the agent view opens without the git/file panes (ctrl+z toggles)"),
        Field("show_elapsed", "bool", True, "Show elapsed time"),
        Field("show_icons", "bool", True, "Show status icons"),
        Field("theme", "string", "default", "Theme", "Reserved"),
    ]), SettingsSection(keybindings.SECTION, "Keybindings", [
        Field(name, "string", default, label,
              f"Key of {command} in the task list (n, ctrl+d, alt+x, f5, enter...); applies when the TUI starts")
        for name, (command, default, label) in keybindings.BINDINGS.items()
    ], check=keybindings.check)]


@hookimpl
def argus_cli(cli: click.Group) -> None:
    """Add ``argus tui`` (what bare ``argus`` runs) with ``--remote URL --token T``."""
    import click

    @cli.command("tui")
    @click.option("--remote", metavar="URL", help="Open the TUI against a remote daemon's REST API.")
    @click.option("--token", metavar="TOKEN", envvar="ARGUS_TOKEN", help="API token for --remote.")
    def tui(remote: str | None, token: str | None) -> None:
        """Open the terminal UI (starting the local daemon if it is not running)."""
        from .launch import run_tui

        sys.exit(run_tui(remote, token))
