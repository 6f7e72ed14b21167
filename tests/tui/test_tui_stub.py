"""The TUI against the stub daemon: what the real one cannot easily stage (clipboard payloads,
plugin sections and views, hostile data, contributed tabs)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.tui.agentview import AgentView
from argus.plugins.tui.client import ArgusClient
from argus.plugins.tui.launch import load_plugin_tabs
from prompt_toolkit.layout import FormattedTextControl, Window
from tui_harness import Harness, run_scenario
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage

ENTER, ESC, CTRL_Q, CTRL_Y, CTRL_K, CTRL_L = "\r", "\x1b", "\x11", "\x19", "\x0b", "\x0c"


def client(stub: Any) -> ArgusClient:
    return ArgusClient.local(stub.home)


def test_list_is_live_and_grouped(stub) -> None:
    stub.task(project="web", prompt="fix login", name="fix-login")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("fix-login")
        assert "▾ web (1)" in h.screen()
        stub.task(project="api", prompt="second", name="second-task", extra={"idle": True})
        await h.until_screen("second-task")
        await h.until_screen("◀ needs you")
        assert "● 1 need you" in h.screen()

    run_scenario(client(stub), scenario)


def test_ctrl_y_copies_staged_text_or_reaches_the_agent(stub) -> None:
    task = stub.task(project="web", prompt="p", name="clip")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("clip")
        h.keys(ENTER)
        await h.until_screen("fake agent for clip")
        h.keys(CTRL_Y)  # nothing staged: the agent gets ctrl+y
        await h.until_screen("<^Y>")
        stub.control("state", {"clipboard": {"text": "staged words", "task_id": task["id"],
                                             "expires_at": "2099-01-01T00:00:00Z"}})
        h.keys(CTRL_Y)
        await h.until(lambda: stub.calls("POST", "/api/clipboard/consume"), what="consume")
        await h.until(lambda: "copied 12 staged" in h.tui.status_text, what="status")
        assert f"\x1b]52;c;{base64.b64encode(b'staged words').decode()}\x07" in "".join(h.sink.raw)

    run_scenario(client(stub), scenario)


async def _open_and_resize(h: Harness, stub: Any, task: dict[str, Any]) -> None:
    """Open ``task``'s agent view (named "wide") and wait until its first resize was sent."""
    await h.ready()
    await h.until_screen("wide")
    h.keys(ENTER)
    await h.until(lambda: stub.calls("POST", f"/api/tasks/{task['id']}/resize"), what="the resize sent")


def test_a_slow_rerender_does_not_replace_a_message_shown_meanwhile(stub) -> None:
    """The re-render notice comes when the resize answers, which takes a while (the agent is
    relaunched): a message shown since (an opener's failure, say) stays on the status line."""
    task = stub.task(project="web", prompt="p", name="wide")
    stub.control("state", {"resize_hold": True, "resize_rerendered": True})

    async def scenario(h: Harness) -> None:
        await _open_and_resize(h, stub, task)
        h.tui.set_status("could not open ARGUS_DEMO.md: no opener", error=True)  # while the re-render runs
        stub.control("state", {"resize_hold": False})
        await h.until(lambda: h.tui.agent._resize_task is not None and h.tui.agent._resize_task.done(),
                      what="the resize answered")
        assert h.tui.status_text == "could not open ARGUS_DEMO.md: no opener" and h.tui.status_error

    run_scenario(client(stub), scenario)


def test_the_exit_of_a_rerender_is_not_announced_as_the_agent_exiting(stub) -> None:
    """The daemon answers a re-rendering resize once the new agent runs, so the old session's exit
    reaches the stream first: that exit is the re-render, not "agent exited" (which replaced, say,
    an opener's failure on the status line)."""
    task = stub.task(project="web", prompt="p", name="wide")
    stub.control("state", {"resize_hold": True, "resize_rerendered": True})

    async def scenario(h: Harness) -> None:
        await _open_and_resize(h, stub, task)
        stub.control("exit", {"task_id": task["id"], "code": 129})  # the old agent, killed by the re-render
        await h.until(lambda: h.tui.agent.exited is not None, what="the exit on the stream")
        stub.control("state", {"resize_hold": False})
        await h.until(lambda: "width changed a lot" in h.tui.status_text, what="the re-render notice")
        for _ in range(5):  # the stream task, woken by the resize's answer, has its turn
            await asyncio.sleep(0)
        assert "agent exited" not in h.tui.status_text

    run_scenario(client(stub), scenario)


