"""The TUI's Notes tab against a real daemon: type to search, Enter to read, ``a`` to attach to a task."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.kb.tui_tab import tab_spec
from argus.plugins.tui.client import ArgusClient
from argus_testkit import wait_for
from kb_helpers import GATE_ENV, PROGRESS_NOTES, enable, many_notes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))  # the TUI's own headless harness
from tui_harness import Harness, run_scenario  # noqa: E402

ENTER, ESC = "\r", "\x1b"


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")


def test_notes_tab_searches_reads_and_attaches_a_note(daemon: Any, project: dict[str, Any], tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    (vault / "Animals").mkdir(parents=True)
    (vault / "Animals" / "Zebra.md").write_text("---\ntags: [animal]\n---\n# Zebra facts\n\nStripes confuse flies.\n")
    (vault / "Safari.md").write_text("# Safari\n\nWe saw a [[Zebra]] crossing.\n")
    enable(daemon.client, vault, documents=2)
    resp = daemon.client.post("/api/tasks", json={"project": project["name"], "prompt": "wait", "backend": "demo"})
    assert resp.status_code in (200, 201), resp.text
    task = resp.json()["task"]
    spec = tab_spec()

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen(task["name"])
        h.keys("4")
        await h.until_screen("Search notes:")
        h.keys("stripes")
        await h.until_screen("Zebra facts")
        assert "Animals/Zebra.md" in h.screen() and "#animal" in h.screen()
        h.keys(ENTER)
        await h.until_screen("backlinks: Safari.md")
        assert "Stripes confuse flies." in h.screen()
        h.keys("a")
        await h.until(lambda: "Attached Animals/Zebra.md" in h.tui.status_text, what="the attach status")
        h.keys(ESC)
        await h.until_screen("1 notes")

    run_scenario(ArgusClient.local(daemon.home), scenario, plugin_tabs=[spec])
    wait_for(lambda: "[[Zebra]]" in daemon.client.get(f"/api/tasks/{task['id']}/output",
                                                       params={"clean": "1"}).text, 20,
             what="the note reference typed into the agent")


def test_notes_tab_says_when_the_kb_is_disabled(daemon: Any) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("4")
        await h.until_screen("Search notes:")
        h.keys("anything")
        await h.until_screen("disabled")

    run_scenario(ArgusClient.local(daemon.home), scenario, plugin_tabs=[tab_spec()])


def test_new_task_form_checkbox_attaches_relevant_notes(daemon: Any, project: dict[str, Any], tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "Zebra.md").write_text("# Zebra facts\n\nStripes confuse flies.\n")
    (vault / "Pancakes.md").write_text("# Pancakes\n\nFlour, eggs, milk.\n")
    enable(daemon.client, vault, documents=2)

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("n")
        await h.until_screen("Attach notes")
        await h.until_screen("[ ] no")
        h.keys("zebra stripes and flies")
        h.keys("\t\t")  # prompt → name → the option
        h.keys(" ")
        await h.until_screen("[x] yes")
        h.keys(ENTER)
        await h.until(lambda: "created" in h.tui.status_text, what="the created status")

    run_scenario(ArgusClient.local(daemon.home), scenario)
    tasks = daemon.client.get("/api/tasks").json()["tasks"]
    assert len(tasks) == 1
    task = tasks[0]
    notes = (Path(task["worktree_path"]) / ".context" / "kb-notes.md").read_text()
    assert "`Zebra.md`" in notes and "Pancakes" not in notes
    assert task["prompt"].startswith("zebra stripes and flies") and "kb-notes.md" in task["prompt"]


def test_new_task_form_has_no_notes_checkbox_while_the_kb_is_off(daemon: Any, project: dict[str, Any]) -> None:
    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until(lambda: h.tui.state.task_options, what="the task options")
        h.keys("n")
        await h.until_screen("New task")
        assert "Attach notes" not in h.screen()
        h.keys(ESC)

    run_scenario(ArgusClient.local(daemon.home), scenario)


def test_notes_tab_shows_indexing_progress_then_the_final_count(daemon_factory: Any, tmp_path: Path) -> None:
    """A 1000-note vault indexed while the tab is open: "Indexing… 200/1000 files" while the scan
    is held after its first batch (the test-only gate), then the final counts."""
    gate = tmp_path / "gate"
    gate.touch()
    d = daemon_factory("kb", env={GATE_ENV: str(gate)})
    vault = many_notes(tmp_path / "vault")

    def start_indexing() -> None:
        resp = d.client.put("/api/settings", json={"kb": {"enabled": True, "vault_path": str(vault)}})
        assert resp.status_code == 200, resp.text

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("4")
        await h.until_screen("Search notes:")
        await asyncio.to_thread(start_indexing)
        await h.until_screen(f"Indexing… 200/{PROGRESS_NOTES} files")
        gate.unlink()
        await h.until_screen(f"Indexed {PROGRESS_NOTES} files: {PROGRESS_NOTES} read")

    run_scenario(ArgusClient.local(d.home), scenario, plugin_tabs=[tab_spec()])
    assert enable(d.client, vault, documents=PROGRESS_NOTES)["documents"] == PROGRESS_NOTES
