"""The agent view: one task's live terminal (pyte), its side panes, and raw key passthrough.

Output arrives on ``GET /api/tasks/{id}/stream`` (SSE chunks with absolute offsets), or for a
remote TUI on the task's terminal WebSocket (binary frames; keys go back on it, no HTTP request
per key), and is queued into a :class:`~argus.plugins.tui.terminal.Terminal`, which feeds pyte off
the UI loop. Every key the terminal receives is forwarded raw to the agent (``POST
/api/tasks/{id}/input`` without the WebSocket; Esc included) except the view's own keys: ``ctrl+q``
back, ``ctrl+z`` panes, ``ctrl+k`` switcher, ``ctrl+l`` links, ``ctrl+y`` staged clipboard
(forwarded when nothing is staged), ``ctrl+p`` PR,
``Shift+↑/↓`` scrollback over the whole session log.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any

from argus.kernel.api import terminal_lines
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.input.ansi_escape_sequences import REVERSE_ANSI_SEQUENCES
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.key_binding.key_processor import KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import (
    DynamicContainer,
    FormattedTextControl,
    HSplit,
    VSplit,
    Window,
)
from prompt_toolkit.layout.controls import UIContent, UIControl
from prompt_toolkit.layout.dimension import Dimension

from . import review
from .client import ApiError, task_path
from .diffview import DiffPane
from .host import UiHost
from .panes import ChangesPane, FilesPane
from .state import as_dict, as_list, task_name
from .terminal import Terminal
from .termview import InputSender, decode_output, lines_content, message_content, screen_content

PRESENCE_EVERY = 30.0  # seconds between presence reports while a task is on screen

IGNORED_KEYS = {Keys.CPRResponse, Keys.Vt100MouseEvent, Keys.WindowsMouseEvent, Keys.Ignore,
                Keys.ScrollUp, Keys.ScrollDown, Keys.SIGINT}
FULL_LOG_CAP = 16 * 1024 * 1024
SKIP_AHEAD_AFTER = 1.0
_CONTROL_KEYS = {getattr(Keys, f"Control{c}"): bytes([ord(c) - 64]) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def key_bytes(kp: KeyPress, bracketed_paste: bool = False) -> bytes:
    """The raw bytes a key press stands for, as the agent's terminal would receive them."""
    key = kp.key
    if key in IGNORED_KEYS:
        return b""
    if key == Keys.BracketedPaste:
        pasted = kp.data.replace("\r\n", "\r").replace("\n", "\r").encode("utf-8", "surrogateescape")
        return b"\x1b[200~" + pasted + b"\x1b[201~" if bracketed_paste else pasted
    data = kp.data
    if isinstance(key, Keys) and data == key.value:
        # A synthesized key press without its raw bytes: rebuild them.
        if key in _CONTROL_KEYS:
            return _CONTROL_KEYS[key]
        seq = REVERSE_ANSI_SEQUENCES.get(key)
        if seq is not None:
            return seq.encode()
        fallback = {Keys.Escape: b"\x1b", Keys.ControlAt: b"\x00", Keys.Tab: b"\t", Keys.Enter: b"\r",
                    Keys.Backspace: b"\x7f", Keys.ControlSpace: b"\x00"}
        return fallback.get(key, b"")
    return data.encode("utf-8", "surrogateescape")


class TerminalControl(UIControl):
    """Draws the view's Terminal snapshot (or its scrollback) and reports the pane's size."""

    def __init__(self, view: AgentView) -> None:
        self.view = view

    def is_focusable(self) -> bool:
        """The terminal takes focus so keys reach it."""
        return True

    def create_content(self, width: int, height: int) -> UIContent:
        """One screen of lines; also where a new pane size is noticed and propagated."""
        view = self.view
        view.on_size(width, height)
        term = view.terminal
        if view.scroll_lines is not None:
            lines = view.scroll_lines
            end = max(0, len(lines) - view.scroll_offset)
            return lines_content(lines[max(0, end - height):end])
        if term is None:
            return message_content(" connecting…")
        return screen_content(term)

    def get_key_bindings(self) -> KeyBindings:
        """Raw passthrough of every key (the app's own agent-view keys are eager and win)."""
        return self.view.passthrough


