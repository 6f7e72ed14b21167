"""The TUI's screen: the tab bar, the body, the status line (messages, or the footer hints of the
view the user is in) and the dialog float; plus the tabs themselves (built-in and plugin)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout import (
    AnyContainer,
    DynamicContainer,
    Float,
    FloatContainer,
    FormattedTextControl,
    HSplit,
    Window,
)
from prompt_toolkit.layout.menus import CompletionsMenu

from .state import needs_you, task_name

if TYPE_CHECKING:  # pragma: no cover
    from .app import ArgusTui

log = logging.getLogger("argus.tui")

INFO_TTL = 8.0  # seconds an info message stays in the status line (errors stay until replaced)
MODAL_HINT = "Enter confirm · Tab next field · Esc cancel"


@dataclass
class Tab:
    """One tab: its key, title, container, and what to focus when it is shown."""

    key: str
    title: str
    container: AnyContainer
    focus: Any = None
    builtin: str = ""


def build_tabs(tui: ArgusTui, contributed: list[dict[str, Any]], tasks: Window, settings: Window,
               hera_or_dag: AnyContainer, tasks_body: AnyContainer | None = None) -> list[Tab]:
    """Tasks (1), Hera or the DAG (2, unless a plugin takes 2), Settings (3), and the plugin tabs.

    ``tasks_body`` is what the Tasks tab shows (the list and its filter line; ``tasks`` has the focus).
    A plugin tab's ``factory(host)`` builds its container; a failing factory or a taken key is
    logged and skipped.
    """
    tabs = [Tab("1", "Tasks", tasks_body or tasks, tasks, "tasks")]
    extra: list[Tab] = []
    for spec in contributed:
        try:
            key, title, factory = str(spec["key"]), str(spec["title"]), spec["factory"]
            container = factory(tui)
        except Exception:
            log.exception("a plugin TUI tab failed to build: %r", spec)
            continue
        if key in ("1", "3") or any(t.key == key for t in extra):
            log.error("plugin TUI tab %s wants key %s, which is taken", title, key)
            continue
        extra.append(Tab(key, title, container, spec.get("focus") or container))
    if not any(t.key == "2" for t in extra):
        extra.append(Tab("2", "Hera", hera_or_dag, None, "hera"))
    tabs.extend(sorted(extra, key=lambda t: t.key))
    tabs.append(Tab("3", "Settings", settings, settings, "settings"))
    return sorted(tabs, key=lambda t: t.key)


def tabbar(tui: ArgusTui) -> StyleAndTextTuples:
    """The top line: the tabs, what the agent / plugin view shows, tasks needing you, the connection."""
    out: StyleAndTextTuples = []
    for t in tui.tabs:
        active = tui.mode == "tabs" and t.key == tui.tab
        title = tui.hera.title if t.builtin == "hera" else t.title
        out.append(("class:tab.active" if active else "class:tab", f" {t.key} {title} "))
        out.append(("", " "))
    if tui.mode == "agent":
        out.append(("class:tab.active", f" ▶ {task_name(tui.agent.task) if tui.agent.task else 'agent'} "))
    elif tui.mode == "plugin" and tui.plugin_view is not None:
        out.append(("class:tab.active", f" ▶ {tui.plugin_view.title} "))
    waiting = sum(1 for t in tui.state.tasks.values() if needs_you(t) and not t.get("archived"))
    where = f"remote {tui.client.base_url}" if tui.state.remote else "local"
    right: StyleAndTextTuples = []
    if waiting:
        right.append(("class:status.needs", f"● {waiting} need you  "))
    right.append(("class:tabbar.info", f"argus · {where} "))
    if tui.state.connected:
        right.append(("class:conn.ok", "● connected "))
    else:
        right.append(("class:conn.bad", f"○ {tui.connection_error or 'connecting…'} "))
    used = sum(len(frag[1]) for frag in out) + sum(len(frag[1]) for frag in right)
    return out + [("", " " * max(1, tui.width() - used))] + right


def hints(tui: ArgusTui) -> str:
    """The footer of the view the user is in, from the command registry (a dialog brings its own)."""
    if tui.modal is not None:
        return str(getattr(tui.modal, "hint", "") or MODAL_HINT)
    return tui.commands.hints(tui.current_view())


def statusline(tui: ArgusTui) -> StyleAndTextTuples:
    """The bottom line: the last message while it is fresh (errors stay), else the footer hints."""
    if tui.status_text and (tui.status_error or time.monotonic() - tui.status_at < INFO_TTL):
        style = "class:statusline.error" if tui.status_error else "class:statusline"
        return [(style, f" {tui.status_text} ".ljust(tui.width()))]
    return [("class:statusline.hint", f" {hints(tui)}")]


def build_root(tabbar_text: Callable[[], StyleAndTextTuples], body: Callable[[], AnyContainer],
               status_text: Callable[[], StyleAndTextTuples]) -> tuple[FloatContainer, Float]:
    """The screen: tab bar, body, status line; and the completion menu's float (always on top)."""
    root = FloatContainer(
        HSplit([
            Window(FormattedTextControl(tabbar_text), height=1, style="class:tabbar"),
            DynamicContainer(body),
            Window(FormattedTextControl(status_text), height=1, style="class:statusline"),
        ]),
        floats=[],
    )
    completions = Float(xcursor=True, ycursor=True, content=CompletionsMenu(max_height=8, scroll_offset=1))
    root.floats.append(completions)
    return root, completions
