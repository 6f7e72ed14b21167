"""The command registry: every key the TUI binds is a command with help text, listed in the help
overlay; the footer hints come from the registry; plugins add commands through the same registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.tui.app import ArgusTui
from argus.plugins.tui.client import ArgusClient
from argus.plugins.tui.commands import CommandRegistry, command, key_label, parse_key, seq_label
from argus.plugins.tui.helpview import HelpOverlay
from argus.plugins.tui.launch import load_plugin_commands
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.key_binding.key_bindings import _parse_key
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Window
from prompt_toolkit.output import DummyOutput
from tui_harness import Harness, run_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "tui_command.py"
NOTES_TAB = {"key": "4", "title": "Notes", "factory": lambda host: Window()}


@pytest.fixture
def tui() -> Iterator[ArgusTui]:
    """An ArgusTui that is built but never run (nothing connects): its registry and bindings."""
    with create_pipe_input() as pipe:
        app = ArgusTui(ArgusClient.remote("http://127.0.0.1:9", "t"), input=pipe, output=DummyOutput(),
                       plugin_tabs=[NOTES_TAB],
                       plugin_commands=[{"name": "notes.find", "help": "find a note", "keys": ["ctrl+n"],
                                         "views": ["tab:4"], "run": lambda host: None, "hint": "find"}])
        try:
            yield app
        finally:
            app.executor.shutdown(wait=False)


def test_every_bound_key_is_a_command_with_help_listed_in_the_help_overlay(tui: ArgusTui) -> None:
    reg = tui.commands
    bindings = tui.app.key_bindings.bindings  # type: ignore[union-attr]
    assert len(bindings) > 100
    overlay = HelpOverlay(reg, "tasks", lambda: None, lambda: 40).text()
    for b in bindings:
        cmd = reg.command_for(b.handler)
        assert cmd is not None, f"{b.keys} is bound outside the command registry"
        assert cmd.help.strip(), f"{cmd.name} has no help"
        assert b.keys in [tuple(_parse_key(k) for k in seq) for seq in cmd.keys]
        line = f"  {' / '.join(cmd.labels())}".ljust(24) + " " + cmd.help
        assert line in overlay, f"{cmd.name} ({seq_label(b.keys)}) is missing from the help overlay"
    names = {reg.command_for(b.handler).name for b in bindings}  # type: ignore[union-attr]
    assert names == set(reg.commands), "a registered command has no key"
    assert {"task.new", "agent.back", "hera.attach", "dag.link", "settings.quick-add", "pane.reveal",
            "review.send", "help", "notes.find"} <= names


def test_footer_hints_of_each_view_come_from_its_commands(tui: ArgusTui) -> None:
    reg = tui.commands
    for view in reg.views:
        footer = reg.hints(view)
        hinted = [c for c in reg.in_view(view) if c.hint]
        for cmd in hinted:
            assert cmd.hint in footer, f"{cmd.name} is missing from the {view} footer: {footer}"
        others = {c.hint for c in reg.commands.values() if c.hint} - {c.hint for c in hinted}
        lead = reg.views[view].lead
        assert footer.startswith(lead)
        entries = [e for e in footer[len(lead):].split(" · ") if e]
        for entry in entries:
            keys, _, hint = entry.partition(" ")
            assert hint not in others or any(c.hint == hint for c in hinted), entry
            assert any(c.hint == hint and keys.startswith(c.labels()[0]) for c in hinted), entry
    assert reg.hints("tasks").startswith("? help · n new · Enter open · s/S status")
    assert "q quit" in reg.hints("tasks") and "? help" in reg.hints("settings")
    assert reg.hints("agent.terminal").startswith("keys go to the agent · ctrl+q back")
    assert "Shift+↑/↓ scroll" in reg.hints("agent.terminal")
    assert "Alt+←/→ panels" in reg.hints("agent.terminal")
    assert reg.hints("hera.agent") == "keys go to the agent · ctrl+q rail · Tab/Shift+Tab regions"
    assert "ctrl+n find" in reg.hints("tab:4") and "ctrl+n" not in reg.hints("tasks")


def test_the_status_line_shows_the_registry_hints_and_dialog_hints(tui: ArgusTui) -> None:
    from argus.plugins.tui import layout

    assert layout.hints(tui) == tui.commands.hints("tasks")
    tui.tab = "3"
    assert tui.current_view() == "settings"
    assert layout.hints(tui) == tui.commands.hints("settings")
    tui.tab = "4"
    assert layout.hints(tui) == tui.commands.hints("tab:4")
    tui.mode, tui.agent.focus = "agent", "diff"
    assert layout.hints(tui) == tui.commands.hints("agent.diff")


def test_registry_refuses_clashes_and_commands_without_help() -> None:
    reg = CommandRegistry()
    reg.add_view("tasks", "Tasks")
    reg.add(command("a", "does a", ["x"], ["tasks"], run=lambda: None))
    with pytest.raises(ValueError, match="already a in tasks"):
        reg.add(command("b", "does b", ["x"], ["tasks"], run=lambda: None))
    with pytest.raises(ValueError, match="no help"):
        reg.add(command("c", " ", ["y"], ["tasks"], run=lambda: None))
    with pytest.raises(ValueError, match="unknown view"):
        reg.add(command("d", "does d", ["y"], ["nowhere"], run=lambda: None))
    with pytest.raises(ValueError, match="already registered"):
        reg.add(command("a", "again", ["z"], ["tasks"], run=lambda: None))


def test_plugin_commands_that_clash_or_are_malformed_are_skipped(tui: ArgusTui) -> None:
    from argus.plugins.tui.keymap import register_plugin_commands

    problems = register_plugin_commands(tui.commands, [
        {"name": "p.new", "help": "steals n", "keys": ["n"], "views": ["tasks"], "run": lambda host: None},
        {"name": "p.norun", "help": "nothing", "keys": ["Z"], "views": ["tasks"]},
        {"name": "p.nokeys", "help": "no keys", "keys": [], "views": ["tasks"], "run": lambda host: None},
        {"name": "p.ok", "help": "fine", "keys": "alt+z", "views": ["agent"], "run": lambda host: None},
    ], tui, ["tasks"])
    assert len(problems) == 3
    assert "n is already task.new" in problems[0]
    assert "p.new" not in tui.commands.commands and "p.ok" in tui.commands.commands
    assert tui.commands.commands["p.ok"].keys == (("escape", "z"),)
    assert tui.commands.commands["p.ok"].views == {"agent.terminal", "agent.lists", "agent.diff"}


def test_key_labels_and_parsing() -> None:
    assert key_label("c-f") == "ctrl+f" and key_label("s-up") == "Shift+↑" and key_label("enter") == "Enter"
    assert key_label(Keys.Any) == "any key" and seq_label(("escape", "x")) == "Alt+x"
    assert key_label(Keys.F21) == "Alt+←"
    assert parse_key("ctrl+N") == ("c-n",) and parse_key("alt+x") == ("escape", "x")
    assert parse_key("F5") == ("f5",) and parse_key("G") == ("G",) and parse_key("shift+tab") == ("s-tab",)


def test_help_overlay_opens_on_question_mark_and_closes(stub: Any) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("?")
        await h.until(lambda: isinstance(h.tui.modal, HelpOverlay), what="help overlay")
        await h.until_screen("Tasks tab")
        await h.until_screen("new task (project, backend, model")
        assert "j/k PgUp/PgDn scroll" in h.screen()
        h.keys("\x1b")
        await h.until(lambda: h.tui.modal is None, what="overlay closed")
        h.keys("3")
        await h.until(lambda: h.tui.current_view() == "settings", what="settings")
        h.keys("?")
        await h.until(lambda: isinstance(h.tui.modal, HelpOverlay), what="help overlay")
        overlay = h.tui.modal
        assert isinstance(overlay, HelpOverlay)
        assert overlay.text().startswith("Settings tab")  # the view you are in comes first
        h.keys("q")
        await h.until(lambda: h.tui.modal is None, what="overlay closed")
        assert h.tui.app.is_running  # q closed the overlay, it did not quit

    run_scenario(ArgusClient.local(stub.home), scenario)


def test_the_example_plugin_command_works_in_the_tui(stub: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("ARGUS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARGUS_PLUGINS", str(EXAMPLE))
    commands = load_plugin_commands()
    assert [c["name"] for c in commands] == ["example.branch"]
    stub.task(project="web", prompt="p", name="branchy")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("branchy")
        assert "b branch" in h.tui.commands.hints("tasks")
        h.keys("b")
        await h.until(lambda: h.tui.status_text == "branchy: branch argus/branchy", what="branch status")

    run_scenario(ArgusClient.local(stub.home), scenario, plugin_commands=commands)


def test_example_plugin_stays_small() -> None:
    assert len(EXAMPLE.read_text().splitlines()) < 60


def test_docs_keymap_is_the_registry() -> None:
    from argus.plugins.tui.helpview import builtin_registry, markdown

    doc = (ROOT / "docs" / "tui.md").read_text()
    block = doc.split("do not edit by hand -->\n", 1)[1].split("<!-- /keymap -->", 1)[0]
    assert block.strip() == markdown(builtin_registry()).strip(), \
        "docs/tui.md is out of date: paste `python -m argus.plugins.tui.helpview` into it"


@pytest.mark.parametrize("module", ["agentview", "tasklist", "dagview", "heraview", "pluginview", "settings_tab",
                                    "review", "panes", "claude_picker", "termview", "sync", "desktop",
                                    "status_extras", "marks", "diffview"])
def test_views_know_the_uihost_protocol_not_the_app(module: str) -> None:
    source = (ROOT / "plugins" / "tui" / f"{module}.py").read_text()
    assert "from .app import" not in source and "ArgusTui" not in source
