"""The Argus terminal UI: a prompt_toolkit application that talks to the daemon only over REST/SSE.

:class:`ArgusTui` puts the parts together: the state and its sync with the daemon (``sync``), the
screen (``layout``), the commands and their keys (``commands``, ``keymap``), the views (agent view,
task list, DAG, Hera, Settings, plugin views) and the actions behind the keys (``taskactions``,
``agentactions``, ``desktop``). The screen is a tab bar (``1`` Tasks, ``2`` Hera or the DAG, ``3``
Settings, plus tabs plugins return from ``argus_tui_tabs``), a body, and a status line. ``run_tui``
(in ``launch``) is what ``argus`` runs.

Views and plugin tab factories receive the app as a :class:`~argus.plugins.tui.host.UiHost`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import DynamicKeyBindings, KeyBindings, KeyPressEvent
from prompt_toolkit.layout import (
    AnyContainer,
    BufferControl,
    ConditionalContainer,
    DynamicContainer,
    Float,
    FormattedTextControl,
    HSplit,
    Layout,
    VSplit,
    Window,
)
from prompt_toolkit.output import Output

from . import keybindings, layout, navkeys
from .agentactions import AgentActions
from .agentview import AgentView
from .client import ApiError, ArgusClient, task_path
from .commands import Command, CommandRegistry, key_matches
from .dagview import DagView
from .desktop import Desktop
from .helpview import HelpOverlay
from .heraview import HeraView
from .host import Modal
from .keymap import register_builtin, register_plugin_commands
from .layout import INFO_TTL, Tab
from .pluginview import PluginView
from .settings_tab import SettingsTab
from .state import AppState, as_dict, task_name
from .style import STYLE
from .sync import Sync
from .taskactions import TaskActions
from .tasklist import TaskList, spinner_interval

log = logging.getLogger("argus.tui")

__all__ = ["INFO_TTL", "ArgusTui", "Tab"]


class ArgusTui:
    """The TUI application: owns the views, the command registry and the prompt_toolkit Application.

    Implements :class:`~argus.plugins.tui.host.UiHost` for the views.
    """

    def __init__(self, client: ArgusClient, *, input: Input | None = None, output: Output | None = None,
                 plugin_tabs: list[dict[str, Any]] | None = None,
                 plugin_commands: list[dict[str, Any]] | None = None) -> None:
        navkeys.install()  # Alt/Cmd+arrows as keys of their own (before any input is parsed)
        self.client = client
        self.state = AppState(remote=client.is_remote)
        # The only thread the TUI starts: pyte feeding and disk scans, via run_in_executor.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argus-tui-pyte")
        self.mode = "tabs"  # tabs | agent | plugin
        self.modal: Modal | None = None
        self.status_text = ""
        self.status_error = False
        self.status_at = 0.0
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._spin_wake = asyncio.Event()

        self.tasklist = TaskList(self.state)
        self.settings = SettingsTab(self)
        self.agent = AgentView(self)
        self.dag = DagView(self)
        self.plugin_view: PluginView | None = None
        self.sync = Sync(self, on_event=self._on_event, on_loaded=self._spin_wake.set,
                         status_error=lambda: self.status_error,
                         loaders={"dag": self.dag.load, "hera": lambda: self.hera.load(),
                                  "ops": self.settings.extras.load})  # Settings: auto-start, usage

        self.tasks_window = Window(FormattedTextControl(lambda: self.tasklist.fragments(self.width()),
                                                        focusable=True, show_cursor=False), wrap_lines=False)
        self.settings_window = Window(FormattedTextControl(lambda: self.settings.fragments(self.width()),
                                                           focusable=True, show_cursor=False))
        self.dag_window = Window(FormattedTextControl(lambda: self.dag.fragments(self.width()),
                                                      focusable=True, show_cursor=False))
        # The ``/`` filter: a line above the list while it is typed or kept.
        self.filtering = False
        self.filter_buffer = Buffer(multiline=False, on_text_changed=self._filter_changed)
        filter_kb = KeyBindings()
        filter_kb.add("escape", eager=True)(lambda event: self.end_filter(keep=False))
        filter_kb.add("c-q", eager=True)(lambda event: self.end_filter(keep=False))
        filter_kb.add("enter")(lambda event: self.end_filter(keep=True))
        self.filter_window = Window(BufferControl(self.filter_buffer, key_bindings=filter_kb), height=1)
        filter_line = ConditionalContainer(
            VSplit([Window(FormattedTextControl([("class:task.header", " filter /")]), width=9), self.filter_window]),
            filter=Condition(lambda: self.filtering or bool(self.tasklist.query)))
        tasks_body = HSplit([filter_line, self.tasks_window])
        self.hera = HeraView(self, self.dag, self.dag_window)
        # Tab 2: native Hera, or the DAG when hera is disabled (GET /api/hera says so; live).
        hera_or_dag = DynamicContainer(lambda: self.hera.container if self.hera.enabled else self.dag_window)
        self.tabs = layout.build_tabs(self, plugin_tabs or [], self.tasks_window, self.settings_window, hera_or_dag,
                                      tasks_body)
        self.tab = self.tabs[0].key
        self.root, self._completions = layout.build_root(lambda: layout.tabbar(self), self._body,
                                                         lambda: layout.statusline(self))
        self.app: Application[int] = Application(
            layout=Layout(self.root, focused_element=self.tasks_window), style=STYLE, full_screen=True,
            mouse_support=False, input=input, output=output, min_redraw_interval=0.02, max_render_postpone_time=0.05,
            refresh_interval=None, erase_when_done=True)
        self.app.ttimeoutlen = 0.05
        self.app.timeoutlen = 0.5
        self.desktop = Desktop(self, self.app)
        self.task_actions = TaskActions(self)
        self.agent_actions = AgentActions(self)

        self._plugin_commands = plugin_commands or []
        self.applied_keys: dict[str, tuple[str, ...]] = {}  # [keybindings] in effect ({command: keys})
        self.keybindings_problem = ""
        self.commands = self._build_commands({})
        self._key_bindings = self.commands.bindings(self.current_view, self._command_failed)
        self.app.key_bindings = DynamicKeyBindings(lambda: self._key_bindings)
        self.agent.header_hint = lambda: self.commands.hint_of(
            ["agent.back", "agent.panes", "agent.switcher", "agent.links"])
        if self.command_problems:
            self.set_status(self.command_problems[0], error=True)
        # While a dialog is open the focus never leaves it: checked before every key press.
        self.app.key_processor.before_key_press += lambda _: self.keep_focus_in_modal()

    def _build_commands(self, keys: dict[str, tuple[str, ...]]) -> CommandRegistry:
        """A registry of the built-in commands (``keys`` remapping some) and the plugins' commands."""
        reg = CommandRegistry()
        register_builtin(reg, self, keys)
        tab_views = [v for v in reg.views if v.startswith("tab:")] + [
            "tasks", "settings", "dag", "hera.rail", "hera.roster", "hera.dag"]
        self.command_problems = register_plugin_commands(reg, self._plugin_commands, self, tab_views)
        return reg

    def settings_loaded(self) -> None:
        """Apply ``[keybindings]`` from the settings just loaded; a value that cannot apply (not a key,
        a key taken twice) is refused in the status line and the defaults stay."""
        values = as_dict(as_dict(self.state.settings.get("sections")).get(keybindings.SECTION)
                         or self.state.settings.get(keybindings.SECTION))
        found = keybindings.problems(values)
        wanted = {} if found else keybindings.overrides(values)
        reg: CommandRegistry | None = None
        if not found and wanted != self.applied_keys:
            try:
                reg = self._build_commands(wanted)
            except ValueError as exc:
                found, wanted = [str(exc)], {}
        problem = f"[keybindings] refused, the default keys stay: {'; '.join(found)}" if found else ""
        if problem and problem != self.keybindings_problem:
            self.set_status(problem, error=True)
        self.keybindings_problem = problem
        if wanted == self.applied_keys:
            return
        if reg is None:
            reg = self._build_commands(wanted)
        self.commands, self.applied_keys = reg, wanted
        self.tasklist.new_key = reg.commands["task.new"].labels()[0]
        self._key_bindings = reg.bindings(self.current_view, self._command_failed)
        self.invalidate()

    # ---- where the user is ----------------------------------------------------------------

    def current_tab(self) -> Tab:
        """The tab shown in tabs mode."""
        return next((t for t in self.tabs if t.key == self.tab), self.tabs[0])

    def current_view(self) -> str:
        """The view the keys apply to (see :mod:`~argus.plugins.tui.commands`)."""
        if self.modal is not None:
            return "modal"
        if self.mode == "agent":
            return {"terminal": "agent.terminal", "diff": "agent.diff"}.get(self.agent.focus, "agent.lists")
        if self.mode == "plugin":
            return "plugin"
        tab = self.current_tab()
        if tab.builtin == "hera":
            if not self.hera.enabled:
                return "dag"
            if self.hera.focus == "rail":
                return "hera.rail"
            if self.hera.pane_for_focus() is not None:
                return "hera.agent"
            return "hera.dag" if self.hera.details_mode == "dag" else "hera.roster"
        return tab.builtin or f"tab:{tab.key}"

    def showing(self, builtin: str) -> bool:
        """True when the built-in tab ``builtin`` is on screen."""
        return self.mode == "tabs" and self.current_tab().builtin == builtin

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
            self.request_refresh("ops")
        self.focus_body()
        self.invalidate()

    def _body(self) -> AnyContainer:
        if self.mode == "agent":
            return self.agent.container
        if self.mode == "plugin" and self.plugin_view is not None:
            return self.plugin_view.container
        return self.current_tab().container

    def focus(self, target: AnyContainer) -> bool:
        """Give ``target`` the focus; False when it is not on screen."""
        try:
            self.app.layout.focus(target)
            return True
        except ValueError:
            return False

    def focus_body(self) -> None:
        """Give focus back to whatever the body shows (or to the open dialog, which keeps it)."""
        if self.modal is not None:
            self.keep_focus_in_modal()
            return
        if self.mode == "agent":
            self.agent.set_focus(self.agent.focus)
        elif self.mode == "plugin" and self.plugin_view is not None:
            self.focus(self.plugin_view.window)
        elif self.current_tab().builtin == "hera":
            if self.hera.enabled:
                self.hera.apply_focus()
            else:
                self.focus(self.dag_window)
        else:
            target = self.current_tab().focus
            if target is not None:
                self.focus(target)

    def width(self) -> int:
        """The terminal's width in columns."""
        try:
            return self.app.output.get_size().columns
        except Exception:
            return 80

    def selected_task(self) -> dict[str, Any] | None:
        """The task under the task list's cursor."""
        return self.tasklist.selected()

    # ---- status line and repaint ----------------------------------------------------------

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

    def _command_failed(self, cmd: Command, exc: Exception) -> None:
        self.set_status(f"{cmd.labels()[0]}: {exc}", error=True)

    # ---- background work and the daemon ---------------------------------------------------

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

    @property
    def connection_error(self) -> str:
        """Why the event stream is down ("" while connected)."""
        return self.sync.connection_error

    @property
    def snapshot_loaded(self) -> asyncio.Event:
        """Set once the first snapshot is loaded."""
        return self.sync.snapshot_loaded

    @property
    def events_seen(self) -> int:
        """How many bus events arrived."""
        return self.sync.events_seen

    def request_refresh(self, part: str) -> None:
        """Re-fetch ``part`` soon (requests within 100 ms are merged)."""
        self.sync.request_refresh(part)

    async def refresh(self, *parts: str) -> None:
        """Fetch the named parts of the snapshot (``all``, ``tasks``, ``task:<id>``, ``projects``...)."""
        await self.sync.refresh(*parts)

    def _on_event(self, msg: dict[str, Any]) -> None:
        """An applied bus event: tell the views that follow it."""
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

    async def _animate(self) -> None:
        """Repaint for the spinner only while a visible task spins; otherwise once a minute."""
        while True:
            style = str(self.state.setting("ui", "spinner_style", "progress"))
            spinning = self.showing("tasks") and self.tasklist.any_spinning()
            if spinning:
                self.invalidate()
                await asyncio.sleep(spinner_interval(style))
                continue
            self._spin_wake.clear()
            try:
                await asyncio.wait_for(self._spin_wake.wait(), 60.0)
            except TimeoutError:
                self.invalidate()  # elapsed times

    # ---- dialogs --------------------------------------------------------------------------

    @property
    def modal_open(self) -> bool:
        """True while a dialog is open."""
        return self.modal is not None

    def open_modal(self, modal: Modal) -> None:
        """Show a Form, Picker, Confirm or the help over the body and focus it (it replaces an open one)."""
        self.modal = modal
        self.root.floats[:] = [Float(content=modal.container), self._completions]
        # Keys typed ahead (``n`` then the prompt at once) are handled before the next render:
        # the layout must know the dialog's parents now, or prompt_toolkit merges (and caches for
        # good) the key bindings of the focused field without the dialog's Enter/Esc/Tab/ctrl+q.
        self.app.layout.update_parents_relations()
        if not self.focus(modal.first_focus()):
            log.error("could not focus the dialog")
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

    def show_help(self) -> None:
        """``?``: every key of the registry, the current view's first."""
        def max_height() -> int:
            try:
                return self.app.output.get_size().rows - 4
            except Exception:
                return 20
        self.open_modal(HelpOverlay(self.commands, self.current_view(), self.close_modal, max_height))

    # ---- the task list's filter ----------------------------------------------------------

    def start_filter(self) -> None:
        """``/``: type to filter the task list by name, project or branch (Esc clears, Enter keeps)."""
        self.filtering = True
        self.app.layout.update_parents_relations()
        self.focus(self.filter_window)
        self.invalidate()

    def end_filter(self, keep: bool) -> None:
        """Leave the filter line: Enter keeps the filter, Esc clears it."""
        self.filtering = False
        if not keep:
            self.filter_buffer.reset()
            self.tasklist.query = ""
        self.focus(self.tasks_window)
        self.invalidate()

    def _filter_changed(self, buffer: Buffer) -> None:
        self.tasklist.query = buffer.text
        self.tasklist.refresh()
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

    def open_dag_selection(self) -> None:
        """Enter in the DAG: the agent view of the selected node."""
        if self.dag.selected_id():
            self.open_task(self.dag.selected_id() or "")

    def open_plugin_view(self, view: dict[str, Any]) -> None:
        """Open a registered plugin view; it receives every key until released."""
        url = str(view.get("callback_url") or "")
        self.plugin_view = PluginView(self, view)
        self.mode = "plugin"
        self.plugin_view.open()
        self.focus_body()
        self.set_status(f"{self.plugin_view.title}: {url}")

    def open_view_by_hotkey(self, event: KeyPressEvent) -> None:
        """Any key in a tab: open the plugin view registered with that hotkey, if one is."""
        for view in self.state.views:
            hk = str(view.get("hotkey") or "")
            if hk and key_matches(hk, event):
                self.open_plugin_view(view)
                return

    def close_plugin_view(self) -> None:
        """Back to Argus from a plugin view."""
        if self.plugin_view is not None:
            self.plugin_view.close()
        self.plugin_view = None
        self.mode = "tabs"
        self.focus_body()
        self.invalidate()

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
        self.spawn(self.sync.follow(), name="events")
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
