"""The agent view's Alt/Cmd+arrow keys and the new-task form's per-project skills, against the stub
daemon: Alt+↑/↓ move between tasks, Alt+←/→ between panels (no-op when zoomed), and none of them
reaches the agent as a stray Esc."""

from __future__ import annotations

from argus.plugins.tui.client import ArgusClient
from argus.plugins.tui.forms import SkillCompleter
from argus.plugins.tui.navkeys import neighbour, next_panel
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from tui_harness import Harness, run_scenario

ENTER, ESC = "\r", "\x1b"
ALT_UP, ALT_DOWN, ALT_LEFT, ALT_RIGHT = "\x1b[1;3A", "\x1b[1;3B", "\x1b[1;3D", "\x1b[1;3C"
CMD_DOWN_ITERM, OPTION_UP_ESC = "\x1b[1;9B", "\x1b\x1b[A"


def test_panel_and_task_order() -> None:
    assert next_panel("terminal", 1, zoomed=True) is None
    assert next_panel("terminal", -1, zoomed=False) == "files"
    assert next_panel("files", -1, zoomed=False) == "changes"
    assert next_panel("changes", -1, zoomed=False) == "changes"
    assert next_panel("files", 1, zoomed=False) == "terminal"
    assert next_panel("diff", -1, zoomed=False) == "files"
    assert neighbour(["a", "b", "c"], "c", 1) == "a" and neighbour(["a", "b"], "a", -1) == "b"
    assert neighbour(["a"], "a", 1) is None


def test_skill_completion_follows_the_project_field() -> None:
    project = {"name": "web"}
    completer = SkillCompleter(lambda: project["name"])
    completer.skills = [{"name": "global-only"}]
    completer.by_project = {"web": [{"name": "deploy-web"}], "api": [{"name": "deploy-api"}]}

    def names() -> list[str]:
        return [c.text for c in completer.get_completions(Document("/dep"), CompleteEvent())]

    assert names() == ["/deploy-web"]
    project["name"] = "api"
    assert names() == ["/deploy-api"]


def test_alt_arrows_switch_tasks_and_panels(stub) -> None:
    first = stub.task(project="web", prompt="p1", name="first-task")
    stub.task(project="web", prompt="p2", name="second-task")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("second-task")
        h.tui.tasklist.selected_id = first["id"]
        h.keys(ENTER)
        await h.until_screen("fake agent for first-task")
        for key in (ALT_DOWN, CMD_DOWN_ITERM, OPTION_UP_ESC, ALT_UP):
            before = h.tui.agent.task_id
            h.keys(key)
            await h.until(lambda before=before: h.tui.agent.task_id not in (None, before), what=f"moved by {key!r}")
            await h.until_screen(f"fake agent for {task_name(h)}")
        h.keys(ALT_RIGHT)  # zoomed: no side panels
        await h.until(lambda: "side panels are hidden" in h.tui.status_text, what="zoomed no-op")
        h.keys("\x1a")  # ctrl+z: panes shown, the changes list focused
        await h.until(lambda: h.tui.agent.focus == "changes", what="changes focused")
        h.keys(ALT_RIGHT)
        await h.until(lambda: h.tui.agent.focus == "files", what="files focused")
        h.keys(ALT_RIGHT)
        await h.until(lambda: h.tui.agent.focus == "terminal", what="terminal focused")
        h.keys(ALT_LEFT)
        await h.until(lambda: h.tui.agent.focus == "files", what="files again")
        h.keys(ESC)  # a real Esc still reaches the agent from the terminal
        await h.until(lambda: h.tui.agent.focus == "terminal", what="terminal")
        h.keys(ESC)
        await h.until_screen("<ESC>")
        assert h.screen().count("<ESC>") == 1, h.screen()

    def task_name(h: Harness) -> str:
        return "first-task" if h.tui.agent.task_id == first["id"] else "second-task"

    run_scenario(ArgusClient.local(stub.home), scenario)
