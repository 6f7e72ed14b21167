"""An Argus plugin that adds a TUI command: ``b`` in the Tasks tab shows the selected task's branch.

It joins the TUI's command registry through ``argus_tui_commands``, so the key is listed in the
footer (``b branch``) and in the help overlay (``?``) like the built-in ones. Load it with
``ARGUS_PLUGINS=/path/to/tui_command.py argus``.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import hookimpl


def show_branch(host: Any) -> None:
    """``host`` is the TUI (a ``UiHost``): the selected task, the status line, the client..."""
    task = host.selected_task()
    if task is None:
        host.set_status("no task selected", error=True)
        return
    host.set_status(f"{task.get('name')}: branch {task.get('branch') or '(none yet)'}")


@hookimpl
def argus_tui_commands() -> list[dict[str, Any]]:
    """One command, bound to ``b`` in the Tasks tab."""
    return [{"name": "example.branch", "help": "show the selected task's branch", "keys": ["b"],
             "views": ["tasks"], "run": show_branch, "hint": "branch"}]
