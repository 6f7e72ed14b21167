"""The Argus terminal UI: a prompt_toolkit application that talks to the daemon only over REST/SSE.

``run_tui(remote, token)`` is what ``argus`` (no subcommand) runs. Locally it starts the daemon
when none answers on ``$ARGUS_HOME/daemon.sock``; with ``--remote`` it uses the given URL and
token. The screen is a tab bar (``1`` Tasks, ``2`` Hera or the DAG, ``3`` Settings, plus tabs
plugins return from ``argus_tui_tabs``), a body, and a status line. State is loaded once and kept
current by ``/api/events/stream``; nothing polls.

A tab factory from ``argus_tui_tabs`` receives the :class:`ArgusTui` instance: it may read
``state`` (:class:`~argus.plugins.tui.state.AppState`), call the API through ``client``, and use
``invalidate()``, ``set_status(text, error=False)``, ``open_task(task_id)``, ``spawn(coro)`` and
``subscribe(callback)`` (called with every bus event dict).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import subprocess
import sys
import time
import webbrowser
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argus.kernel.api import LocalDaemon
from prompt_toolkit.application import Application, run_in_terminal
from prompt_toolkit.filters import Condition, buffer_has_focus
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import (
    DynamicContainer,
    Float,
    FloatContainer,
    FormattedTextControl,
    HSplit,
    Layout,
    Window,
)
from prompt_toolkit.layout.menus import CompletionsMenu
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style

from . import claude_picker, navkeys, review
from .agentview import AgentView, key_bytes, links_of
from .client import ApiError, ArgusClient, SseEvent, task_path
from .dagview import DagView
from .forms import ChoiceCompleter, Confirm, Form, FormField, Picker, PickerItem, SkillCompleter
from .heraview import HeraView
from .pluginview import PluginView
from .settings_tab import SettingsTab
from .state import AppState, as_dict, as_list, needs_you, next_status, task_name
from .tasklist import TaskList, build_rows, spinner_interval

log = logging.getLogger("argus.tui")

STYLE = Style.from_dict({
    "tabbar": "bg:#1c1c1c #bcbcbc",
    "tab": "",
    "tab.active": "bold reverse",
    "tabbar.info": "#8a8a8a",
    "conn.ok": "ansigreen",
    "conn.bad": "ansired bold",
    "statusline": "bg:#1c1c1c #d0d0d0",
    "statusline.error": "bg:ansired ansiwhite bold",
    "statusline.hint": "#8a8a8a",
    "task.header": "bold ansicyan",
    "task.selected": "reverse",
    "task.dim": "#808080",
    "task.archived": "#6c6c6c",
    "task.name": "",
    "status.running": "ansicyan",
    "status.needs": "ansiyellow bold",
    "status.complete": "ansigreen",
    "status.failed": "ansired",
    "status.pending": "#808080",
    "status.stopped": "#808080",
    "form": "bg:#262626",
    "form.danger": "bg:#3a0000",
    "form.label": "bold",
    "form.label.focused": "bold ansiyellow",
    "form.input": "bg:#3a3a3a",
    "form.input.focused": "bg:#4e4e4e #ffffff",
    "form.help": "#8a8a8a",
    "form.notice": "ansiyellow",
    "form.error": "ansired bold",
    "form.toggle": "ansicyan",
    "form.toggle.focused": "ansicyan reverse bold",
    "diff.add": "ansigreen",
    "diff.del": "ansired",
    "diff.hunk": "ansicyan",
    "diff.meta": "bold",
    "diff.sep": "#585858",
    "diff.empty": "bg:#1c1c1c",
    "pane.title": "bold #8a8a8a",
    "pane.title.focused": "bold ansicyan",
    "pane.dir": "ansiblue",
    "pane.border": "#585858",
    "agent.header": "bg:#1c1c1c #bcbcbc",
    "agent.title": "bold ansicyan",
    "agent.dim": "#8a8a8a",
    "agent.scroll": "bg:ansiyellow ansiblack",
    "setting.value": "ansicyan",
    "scrollback.plain": "#b0b0b0",
})

INFO_TTL = 8.0
LOCAL_ONLY = {
    "new": ("creating a task", "POST /api/tasks"),
    "fork": ("forking", "POST /api/tasks/{id}/fork"),
    "prune": ("pruning completed tasks", "POST /api/maintenance/prune-completed"),
}


@dataclass
class Tab:
    """One tab: its key, title, container, and what to focus when it is shown."""

    key: str
    title: str
    container: Any
    focus: Any = None
    builtin: str = ""


def _key_matches(hotkey: str, event: KeyPressEvent) -> bool:
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


class ArgusTui:
    """The whole TUI: state, tabs, agent view, dialogs and the prompt_toolkit Application."""

    def __init__(self, client: ArgusClient, *, input: Input | None = None, output: Output | None = None,
                 plugin_tabs: list[dict[str, Any]] | None = None) -> None:
        navkeys.install()  # Alt/Cmd+arrows as keys of their own (before any input is parsed)
        self.client = client
        self.state = AppState(remote=client.is_remote)
        # The only thread the TUI starts: pyte feeding and disk scans, via run_in_executor.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argus-tui-pyte")
        self.tasklist = TaskList(self.state)
        self.settings = SettingsTab(self)
        self.agent = AgentView(self)
        self.dag = DagView(self)
        self.hera = HeraView(self)
        self.plugin_view: PluginView | None = None
        self.mode = "tabs"  # tabs | agent | plugin
        self.modal: Any = None
        self.status_text = ""
        self.status_error = False
        self.status_at = 0.0
        self.connection_error = ""
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending_refresh: set[str] = set()
        self._refresh_task: asyncio.Task[Any] | None = None
        self._loading = False
        self._buffered: list[dict[str, Any]] = []
        self._spin_wake = asyncio.Event()
        self.snapshot_loaded = asyncio.Event()
        self.events_seen = 0

        self.tasks_window = Window(FormattedTextControl(lambda: self.tasklist.fragments(self._width()),
                                                        focusable=True, show_cursor=False), wrap_lines=False)
        self.settings_window = Window(FormattedTextControl(lambda: self.settings.fragments(self._width()),
                                                           focusable=True, show_cursor=False))
        self.dag_window = Window(FormattedTextControl(lambda: self.dag.fragments(self._width()),
                                                      focusable=True, show_cursor=False))
        self.tabs = self._build_tabs(plugin_tabs or [])
        self.tab = self.tabs[0].key
        self.root = FloatContainer(
            HSplit([
                Window(FormattedTextControl(self._tabbar), height=1, style="class:tabbar"),
                DynamicContainer(self._body),
                Window(FormattedTextControl(self._statusline), height=1, style="class:statusline"),
            ]),
            floats=[],
        )
        self._completions = Float(xcursor=True, ycursor=True, content=CompletionsMenu(max_height=8, scroll_offset=1))
        self.root.floats.append(self._completions)
        self.app: Application[int] = Application(
            layout=Layout(self.root, focused_element=self.tasks_window),
            key_bindings=self._key_bindings(), style=STYLE, full_screen=True, mouse_support=False,
            input=input, output=output, min_redraw_interval=0.02, max_render_postpone_time=0.05,
            refresh_interval=None, erase_when_done=True)
        self.app.ttimeoutlen = 0.05
        self.app.timeoutlen = 0.5
        # While a dialog is open the focus never leaves it: checked before every key press.
        self.app.key_processor.before_key_press += lambda _: self.keep_focus_in_modal()

    # ---- tabs -----------------------------------------------------------------------------

    def _build_tabs(self, contributed: list[dict[str, Any]]) -> list[Tab]:
        tabs = [Tab("1", "Tasks", self.tasks_window, self.tasks_window, "tasks")]
        extra: list[Tab] = []
        for spec in contributed:
            try:
                key, title, factory = str(spec["key"]), str(spec["title"]), spec["factory"]
                container = factory(self)
            except Exception:
                log.exception("a plugin TUI tab failed to build: %r", spec)
                continue
            if key in ("1", "3") or any(t.key == key for t in extra):
                log.error("plugin TUI tab %s wants key %s, which is taken", title, key)
                continue
            extra.append(Tab(key, title, container, spec.get("focus") or container))
        if not any(t.key == "2" for t in extra):
            # Native Hera, or the DAG when hera is disabled (GET /api/hera says so; live).
            body = DynamicContainer(lambda: self.hera.container if self.hera.enabled else self.dag_window)
            extra.append(Tab("2", "Hera", body, None, "hera"))
        tabs.extend(sorted(extra, key=lambda t: t.key))
        tabs.append(Tab("3", "Settings", self.settings_window, self.settings_window, "settings"))
        return sorted(tabs, key=lambda t: t.key)

    def dag_keys_active(self) -> bool:
        """The DAG's keys apply: the DAG tab, tab 2 while hera is off, or the DAG in Hera's details."""
        if self.mode != "tabs":
            return False
        tab = self.current_tab()
        if tab.builtin == "dag" or (tab.builtin == "hera" and not self.hera.enabled):
            return True
        return (tab.builtin == "hera" and self.hera.focus == "details" and self.hera.details_mode == "dag"
                and self.hera.pane_for_focus() is None)

    def current_tab(self) -> Tab:
        """The tab shown in tabs mode."""
        return next((t for t in self.tabs if t.key == self.tab), self.tabs[0])

    def show_tab(self, key: str) -> None:
        """Switch to tab ``key`` (and load what it needs)."""
        if not any(t.key == key for t in self.tabs):
            return
        self.tab = key
        tab = self.current_tab()
        if tab.builtin in ("dag", "hera"):
            self.spawn(self.dag.load(), name="dag")
        if tab.builtin == "hera":
            self.spawn(self.hera.load(), name="hera")
        self.hera.sync_panes()
        if tab.builtin == "settings":
            self.request_refresh("status")
        self.focus_body()
        self.invalidate()

    def _body(self) -> Any:
        if self.mode == "agent":
            return self.agent.container
        if self.mode == "plugin" and self.plugin_view is not None:
            return self.plugin_view.container
        return self.current_tab().container

    def focus_body(self) -> None:
        """Give focus back to whatever the body shows (or to the open dialog, which keeps it)."""
        if self.modal is not None:
            self.keep_focus_in_modal()
            return
        try:
            if self.mode == "agent":
                self.agent.set_focus(self.agent.focus)
            elif self.mode == "plugin" and self.plugin_view is not None:
                self.app.layout.focus(self.plugin_view.window)
            elif self.current_tab().builtin == "hera":
                if self.hera.enabled:
                    self.hera.apply_focus()
                else:
                    self.app.layout.focus(self.dag_window)
            else:
                target = self.current_tab().focus
                if target is not None:
                    self.app.layout.focus(target)
        except ValueError:
            pass

    def _width(self) -> int:
        try:
            return self.app.output.get_size().columns
        except Exception:
            return 80

    # ---- chrome ---------------------------------------------------------------------------

    def _tabbar(self) -> StyleAndTextTuples:
        out: StyleAndTextTuples = []
        for t in self.tabs:
            active = self.mode == "tabs" and t.key == self.tab
            title = self.hera.title if t.builtin == "hera" else t.title
            out.append(("class:tab.active" if active else "class:tab", f" {t.key} {title} "))
            out.append(("", " "))
        if self.mode == "agent":
            out.append(("class:tab.active", f" ▶ {task_name(self.agent.task) if self.agent.task else 'agent'} "))
        elif self.mode == "plugin" and self.plugin_view is not None:
            out.append(("class:tab.active", f" ▶ {self.plugin_view.title} "))
        waiting = sum(1 for t in self.state.tasks.values() if needs_you(t) and not t.get("archived"))
        where = f"remote {self.client.base_url}" if self.state.remote else "local"
        right: StyleAndTextTuples = []
        if waiting:
            right.append(("class:status.needs", f"● {waiting} need you  "))
        right.append(("class:tabbar.info", f"argus · {where} "))
        if self.state.connected:
            right.append(("class:conn.ok", "● connected "))
        else:
            right.append(("class:conn.bad", f"○ {self.connection_error or 'connecting…'} "))
        used = sum(len(frag[1]) for frag in out) + sum(len(frag[1]) for frag in right)
        return out + [("", " " * max(1, self._width() - used))] + right

    def _hints(self) -> str:
        if self.modal is not None:
            return "Enter confirm · Tab next field · Esc cancel"
        if self.mode == "agent":
            if self.agent.focus == "terminal":
                return ("keys go to the agent · ctrl+q back · ctrl+z panes · ctrl+k switch · ctrl+l links · "
                        "ctrl+y copy · ctrl+p PR · ctrl+r Claude sessions · Alt+←/→ panels · Alt+↑/↓ tasks · "
                        "Shift+↑/↓ scroll")
            if self.agent.focus == "diff":
                return ("j/k move · c comment · v range · R send review · s split/unified · e editor · "
                        "Esc terminal · ctrl+q files")
            return ("j/k move · Enter diff · s split · e editor · t terminal · Tab other pane · Esc terminal · "
                    "ctrl+q list")
        if self.mode == "plugin":
            return "keys go to the plugin · ctrl+q twice: back to Argus"
        tab = self.current_tab()
        if tab.builtin == "tasks":
            return ("n new · Enter open · s/S status · a archive · P pin · L cancel limit resume · r rename · "
                    "m merge · c copy · ctrl+f fork · ctrl+d delete · ctrl+r prune · A archived · H hera · q quit")
        if tab.builtin == "settings":
            return "j/k move · Enter/◀/▶ change · n new · e edit · d delete/default · m model · i quick add · q quit"
        if self.dag_keys_active():
            return "j/k move · ←/→ parent/child · Enter open · l link · L unlink · h halt downstream · q quit"
        if tab.builtin == "hera":
            if self.hera.pane_for_focus() is not None:
                return "keys go to the agent · Tab/Shift+Tab next pane · ctrl+q rail"
            return ("j/k move · Space fold · Tab panes · Enter attach · w worker · r rename · a archive · P pin · "
                    "s/S status · ctrl+d delete · g roster/DAG · q quit")
        return "1/2/3 tabs · q quit"

    def _statusline(self) -> StyleAndTextTuples:
        if self.status_text and (self.status_error or time.monotonic() - self.status_at < INFO_TTL):
            style = "class:statusline.error" if self.status_error else "class:statusline"
            return [(style, f" {self.status_text} ".ljust(self._width()))]
        return [("class:statusline.hint", f" {self._hints()}")]

    def set_status(self, text: str, error: bool = False) -> None:
        """Show ``text`` in the status line (errors stay until replaced; info fades)."""
        self.status_text, self.status_error, self.status_at = text, error, time.monotonic()
        if error:
            log.warning("status: %s", text)
        self.invalidate()
        if not error:
            try:
                asyncio.get_running_loop().call_later(INFO_TTL + 0.1, self.invalidate)
            except RuntimeError:
                pass

    def invalidate(self) -> None:
        """Ask for a repaint (coalesced by prompt_toolkit)."""
        self.app.invalidate()

    # ---- background work ------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any] | Awaitable[Any], name: str = "") -> asyncio.Task[Any]:
        """Run ``coro`` in the background; an exception becomes a status line, never a crash."""
        async def guarded() -> Any:
            try:
                return await coro
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                self.set_status(str(exc), error=True)
            except Exception as exc:
                log.exception("background task %s failed", name)
                self.set_status(f"{name or 'action'} failed: {exc}", error=True)
            return None

        task = asyncio.get_event_loop().create_task(guarded(), name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` for every bus event (for plugin tabs)."""
        self._subscribers.append(callback)

    async def _events(self) -> None:
        backoff = 0.3
        while True:
            try:
                params = {"since": self.state.last_event_id}
                async for ev in self.client.sse("/api/events/stream", params, on_open=self._on_connected):
                    backoff = 0.3
                    self._on_sse(ev)
            except ApiError as exc:
                self.state.connected = False
                self.connection_error = ("token rejected (401)" if exc.unauthorized
                                         else "daemon unreachable" if exc.unreachable else f"error {exc.status}")
                if exc.unauthorized:
                    self.set_status(f"The daemon rejected the token (401: {exc.message}). Check --token / "
                                    "ARGUS_TOKEN, or the revoked device token.", error=True)
                elif exc.unreachable:
                    self.set_status(f"Daemon unreachable at {self.client.describe()}: {exc.message} — retrying",
                                    error=True)
                else:
                    self.set_status(f"event stream: {exc}", error=True)
                self.invalidate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0 if self.connection_error.startswith("token") else 5.0)

    def _on_connected(self) -> None:
        was_error = self.status_error and (self.connection_error != "")
        self.state.connected = True
        self.connection_error = ""
        if was_error:
            self.set_status(f"connected to {self.client.describe()}")
        if self.state.last_event_id is None or not self.snapshot_loaded.is_set():
            self.spawn(self._load_snapshot(), name="snapshot")
        self.invalidate()

    def _on_sse(self, ev: SseEvent) -> None:
        msg = ev.json()
        if ev.event == "resync" or (isinstance(msg, dict) and msg.get("type") == "resync"):
            if ev.id:
                self.state.last_event_id = ev.id
            self.spawn(self._load_snapshot(), name="resync")
            return
        if not isinstance(msg, dict):
            return
        if ev.id:
            self.state.last_event_id = ev.id
        msg.setdefault("type", ev.event)
        self.events_seen += 1
        if self._loading:
            self._buffered.append(msg)
        else:
            self._apply(msg)

    def _apply(self, msg: dict[str, Any]) -> None:
        try:
            needs = self.state.apply_event(msg)
        except Exception:
            log.exception("bad event %r", msg)
            return
        for part in needs:
            self.request_refresh(part)
        etype = str(msg.get("type"))
        data = as_dict(msg.get("data"))
        if self.mode == "agent":
            if etype == "task.deleted" and str(data.get("id")) == self.agent.task_id:
                self.set_status("the task you were viewing was deleted")
                self.show_list()
            else:
                self.agent.on_event(etype, data)
        if etype == "project.scan.progress":
            self.settings.on_scan_progress(data)
        if etype.startswith("update."):
            self.settings.on_update_event(etype, data)
        if etype.startswith("task.") and self.mode == "tabs" and self.current_tab().builtin in ("dag", "hera"):
            self.request_refresh("dag")
        if etype == "settings.updated" and data.get("section") == "hera":
            self.request_refresh("hera")
        self.hera.on_event(etype, data)
        for cb in list(self._subscribers):
            try:
                cb(msg)
            except Exception:
                log.exception("a TUI event subscriber failed")
        self._spin_wake.set()
        self.invalidate()

    async def _load_snapshot(self) -> None:
        self._loading = True
        try:
            await self.refresh("all")
        finally:
            buffered, self._buffered = self._buffered, []
            self._loading = False
            for msg in buffered:
                self._apply(msg)
            self.snapshot_loaded.set()
            self._spin_wake.set()
            self.invalidate()

    def request_refresh(self, part: str) -> None:
        """Re-fetch ``part`` soon (requests within 100 ms are merged)."""
        self._pending_refresh.add(part)
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = self.spawn(self._debounced_refresh(), name="refresh")

    async def _debounced_refresh(self) -> None:
        await asyncio.sleep(0.1)
        parts, self._pending_refresh = self._pending_refresh, set()
        await self.refresh(*parts)

    async def refresh(self, *parts: str) -> None:
        """Fetch the named parts of the snapshot (``all``, ``tasks``, ``task:<id>``, ``projects``...)."""
        want = set(parts)
        if "all" in want:
            want |= {"tasks", "projects", "backends", "settings", "status", "registry", "hera", "schedules"}
        st = self.state

        async def get(path: str, **params: Any) -> Any:
            try:
                return await self.client.get(path, **params)
            except ApiError as exc:
                if exc.status in (404, 405):
                    return None
                raise

        jobs: list[Awaitable[Any]] = []
        if "tasks" in want:
            async def tasks() -> None:
                body = as_dict(await get("/api/tasks", archived="all"))
                st.set_tasks(body.get("tasks"))
            jobs.append(tasks())
        for part in want:
            if part.startswith("task:") and "tasks" not in want:
                tid = part[5:]

                async def one(tid: str = tid) -> None:
                    body = as_dict(await get(task_path(tid)))
                    st.upsert_task(body.get("task") if isinstance(body.get("task"), dict) else body)
                jobs.append(one())
        if "projects" in want:
            async def projects() -> None:
                st.projects = [p for p in as_list(as_dict(await get("/api/projects/full")).get("projects"))
                               if isinstance(p, dict)]
            jobs.append(projects())
        if "backends" in want:
            async def backends() -> None:
                body = as_dict(await get("/api/backends"))
                st.backends = [b for b in as_list(body.get("backends")) if isinstance(b, dict)]
                st.backends_default = str(body.get("default") or "")
            jobs.append(backends())
        if "settings" in want:
            async def settings() -> None:
                st.settings = as_dict(await get("/api/settings"))
            jobs.append(settings())
        if "status" in want:
            async def status() -> None:
                st.status = as_dict(await get("/api/status"))
            jobs.append(status())
        if "registry" in want:
            async def registry() -> None:
                st.views = [v for v in as_list(as_dict(await get("/api/plugins/views")).get("views"))
                            if isinstance(v, dict)]
                st.plugin_sections = [s for s in as_list(as_dict(
                    await get("/api/plugins/settings/sections")).get("sections")) if isinstance(s, dict)]
            jobs.append(registry())
        if "schedules" in want:
            async def schedules() -> None:
                body = await get("/api/schedules")
                st.schedules = None if body is None else [
                    s for s in as_list(as_dict(body).get("schedules")) if isinstance(s, dict)]
            jobs.append(schedules())
        if "dag" in want:
            jobs.append(self.dag.load())
        if "hera" in want:
            jobs.append(self.hera.load())
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for r in results:
            if isinstance(r, ApiError):
                self.set_status(str(r), error=True)
            elif isinstance(r, Exception):
                log.error("refresh failed: %r", r)
        self.invalidate()

    async def _animate(self) -> None:
        """Repaint for the spinner only while a visible task spins; otherwise once a minute."""
        while True:
            style = str(self.state.setting("ui", "spinner_style", "progress"))
            spinning = (self.mode == "tabs" and self.current_tab().builtin == "tasks"
                        and self.tasklist.any_spinning())
            if spinning:
                self.invalidate()
                await asyncio.sleep(spinner_interval(style))
                continue
            self._spin_wake.clear()
            try:
                await asyncio.wait_for(self._spin_wake.wait(), 60.0)
            except TimeoutError:
                self.invalidate()  # elapsed times

    # ---- modal dialogs --------------------------------------------------------------------

    def open_modal(self, modal: Any) -> None:
        """Show a Form, Picker or Confirm over the body and focus it (it replaces an open one)."""
        self.modal = modal
        self.root.floats[:] = [Float(content=modal.container), self._completions]
        # Keys typed ahead (``n`` then the prompt at once) are handled before the next render:
        # the layout must know the dialog's parents now, or prompt_toolkit merges (and caches for
        # good) the key bindings of the focused field without the dialog's Enter/Esc/Tab/ctrl+q.
        self.app.layout.update_parents_relations()
        try:
            self.app.layout.focus(modal.first_focus())
        except ValueError:
            log.exception("could not focus the dialog")
        self.invalidate()

    def keep_focus_in_modal(self) -> None:
        """Pull the focus back into the open dialog if anything moved it out (a no-op otherwise)."""
        modal = self.modal
        if modal is None:
            return
        try:
            current = self.app.layout.current_window
            if not modal.contains(current):
                log.warning("focus had left the %s dialog; moved back", type(modal).__name__)
                self.app.layout.focus(modal.first_focus())
        except ValueError:
            log.exception("could not focus the dialog")

    def close_modal(self) -> None:
        """Remove the dialog and refocus the body."""
        self.modal = None
        self.root.floats[:] = [self._completions]
        self.app.layout.update_parents_relations()
        self.focus_body()
        self.invalidate()

    # ---- navigation -----------------------------------------------------------------------

    def open_task(self, task_id: str) -> None:
        """Open the agent view on ``task_id`` (restarting a finished session first)."""
        task = self.state.tasks.get(task_id)
        if task is None:
            self.set_status(f"no task {task_id}", error=True)
            return
        if task.get("running") is False and task.get("status") in ("in_progress", "in_review"):
            async def restart() -> None:
                try:
                    await self.client.post(task_path(task_id, "/restart"))
                    self.set_status(f"{task_name(task)}: session restarted")
                except ApiError as exc:
                    self.set_status(f"{task_name(task)} is not running and could not restart: {exc}", error=True)
            self.spawn(restart(), name="restart")
        self.mode = "agent"
        self.hera.sync_panes()
        self.agent.open(task_id)
        self.agent.set_focus("terminal")
        self.invalidate()

    def show_list(self) -> None:
        """Leave the agent view for the task list (the agent keeps running)."""
        self.agent.close()
        self.mode = "tabs"
        self.tab = "1"
        self.hera.sync_panes()
        if self.agent.task_id is None and self.tasklist.selected_id is None:
            self.tasklist.refresh()
        self.focus_body()
        self._spin_wake.set()
        self.invalidate()

    def open_plugin_view(self, view: dict[str, Any]) -> None:
        """Open a registered plugin view; it receives every key until released."""
        url = str(view.get("callback_url") or "")
        self.plugin_view = PluginView(self, view)
        self.mode = "plugin"
        self.plugin_view.open()
        self.focus_body()
        self.set_status(f"{self.plugin_view.title}: {url}")

    def close_plugin_view(self) -> None:
        """Back to Argus from a plugin view."""
        if self.plugin_view is not None:
            self.plugin_view.close()
        self.plugin_view = None
        self.mode = "tabs"
        self.focus_body()
        self.invalidate()

    def local_only(self, action: str, task_id: str = "") -> bool:
        """In remote mode, say which endpoint ``action`` needs and return True (refused)."""
        if not self.state.remote:
            return False
        what, endpoint = LOCAL_ONLY[action]
        self.set_status(f"remote mode: {what} needs the daemon host's worktrees — use "
                        f"{endpoint.replace('{id}', task_id or '{id}')} on {self.client.base_url}", error=True)
        return True

    # ---- local helpers --------------------------------------------------------------------

    def copy_to_clipboard(self, text: str) -> str:
        """Copy ``text`` with OSC 52 (works over SSH/tmux) and a local tool when one exists."""
        payload = base64.b64encode(text.encode()).decode()
        try:
            self.app.output.write_raw(f"\x1b]52;c;{payload}\x07")
            self.app.output.flush()
        except Exception:
            pass
        for cmd in (["pbcopy"], ["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"]):
            if shutil.which(cmd[0]) and (cmd[0] == "pbcopy" or os.environ.get("DISPLAY")
                                         or os.environ.get("WAYLAND_DISPLAY")):
                try:
                    subprocess.run(cmd, input=text.encode(), timeout=2, check=False,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    return cmd[0]
                except (OSError, subprocess.SubprocessError):
                    continue
        return "OSC 52"

    def open_url(self, url: str, *, copied: str = "") -> None:
        """Open ``url`` (or a local path) with this machine's opener, quietly; a failure is reported
        in the status line. ``copied``: how the URL was already copied (said in either case)."""
        opener = (shutil.which("open") if sys.platform == "darwin" else None) or shutil.which("xdg-open")
        also = f" (copied too, {copied})" if copied else ""

        def failed(why: str) -> None:
            if copied:
                self.set_status(f"could not open {url} ({why}); copied it instead ({copied})", error=True)
            else:
                self.set_status(f"could not open {url}: {why}", error=True)

        if opener is None:
            try:
                if webbrowser.open(url):
                    self.set_status(f"opened {url}{also}")
                else:
                    failed("no opener (xdg-open) and no browser found")
            except Exception as exc:
                failed(str(exc))
            return

        async def go() -> None:
            try:
                proc = await asyncio.create_subprocess_exec(
                    opener, url, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    start_new_session=True)
            except OSError as exc:
                failed(str(exc))
                return
            try:
                # Openers hand over and exit quickly; one still running after a while is showing it.
                _, err = await asyncio.wait_for(proc.communicate(), 5.0)
            except TimeoutError:
                self.set_status(f"opened {url}{also}")
                return
            if proc.returncode:
                lines = err.decode(errors="replace").strip().splitlines()
                failed(lines[-1][:160] if lines else f"{Path(opener).name} exited with {proc.returncode}")
            else:
                self.set_status(f"opened {url}{also}")
        self.spawn(go(), name="open")

    def run_gh(self, args: list[str], cwd: str | None, what: str) -> None:
        """Run ``gh`` (open repo / PR in the browser) in ``cwd``, reporting in the status line."""
        if self.state.remote:
            self.set_status(f"remote mode: {what} runs gh in the daemon host's checkout; not available here",
                            error=True)
            return
        gh = shutil.which("gh")
        if gh is None:
            self.set_status(f"{what}: gh (GitHub CLI) is not installed", error=True)
            return
        if not cwd or not Path(cwd).is_dir():
            self.set_status(f"{what}: no local checkout ({cwd or 'unknown path'})", error=True)
            return

        async def go() -> None:
            proc = await asyncio.create_subprocess_exec(gh, *args, cwd=cwd, stdin=subprocess.DEVNULL,
                                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode:
                self.set_status(f"{what}: {err.decode(errors='replace').strip()[:200]}", error=True)
            else:
                self.set_status(f"{what}: opened in the browser")
        self.spawn(go(), name=what)

    def run_in_worktree(self, argv: list[str], cwd: str) -> None:
        """Suspend the UI and run ``argv`` in ``cwd`` (an editor, a shell); the UI comes back after."""
        if self.state.remote:
            self.set_status("remote mode: the worktree is on the daemon's machine", error=True)
            return
        if not Path(cwd).is_dir():
            self.set_status(f"no local worktree at {cwd}", error=True)
            return

        def run() -> None:
            subprocess.run(argv, cwd=cwd, check=False)

        async def go() -> None:
            await run_in_terminal(run, in_executor=False)
            self.app.renderer.clear()
            self.invalidate()  # repaint now, not at the next key press
        self.spawn(go(), name=argv[0])

    # ---- task actions ---------------------------------------------------------------------

    def _selected(self) -> dict[str, Any] | None:
        task = self.tasklist.selected()
        if task is None:
            self.set_status("no task selected")
        return task

    def _act(self, coro: Awaitable[Any], done: str) -> None:
        async def go() -> None:
            await coro
            if done:
                self.set_status(done)
        self.spawn(go(), name="action")

    def new_task(self) -> None:
        """``n``: the New Task form (project, backend, model, prompt with /skill completion)."""
        if self.local_only("new"):
            return
        projects = self.state.project_names()
        if not projects:
            self.set_status("no project yet: add one in Settings (3 → Projects → n or i)", error=True)
            return
        sel = self.tasklist.selected()
        project = str(sel.get("project")) if sel and sel.get("project") in projects else projects[0]
        backends = [str(b.get("name")) for b in self.state.backends if b.get("name")]
        default_backend = self.state.default_backend() or (backends[0] if backends else "")
        form: Form | None = None
        skills = SkillCompleter(lambda: form.inputs["project"].text if form is not None else project)  # type: ignore[union-attr]

        async def load_skills() -> None:
            # Each project's list (its own .claude/skills included), so completion follows the field.
            for name in projects:
                try:
                    found = as_list(as_dict(await self.client.get("/api/skills", project=name)).get("skills"))
                except ApiError:
                    continue
                skills.by_project[name] = [s for s in found if isinstance(s, dict)]
        self.spawn(load_skills(), name="skills")

        async def submit(v: dict[str, Any]) -> None:
            if not v["prompt"].strip():
                raise ValueError("a prompt is required")
            if v["project"] not in projects:
                raise ValueError(f"unknown project {v['project']!r}")
            body = {k: v[k] for k in ("project", "prompt", "backend", "model", "name") if v.get(k)}
            created = as_dict(await self.client.post("/api/tasks", body))
            task = as_dict(created.get("task")) or created
            if not task.get("id"):
                raise ValueError("the daemon did not return a task")
            self.state.upsert_task(task)
            self.tasklist.selected_id = str(task["id"])
            self.set_status(f"created {task_name(task)}")
            asyncio.get_running_loop().call_soon(self.open_task, str(task["id"]))

        fields = [
            FormField("project", "Project", value=project, completer=ChoiceCompleter(lambda: projects),
                      help=" · ".join(projects)[:70]),
            FormField("backend", "Backend", "enum", default_backend, backends or [""]),
            FormField("model", "Model", help="empty: the backend's default"),
            FormField("prompt", "Prompt", "text", completer=skills, help="type / for skills"),
            FormField("name", "Name", help="optional: derived from the prompt"),
        ]
        form = Form("New task", fields, submit, on_close=self.close_modal, run=self.spawn)
        self.open_modal(form)
        self.app.layout.focus(form.inputs["prompt"].window)  # what focusing the TextArea focuses

    def fork_task(self) -> None:
        """``ctrl+f``: duplicate the selected task with its context."""
        task = self._selected()
        if task is None or self.local_only("fork", str(task.get("id"))):
            return

        async def submit(v: dict[str, Any]) -> None:
            body = {k: val for k, val in v.items() if val}
            created = as_dict(await self.client.post(task_path(str(task["id"]), "/fork"), body))
            new = as_dict(created.get("task")) or created
            if new.get("id"):
                self.state.upsert_task(new)
                self.tasklist.selected_id = str(new["id"])
            self.set_status(f"forked {task_name(task)} → {task_name(new)}")
        self.open_modal(Form(f"Fork {task_name(task)}", [
            FormField("name", "Name", help="optional"),
            FormField("prompt", "Prompt", "text", help="optional: added to the forked context")],
            submit, on_close=self.close_modal, run=self.spawn))

    def advance(self, step: int) -> None:
        """``s`` / ``S``: next / previous status."""
        task = self._selected()
        if task is None:
            return
        new = next_status(str(task.get("status")), step)
        if new == task.get("status"):
            self.set_status(f"{task_name(task)} is already {new}")
            return
        self._act(self.client.post(task_path(str(task["id"]), "/status"), {"status": new}),
                  f"{task_name(task)} → {new}")

    def cancel_limit_resume(self) -> None:
        """``L``: cancel the resume Argus planned for a task whose agent hit its usage limit."""
        task = self._selected()
        if task is None:
            return
        if task.get("status") != "limit" or not task.get("limit_resume_at"):
            self.set_status(f"{task_name(task)} has no planned limit resume")
            return
        self._act(self.client.delete(task_path(str(task["id"]), "/limit-resume")),
                  f"{task_name(task)}: limit resume cancelled")

    def toggle_archive(self) -> None:
        """``a``: archive / unarchive."""
        task = self._selected()
        if task is None:
            return
        verb = "unarchive" if task.get("archived") else "archive"
        self._act(self.client.post(task_path(str(task["id"]), f"/{verb}")), f"{task_name(task)}: {verb}d")

    def toggle_pin(self) -> None:
        """``P``: pin / unpin (★ section on top)."""
        task = self._selected()
        if task is None:
            return
        pinned = not task.get("pinned")

        async def go() -> None:
            try:
                await self.client.post(task_path(str(task["id"]), "/pin"), {"pinned": pinned})
            except ApiError as exc:
                if exc.status not in (404, 405):
                    raise
                await self.client.request("PATCH", task_path(str(task["id"])), json_body={"pinned": pinned})
            self.set_status(f"{task_name(task)}: {'pinned' if pinned else 'unpinned'}")
        self.spawn(go(), name="pin")

    def copy_prompt(self) -> None:
        """``c``: copy the task's prompt."""
        task = self._selected()
        if task is None:
            return
        how = self.copy_to_clipboard(str(task.get("prompt") or ""))
        self.set_status(f"prompt of {task_name(task)} copied ({how})")

    def rename_task(self) -> None:
        """``r``: rename (display name only)."""
        task = self._selected()
        if task is None:
            return

        async def submit(v: dict[str, Any]) -> None:
            if not v["name"]:
                raise ValueError("a name is required")
            await self.client.post(task_path(str(task["id"]), "/rename"), {"name": v["name"]})
            self.set_status(f"renamed to {v['name']}")
        self.open_modal(Form(f"Rename {task_name(task)}", [FormField("name", "Name", value=task_name(task),
                                                                     help="branch and worktree keep their names")],
                             submit, on_close=self.close_modal, run=self.spawn))

    def merge_task(self) -> None:
        """``m``: the task's branch against its base (ahead/behind, conflicts) and the merge actions."""
        task = self._selected()
        if task is None:
            return
        tid = str(task["id"])

        async def go() -> None:
            pre = as_dict(await self.client.get(task_path(tid, "/merge")))
            base = pre.get("base") or "base"
            conflicts = pre.get("conflicts") or []
            title = (f"{task_name(task)}: {pre.get('ahead', 0)} ahead, {pre.get('behind', 0)} behind {base}"
                     + (f" · conflicts: {', '.join(conflicts)}" if conflicts else "")
                     + "".join(f" · overlaps {o.get('name')}" for o in pre.get("overlaps") or []))
            items = [PickerItem(f"Rebase onto {base}", "rebase", detail="in the task's worktree"),
                     PickerItem(f"Merge into {base}", "merge",
                                detail="fast-forward" if pre.get("fast_forward") else "merge commit"),
                     PickerItem("Push and open a PR", "pr", detail="gh" if pre.get("gh") else "push only (no gh)")]

            def pick(action: str) -> None:
                async def run() -> None:
                    try:
                        out = as_dict(await self.client.post(task_path(tid, "/merge"), {"action": action}))
                    except ApiError as exc:
                        self.set_status(f"{action}: {exc}", error=True)
                        return
                    done = {"rebase": f"rebased onto {base}", "merge": f"merged into {base}",
                            "pr": f"pushed{': ' + str(out['pr_url']) if out.get('pr_url') else ''}"}[action]
                    self.set_status(f"{task_name(task)}: {done}")
                self.spawn(run(), name="merge")
            self.open_modal(Picker(title, items, pick, on_close=self.close_modal))
        self.spawn(go(), name="merge-preview")

    def delete_task(self) -> None:
        """``ctrl+d``: destroy the task after confirmation."""
        task = self._selected()
        if task is None:
            return

        def force() -> None:
            self._act(self.client.request("DELETE", task_path(str(task["id"])), params={"force": "1"}),
                      f"deleted {task_name(task)} and its unsaved work")

        def yes() -> None:
            async def go() -> None:
                try:
                    await self.client.delete(task_path(str(task["id"])))
                except ApiError as exc:
                    if exc.status != 409:
                        raise
                    self.open_modal(Confirm("Unsaved work", f"{exc.message}\n\nDestroy it anyway?", force,
                                            on_close=self.close_modal))
                    return
                self.set_status(f"deleted {task_name(task)}")
            self.spawn(go(), name="delete")
        self.open_modal(Confirm("Destroy task", f"Destroy {task_name(task)}? This kills the agent, removes the "
                                f"worktree and deletes branch {task.get('branch') or '?'}.", yes,
                                on_close=self.close_modal))

    def prune(self) -> None:
        """``ctrl+r``: delete every completed task."""
        if self.local_only("prune"):
            return
        n = sum(1 for t in self.state.tasks.values() if t.get("status") == "complete")
        if n == 0:
            self.set_status("no completed tasks to prune")
            return

        def yes() -> None:
            async def go() -> None:
                body = as_dict(await self.client.post("/api/maintenance/prune-completed"))
                deleted, skipped = body.get("deleted", n), as_list(body.get("skipped"))
                count = len(deleted) if isinstance(deleted, list) else deleted
                extra = f"; kept {len(skipped)} with unsaved work" if skipped else ""
                self.set_status(f"pruned {count} completed task(s){extra}")
            self.spawn(go(), name="prune")
        self.open_modal(Confirm("Prune completed", f"Delete all {n} completed task(s), their worktrees and "
                                "branches?", yes, on_close=self.close_modal))

    def open_repo(self) -> None:
        """``ctrl+o``: the project's GitHub page."""
        task = self._selected()
        if task is None:
            return
        proj = next((p for p in self.state.projects if p.get("name") == task.get("project")), {})
        self.run_gh(["repo", "view", "--web"], str(proj.get("path") or task.get("worktree_path") or ""),
                    "open repo")

    # ---- agent view actions ---------------------------------------------------------------

    def task_switcher(self) -> None:
        """``ctrl+k``: fuzzy switcher over every task, those needing input first."""
        items = []
        for t in self.state.tasks.values():
            if t.get("archived"):
                continue
            waiting = needs_you(t)
            items.append(PickerItem(task_name(t), str(t.get("id")), "class:status.needs" if waiting else "",
                                    f"{t.get('project') or ''} · {t.get('status') or ''}"
                                    + (" · needs you" if waiting else ""), pinned=waiting))
        items.sort(key=lambda i: (not i.pinned, i.label))
        self.open_modal(Picker("Switch task", items, self.open_task, on_close=self.close_modal,
                               empty_text="no task matches"))

    def link_picker(self) -> None:
        """``ctrl+l`` in the agent view: every URL the session printed."""
        tid = self.agent.task_id
        if not tid:
            return

        async def go() -> None:
            links = links_of(await self.client.get(task_path(tid, "/links")))
            if not links:
                self.set_status("no links in this session's output")
                return
            items = [PickerItem(link["url"], link["url"], detail=link["label"] if link["label"] != link["url"]
                                else "") for link in links]

            def pick(url: str) -> None:
                how = self.copy_to_clipboard(url)
                if self.state.remote:
                    self.set_status(f"copied {url} ({how})")
                else:
                    self.open_url(url, copied=how)
            self.open_modal(Picker("Links", items, pick, on_close=self.close_modal))
        self.spawn(go(), name="links")

    def staged_clipboard(self) -> None:
        """``ctrl+y``: copy the agent-staged text, or send ctrl+y to the agent when none is staged."""
        async def go() -> None:
            try:
                body = as_dict(await self.client.get("/api/clipboard"))
            except ApiError as exc:
                if exc.status == 404:
                    self.agent.send(b"\x19")
                    return
                raise
            text = body.get("text")
            if not isinstance(text, str) or not text:
                self.agent.send(b"\x19")
                return
            how = self.copy_to_clipboard(text)
            try:
                await self.client.post("/api/clipboard/consume")
            except ApiError:
                pass
            self.set_status(f"copied {len(text)} staged character(s) ({how})")
        self.spawn(go(), name="clipboard")

    def open_pr(self) -> None:
        """``ctrl+p``: the worktree branch's pull request."""
        task = self.agent.task
        self.run_gh(["pr", "view", "--web"], str(task.get("worktree_path") or ""), "open PR")

    def agent_nav(self, event: KeyPressEvent) -> None:
        """Alt/Cmd+←/→: switch panels (no-op when zoomed); Alt/Cmd+↑/↓: previous/next task."""
        press = event.key_sequence[0]
        way = navkeys.direction(press)
        if way is None:  # a real Shift+F9..F12: the agent's
            if self.agent.focus == "terminal":
                self.agent.forward(event.key_sequence)
            return
        if way in ("left", "right"):
            target = navkeys.next_panel(self.agent.focus, -1 if way == "left" else 1, self.agent.zoomed)
            if target is None:
                self.set_status("side panels are hidden: ctrl+z shows them")
            else:
                self.agent.set_focus(target)
            return
        ids = [r.task_id for r in build_rows(self.state) if r.kind == "task" and r.task_id]
        live = [i for i in ids if not self.state.tasks.get(i, {}).get("archived")] or ids
        target_id = navkeys.neighbour(live, self.agent.task_id, -1 if way == "up" else 1)
        if target_id is None:
            self.set_status("no other task")
            return
        self.tasklist.selected_id = target_id
        self.open_task(target_id)

    def agent_back(self) -> None:
        """``ctrl+q`` in the agent view: diff → files panel → task list."""
        if self.agent.back():
            self.show_list()

    def pane_open_editor(self) -> None:
        """``e`` in a pane: the selected file in ``$EDITOR``."""
        path = self.agent.selected_path()
        wt = str(self.agent.task.get("worktree_path") or "")
        if not path:
            self.set_status("no file selected")
            return
        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
        self.run_in_worktree([*editor.split(), path], wt)

    def pane_terminal(self) -> None:
        """``t`` in a pane: a shell in the worktree (a tmux window when inside tmux)."""
        wt = str(self.agent.task.get("worktree_path") or "")
        if os.environ.get("TMUX") and shutil.which("tmux") and not self.state.remote and Path(wt).is_dir():
            subprocess.run(["tmux", "new-window", "-c", wt], check=False)
            self.set_status(f"opened a tmux window in {wt}")
            return
        self.run_in_worktree([os.environ.get("SHELL") or "/bin/sh"], wt)

    def pane_open_default(self, reveal: bool = False) -> None:
        """``o`` in a pane: the selected file with the default app; ``f`` (``reveal``): its folder."""
        path = self.agent.selected_path()
        wt = str(self.agent.task.get("worktree_path") or "")
        if not path:
            self.set_status("no file selected")
            return
        if self.state.remote:
            self.set_status("remote mode: the worktree is on the daemon's machine", error=True)
            return
        full = Path(wt) / path
        if not full.exists():
            self.set_status(f"{path} is not in the worktree (deleted?)", error=True)
            return
        if reveal and sys.platform == "darwin" and shutil.which("open"):
            self.spawn(asyncio.create_subprocess_exec("open", "-R", str(full), stdin=subprocess.DEVNULL,
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                       name="reveal")
            self.set_status(f"revealed {path}")
            return
        self.open_url(str(full.parent if reveal and not full.is_dir() else full))

    # ---- keys -----------------------------------------------------------------------------

    def _key_bindings(self) -> KeyBindings:
        kb = KeyBindings()
        no_modal = Condition(lambda: self.modal is None)
        on_hera_tab = Condition(lambda: self.mode == "tabs" and self.current_tab().builtin == "hera"
                                and bool(self.hera.enabled)) & no_modal & ~buffer_has_focus
        hera_pane = on_hera_tab & Condition(lambda: self.hera.focus != "rail")
        hera_term = on_hera_tab & Condition(lambda: self.hera.pane_for_focus() is not None)
        on_hera_rail = on_hera_tab & Condition(lambda: self.hera.focus == "rail")
        in_tabs = Condition(lambda: self.mode == "tabs") & no_modal & ~buffer_has_focus & ~hera_term
        on_tasks = in_tabs & Condition(lambda: self.current_tab().builtin == "tasks")
        on_settings = in_tabs & Condition(lambda: self.current_tab().builtin == "settings")
        on_dag = in_tabs & Condition(self.dag_keys_active)
        in_agent = Condition(lambda: self.mode == "agent") & no_modal
        on_term = in_agent & Condition(lambda: self.agent.focus == "terminal")
        on_list_pane = in_agent & Condition(lambda: self.agent.focus in ("changes", "files"))
        on_diff = in_agent & Condition(lambda: self.agent.focus == "diff")
        on_pane = on_list_pane | on_diff

        def bind(*keys: str, filter: Any, eager: bool = False) -> Callable[[Callable[[], Any]], Any]:
            def deco(fn: Callable[[], Any]) -> Any:
                def handler(event: KeyPressEvent) -> None:
                    try:
                        fn()
                    except Exception as exc:  # a key must never take the UI down
                        log.exception("key %s failed", keys)
                        self.set_status(f"{keys[0]}: {exc}", error=True)
                kb.add(*keys, filter=filter, eager=eager)(handler)
                return fn
            return deco

        for tab in self.tabs:
            def show(k: str = tab.key) -> None:
                self.show_tab(k)
            bind(tab.key, filter=in_tabs)(show)
        bind("q", filter=in_tabs)(lambda: self.app.exit(result=0))
        bind("c-l", filter=in_tabs)(lambda: self.app.renderer.clear())

        @kb.add(Keys.Any, filter=in_tabs)
        @kb.add("escape", Keys.Any, filter=in_tabs)
        def _view_hotkey(event: KeyPressEvent) -> None:
            for view in self.state.views:
                hk = str(view.get("hotkey") or "")
                if hk and _key_matches(hk, event):
                    self.open_plugin_view(view)
                    return

        # Tasks tab
        bind("j", filter=on_tasks)(lambda: self.tasklist.move(1))
        bind("down", filter=on_tasks)(lambda: self.tasklist.move(1))
        bind("k", filter=on_tasks)(lambda: self.tasklist.move(-1))
        bind("up", filter=on_tasks)(lambda: self.tasklist.move(-1))
        bind("g", filter=on_tasks)(lambda: self.tasklist.move(-10**6))
        bind("G", filter=on_tasks)(lambda: self.tasklist.move(10**6))
        bind("n", filter=on_tasks)(self.new_task)
        @bind("enter", filter=on_tasks)
        def _open() -> None:
            if self.tasklist.selected_id is None:
                self.set_status("no task selected")
            else:
                self.open_task(self.tasklist.selected_id)

        bind("c-f", filter=on_tasks)(self.fork_task)
        bind("s", filter=on_tasks)(lambda: self.advance(1))
        bind("S", filter=on_tasks)(lambda: self.advance(-1))
        bind("a", filter=on_tasks)(self.toggle_archive)
        bind("P", filter=on_tasks)(self.toggle_pin)
        bind("L", filter=on_tasks)(self.cancel_limit_resume)
        bind("c", filter=on_tasks)(self.copy_prompt)
        bind("r", filter=on_tasks)(self.rename_task)
        bind("m", filter=on_tasks)(self.merge_task)
        bind("c-d", filter=on_tasks)(self.delete_task)
        bind("c-o", filter=on_tasks)(self.open_repo)
        bind("c-r", filter=on_tasks)(self.prune)

        @bind("H", filter=on_tasks)
        def _hera() -> None:
            self.state.show_hera_workers = not self.state.show_hera_workers
            self.set_status("Hera workers " + ("shown" if self.state.show_hera_workers else "hidden"))

        @bind("A", filter=on_tasks)
        def _archived() -> None:
            self.state.show_archived = not self.state.show_archived
            self.set_status("archived tasks " + ("shown" if self.state.show_archived else "hidden"))

        # Settings tab
        bind("j", filter=on_settings)(lambda: self.settings.move(1))
        bind("down", filter=on_settings)(lambda: self.settings.move(1))
        bind("k", filter=on_settings)(lambda: self.settings.move(-1))
        bind("up", filter=on_settings)(lambda: self.settings.move(-1))
        for key in ("n", "e", "d", "a", "m", "i", "t", "r"):
            def settings_key(k: str = key) -> None:
                self.settings.key(k)
            bind(key, filter=on_settings)(settings_key)
        bind("enter", filter=on_settings)(lambda: self.settings.key("enter"))
        bind("right", filter=on_settings)(lambda: self.settings.key("right"))
        bind("l", filter=on_settings)(lambda: self.settings.key("right"))
        bind("left", filter=on_settings)(lambda: self.settings.key("left"))
        bind("h", filter=on_settings)(lambda: self.settings.key("left"))

        # DAG tab
        bind("j", filter=on_dag)(lambda: self.dag.move(1))
        bind("down", filter=on_dag)(lambda: self.dag.move(1))
        bind("k", filter=on_dag)(lambda: self.dag.move(-1))
        bind("up", filter=on_dag)(lambda: self.dag.move(-1))

        def open_dag_selection() -> None:
            if self.dag.selected_id():
                self.open_task(self.dag.selected_id() or "")
        bind("enter", filter=on_dag)(open_dag_selection)
        bind("left", filter=on_dag)(lambda: self.dag.jump(-1))
        bind("right", filter=on_dag)(lambda: self.dag.jump(1))
        bind("l", filter=on_dag)(self.dag.link)
        bind("L", filter=on_dag)(self.dag.unlink)
        bind("h", filter=on_dag)(self.dag.halt)

        # Hera tab: the rail's keys, focus cycling, and raw passthrough into a focused agent pane.
        bind("j", filter=on_hera_rail)(lambda: self.hera.move(1))
        bind("down", filter=on_hera_rail)(lambda: self.hera.move(1))
        bind("k", filter=on_hera_rail)(lambda: self.hera.move(-1))
        bind("up", filter=on_hera_rail)(lambda: self.hera.move(-1))
        bind("space", filter=on_hera_rail)(self.hera.toggle)
        bind("enter", filter=on_hera_rail)(self.hera.enter)
        bind("w", filter=on_hera_rail)(self.hera.spawn_worker)
        bind("r", filter=on_hera_rail)(self.hera.rename)
        bind("a", filter=on_hera_rail)(lambda: self.hera.flag("archived"))
        bind("P", filter=on_hera_rail)(lambda: self.hera.flag("pinned"))
        bind("s", filter=on_hera_rail)(lambda: self.hera.step_status(1))
        bind("S", filter=on_hera_rail)(lambda: self.hera.step_status(-1))
        bind("c-d", filter=on_hera_rail)(self.hera.delete)
        bind("g", filter=on_hera_rail | (hera_pane & ~hera_term))(self.hera.toggle_dag)
        bind("tab", filter=on_hera_tab, eager=True)(lambda: self.hera.cycle_focus(1))
        bind("s-tab", filter=on_hera_tab, eager=True)(lambda: self.hera.cycle_focus(-1))
        bind("c-q", filter=hera_pane, eager=True)(self.hera.to_rail)

        @kb.add(Keys.Any, filter=hera_term)
        @kb.add(Keys.BracketedPaste, filter=hera_term)
        def _hera_keys(event: KeyPressEvent) -> None:
            pane = self.hera.pane_for_focus()
            data = b"".join(key_bytes(k) for k in event.key_sequence)
            if pane is not None and data:
                pane.send(data)

        # Agent view, terminal focused: eager so they win over the raw passthrough.
        bind("c-q", filter=on_term, eager=True)(self.agent_back)
        bind("c-z", filter=in_agent, eager=True)(self.agent.toggle_panes)
        for nav_key in navkeys.NAV_KEYS.values():
            kb.add(nav_key, filter=in_agent, eager=True)(self.agent_nav)
        bind("c-k", filter=in_agent, eager=True)(self.task_switcher)
        bind("c-l", filter=on_term, eager=True)(self.link_picker)
        bind("c-y", filter=on_term, eager=True)(self.staged_clipboard)
        bind("c-p", filter=on_term, eager=True)(self.open_pr)
        bind("c-r", filter=on_term, eager=True)(lambda: claude_picker.open_picker(self))
        bind("s-up", filter=on_term, eager=True)(lambda: self.agent.scroll(1))
        bind("s-down", filter=on_term, eager=True)(lambda: self.agent.scroll(-1))

        def scroll_page(direction: int) -> None:
            for _ in range(3):
                self.agent.scroll(direction)
        bind("s-pageup", filter=on_term, eager=True)(lambda: scroll_page(1))
        bind("s-pagedown", filter=on_term, eager=True)(lambda: scroll_page(-1))

        # Agent view, a side pane or the diff focused.
        bind("escape", filter=on_pane, eager=True)(self.agent.focus_terminal)
        bind("c-q", filter=on_list_pane)(self.show_list)
        bind("c-q", filter=on_diff)(self.agent_back)
        bind("j", filter=on_list_pane)(lambda: self._pane().move(1))
        bind("down", filter=on_list_pane)(lambda: self._pane().move(1))
        bind("k", filter=on_list_pane)(lambda: self._pane().move(-1))
        bind("up", filter=on_list_pane)(lambda: self._pane().move(-1))
        bind("enter", filter=on_list_pane)(self.agent.pane_enter)
        bind("tab", filter=on_list_pane)(
            lambda: self.agent.set_focus("files" if self.agent.focus == "changes" else "changes"))
        bind("R", filter=on_list_pane)(self.agent.refresh_panes)
        bind("j", filter=on_diff)(lambda: self.agent.diff.scroll_by(1))
        bind("down", filter=on_diff)(lambda: self.agent.diff.scroll_by(1))
        bind("k", filter=on_diff)(lambda: self.agent.diff.scroll_by(-1))
        bind("up", filter=on_diff)(lambda: self.agent.diff.scroll_by(-1))
        bind("pagedown", filter=on_diff)(lambda: self.agent.diff.scroll_by(20))
        bind("space", filter=on_diff)(lambda: self.agent.diff.scroll_by(20))
        bind("pageup", filter=on_diff)(lambda: self.agent.diff.scroll_by(-20))
        bind("c", filter=on_diff)(lambda: review.comment(self))
        bind("v", filter=on_diff)(self.agent.diff.toggle_mark)
        bind("R", filter=on_diff)(lambda: review.send(self))

        @bind("s", filter=on_pane)
        def _split() -> None:
            self.agent.diff.split = not self.agent.diff.split
            if self.agent.focus != "diff":
                self.agent.pane_enter()

        bind("e", filter=on_pane)(self.pane_open_editor)
        bind("t", filter=on_pane)(self.pane_terminal)
        bind("o", filter=on_pane)(self.pane_open_default)
        bind("f", filter=on_pane)(lambda: self.pane_open_default(reveal=True))
        return kb

    def _pane(self) -> Any:
        return self.agent.files if self.agent.focus == "files" else self.agent.changes

    # ---- running --------------------------------------------------------------------------

    def _exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        log.error("unhandled: %s", context.get("message"), exc_info=exc)
        if isinstance(exc, asyncio.InvalidStateError) or not self.app.is_running:
            return  # a worker result landing on a cancelled future during shutdown
        self.set_status(f"internal error: {exc or context.get('message')} (details in ux.log)", error=True)

    async def run(self) -> int:
        """Run until the user quits; returns the exit code. Background work stops on exit."""
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        loop.set_exception_handler(self._exception_handler)
        self.spawn(self._events(), name="events")
        self.spawn(self._animate(), name="spinner")
        try:
            result = await self.app.run_async(set_exception_handler=False)
        finally:
            self.agent.close()
            if self.plugin_view is not None:
                self.plugin_view.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.client.aclose()
            self.executor.shutdown(wait=False, cancel_futures=True)
            loop.set_exception_handler(previous)
        return int(result or 0)


# ---- process entry ----------------------------------------------------------------------------

def daemon_answers(home: Path, timeout: float = 2.0) -> bool:
    """True when a daemon answers HTTP on ``home``'s unix socket (any status, even 401)."""
    return LocalDaemon(home).answers(timeout)


def ensure_daemon(home: Path, timeout: float = 30.0) -> str:
    """Start the local daemon (``argus daemon start``) unless one answers; "" or an error message."""
    if daemon_answers(home):
        return ""
    print("argus: starting the daemon…", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "start"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not start the daemon: {exc}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon_answers(home):
            return ""
        time.sleep(0.1)
    detail = (proc.stderr or proc.stdout or "").strip().splitlines()
    return "the daemon did not come up" + (f": {detail[-1]}" if detail else "")


def load_plugin_tabs() -> list[dict[str, Any]]:
    """Tabs plugins contribute through ``argus_tui_tabs`` (loaded with the kernel's plugin manager)."""
    try:
        from argus.kernel.api import client_plugins

        pm, _ = client_plugins()
        tabs: list[dict[str, Any]] = []
        for answer in pm.hook.argus_tui_tabs():
            for spec in answer or ():
                if isinstance(spec, dict) and spec.get("key") and callable(spec.get("factory")):
                    tabs.append(spec)
        return tabs
    except Exception:
        log.exception("plugin tabs could not be loaded")
        return []


def _setup_logging(home: Path) -> None:
    """Log to ``$ARGUS_HOME/ux.log`` before any plugin import can point logging at the screen."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.FileHandler(home / "ux.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run_tui(remote: str | None, token: str | None) -> int:
    """Open the TUI (``argus`` / ``argus --remote URL --token T``); returns the process exit code."""
    from argus.kernel.api import Paths

    home = Paths.default().home
    _setup_logging(home)
    if remote:
        token = token or os.environ.get("ARGUS_TOKEN") or ""
        if not token:
            print("argus: --remote needs --token (or ARGUS_TOKEN)", file=sys.stderr)
            return 2
        if "://" not in remote:
            remote = "http://" + remote
        client = ArgusClient.remote(remote, token)
    else:
        problem = ensure_daemon(home)
        if problem:
            log.error(problem)
        client = ArgusClient.local(home)
    tui = ArgusTui(client, plugin_tabs=load_plugin_tabs())
    if not remote and not client.token:
        tui.set_status(f"no master token at {home / 'api-token'}", error=True)
    try:
        return asyncio.run(tui.run())
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("the TUI crashed")
        sys.stdout.write("\x1b[?1049l\x1b[?25h\x1b[0m\n")
        sys.stdout.flush()
        print(f"argus: the TUI stopped on an internal error; see {home / 'ux.log'}", file=sys.stderr)
        return 1
