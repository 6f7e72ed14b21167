"""The TUI's Settings tab: Update Argus and Doctor rows, and where each setting comes from."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from argus.plugins.tui.client import ArgusClient
from argus_testkit import run_git
from tui_harness import Harness, run_scenario

ENTER, ESC = "\r", "\x1b"


def _select(h: Harness, pred: Any) -> None:
    tab = h.tui.settings
    tab.index = next(i for i, r in enumerate(tab.rows) if pred(r))
    h.tui.invalidate()


def _a_failing_update(daemon: Any, tmp_path: Path) -> None:
    """A source clone one commit ("second commit") behind its upstream, and an install command that fails."""
    upstream = tmp_path / "up"
    upstream.mkdir()
    run_git(upstream, "init", "-q", "-b", "main")
    (upstream / "pyproject.toml").write_text("[project]\nname='x'\n")
    run_git(upstream, "add", ".")
    run_git(upstream, "commit", "-q", "-m", "one")
    source = tmp_path / "src"
    run_git(tmp_path, "clone", "-q", str(upstream), str(source))
    (upstream / "new.txt").write_text("two\n")
    run_git(upstream, "add", ".")
    run_git(upstream, "commit", "-q", "-m", "second commit")
    c = daemon.client
    assert c.put("/api/source-path", json={"source_path": str(source)}).status_code == 200
    assert c.put("/api/settings", json={"update": {"install_command": "sh -c 'echo nope; exit 4'"}}).status_code == 200
    daemon.home.chmod(0o700)


def test_settings_show_sources_and_run_doctor_and_a_failing_update(daemon: Any, tmp_path: Path) -> None:
    _a_failing_update(daemon, tmp_path)

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("Update Argus")
        # The API port comes from ARGUS_API_PORT (the fixture), and the row says so.
        await h.until_screen(f"{daemon.api_port}  (from ARGUS_API_PORT)")
        _select(h, lambda r: r.label == "Doctor")
        h.keys(ENTER)
        await h.until(lambda: h.tui.status_text.startswith("doctor:"), 60, what="doctor result")
        if h.tui.modal is not None:  # warnings (no claude/codex here) are listed with their fixes
            await h.until_screen("argus doctor")
            h.keys(ESC)
            await h.until(lambda: h.tui.modal is None, what="the report to close")
        _select(h, lambda r: r.label == "Update Argus")
        h.keys(ENTER)
        await h.until_screen("second commit", 30)
        h.keys("y")
        await h.until(lambda: h.tui.modal is None, what="the confirmation to close")
        await h.until(lambda: "update failed at install" in h.tui.status_text, 60, what="the failure")
        await h.until_screen("failed at install")

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=150)


def test_an_update_that_fails_before_its_answer_arrives_still_shows_the_failure(daemon: Any, tmp_path: Path) -> None:
    """The update runs as soon as it is queued: on a busy machine its failure can come over the event
    stream before the answer to ``POST /api/update`` does. Here the answer is held until the
    failure is shown: it must not replace the failure with "update started"."""
    _a_failing_update(daemon, tmp_path)

    async def scenario(h: Harness) -> None:
        await h.ready()
        h.keys("3")
        await h.until_screen("Update Argus")
        client = h.tui.client
        real_post = client.post
        answered = asyncio.Event()

        async def post(path: str, body: Any = None) -> Any:
            out = await real_post(path, body)
            if path == "/api/update" and not (body or {}).get("dry_run"):
                await h.until(lambda: "update failed at install" in h.tui.status_text, 60, what="the failure")
                answered.set()  # the caller goes on with the answer before anything else runs
            return out

        client.post = post  # type: ignore[method-assign]
        _select(h, lambda r: r.label == "Update Argus")
        h.keys(ENTER)
        await h.until_screen("second commit", 30)
        h.keys("y")
        await h.until(answered.is_set, 90, what="the update's answer, held until its failure was shown")
        assert "update failed at install" in h.tui.status_text
        await h.until_screen("failed at install")

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=150)
