"""The PWA's Notes screen in Debian's headless Chromium against a real daemon with the kb enabled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kb_helpers import enable

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 20_000


@pytest.fixture
def page(daemon: Any) -> Iterator[Any]:
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
