"""The PWA's Notes screen in Debian's headless Chromium against a real daemon with the kb enabled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import make_repo
from kb_helpers import GATE_ENV, PROGRESS_NOTES, enable, many_notes

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 20_000


@pytest.fixture
def page(daemon: Any) -> Iterator[Any]:
    with _logged_in(daemon) as pg:
        yield pg


@contextmanager
def _logged_in(daemon: Any) -> Iterator[Any]:
    """A headless Chromium page on ``daemon``'s PWA, logged in with the master token, at /notes."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/install.sh --test installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(WAIT_MS)
            pg = context.new_page()
            errors: list[str] = []
            pg.on("pageerror", lambda exc: errors.append(str(exc)))
            pg.goto(daemon.url + "/notes")
            pg.fill("#token-input", daemon.token)
            pg.click("#login-btn")
            pg.wait_for_selector("#login-btn", state="detached")
            yield pg
            assert not errors, errors
        finally:
            browser.close()


def test_notes_screen_searches_reads_and_follows_links(daemon: Any, page: Any, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    (vault / "Animals").mkdir(parents=True)
    (vault / "Animals" / "Zebra.md").write_text(
        "---\ntags: [animal]\n---\n# Zebra facts\n\nStripes confuse flies. <script>window.pwned=1</script>\n")
    (vault / "Safari.md").write_text("# Safari\n\nWe saw a [[Zebra|zebra]] crossing.\n")
    enable(daemon.client, vault, documents=2)
    page.goto(daemon.url + "/notes")
    page.wait_for_selector("#kb-search")
    page.wait_for_function("() => document.querySelector('#kb-status').textContent.includes('2 notes')")
    page.fill("#kb-search", "stripes")
    page.wait_for_selector(".kb-result[data-path='Animals/Zebra.md']")
    assert page.inner_text(".kb-result mark").lower() == "stripes"
    assert "#animal" in page.inner_text(".kb-result")
    page.click(".kb-result a")
    page.wait_for_selector("#kb-title")
    assert page.inner_text("#kb-title") == "Zebra facts"
    assert "<script>window.pwned=1</script>" in page.inner_text("#kb-content")  # shown as text, not run
    assert page.evaluate("() => window.pwned") is None
    page.click("#kb-backlinks a")
    page.wait_for_function("() => document.querySelector('#kb-title')?.textContent === 'Safari'")
    page.click("#kb-links a")
    page.wait_for_function("() => document.querySelector('#kb-title')?.textContent === 'Zebra facts'")
    page.click("#kb-back")
    page.wait_for_selector(".kb-result[data-path='Animals/Zebra.md']")
    assert page.input_value("#kb-search") == "stripes"


def test_notes_screen_says_when_the_kb_is_off(daemon: Any, page: Any) -> None:
    page.click("#topnav a[data-tab='notes']")
    page.wait_for_function("() => document.querySelector('#kb-status')?.textContent.includes('off')")


def _project(daemon: Any, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert daemon.client.post("/api/projects", json={"name": "demo-proj", "path": str(repo)}).status_code == 201


def test_new_task_form_attaches_relevant_notes_when_asked(daemon: Any, page: Any, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "Zebra.md").write_text("# Zebra facts\n\nStripes confuse flies.\n")
    (vault / "Pancakes.md").write_text("# Pancakes\n\nFlour, eggs, milk.\n")
    enable(daemon.client, vault, documents=2)
    _project(daemon, tmp_path)
    page.goto(daemon.url + "/new")
    page.wait_for_selector('#nt-project option[value="demo-proj"]', state="attached")
    box = page.wait_for_selector("#nt-opt-kb_context")
    assert "Attach notes" in page.inner_text("#nt-options")
    assert not box.is_checked()
    page.select_option("#nt-backend", "demo")
    page.fill("#nt-prompt", "why do zebra stripes confuse flies")
    box.check()
    page.click("#nt-submit")
    page.wait_for_url(re.compile(r"/task/"))
    task_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    task = daemon.client.get(f"/api/tasks/{task_id}").json()["task"]
    notes = Path(task["worktree_path"], ".context", "kb-notes.md").read_text()
    assert "`Zebra.md`" in notes and "Pancakes" not in notes
    assert task["prompt"].startswith("why do zebra stripes confuse flies")
    assert ".context/kb-notes.md" in task["prompt"]


def test_new_task_form_hides_the_notes_option_while_the_kb_is_off(daemon: Any, page: Any, tmp_path: Path) -> None:
    _project(daemon, tmp_path)
    with page.expect_response(lambda r: r.url.endswith("/api/task-options")) as answer:
        page.goto(daemon.url + "/new")
    assert any(o["name"] == "kb_context" and not o["available"] for o in answer.value.json()["options"])
    page.wait_for_selector('#nt-project option[value="demo-proj"]', state="attached")
    assert page.locator("#nt-opt-kb_context").count() == 0
    page.select_option("#nt-backend", "demo")
    page.fill("#nt-prompt", "no notes please")
    page.click("#nt-submit")
    page.wait_for_url(re.compile(r"/task/"))
    task_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    task = daemon.client.get(f"/api/tasks/{task_id}").json()["task"]
    assert task["prompt"] == "no notes please"
    assert not Path(task["worktree_path"], ".context", "kb-notes.md").exists()


def test_notes_screen_shows_indexing_progress_then_the_final_count(daemon_factory: Any, tmp_path: Path) -> None:
    """A 1000-note vault indexed while the Notes screen is open: "Indexing… 200/1000 files" while
    the scan is held after its first batch (the test-only gate), then the document count."""
    gate = tmp_path / "gate"
    gate.touch()
    d = daemon_factory("kb", env={GATE_ENV: str(gate)})
    vault = many_notes(tmp_path / "vault")
    with _logged_in(d) as pg:
        pg.goto(d.url + "/notes")
        pg.wait_for_function("() => document.querySelector('#kb-status')?.textContent.includes('off')")
        resp = d.client.put("/api/settings", json={"kb": {"enabled": True, "vault_path": str(vault)}})
        assert resp.status_code == 200, resp.text
        pg.wait_for_function("(want) => document.querySelector('#kb-status').textContent === want",
                             arg=f"Indexing… 200/{PROGRESS_NOTES} files")
        gate.unlink()
        pg.wait_for_function("(want) => document.querySelector('#kb-status').textContent.startsWith(want)",
                             arg=f"{PROGRESS_NOTES} notes · watcher running")
