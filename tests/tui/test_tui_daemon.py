"""The TUI against a real daemon (kernel + tasks plugin) and fake agents, driven by pipe input."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from argus.plugins.tui.client import ArgusClient
from tui_harness import Harness, run_scenario

ENTER, ESC, CTRL_Q, CTRL_D = "\r", "\x1b", "\x11", "\x04"


def local_client(daemon: Any) -> ArgusClient:
    return ArgusClient.local(daemon.home)


def api(daemon: Any, method: str, path: str, **kw: Any) -> Any:
    r = daemon.client.request(method, path, **kw)
    assert r.status_code < 400, r.text
    return r.json()


def make_task(daemon: Any, project: dict[str, Any], prompt: str = "say hi", **kw: Any) -> dict[str, Any]:
    body = {"project": project["name"], "prompt": prompt, **kw}
    return api(daemon, "POST", "/api/tasks", json=body)["task"]


def test_new_task_from_form_opens_agent_view_and_echoes(daemon, project) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("No tasks yet")
        h.keys("n")
        await h.until_screen("New task")
        h.keys("write a haiku")
        h.keys(ENTER)
        await h.until(lambda: h.tui.mode == "agent", what="agent view")
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("ping")
        await h.until_screen("> ping")
        h.keys(ENTER)
        await h.until_screen("you said: ping", timeout=15)
        h.keys(CTRL_Q)
        await h.until(lambda: h.tui.mode == "tabs", what="back to the list")
        await h.until_screen("demo-proj")
        tasks = api(daemon, "GET", "/api/tasks")["tasks"]
        assert len(tasks) == 1 and tasks[0]["prompt"] == "write a haiku"
        assert tasks[0]["running"] is True  # leaving the view leaves the agent alone

    run_scenario(local_client(daemon), scenario)


def test_list_keys_drive_the_api(daemon, project) -> None:
    task = make_task(daemon, project, name="alpha")
    tid = task["id"]

    def get() -> dict[str, Any]:
        return api(daemon, "GET", f"/api/tasks/{tid}")["task"]

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("alpha")
        h.keys("P")
        await h.until(lambda: get()["pinned"], what="pinned")
        await h.until_screen("★ Pinned (1)")
        h.keys("r")
        await h.until_screen("Rename alpha")
        h.keys("\x15beta" + ENTER)  # ctrl+u clears the field
        await h.until(lambda: get()["name"] == "beta", what="renamed")
        await h.until_screen("beta")
        status = get()["status"]
        h.keys("s")
        await h.until(lambda: get()["status"] != status, what="status advanced")
        h.keys("a")
        await h.until(lambda: get()["archived"], what="archived")
        await h.until_gone("beta")
        h.keys("A")
        await h.until_screen("Archived (1)")
        h.keys("a")
        await h.until(lambda: not get()["archived"], what="unarchived")
        h.keys(CTRL_D)
        await h.until_screen("Destroy task")
        h.keys("y")
        await h.until_screen("Unsaved work")  # the fake agent edited a file in the worktree
        h.keys("y")
        await h.until(lambda: not api(daemon, "GET", "/api/tasks", params={"archived": "all"})["tasks"],
                      what="deleted", timeout=20)
        await h.until_gone("beta")

    run_scenario(local_client(daemon), scenario)


def test_agent_view_passes_esc_and_resizes_the_pty(daemon, project) -> None:
    task = make_task(daemon, project)

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen(task["name"])
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys(ESC)
        await h.until_screen("[interrupted]")
        # The agent's pane is the whole width under the header (zoomed by default).
        size = await h.until(lambda: api(daemon, "GET", f"/api/tasks/{task['id']}/size")
                             if api(daemon, "GET", f"/api/tasks/{task['id']}/size")["cols"] == 120 else None,
                             what="PTY resized to the pane")
        assert size["rows"] == 36 - 3
        assert h.tui.mode == "agent"  # Esc did not leave the view

    run_scenario(local_client(daemon), scenario)


def test_scrollback_reaches_the_start_of_the_session(daemon, project) -> None:
    task = make_task(daemon, project)

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen(task["name"])
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("/flood 300" + ENTER)
        await h.until_screen("flood done", timeout=30)
        for _ in range(40):
            h.keys("\x1b[1;2A")  # Shift+Up
            await asyncio.sleep(0.01)
        await h.until_screen("SCROLL")
        # The part of the log the terminal dropped during the flood (or that no longer fits the
        # coloured history) is fetched from the daemon as plain text.
        term = h.tui.agent.terminal
        if not term.history_complete():
            await h.until(lambda: "Plan: 1." in str(h.tui.agent.scroll_lines[:40]), what="the full log",
                          timeout=20)
        for _ in range(100):
            if "Plan: 1. read files" in h.screen():
                break
            h.keys("\x1b[1;2A" * 20)
            await asyncio.sleep(0.05)
        await h.until_screen("Plan: 1. read files", timeout=15)
        h.keys("x")  # any key returns to the live screen and reaches the agent
        await h.until_gone("SCROLL")

    run_scenario(local_client(daemon), scenario)


def test_settings_tab_toggles_and_saves(daemon, project) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("demo-proj")
        tab = h.tui.settings

        def show_elapsed() -> int | None:  # the section may be below the fold: select it, the view follows
            return next((i for i, r in enumerate(tab.rows) if r.kind == "setting" and r.section == "ui"
                         and r.data["field"]["key"] == "show_elapsed"), None)

        tab.index = await h.until(show_elapsed, what="the Appearance section")
        await h.until_screen("Appearance")
        h.keys(ENTER)
        await h.until(lambda: api(daemon, "GET", "/api/settings")["sections"]["ui"]["show_elapsed"] is False,
                      what="setting saved")
        await h.until_screen("ui.show_elapsed = off")

    run_scenario(local_client(daemon), scenario)


def test_remote_mode_refuses_local_only_actions_with_the_endpoint(daemon, project) -> None:
    make_task(daemon, project, name="remote-one")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("remote-one")
        assert "remote" in h.screen()
        h.keys("n")
        await h.until_screen("POST /api/tasks")
        h.keys("\x12")  # ctrl+r prune
        await h.until_screen("POST /api/maintenance/prune-completed")

    run_scenario(ArgusClient.remote(daemon.url, daemon.token), scenario)


def test_remote_mode_attaches_types_and_resizes_like_local(daemon, project) -> None:
    task = make_task(daemon, project, name="far-away")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("far-away")
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("over http" + ENTER)
        await h.until_screen("you said: over http", timeout=15)
        await h.until(lambda: api(daemon, "GET", f"/api/tasks/{task['id']}/size")["cols"] == 120, what="resize")
        h.keys(CTRL_Q)
        await h.until(lambda: h.tui.mode == "tabs")
        h.keys("a")
        await h.until(lambda: api(daemon, "GET", f"/api/tasks/{task['id']}")["task"]["archived"], what="archive")

    run_scenario(ArgusClient.remote(daemon.url, daemon.token), scenario)


def test_bad_token_and_unreachable_daemon_show_a_status_line(daemon) -> None:
    async def bad_token(h: Harness) -> None:
        await h.until_screen("rejected the token")
        assert "token rejected" in h.screen()

    run_scenario(ArgusClient.remote(daemon.url, "not-a-token"), bad_token)

    async def unreachable(h: Harness) -> None:
        await h.until_screen("Daemon unreachable")

    run_scenario(ArgusClient.remote("http://127.0.0.1:9", "x"), unreachable)


def test_revoked_device_token_is_reported(daemon, project) -> None:
    minted = api(daemon, "POST", "/api/tokens", json={"label": "tui test"})
    make_task(daemon, project, name="tok-task")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("tok-task")
        api(daemon, "DELETE", f"/api/tokens/{minted['id']}")
        h.keys("s")
        await h.until_screen("401")

    run_scenario(ArgusClient.remote(daemon.url, minted["token"]), scenario)


def test_quick_add_scans_on_the_daemon_and_imports(daemon, tmp_path) -> None:
    import subprocess

    root = tmp_path / "src"
    for name in ("one", "two"):
        repo = root / name
        repo.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        (repo / "f").write_text("x\n")
        subprocess.run(["git", "add", "f"], cwd=repo, check=True)
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@argus.invalid", "commit", "-q", "-m", "i"],
                       cwd=repo, check=True)

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("Backends")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "header" and r.section == "projects")
        h.keys("i")
        await h.until_screen("Quick add projects")
        h.keys("\x15" + str(root) + ENTER)
        await h.until_screen("Import repositories")
        await h.until(lambda: h.tui.modal is not None and "Import" in h.tui.modal.title, what="picker")
        h.keys("\t \x1b[B")  # move to the second repo and untick it
        h.keys(ENTER)
        await h.until(lambda: "imported 1/1" in h.tui.status_text, what="import finished", timeout=20)
        names = {p["name"] for p in api(daemon, "GET", "/api/projects/full")["projects"]}
        assert names == {"one"}
        await h.until_screen(str(root / "one"))

    run_scenario(local_client(daemon), scenario)


# ---- dialogs keep the focus --------------------------------------------------------------------

TAB, SHIFT_TAB = "\t", "\x1b[Z"
NEW_TASK_FIELDS = ["project", "backend", "model", "prompt", "name"]  # Tab order; the form opens on prompt
FIELD_LABELS = {"project": "Project", "backend": "Backend", "model": "Model", "prompt": "Prompt", "name": "Name"}


def _text_values(form: Any) -> dict[str, str]:
    return {k: w.text for k, w in form.inputs.items() if hasattr(w, "text")}


def test_new_task_form_tab_cycles_its_own_fields_and_esc_closes(daemon, project) -> None:
    """Tab / Shift+Tab N times (N = 1..6) from Prompt: typed text lands in the field they reach
    (wrapping around, never behind the dialog), that field is marked, and Esc closes the form."""

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("No tasks yet")
        for key, step in ((TAB, 1), (SHIFT_TAB, -1)):
            for n in range(1, 7):
                h.keys("n")
                await h.until(lambda: h.tui.modal is not None and h.tui.modal.title == "New task", what="form")
                form = h.tui.modal
                await h.until_screen("▸ Prompt")
                before = _text_values(form)
                backend_before = form.inputs["backend"].value
                h.keys(key * n)
                expected = NEW_TASK_FIELDS[(NEW_TASK_FIELDS.index("prompt") + step * n) % len(NEW_TASK_FIELDS)]
                await h.until(lambda form=form, expected=expected: form.focused_key() == expected,
                              what=f"{n}×{key!r} to focus {expected}")
                await h.until_screen("▸ " + FIELD_LABELS[expected])
                assert h.screen().count("▸ ") == 1, h.screen()
                h.keys("xyz")
                if expected == "backend":
                    # A choice is not text: the form says so instead of swallowing the keys silently.
                    await h.until_screen("Backend is a choice")
                    assert _text_values(form) == before
                    assert form.inputs["backend"].value == backend_before
                else:
                    want = {**before, expected: before[expected] + "xyz"}
                    await h.until(lambda form=form, want=want: _text_values(form) == want,
                                  what=f"xyz typed into {expected}")
                    await h.until_screen(before[expected] + "xyz")
                h.keys(ESC)
                await h.until(lambda: h.tui.modal is None, what=f"Esc closes the form ({n}×{key!r})")
                await h.until_gone("New task")
                assert h.tui.app.layout.current_window is h.tui.tasks_window
        assert not api(daemon, "GET", "/api/tasks")["tasks"]

    run_scenario(local_client(daemon), scenario)


def test_every_dialog_keeps_the_focus_and_closes_on_esc(daemon, project) -> None:
    """Rename, confirmations, settings forms and the ctrl+k switcher: Tab never leaves them, Esc
    closes them, and a focus stolen from behind (an event refocusing the body) comes back."""
    make_task(daemon, project, name="gamma")
    done = make_task(daemon, project, name="delta")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("gamma")
        await h.until_screen("delta")
        h.tui.tasklist.selected_id = next(t for t in h.tui.tasklist.task_ids()
                                          if h.tui.state.tasks[t].get("name") == "gamma")

        async def check(open_keys: str, title: str, *, typed: str = "", field: str = "") -> None:
            h.keys(open_keys)
            await h.until(lambda: h.tui.modal is not None, what=f"{title} opens")
            await h.until_screen(title)
            modal = h.tui.modal
            for _ in range(7):
                h.keys(TAB)
            h.keys(SHIFT_TAB * 3)
            await asyncio.sleep(0.1)
            assert modal.contains(h.tui.app.layout.current_window), title
            h.tui.focus_body()  # what an event arriving while the dialog is open does
            assert modal.contains(h.tui.app.layout.current_window), title
            h.tui.app.layout.focus(h.tui.current_tab().focus)  # anything else moving the focus out
            if typed:
                h.keys(typed)
                await h.until(lambda: typed in modal.inputs[field].text, what=f"{typed!r} in {title}")
            h.keys(ESC)
            await h.until(lambda: h.tui.modal is None, what=f"Esc closes {title}")
            await h.until_gone(title)

        await check("r", "Rename gamma", typed="zz", field="name")
        await check(CTRL_D, "Destroy task")
        h.keys("\x12")  # ctrl+r with nothing completed: said, no dialog
        await h.until(lambda: h.tui.status_text == "no completed tasks to prune", what="nothing to prune")
        assert h.tui.modal is None
        api(daemon, "POST", f"/api/tasks/{done['id']}/status", json={"status": "complete"})
        await h.until_screen("✓ delta")
        await check("\x12", "Prune completed")
        h.keys("3")
        await h.until_screen("Backends")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "project")
        await check("e", "Edit project demo-proj", typed="qq", field="path")
        await check("d", "Delete project")
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "backend")
        await check("n", "New backend", typed="bb", field="name")
        h.keys("1")
        await h.until_screen("gamma")
        h.keys(ENTER)
        await h.until(lambda: h.tui.mode == "agent", what="agent view")
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("\x0b")  # ctrl+k
        await h.until_screen("Switch task")
        picker = h.tui.modal
        h.keys(TAB * 3 + "gam")
        await h.until(lambda: picker.query.text == "gam", what="query typed")
        assert picker.contains(h.tui.app.layout.current_window)
        h.keys(ESC)
        await h.until(lambda: h.tui.modal is None, what="Esc closes the switcher")
        assert h.tui.mode == "agent" and h.tui.agent.focus == "terminal"
        assert h.tui.app.layout.current_window is h.tui.agent.term_window

    run_scenario(local_client(daemon), scenario)


def test_keys_that_cannot_act_say_why(daemon, project, tmp_path, monkeypatch) -> None:
    """Keys with nothing to act on explain themselves in the status line instead of doing nothing,
    and an opener that fails (no browser here) is reported, not claimed as "opened"."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    opener.write_text("#!/bin/sh\necho \"xdg-open: no method available for opening '$1'\" >&2\nexit 3\n")
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("No tasks yet")
        h.keys(ENTER)
        await h.until(lambda: h.tui.status_text == "no task selected", what="Enter without a task")
        h.keys("3")
        await h.until_screen("Backends")
        tab = h.tui.settings
        tab.index = next(i for i, r in enumerate(tab.rows) if r.kind == "setting")
        for key, shown in (("e", "e does nothing on a setting"), ("m", "m does nothing on a setting"),
                           ("t", "t does nothing on a setting")):
            h.keys(key)
            await h.until(lambda shown=shown: h.tui.status_text.startswith(shown), what=shown)
        tab.index = 0
        h.keys(ENTER)
        await h.until(lambda: h.tui.status_text.startswith("Enter does nothing on a section title"), what="Enter")
        h.keys("i")  # quick add works from any row
        await h.until_screen("Quick add projects")
        h.keys(ESC)
        await h.until(lambda: h.tui.modal is None, what="closed")

        task = make_task(daemon, project, name="opener")
        h.keys("1")
        await h.until_screen("opener")
        h.tui.tasklist.selected_id = task["id"]
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("\x1b[1;2A")  # Shift+Up: the short session fits on the screen
        await h.until(lambda: h.tui.status_text.startswith("nothing to scroll back"), what="nothing to scroll")
        assert "SCROLL" not in h.screen()
        h.keys("\x1a")  # ctrl+z: the side panes, focus on the changes list (ARGUS_DEMO.md)
        await h.until(lambda: h.tui.agent.selected_path() == "ARGUS_DEMO.md", what="the changes list")
        h.keys("o")
        await h.until(lambda: "could not open" in h.tui.status_text, what="the opener's failure")
        assert "no method available" in h.tui.status_text and h.tui.status_error

    run_scenario(local_client(daemon), scenario)
