"""The TUI against the stub daemon: list, keys → API calls, agent view echo."""

from __future__ import annotations

from argus.plugins.tui.client import ArgusClient
from tui_harness import Harness, run_scenario


def test_list_shows_tasks_grouped_and_live(stub) -> None:
    stub.task(project="web", prompt="fix login", name="fix-login")

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("fix-login")
        assert "web" in h.screen()
        stub.task(project="web", prompt="second", name="second-task")
        await h.until_screen("second-task")

    run_scenario(ArgusClient.local(stub.home), scenario)