def test_quitting_does_not_wait_for_a_presence_report_whose_cancellation_got_lost(
        stub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The presence loop is cancelled when the view closes; if the cancellation is lost in the HTTP
    request under way (seen under load: the TUI then took the loop's 30 s sleep to quit), the loop
    still ends. The lost cancellation is staged: the report swallows it."""
    stub.task(project="web", prompt="p", name="present")
    reporting = asyncio.Event()

    async def report(self: AgentView, task_id: str | None) -> None:
        if task_id is None:
            return
        reporting.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return  # lost

    monkeypatch.setattr(AgentView, "_report_presence", report)

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("present")
        h.keys(ENTER)
        await h.until(reporting.is_set, what="the presence report under way")

    run_scenario(client(stub), scenario)  # the quit must not wait for the loop's next 30 s


def test_switcher_puts_waiting_tasks_first_and_link_picker_lists_urls(stub) -> None:
    stub.task(project="web", prompt="p", name="busy-one")
    stub.task(project="web", prompt="p", name="waiting-one", extra={"idle": True})

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("busy-one")
        h.keys(ENTER)
        await h.until(lambda: h.tui.mode == "agent")
        h.keys(CTRL_K)
        await h.until_screen("Switch task")
        modal = h.tui.modal
        assert [i.label for i in modal.filtered()][0] == "waiting-one"
        h.keys("busy")
        await h.until(lambda: [i.label for i in modal.filtered()] == ["busy-one"], what="filtered")
        h.keys(ENTER)
        await h.until(lambda: h.tui.modal is None and h.tui.agent.task.get("name") == "busy-one")
        h.keys(CTRL_L)
        await h.until_screen("https://example.invalid/docs")
        h.keys(ESC)
        await h.until_gone("https://example.invalid/docs")
        assert h.tui.mode == "agent"

    run_scenario(client(stub), scenario)


def test_plugin_settings_section_form_submits_through_the_daemon(stub) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("hera · Hera options")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "plugin")
        h.keys(ENTER)
        await h.until_screen("Verbose")
        h.keys(" ")  # toggle the bool
        h.keys("\t")
        h.keys("\x1b[C")  # enum → next choice
        await asyncio.sleep(0.1)
        h.keys(ENTER)
        calls = await h.until(lambda: stub.calls("POST", "/api/plugins/settings/sections/hera/Hera options/submit"),
                              what="submit")
        assert calls[-1]["body"] == {"verbose": True, "level": "high"}

    run_scenario(client(stub), scenario)


def test_settings_projects_and_backends_keys(stub, tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("Projects")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "header" and r.section == "projects")
        h.keys("n")
        await h.until_screen("New project")
        h.keys("newproj\t" + str(tmp_path) + ENTER)
        await h.until(lambda: h.tui.modal is None, what="form closed")
        await h.until_screen("newproj")
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "backend" and "claude" in r.label)
        h.keys("d")
        await h.until(lambda: stub.calls("PUT", "/api/settings"), what="default backend")
        assert stub.calls("PUT", "/api/settings")[-1]["body"] == {"defaults": {"backend": "claude"}}
        await h.until_screen("★ claude")
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "backend" and "claude" in r.label)
        h.keys("m")
        await h.until_screen("Model · claude")
        h.keys("opus" + ENTER)
        await h.until(lambda: stub.calls("PUT", "/api/backends/claude"), what="model saved")
        assert stub.calls("PUT", "/api/backends/claude")[-1]["body"] == {"model": "opus"}

    run_scenario(client(stub), scenario)


def test_hostile_server_data_never_crashes_the_ui(stub) -> None:
    stub.task(project="web", prompt="p", name="fine")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("fine")
        bad = [{"type": "task.updated", "data": {"task": {"id": "x1", "name": None, "status": 7,
                                                           "created_at": "not a date", "exit_code": "z",
                                                           "project": ["list"], "idle": "yes"}}},
               {"type": "task.updated", "data": "string"},
               {"type": "task.deleted", "data": {"id": None}},
               {"type": "settings.updated", "data": {}}]
        for ev in bad:
            stub.control("publish", ev)
        stub.control("state", {"settings": {"ui": {"spinner_style": 12, "show_icons": "maybe"}},
                               "schema": [{"name": "ui", "fields": [{"key": "x", "type": "enum", "choices": None}]},
                                          "junk"]})
        stub.control("publish", {"type": "settings.updated", "data": {}})
        await h.until(lambda: "x1" in h.tui.state.tasks, what="bad task applied")
        await asyncio.sleep(0.3)
        h.keys("3")
        await h.until_screen("Status")
        h.keys("1")
        await h.until_screen("fine")
        assert h.tui.app.is_running

    run_scenario(client(stub), scenario)


def test_dag_tab_is_the_fallback_for_tab_2_and_contributed_tabs_replace_it(stub) -> None:
    a = stub.task(project="web", prompt="p", name="parent-task")
    b = stub.task(project="web", prompt="p", name="child-task")
    stub.control("state", {"edges": [{"child_id": b["id"], "parent_id": a["id"]}]})

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("2")
        await h.until_screen("Dependency DAG")
        await h.until_screen("└─ ")
        screen = h.screen()
        assert screen.index("parent-task") < screen.index("child-task")

    run_scenario(client(stub), scenario)

    def factory(tui: Any) -> Window:
        return Window(FormattedTextControl(lambda: f"HERA TAB with {len(tui.state.tasks)} tasks"))

    async def hera(h: Harness) -> None:
        await h.ready()
        await h.until_screen("2 Hera")  # ready() is the snapshot: the paint may come a moment later
        h.keys("2")
        await h.until_screen("HERA TAB with 2 tasks")

    run_scenario(client(stub), hera, plugin_tabs=[{"key": "2", "title": "Hera", "factory": factory}])


def test_tabs_from_the_argus_tui_tabs_hook(tmp_path: Path, monkeypatch: Any) -> None:
    plugin = tmp_path / "tabby.py"
    plugin.write_text(
        "from argus.kernel.api import hookimpl\n"
        "@hookimpl\n"
        "def argus_tui_tabs():\n"
        "    return [{'key': '4', 'title': 'Tabby', 'factory': lambda tui: None}]\n")
    monkeypatch.setenv("ARGUS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARGUS_PLUGINS", str(plugin))
    tabs = load_plugin_tabs()
    assert "Tabby" in [t["title"] for t in tabs]  # next to built-in plugins' tabs (kb's Notes)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text('[plugins]\ndisabled = ["kb"]\n')
    assert "Notes" not in [t["title"] for t in load_plugin_tabs()]  # disabled plugins add none


class PluginServer:
    """A tiny WebSocket plugin view (wsproto, asyncio): greets, lists hotkeys, echoes keys."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.controls: list[dict[str, Any]] = []
        self.port = 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                ws.receive_data(data)
                for ev in ws.events():
                    if isinstance(ev, Request):
                        writer.write(ws.send(AcceptConnection()))
                        writer.write(ws.send(BytesMessage(data=b"\x1b[1;32mhello from plugin\x1b[0m\r\n")))
                        writer.write(ws.send(TextMessage(data=json.dumps(
                            {"type": "hotkeys", "keys": [{"key": "x", "label": "explode"}]}))))
                    elif isinstance(ev, BytesMessage):
                        self.received.append(bytes(ev.data))
                        writer.write(ws.send(BytesMessage(data=b"got:" + bytes(ev.data).replace(b"\x11", b"^Q")
                                                          + b"\r\n")))
                        if ev.data == b"r":
                            writer.write(ws.send(TextMessage(data=json.dumps({"type": "release"}))))
                    elif isinstance(ev, TextMessage):
                        self.controls.append(json.loads(ev.data))
                    elif isinstance(ev, CloseConnection):
                        writer.write(ws.send(ev.response()))
                        return
                await writer.drain()
        except (asyncio.CancelledError, ConnectionError):
            return
        finally:
            writer.close()


def test_plugin_view_gets_raw_keys_and_double_ctrl_q_returns(stub) -> None:
    plugin = PluginServer()

    async def scenario(h: Harness) -> None:
        await plugin.start()
        stub.control("state", {"views": [{"id": "v1", "scope": "demo", "title": "Demo view", "hotkey": "v",
                                          "callback_url": f"ws://127.0.0.1:{plugin.port}/view"}]})
        stub.control("publish", {"type": "registry.view.added", "data": {}})
        await h.ready()
        await h.until(lambda: h.tui.state.views, what="views loaded")
        h.keys("v")
        await h.until_screen("hello from plugin")
        await h.until_screen("x explode")
        def last_resize() -> tuple[int, int] | None:
            sizes = [(c["cols"], c["rows"]) for c in plugin.controls if c.get("type") == "resize"]
            return sizes[-1] if sizes else None
        await h.until(lambda: last_resize() == (120, 36 - 3), what="resize frame with the pane size")
        assert {"type": "focus"} in plugin.controls
        h.keys("q")  # would quit Argus; here it belongs to the plugin
        await h.until_screen("got:q")
        h.keys(CTRL_Q)
        await h.until_screen("got:^Q")
        assert h.tui.mode == "plugin"
        h.keys(CTRL_Q + CTRL_Q)
        await h.until(lambda: h.tui.mode == "tabs", what="back to Argus")
        await h.until(lambda: {"type": "blur"} in plugin.controls, what="blur")
        h.keys("v")
        await h.until_screen("hello from plugin")
        h.keys("r")  # the plugin releases the view
        await h.until(lambda: h.tui.mode == "tabs", what="released")
        plugin.server.close()

    run_scenario(client(stub), scenario)


def test_project_form_edits_the_sandbox_and_the_list_marks_sandboxed_tasks(stub) -> None:
    stub.task(project="web", prompt="p", name="boxed-task", sandbox={"sandboxed": True, "backend": "bubblewrap"})

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("boxed-task")
        assert "🔒" in next(line for line in h.screen().splitlines() if "boxed-task" in line)
        h.keys("3")
        await h.until_screen("Projects")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "project")
        h.keys("e")
        await h.until_screen("Edit project web")
        await h.until_screen("Deny read")
        h.keys("\t" * 3 + "\x1b[C")        # Sandbox: inherit -> enabled
        h.keys("\t" + "\x1b[C\x1b[C")      # Network: inherit -> on -> off
        h.keys("\t" + "~/secrets" + ENTER)  # Deny read
        calls = await h.until(lambda: stub.calls("PUT", "/api/projects/web"), what="project saved")
        assert calls[-1]["body"]["sandbox"] == {"enabled": True, "network": False, "deny_read": ["~/secrets"],
                                                "extra_write": []}

    run_scenario(client(stub), scenario)


def test_a_failed_plugin_settings_submit_redraws_at_once(stub) -> None:
    stub.control("state", {"fail": {"POST /api/plugins/settings/sections/hera/Hera options/submit":
                                     [400, "level: must be low on weekends"]}})

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("hera · Hera options")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "plugin")
        h.keys(ENTER)
        await h.until_screen("Verbose")
        h.keys(ENTER)
        # no further key: the error replaces "working…" by itself
        await h.until_screen("failed (400)")
        assert "working…" not in h.screen()

    run_scenario(client(stub), scenario)


def test_m_shows_the_merge_preview_and_runs_an_action(stub) -> None:
    t = stub.task(project="web", prompt="fix login", name="fix-login")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("fix-login")
        h.keys("m")
        await h.until_screen("2 ahead, 1 behind main · conflicts: app.py")
        assert "Push and open a PR" in h.screen()
        h.keys("merge into")
        await asyncio.sleep(0.1)
        h.keys(ENTER)
        await h.until(lambda: "merged into main" in h.tui.status_text, what="the merge status")
        calls = stub.calls("POST", f"/api/tasks/{t['id']}/merge")
        assert calls[-1]["body"] == {"action": "merge"}

    run_scenario(client(stub), scenario)
