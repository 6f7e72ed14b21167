"""The PWA's Settings: the Argus update and Doctor cards, and where env/config values come from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argus_testkit import make_repo, run_git

pytest.importorskip("playwright.sync_api")

from test_pwa_browser import DESKTOP, app_factory, browser, fast_agents, playwright  # noqa: E402,F401

pytestmark = pytest.mark.browser


def test_settings_update_doctor_and_sources(app_factory: Any, daemon: Any, tmp_path: Path) -> None:  # noqa: F811
    upstream = make_repo(tmp_path / "up")
    (upstream / "pyproject.toml").write_text("[project]\nname='x'\n")
    run_git(upstream, "add", ".")
    run_git(upstream, "commit", "-q", "-m", "pyproject")
    source = tmp_path / "src"
    run_git(tmp_path, "clone", "-q", str(upstream), str(source))
    (upstream / "two.txt").write_text("2\n")
    run_git(upstream, "add", ".")
    run_git(upstream, "commit", "-q", "-m", "the second commit")
    c = daemon.client
    assert c.put("/api/source-path", json={"source_path": str(source)}).status_code == 200
    assert c.put("/api/settings", json={"update": {"install_command": "sh -c 'echo disk full; exit 5'"}}
                 ).status_code == 200

    app = app_factory("desktop-ops", DESKTOP)
    page = app.page
    app.login(path="/settings")
    page.wait_for_selector("#update-check")
    page.wait_for_function("(p) => document.querySelector('#update-source').textContent.includes(p)",
                           arg=str(source))
    # The API section says its port is set by ARGUS_API_PORT (the test daemon's environment).
    notes = page.wait_for_selector('[data-sources="api"]')
    assert "ARGUS_API_PORT" in notes.inner_text()

    page.click("#update-check")
    page.wait_for_selector("#update-log li:has-text('the second commit')")
    page.click("#update-run")
    page.click(".sheet [data-confirm]")
    page.wait_for_selector("#update-log li:has-text('Failed at install')")
    assert "disk full" in page.inner_text("#update-log")

    page.click("#doctor-run")
    page.wait_for_selector('#doctor-checks li[data-check="git"][data-status="ok"]')
    assert page.locator('#doctor-checks li[data-check="database"]').count() == 1
    app.shot("settings-ops")
