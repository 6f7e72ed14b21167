"""What a view may use of the TUI: the :class:`UiHost` protocol (checked by mypy).

Views (the agent view, the task list, the DAG, Hera, Settings, plugin views, review, the Claude
session picker) and the tab factories of ``argus_tui_tabs`` receive a ``UiHost``, never the app
object: the status line, dialogs, background work, focus, the daemon client and the shared state.
:class:`~argus.plugins.tui.app.ArgusTui` implements it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from prompt_toolkit.layout import AnyContainer, Window

from .client import ArgusClient
from .state import AppState


class Modal(Protocol):
    """A dialog (``Form``, ``Picker``, ``Confirm``, the help overlay) shown over the body."""

    @property
    def container(self) -> AnyContainer:
        """What is drawn."""
        ...

    def first_focus(self) -> AnyContainer:
        """What gets the focus when it opens."""
        ...

    def contains(self, window: Window) -> bool:
        """True when ``window`` belongs to the dialog (the focus may not leave it)."""
        ...


class UiHost(Protocol):
    """The calls a view may make on the TUI."""

    @property
    def client(self) -> ArgusClient:
        """The daemon's REST/SSE client."""
        ...

    @property
    def state(self) -> AppState:
        """The daemon's state as last seen (tasks, projects, settings...), kept current by events."""
        ...

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The one worker thread for blocking work (pyte feeding, disk scans)."""
        ...

    @property
    def connection_error(self) -> str:
        """Why the event stream is down ("" while connected)."""
        ...

    @property
    def modal_open(self) -> bool:
        """True while a dialog is open (it keeps the focus)."""
        ...

    @property
    def status_at(self) -> float:
        """When the status line was last set (``time.monotonic()``): a change means a newer message."""
        ...

    def set_status(self, text: str, error: bool = False) -> None:
        """Show ``text`` in the status line (errors stay until replaced; info fades)."""
        ...

    def invalidate(self) -> None:
        """Ask for a repaint."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any] | Awaitable[Any], name: str = "") -> asyncio.Task[Any]:
        """Run ``coro`` in the background; an exception becomes a status line, never a crash."""
        ...

    def open_modal(self, modal: Modal) -> None:
        """Show a dialog over the body and focus it (it replaces an open one)."""
        ...

    def close_modal(self) -> None:
        """Remove the dialog and refocus the body."""
        ...

    def focus(self, target: AnyContainer) -> bool:
        """Give ``target`` the focus; False when it is not on screen."""
        ...

    def showing(self, builtin: str) -> bool:
        """True when the built-in tab ``builtin`` (``tasks``, ``hera``, ``settings``) is on screen."""
        ...

    def selected_task(self) -> dict[str, Any] | None:
        """The task under the task list's cursor (None when there is none)."""
        ...

    def open_task(self, task_id: str) -> None:
        """Open the agent view on ``task_id``."""
        ...

    def request_refresh(self, part: str) -> None:
        """Re-fetch a part of the snapshot soon (``tasks``, ``projects``, ``hera``, ``dag``...)."""
        ...

    async def refresh(self, *parts: str) -> None:
        """Re-fetch the named parts of the snapshot now."""
        ...

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` for every bus event."""
        ...

    def close_plugin_view(self) -> None:
        """Leave the open plugin view for Argus."""
        ...
