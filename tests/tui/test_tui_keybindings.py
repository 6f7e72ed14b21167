"""``[keybindings]`` remaps the task list's commands (footer and ``?`` follow; conflicts are refused
and the defaults stay), and the three commands the manual reserves keys for: ``/`` filter, ``p``
prompt, ``w`` worktree."""

from __future__ import annotations

from typing import Any

from argus.plugins.tui import keybindings
from argus.plugins.tui.client import ArgusClient
from argus.plugins.tui.helpview import HelpOverlay
from argus.plugins.tui.state import AppState
from argus.plugins.tui.tasklist import build_rows
from tui_harness import Harness, run_scenario

ENTER, ESC = "\r", "\x1b"


def test_keybindings_model_checks_keys_and_conflicts() -> None:
    assert keybindings.problems({}) == []
    assert keybindings.overrides({"new": "N", "delete": "d", "quit": "q"}) == {"task.new": ("N",),
                                                                               "task.delete": ("d",)}
    assert keybindings.overrides({"help": "alt+h", "filter": "f5"}) == {"help": ("escape", "h"),
                                                                         "task.filter": ("f5",)}
    assert "already keybindings.new" in keybindings.problems({"new": "x", "status": "x"})[0]
    assert "is not a key" in keybindings.problems({"prompt": "ctrl+shift+banana"})[0]
    assert "another key of the task list" in keybindings.problems({"new": "j"})[0]
    assert "Settings tab" in keybindings.problems({"quit": "e"})[0]
    assert keybindings.problems({"new": "e"}) == []  # e is free in the task list


def test_the_checks_know_every_other_key_of_the_task_list() -> None:
    from argus.plugins.tui.helpview import builtin_registry

    reg = builtin_registry()
    mapped = {cmd for cmd, _, _ in keybindings.BINDINGS.values()}
    others = {seq[0] for c in reg.in_view("tasks") if c.name not in mapped and c.name != "view.hotkey"
              for seq in c.keys if len(seq) == 1 and isinstance(seq[0], str)}
    assert others <= keybindings.TASKLIST_KEYS, others - keybindings.TASKLIST_KEYS
    settings = {seq[0] for c in reg.in_view("settings") if c.name not in mapped and not c.name.startswith("tab.")
                and c.name not in ("redraw", "view.hotkey") for seq in c.keys if len(seq) == 1}
    assert settings <= keybindings.SETTINGS_KEYS, settings - keybindings.SETTINGS_KEYS


def test_filter_rows_by_name_project_or_branch() -> None:
    st = AppState()
    st.tasks = {"a": {"id": "a", "name": "fix-login", "project": "web", "branch": "argus/fix-login"},
                "b": {"id": "b", "name": "docs", "project": "api", "branch": "argus/readme"}}
    ids = lambda q: [r.task_id for r in build_rows(st, q) if r.task_id]  # noqa: E731
    assert sorted(ids("")) == ["a", "b"]
    assert ids("LOGIN") == ["a"] and ids("api") == ["b"] and ids("readme") == ["b"] and ids("zzz") == []


def test_settings_put_refuses_conflicting_keybindings(daemon: Any) -> None:
    c = daemon.client
    r = c.put("/api/settings", json={"keybindings": {"new": "s"}})
    assert r.status_code == 400 and "already keybindings" in r.json()["error"]
    r = c.put("/api/settings", json={"keybindings": {"prompt": "ctrl+nope"}})
    assert r.status_code == 400 and "not a key" in r.json()["error"]
    assert c.get("/api/settings").json()["keybindings"]["new"] == "n"
    r = c.put("/api/settings", json={"keybindings": {"new": "N", "delete": "d"}})
    assert r.status_code == 200, r.text
    body = c.get("/api/settings").json()
    assert body["keybindings"]["new"] == "N" and body["keybindings"]["delete"] == "d"
    # One change at a time is checked against the saved rest: d is delete's now.
    r = c.put("/api/settings", json={"keybindings": {"worktree": "d"}})
    assert r.status_code == 400


def test_remapped_new_key_opens_the_form_and_shows_in_footer_and_help(daemon: Any, project: Any) -> None:
    assert daemon.client.put("/api/settings", json={"keybindings": {"new": "N"}}).status_code == 200

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until(lambda: h.tui.commands.commands["task.new"].labels() == ["N"], what="remap applied")
        await h.until_screen("N new")
        assert "n new" not in h.screen() and "Press N to create one" in h.screen()
        h.keys("n")
        h.keys("?")  # the next key proves n was handled (and did nothing)
        await h.until_screen("Keys (Esc closes)")
        overlay = HelpOverlay(h.tui.commands, "tasks", lambda: None, lambda: 40).text()
        assert "  N".ljust(24) + " new task" in overlay
        assert "New task" not in h.screen()
        h.keys(ESC)
        await h.until_gone("Keys (Esc closes)")
        h.keys("N")
        await h.until_screen("New task")
        h.keys(ESC)
        await h.until_gone("New task")
        # Changing it in Settings (PUT) applies live: back to n.
        assert daemon.client.put("/api/settings", json={"keybindings": {"new": "n"}}).status_code == 200
        await h.until_screen("n new")
        h.keys("n")
        await h.until_screen("New task")

    run_scenario(ArgusClient.local(daemon.home), scenario)


