"""Full-screen plugin views: a registered view's pane, driven over a WebSocket.

While a view is open Argus surrenders every keystroke to it. The protocol on ``callback_url``:

* TUI → plugin: **binary** frames carry raw keystroke bytes; **text** frames carry JSON control
  messages ``{"type": "resize", "cols": N, "rows": M}``, ``{"type": "focus"}``, ``{"type": "blur"}``.
* plugin → TUI: **binary** frames carry ANSI output, rendered with pyte like an agent terminal;
  **text** frames carry JSON ``{"type": "hotkeys", "keys": [{"key": "n", "label": "new"}, ...]}``
  (shown in the view's header), ``{"type": "help", "text": "..."}`` (the status line) and
  ``{"type": "release"}`` (give control back to Argus).

A double ``ctrl+q`` within 400 ms always returns to Argus, whatever the plugin does with a single
one (which it receives like any other key). The WebSocket client is wsproto over asyncio streams.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import FormattedTextControl, HSplit, Window
from prompt_toolkit.layout.controls import UIContent, UIControl

from .agentview import key_bytes
from .host import UiHost
from .state import as_dict, as_list
from .terminal import Terminal
from .termview import message_content, screen_content
from .wsclient import WebSocket, WsClosed

DOUBLE_CTRL_Q = 0.4


class _Control(UIControl):
    def __init__(self, view: PluginView) -> None:
        self.view = view

    def is_focusable(self) -> bool:
        return True

    def create_content(self, width: int, height: int) -> UIContent:
        self.view.on_size(width, height)
        term = self.view.terminal
        if term is None:
            return message_content(f" {self.view.state_text}")
        return screen_content(term)

    def get_key_bindings(self) -> KeyBindings:
        return self.view.keys


class PluginView:
    """One open plugin view (``open`` connects, ``close`` releases)."""

    def __init__(self, tui: UiHost, view: dict[str, Any]) -> None:
        self.tui = tui
        self.view = view
        self.title = str(view.get("title") or view.get("id") or "plugin")
        self.ws: WebSocket | None = None
        self.terminal: Terminal | None = None
        self.state_text = "connecting…"
        self.help = ""
        self.hotkeys: list[dict[str, Any]] = []
        self._size: tuple[int, int] | None = None
        self._last_ctrl_q = 0.0
        self._tasks: list[asyncio.Task[Any]] = []
        self._out: asyncio.Queue[bytes | str] = asyncio.Queue()
        self.keys = KeyBindings()

        @self.keys.add(Keys.Any, eager=True)
        @self.keys.add(Keys.BracketedPaste, eager=True)
        def _forward(event: KeyPressEvent) -> None:
            self.key(event)

        self.window = Window(_Control(self), style="class:terminal")
        self.container = HSplit([Window(FormattedTextControl(self._header), height=1, style="class:agent.header"),
                                 self.window])

    def open(self) -> None:
        """Connect in the background; errors land in the status line and close the view."""
        self._tasks.append(self.tui.spawn(self._run(), name=f"plugin view {self.title}"))

    async def _run(self) -> None:
        url = str(self.view.get("callback_url") or "")
        ws = WebSocket()
        try:
            await ws.connect(url)
        except WsClosed as exc:
            self.tui.set_status(f"plugin view {self.title}: {exc}", error=True)
            self.tui.close_plugin_view()
            return
        self.ws = ws
        cols, rows = self._size or (80, 24)
        self.terminal = Terminal(cols, rows, on_update=self.tui.invalidate, executor=self.tui.executor)
        self._tasks.append(self.tui.spawn(self.terminal.run(), name="plugin view feeder"))
        self._tasks.append(self.tui.spawn(ws.pump(), name="plugin view socket"))
        self._tasks.append(self.tui.spawn(self._sender(ws), name="plugin view sender"))
        self._control({"type": "resize", "cols": cols, "rows": rows})
        self._control({"type": "focus"})
        self.state_text = ""
        while True:
            msg = await ws.recv()
            if msg is None:
                self.tui.set_status(f"plugin view {self.title} closed the connection")
                self.tui.close_plugin_view()
                return
            if isinstance(msg, bytes):
                self.terminal.push(msg)
            else:
                self._on_control(msg)

    def _on_control(self, text: str) -> None:
        try:
            msg = as_dict(json.loads(text))
        except ValueError:
            return
        kind = msg.get("type")
        if kind == "release":
            self.tui.close_plugin_view()
        elif kind == "help":
            self.help = str(msg.get("text") or "")
            self.tui.set_status(f"{self.title}: {self.help}")
        elif kind == "hotkeys":
            self.hotkeys = [k for k in as_list(msg.get("keys")) if isinstance(k, dict)]
        self.tui.invalidate()

    def _control(self, msg: dict[str, Any]) -> None:
        self._out.put_nowait(json.dumps(msg))

    async def _sender(self, ws: WebSocket) -> None:
        while True:
            item = await self._out.get()
            try:
                if isinstance(item, bytes):
                    await ws.send_bytes(item)
                else:
                    await ws.send_text(item)
            except (WsClosed, OSError):
                return

    def key(self, event: KeyPressEvent) -> None:
        """Forward a key; a second ctrl+q within 400 ms returns to Argus instead."""
        for kp in event.key_sequence:
            if kp.key == Keys.ControlQ:
                now = time.monotonic()
                if now - self._last_ctrl_q <= DOUBLE_CTRL_Q:
                    self.tui.close_plugin_view()
                    return
                self._last_ctrl_q = now
        data = b"".join(key_bytes(k, self.terminal.bracketed_paste if self.terminal else False)
                        for k in event.key_sequence)
        if data:
            self._out.put_nowait(data)

    def on_size(self, width: int, height: int) -> None:
        """Propagate a pane size change to pyte and the plugin."""
        if (width, height) == self._size or width <= 0 or height <= 0:
            return
        self._size = (width, height)
        if self.terminal is not None:
            self.terminal.resize(width, height)
            self._control({"type": "resize", "cols": width, "rows": height})

    def close(self) -> None:
        """Tell the plugin it lost focus, close the socket, stop our tasks."""
        ws = self.ws
        tasks, self._tasks = self._tasks, []

        async def finish() -> None:
            if ws is not None and not ws.closed:
                try:
                    await asyncio.wait_for(ws.send_text(json.dumps({"type": "blur"})), 1.0)
                except Exception:  # the plugin may be gone
                    pass
                await ws.close()
            for t in tasks:
                t.cancel()

        self.tui.spawn(finish(), name="plugin view close")

    def _header(self) -> StyleAndTextTuples:
        keys = "  ".join(f"{k.get('key')} {k.get('label', '')}".strip() for k in self.hotkeys)
        return [("class:agent.title", f" {self.title} "),
                ("class:agent.dim", f" {keys} " if keys else ""),
                ("class:agent.dim", " ctrl+q ctrl+q: back to Argus ")]