class AgentView:
    """The agent view's state and widgets; ``open(task_id)`` attaches, ``close()`` detaches."""

    def __init__(self, tui: UiHost) -> None:
        self.tui = tui
        self.task_id: str | None = None
        self.terminal: Terminal | None = None
        self.zoomed = True
        self.focus = "terminal"  # terminal | changes | files | diff
        self.exited: int | None = None
        self.scroll_lines: list[StyleAndTextTuples] | None = None
        self.scroll_offset = 0
        self._scroll_last = 0.0
        self._scroll_speed = 1
        self._tasks: list[asyncio.Task[Any]] = []
        self._input = InputSender()
        self._size: tuple[int, int] | None = None
        self._posted_size: tuple[int, int] | None = None
        self._resize_task: asyncio.Task[Any] | None = None
        # The session's exit is the agent being replaced, not news: a resize answered "rerendered", or
        # a resumed Claude conversation (``replace_agent``) answered.
        self._replaced = False
        self._replacing: asyncio.Task[Any] | None = None  # a replace_agent action in flight
        self._restarted = asyncio.Event()
        self.keys_sent = 0
        # The header's key reminder: set by the app from its command registry.
        self.header_hint: Callable[[], str] = lambda: ""

        self.passthrough = KeyBindings()

        @self.passthrough.add(Keys.Any, eager=True)
        def _forward(event: KeyPressEvent) -> None:
            self.forward(event.key_sequence)

        @self.passthrough.add(Keys.BracketedPaste, eager=True)
        def _paste(event: KeyPressEvent) -> None:
            self.forward(event.key_sequence)

        self.control = TerminalControl(self)
        self.term_window = Window(self.control, style="class:terminal", width=Dimension(weight=3),
                                  always_hide_cursor=Condition(lambda: self.scroll_lines is not None))
        self.changes = ChangesPane()
        self.files = FilesPane()
        self.diff = DiffPane()
        self.header = Window(FormattedTextControl(self._header), height=1, style="class:agent.header")
        center = DynamicContainer(lambda: self.diff.window if self.focus == "diff" else self.term_window)
        # Zoomed, the terminal is the only child: no VSplit width sharing on every frame.
        split = VSplit([
            self.changes.window,
            Window(width=1, char="│", style="class:pane.border"),
            center,
            Window(width=1, char="│", style="class:pane.border"),
            self.files.window,
        ])
        self.container = HSplit([self.header, DynamicContainer(lambda: center if self.zoomed else split)])

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def task(self) -> dict[str, Any]:
        """The viewed task as last seen (empty when unknown)."""
        return self.tui.state.tasks.get(self.task_id or "", {})

    def open(self, task_id: str) -> None:
        """Attach to ``task_id``: new terminal, stream reader, feeder, input sender."""
        self.close()
        self.task_id = task_id
        self.exited = None
        self.focus = "terminal"
        self.scroll_lines = None
        self.zoomed = bool(self.tui.state.setting("ui", "default_agent_zoom", True))
        self._posted_size = None
        self._replaced = False
        self._replacing = None
        cols, rows = self._size or (80, 24)
        self.terminal = Terminal(cols, rows, on_update=self.tui.invalidate, executor=self.tui.executor)
        self._input = InputSender()
        self._restarted = asyncio.Event()
        self._tasks = [
            self.tui.spawn(self.terminal.run(), name="pyte feeder"),
            self.tui.spawn(self._stream(task_id, self.terminal), name="output stream"),
            self.tui.spawn(self._input.run(self.tui, task_id, self._count_sent), name="input sender"),
            self.tui.spawn(self._presence(task_id), name="presence"),
        ]
        if self._size:
            self._schedule_resize()
        if not self.zoomed:
            self.refresh_panes()

    def close(self) -> None:
        """Detach: stop every task of this view (the agent keeps running)."""
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        if self._resize_task:
            self._resize_task.cancel()
            self._resize_task = None
        self.terminal = None
        self.task_id = None
        self.scroll_lines = None

    def on_event(self, etype: str, data: dict[str, Any]) -> None:
        """Bus events concerning the viewed task (session restarts reattach the stream)."""
        task = as_dict(data.get("task"))
        meta = as_dict(data.get("meta"))
        tid = str(data.get("task_id") or data.get("id") or task.get("id") or meta.get("task_id") or "")
        if tid != self.task_id:
            return
        review.on_event(self.tui, self, etype)
        if etype == "session.started" or (etype == "task.updated" and task.get("running")
                                          and self.exited is not None):
            self._restarted.set()
            self._posted_size = None  # the new session gets the pane's size
            self._schedule_resize()

    # ---- presence (Web Push stays quiet for the task on screen) ----------------------------

    async def _report_presence(self, task_id: str | None) -> None:
        try:
            await self.tui.client.request("POST", "/api/push/presence",
                                          json_body={"task_id": task_id, "client": f"tui-{os.getpid()}"})
        except Exception:  # no push plugin (404), daemon away: presence is best effort
            pass

    async def _presence(self, task_id: str) -> None:
        """While this view shows ``task_id``, tell the daemon every 30 s (the push plugin's window is 60 s).

        Closing the view cancels it; should that cancellation get lost in the HTTP request under way,
        the loop still ends (else quitting the TUI waited for the 30 s sleep)."""
        me = asyncio.current_task()
        try:
            while True:
                await self._report_presence(task_id)
                if me not in self._tasks:  # the view was closed (or shows another session) meanwhile
                    return
                await asyncio.sleep(PRESENCE_EVERY)
        finally:  # the view closed (this task was cancelled): clear it, briefly
            try:
                await asyncio.wait_for(self._report_presence(None), 2.0)
            except BaseException:  # noqa: BLE001 - shutting down: presence expires by itself
                pass

    # ---- output ---------------------------------------------------------------------------

    async def _stream(self, task_id: str, term: Terminal) -> None:
        """Follow the task's output: reconnect from the last offset, reattach after a restart."""
        since: int | None = None
        session_id: str | None = None
        backoff = 0.3
        while True:
            try:
                params = {"since": since, "session": session_id if since is not None else None,
                          "encoding": "text"}  # UTF-8 output costs no base64 decode (SSE)
                async for ev in self.tui.client.terminal(task_id, params):
                    backoff = 0.3
                    if ev.event == "output":
                        chunk = decode_output(ev, since)  # without the overlap after a reconnect
                        if chunk is None:
                            continue
                        data, _, end = chunk
                        since = end
                        term.push(data, end)
                        if term.flooding_for() > SKIP_AHEAD_AFTER:
                            # The agent prints faster than we show: whatever the daemon queued
                            # for us is stale. Reconnect at the live tail (the full log stays
                            # reachable through Shift+↑).
                            term.skipped_ahead += 1
                            term.reset_flood_clock()
                            since = None
                            break
                    elif ev.event == "session":
                        info = as_dict(ev.json())
                        sid = str(info.get("session_id") or "") or None
                        if session_id is not None and sid != session_id:
                            term.reset()  # a new session: its offsets start again
                            self._replaced = False  # (its old session's exit never reached us)
                        session_id = sid
                        if isinstance(info.get("offset"), int) and since is None:
                            since = info["offset"]
                    elif ev.event == "error":  # input the daemon refused (over the WebSocket)
                        error = as_dict(ev.json()).get("error")
                        self.tui.set_status(f"input not delivered: {error}", error=True)
                    elif ev.event == "exit":
                        info = as_dict(ev.json())
                        code = info.get("code")
                        self.exited = code if isinstance(code, int) else -1
                        # A re-render's (or a resumed conversation's) exit comes before the answer
                        # that announces it (the daemon answers once the new agent runs): wait for
                        # it, and say nothing of an exit that is the agent being replaced.
                        pending = [t for t in (self._resize_task, self._replacing) if t is not None and not t.done()]
                        if pending:
                            await asyncio.wait(pending)
                        if self._replaced:
                            self._replaced = False
                        else:
                            self.tui.set_status(f"{task_name(self.task)}: agent exited (code {code})")
                        self.tui.invalidate()
                        break
                else:
                    if self.exited is None:
                        # The server ended the stream without an exit: reconnect where we were.
                        await asyncio.sleep(0.2)
                        continue
                if self.exited is None:
                    continue  # skipping ahead
                # After an exit, wait for the session to come back (restart, rerender on resize).
                await self._wait_restart(gone=session_id)
                since, session_id = None, None
                term.reset()
                continue
            except ApiError as exc:
                if exc.status == 404:
                    # No session (yet): wait for one to start rather than hammering the daemon.
                    self.exited = self.exited if self.exited is not None else -1
                    self.tui.invalidate()
                    await self._wait_restart(timeout=10.0)
                    since, session_id = None, None
                    continue
                self.tui.set_status(f"output stream: {exc}", error=True)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def replace_agent(self, action: Coroutine[Any, Any, bool], name: str) -> None:
        """Run ``action``, which replaces the viewed agent (the Claude picker's resume) and returns
        whether it did (it says so in the status line itself). As with a re-render, the old agent's
        exit is then no news: whether it reaches the view before or after the action's answer, it
        does not replace that status line with "agent exited"."""
        task_id, live = self.task_id, self.exited is None  # an exit is expected only from a live agent

        async def run() -> None:
            if await action and live and self.task_id == task_id:
                self._replaced = True

        self._replacing = self.tui.spawn(run(), name=name)

    async def _wait_restart(self, timeout: float | None = None, gone: str | None = None) -> None:
        """Wait for the task's next session (up to ``timeout``). After the exit of session ``gone``:
        not when the task already runs another one (its start was announced before that exit reached
        us, as when a resume's answer comes first)."""
        self._restarted.clear()
        task = self.task
        if not (gone is not None and task.get("running") and task.get("session_id") not in (None, gone)):
            try:
                await asyncio.wait_for(self._restarted.wait(), timeout)
            except TimeoutError:
                pass
        self.exited = None

    # ---- input ----------------------------------------------------------------------------

    def forward(self, keys: list[KeyPress]) -> None:
        """Queue the raw bytes of ``keys`` for the agent (leaving scrollback first)."""
        if self.scroll_lines is not None:
            self.scroll_lines = None
            self.scroll_offset = 0
            self.tui.invalidate()
        paste = self.terminal.bracketed_paste if self.terminal else False
        data = b"".join(key_bytes(k, paste) for k in keys)
        if data:
            self.send(data)

    def send(self, data: bytes) -> None:
        """Queue bytes for the agent's stdin (sent in order, bursts coalesced)."""
        self._input.put(data)

    def _count_sent(self, n: int) -> None:
        self.keys_sent += n

    # ---- size -----------------------------------------------------------------------------

    def on_size(self, width: int, height: int) -> None:
        """Called while painting: resize pyte now and the PTY shortly after (debounced)."""
        if width <= 0 or height <= 0 or (width, height) == self._size:
            return
        self._size = (width, height)
        if self.terminal is not None:
            self.terminal.resize(width, height)
        self._schedule_resize()

    def _schedule_resize(self) -> None:
        if self._resize_task is None or self._resize_task.done():
            self._resize_task = self.tui.spawn(self._post_resize(), name="resize")

    async def _post_resize(self) -> None:
        await asyncio.sleep(0.15)
        while self._size and self._size != self._posted_size and self.task_id:
            cols, rows = self._size
            shown = self.tui.status_at
            try:
                body = await self.tui.client.post(task_path(self.task_id, "/resize"), {"cols": cols, "rows": rows})
                self._posted_size = (cols, rows)
                # A re-render takes a while (the agent is relaunched): a message shown meanwhile (say,
                # the failure of a key pressed since) is newer news and is not replaced by this one.
                if as_dict(body).get("rerendered"):
                    self._replaced = True
                    if self.tui.status_at == shown:
                        self.tui.set_status("width changed a lot: the agent re-renders its conversation")
            except ApiError as exc:
                if exc.status == 409:  # no live session: nothing to resize (yet)
                    self.tui.set_status(f"{task_name(self.task)} is not running ({self.task.get('status') or '?'}):"
                                        " its last screen is shown, keys are not delivered")
                else:
                    self.tui.set_status(f"resize: {exc}", error=True)
                return

    # ---- scrollback -----------------------------------------------------------------------

    def scroll(self, direction: int) -> None:
        """Shift+↑ (``direction`` 1) / Shift+↓ (-1): scroll with acceleration over the full log."""
        term = self.terminal
        if term is None:
            return
        now = time.monotonic()
        self._scroll_speed = min(self._scroll_speed * 2, 32) if now - self._scroll_last < 0.2 else 1
        self._scroll_last = now
        if self.scroll_lines is None:
            if direction < 0:
                return
            lines = term.history_fragments() + list(term.lines)
            end = term.end_offset or 0
            incomplete = not term.history_complete() and bool(end)
            if not incomplete and len(lines) <= (self._size or (0, 24))[1]:
                self.tui.set_status("nothing to scroll back: the whole session is on the screen")
                return
            self.scroll_lines = lines
            self.scroll_offset = 0
            if incomplete:
                # Part of the session never reached (or no longer fits) the coloured history:
                # show the whole log as plain text instead, fetched from the daemon.
                self.tui.spawn(self._load_full_log(term, end, list(term.lines)), name="full log")
        top = max(0, len(self.scroll_lines) - (self._size or (0, 24))[1])
        self.scroll_offset = max(0, min(top, self.scroll_offset + direction * self._scroll_speed))
        if self.scroll_offset == 0 and direction < 0:
            self.scroll_lines = None
        self.tui.invalidate()

    async def _load_full_log(self, term: Terminal, until: int, screen: list[StyleAndTextTuples]) -> None:
        """Fetch the session log up to ``until`` and show it as plain lines above the screen."""
        chunks: list[bytes] = []
        total = 0
        try:
            async for ev in self.tui.client.sse(task_path(self.task_id or "", "/stream"), {"since": 0}):
                if ev.event == "exit":
                    break
                if ev.event != "output":
                    continue
                msg = as_dict(ev.json())
                start = int(msg.get("offset", 0))
                if start >= until:
                    break
                data = base64.b64decode(str(msg.get("data") or ""))[: until - start]
                chunks.append(data)
                total += len(data)
                if total >= FULL_LOG_CAP:
                    chunks.append(b"\n[... log truncated here ...]\n")
                    break
                if start + len(data) >= until:
                    break
        except (ApiError, ValueError, TypeError) as exc:
            self.tui.set_status(f"full log: {exc}", error=True)
            return
        loop = asyncio.get_running_loop()
        lines = await loop.run_in_executor(self.tui.executor, terminal_lines, b"".join(chunks))
        if self.scroll_lines is None or self.terminal is not term or not lines:
            return
        # The log's last lines are what the screen shows: drop as many as the screen has text.
        shown = sum(1 for line in screen if any(frag[1].strip() for frag in line))
        older = lines[: max(0, len(lines) - shown)]
        plain: list[StyleAndTextTuples] = [[("class:scrollback.plain", line)] for line in older]
        self.scroll_lines = plain + list(screen)
        self.tui.invalidate()

    # ---- panes ----------------------------------------------------------------------------

    def toggle_panes(self) -> None:
        """ctrl+z: show/hide the git + file panes (showing them focuses the changes list)."""
        self.zoomed = not self.zoomed
        if self.zoomed:
            self.focus_terminal()
        else:
            self.refresh_panes()
            self.set_focus("changes")

    def set_focus(self, which: str) -> None:
        """Move focus to ``terminal``, ``changes``, ``files`` or ``diff``."""
        self.focus = which
        self.changes.focused = which == "changes"
        self.files.focused = which == "files"
        target = {"terminal": self.term_window, "changes": self.changes.window, "files": self.files.window,
                  "diff": self.diff.window}[which]
        if not self.tui.modal_open:  # an open dialog keeps the focus; closing it refocuses this
            self.tui.focus(target)
        self.tui.invalidate()

    def focus_terminal(self) -> None:
        """Esc from a pane: back to the terminal."""
        self.set_focus("terminal")

    def back(self) -> bool:
        """ctrl+q: diff → files panel → task list. Returns True when the view should close."""
        if self.focus == "diff":
            self.set_focus("changes" if not self.zoomed else "terminal")
            return False
        return True

    def refresh_panes(self) -> None:
        """Reload the changes list and the current directory."""
        if self.task_id:
            self.tui.spawn(self._load_panes(self.task_id), name="panes")

    async def _load_panes(self, task_id: str) -> None:
        try:
            self.changes.load(await self.tui.client.get(task_path(task_id, "/git/status")))
            self.changes.error = ""
        except ApiError as exc:
            self.changes.error = exc.message
        try:
            self.files.load(await self.tui.client.get(task_path(task_id, "/files"), dir=self.files.dir or None))
            self.files.error = ""
        except ApiError as exc:
            self.files.error = exc.message
        self.tui.invalidate()

    def pane_enter(self) -> None:
        """Enter in a list: open the file's diff, or enter a directory."""
        if self.focus == "changes":
            entry = self.changes.selected()
            if entry:
                self.tui.spawn(self._open_diff(str(entry.get("path"))), name="diff")
        elif self.focus == "files":
            entry = self.files.selected()
            if not entry:
                return
            if entry.get("type") == "dir":
                self.tui.spawn(self._open_dir(str(entry.get("path") or "")), name="files")
            else:
                self.tui.spawn(self._open_diff(str(entry.get("path"))), name="diff")

    async def _open_dir(self, rel: str) -> None:
        try:
            self.files.load(await self.tui.client.get(task_path(self.task_id or "", "/files"), dir=rel or None))
        except ApiError as exc:
            self.tui.set_status(str(exc), error=True)
        self.tui.invalidate()

    async def _open_diff(self, path: str | None) -> None:
        try:
            body = await self.tui.client.get(task_path(self.task_id or "", "/git/diff"), path=path)
        except ApiError as exc:
            self.tui.set_status(str(exc), error=True)
            return
        self.diff.load(body, path)
        self.set_focus("diff")
        await review.refresh(self.tui, self)

    def selected_path(self) -> str | None:
        """The worktree-relative path under the cursor (or of the open diff)."""
        if self.focus == "diff":
            return self.diff.path
        pane = self.files if self.focus == "files" else self.changes
        entry = pane.selected()
        return str(entry.get("path")) if entry and entry.get("name") != ".." else None

    # ---- header ---------------------------------------------------------------------------

    def _header(self) -> StyleAndTextTuples:
        t = self.task
        term = self.terminal
        parts: StyleAndTextTuples = [("class:agent.title", f" {task_name(t) if t else self.task_id} ")]
        status = str(t.get("status") or "")
        if t.get("idle"):
            status += " · needs you"
        parts.append(("class:agent.dim", f" {status} "))
        if t.get("branch"):
            parts.append(("class:agent.dim", f" {t.get('branch')} "))
        if self.exited is not None:
            parts.append(("class:status.failed", f" exited ({self.exited}) "))
        if self.scroll_lines is not None:
            parts.append(("class:agent.scroll", f" SCROLL −{self.scroll_offset} (Shift+↓ back) "))
        if term is not None:
            cols, rows = term.size
            parts.append(("class:agent.dim", f" {cols}×{rows} "))
        hint = self.header_hint()
        if hint:
            parts.append(("class:agent.dim", f" {hint} "))
        return parts


def links_of(body: object) -> list[dict[str, str]]:
    """The ``links`` list of a links answer, cleaned."""
    out = []
    for item in as_list(as_dict(body).get("links")):
        if isinstance(item, dict) and item.get("url"):
            out.append({"label": str(item.get("label") or item["url"]), "url": str(item["url"])})
    return out