def test_conflicting_config_toml_keybindings_are_refused_and_defaults_kept(daemon: Any, project: Any) -> None:
    (daemon.home / "config.toml").write_text('[keybindings]\nnew = "s"\nprompt = "x"\n')

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until(lambda: "[keybindings] refused" in h.tui.status_text, what="refusal in the status line")
        assert "already keybindings" in h.tui.status_text and h.tui.status_error
        await h.until_screen("[keybindings] refused")
        assert h.tui.commands.commands["task.prompt"].labels() == ["p"]  # the whole section stays default
        h.keys("n")
        await h.until_screen("New task")

    run_scenario(ArgusClient.local(daemon.home), scenario)


def test_filter_narrows_the_list_and_esc_restores_it(stub: Any) -> None:
    stub.task(project="web", prompt="fix login", name="fix-login")
    stub.task(project="api", prompt="write docs", name="write-docs")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("write-docs")
        await h.until_screen("fix-login")
        h.keys("/")
        await h.until_screen("filter /")
        h.keys("login")
        await h.until_gone("write-docs")
        assert "fix-login" in h.screen()
        h.keys(ESC)
        await h.until_screen("write-docs")
        assert "fix-login" in h.screen() and "filter /" not in h.screen()
        # Enter keeps the filter; the keys work on the narrowed list again.
        h.keys("/")
        await h.until_screen("filter /")
        h.keys("api")
        await h.until_gone("fix-login")
        h.keys(ENTER)
        await h.until(lambda: not h.tui.filtering, what="filter line left")
        await h.until_screen("filter /api")
        assert "write-docs" in h.screen() and "fix-login" not in h.screen()
        h.keys("p")
        await h.until_screen("Prompt of write-docs")

    run_scenario(ArgusClient.local(stub.home), scenario)


def test_p_shows_the_full_prompt_and_copies_it(stub: Any) -> None:
    prompt = "first line of the prompt\n" + "\n".join(f"detail {i}" for i in range(60)) + "\nthe very end"
    stub.task(project="web", prompt=prompt, name="long-one")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("long-one")
        h.keys("p")
        await h.until_screen("Prompt of long-one")
        assert "first line of the prompt" in h.screen() and "the very end" not in h.screen()
        h.keys("G")
        await h.until_screen("the very end")
        h.keys("c")
        await h.until(lambda: "copied" in h.tui.status_text, what="copied")
        assert any("\x1b]52;" in raw for raw in h.sink.raw)
        h.keys(ESC)
        await h.until_gone("Prompt of long-one")

    run_scenario(ArgusClient.local(stub.home), scenario)


def test_w_worktree_menu_copies_the_path(stub: Any) -> None:
    stub.task(project="web", prompt="x", name="wt-task")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("wt-task")
        h.keys("w")
        await h.until_screen("Worktree of wt-task")
        assert "Open in $EDITOR" in h.screen() and "Shell in the worktree" in h.screen()
        h.keys("copy")
        h.keys(ENTER)
        await h.until(lambda: h.tui.status_text.startswith("copied /tmp/worktrees/wt-task"), what="path copied")

    run_scenario(ArgusClient.local(stub.home), scenario)


def test_settings_tab_rebinds_a_key_and_shows_a_refused_conflict(daemon: Any, project: Any) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("demo-proj")
        tab = h.tui.settings

        def new_row() -> int | None:
            return next((i for i, r in enumerate(tab.rows) if r.kind == "setting" and r.section == "keybindings"
                         and r.data["field"]["key"] == "new"), None)

        tab.index = await h.until(new_row, what="the Keybindings section")
        await h.until_screen("Keybindings")
        h.keys(ENTER)
        await h.until_screen("keybindings · New task")
        h.keys("\x7f" * 5 + "s")  # backspace the default, then a key status holds
        h.keys(ENTER)
        await h.until_screen("already keybindings")
        assert daemon.client.get("/api/settings").json()["keybindings"]["new"] == "n"
        h.keys("\x7f" + "N")
        h.keys(ENTER)
        await h.until_gone("keybindings · New task")
        await h.until(lambda: h.tui.commands.commands["task.new"].labels() == ["N"], what="remap applied live")
        h.keys("1")
        await h.until_screen("N new")

    run_scenario(ArgusClient.local(daemon.home), scenario)
