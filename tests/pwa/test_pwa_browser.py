"""The PWA in Debian's headless Chromium (Playwright) against a real daemon with fake agents.

Each test drives the app as a person would: paste a token, read the list, start a task, watch the
agent's terminal in xterm.js, type through the compose bar and the key bar, open the diff, lose
the daemon and get it back. Screenshots at phone and desktop sizes go to test-artifacts/pwa/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus_testkit import wait_for

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pwa"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
WAIT_MS = 20_000

TERM_TEXT = "() => (document.querySelector('#terminal .xterm-rows')?.textContent || '').replace(/\\u00a0/g, ' ')"


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the fake agents (set before the daemon fixture starts)."""
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.3")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/install.sh --test installs it)")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


class App:
    """One browser context on the daemon, with the checks the tests share."""

    def __init__(self, browser: Any, daemon: Any, name: str, device: dict[str, Any]) -> None:
        self.daemon = daemon
        self.name = name
        self.context = browser.new_context(**device)
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def url(self, path: str = "/") -> str:
        return self.daemon.url + path

    def login(self, token: str | None = None, path: str = "/") -> None:
        self.page.goto(self.url(path))
        self.page.fill("#token-input", token or self.daemon.token)
        self.page.click("#login-btn")
        self.page.wait_for_selector("#login-btn", state="detached")

    def shot(self, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{label}.png"))

    def terminal_text(self) -> str:
        return self.page.evaluate(TERM_TEXT)

    def wait_terminal(self, text: str) -> None:
        self.wait_js(f"(t) => ({TERM_TEXT})().includes(t)", arg=text, what=f"terminal text {text!r}")

    def wait_js(self, expression: str, arg: Any = None, what: str = "") -> None:
        """Wait for a JS predicate; on timeout fail with the terminal's state."""
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=WAIT_MS)
        except sync_api.TimeoutError:
            raise AssertionError(f"timed out waiting for {what or expression}\n{self.debug_state()}") from None

    def debug_state(self) -> str:
        """The terminal's state and the tail of its text, for failure messages."""
        return self.page.evaluate(
            "() => { const t = window.argus && window.argus.terminal; return JSON.stringify(t ? {"
            " exited: t.exited, rerender: t.expectRerender, resizing: !!t.resizing, conn: !!t.conn,"
            " session: t.sessionId, lastEnd: t.lastEnd, state: document.querySelector('.stream-state').textContent,"
            " task: window.argus.store.state.tasks.get(t.taskId) } : null); }") + "\n" + self.terminal_text()[-600:]

    def wait_terminal_settled(self) -> None:
        """Live, attached, and no re-render (kill + resume at the new width) still pending."""
        self.wait_js(
            "() => { const t = window.argus.terminal; return t && !t.exited && !t.expectRerender && !t.resizing"
            " && t.conn && document.querySelector('.stream-state').dataset.kind === 'ok'; }")
        self.wait_terminal("for shortcuts")

    def assert_no_page_scroll_x(self) -> None:
        """Neither the page nor its panes are wider than the screen (nothing clipped either)."""
        widths = self.page.evaluate(
            "['html', '#list-pane', '#main-pane'].map((s) => { const e = document.querySelector(s);"
            " return [s, e.scrollWidth, e.clientWidth, e.offsetParent !== null || s === 'html']; })")
        for selector, scroll, client, visible in widths:
            assert not visible or scroll <= client, f"{selector} is wider than the screen: {widths}"

    def close(self) -> None:
        self.context.close()
        assert not self.errors, f"uncaught errors in the page: {self.errors}"


@pytest.fixture
def app_factory(browser: Any, daemon: Any) -> Iterator[Any]:
    made: list[App] = []

    def make(name: str, device: dict[str, Any] = PHONE) -> App:
        app = App(browser, daemon, name, device)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


def create_task(daemon: Any, project: dict[str, Any], prompt: str, **extra: Any) -> dict[str, Any]:
    resp = daemon.client.post("/api/tasks", json={"project": project["name"], "prompt": prompt,
                                                   "backend": "claude", **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]


def test_phone_login_list_create_terminal_compose_keys_and_diff(app_factory: Any, daemon: Any,
                                                                 project: dict[str, Any]) -> None:
    first = create_task(daemon, project, "tidy the readme")
    app = app_factory("phone")
    page = app.page

    page.goto(app.url("/"))
    page.wait_for_selector("#token-input")
    app.shot("login")
    app.login()

    # The list mirrors the daemon: the project folder holds the task created over the API.
    row = page.locator(f'.task-row[data-task-id="{first["id"]}"]')
    row.wait_for()
    assert page.locator('.group[data-group="p:demo-proj"]').count() == 1
    app.shot("list")
    app.assert_no_page_scroll_x()

    # New task through the form.
    page.click('#tabbar a[data-tab="new"]')
    page.wait_for_selector('#nt-project option[value="demo-proj"]', state="attached")
    page.select_option("#nt-backend", "claude")
    page.fill("#nt-prompt", "add a changelog entry")
    page.set_input_files("#nt-files", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                              "buffer": b"remember the release date"}])
    page.wait_for_selector('.file-list li:has-text("notes.txt")')
    app.shot("new-task")
    app.assert_no_page_scroll_x()
    page.click("#nt-submit")
    page.wait_for_url(re.compile(r"/task/"))
    task_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    task = daemon.client.get(f"/api/tasks/{task_id}").json()["task"]
    assert task["prompt"].startswith("add a changelog entry") and task["project"] == "demo-proj"
    # The attachment went up with the task (multipart) into the worktree's .context/.
    assert Path(task["worktree_path"], ".context", "notes.txt").read_text() == "remember the release date"

    # The agent's terminal, rendered by xterm.js from the SSE byte stream.
    page.wait_for_selector("#terminal .xterm-rows")
    app.wait_terminal("for shortcuts")
    assert "Argus demo agent" in app.terminal_text()

    # The PTY follows the phone's terminal size.
    def pty_matches_terminal() -> bool:
        cols, rows = page.evaluate("[window.argus.terminal.term.cols, window.argus.terminal.term.rows]")
        size = daemon.client.get(f"/api/tasks/{task_id}/size").json()
        return size == {"cols": cols, "rows": rows}

    page.wait_for_function("() => window.argus.terminal && window.argus.terminal.term.cols > 10")
    wait_for(pty_matches_terminal, what="the PTY to take the terminal's size")
    app.wait_terminal("for shortcuts")

    # Compose bar: what the keyboard (or dictation) puts in the field reaches stdin on Enter.
    page.fill("#compose-input", "hello from the phone")
    page.press("#compose-input", "Enter")
    app.wait_terminal("you said: hello from the phone")
    assert page.input_value("#compose-input") == ""
    app.shot("terminal")

    # Key bar: Esc reaches the agent, and the compose field keeps the focus (keyboard stays up).
    page.focus("#compose-input")
    app.wait_terminal("for shortcuts")
    page.click('.keybar [data-key="esc"]')
    app.wait_terminal("[interrupted]")
    assert page.evaluate("document.activeElement && document.activeElement.id") == "compose-input"

    # Diff: the file the agent changed is a panel with its lines.
    page.click('.tab[data-tab="diff"]')
    panel = page.locator('.diff-file[data-path="ARGUS_DEMO.md"]')
    panel.wait_for()
    page.click("#diff-expand")
    page.wait_for_selector('.diff-file[data-path="ARGUS_DEMO.md"][open] .dl.add')
    assert "add a changelog entry" in panel.inner_text()
    page.check("#diff-wrap")
    app.shot("diff")
    app.assert_no_page_scroll_x()

    # Rotation: the PTY follows the new width.
    page.click('.tab[data-tab="terminal"]')
    page.set_viewport_size({"width": 740, "height": 360})
    wait_for(pty_matches_terminal, what="the PTY to follow the rotation")
    app.shot("landscape")


def test_skills_links_artifacts_and_staged_clipboard(app_factory: Any, daemon: Any, project: dict[str, Any]) -> None:
    skill = project["path"] / ".claude" / "skills" / "review-it"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: review-it\ndescription: Review the branch\n---\nReview.\n")
    task = create_task(daemon, project, "produce a report")
    app = app_factory("desktop-tools", DESKTOP)
    app.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=daemon.url)
    page = app.page
    app.login(path=f"/task/{task['id']}")
    app.wait_terminal_settled()

    def say(line: str, expect: str) -> None:
        page.fill("#compose-input", line)
        page.press("#compose-input", "Enter")
        app.wait_terminal(expect)

    # Slash-skill autocomplete in the compose bar (project skills from /api/skills).
    page.focus("#compose-input")
    page.keyboard.type("/revi")
    page.wait_for_selector('.compose .suggestions [data-skill="review-it"]')
    app.shot("skills")
    page.click('.compose .suggestions [data-skill="review-it"]')
    assert page.input_value("#compose-input") == "/review-it "
    page.fill("#compose-input", "")

    # Links picker: URLs the agent printed.
    say("/link", "https://example.com/argus/")
    page.click('.tab[data-tab="links"]')
    page.wait_for_selector('.links a[href^="https://example.com/argus/"]')
    page.click('.tab[data-tab="terminal"]')

    # Artifacts: an HTML report, rendered in a sandboxed frame.
    Path(task["worktree_path"], "report.html").write_text("<h1>Quarterly report</h1><p>All green.</p>")
    args = json.dumps({"path": "report.html", "title": "Report", "id": task["id"]})
    say(f"/mcp artifact_register {args}",
        "mcp artifact_register ->")
    page.click('.tab[data-tab="artifacts"]')
    page.click('[data-artifact="report.html"]')
    frame = page.frame_locator("iframe.artifact-frame")
    assert frame.locator("h1").inner_text() == "Quarterly report"
    assert page.get_attribute("iframe.artifact-frame", "sandbox") == "allow-popups"
    app.shot("artifact")
    page.click('.tab[data-tab="terminal"]')

    # Agent-staged clipboard: the Copy button appears; one tap copies and consumes it.
    args = json.dumps({"text": "copied from the agent", "id": task["id"]})
    say(f"/mcp argus_clipboard_set {args}",
        "mcp argus_clipboard_set ->")
    page.wait_for_selector("#clip-btn", state="visible")
    page.click("#clip-btn")
    page.wait_for_selector("#clip-btn", state="hidden")
    wait_for(lambda: daemon.client.get("/api/clipboard").status_code == 404, what="the clipboard to be consumed")
    assert page.evaluate("navigator.clipboard.readText()") == "copied from the agent"


def test_every_view_fits_a_360px_phone(app_factory: Any, daemon: Any, project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "a prompt long enough to need wrapping on a narrow phone screen " * 3)
    app = app_factory("phone-360")
    page = app.page
    app.login()
    page.wait_for_selector(f'.task-row[data-task-id="{task["id"]}"]')
    app.assert_no_page_scroll_x()
    for path, ready, label in [
        ("/new", "#nt-prompt", "new"),
        ("/settings", '[data-section="projects"] li[data-project]', "settings"),
        ("/tokens", "#mint-form", "tokens"),
        ("/logs", "#log-text", "logs"),
        (f"/task/{task['id']}?tab=files", ".file-browser li[data-path]", "files"),
        (f"/task/{task['id']}?tab=diff", ".diff-file", "diff"),
        (f"/task/{task['id']}", "#terminal .xterm-rows", "terminal"),
    ]:
        page.evaluate("(p) => window.argus.navigate(p)", path)
        page.wait_for_selector(ready)
        app.assert_no_page_scroll_x()
        app.shot(label)
    # Web Push: the control shows only when the daemon serves the push routes.
    page.evaluate("(p) => window.argus.navigate(p)", "/settings")
    page.wait_for_selector('[data-section="projects"]')
    has_push = daemon.client.get("/api/push/vapid-public-key").status_code == 200
    page.wait_for_selector(f'#push-slot[data-state="{"shown" if has_push else "absent"}"]', state="attached")
    assert page.locator("#push-section").count() == (1 if has_push else 0)


def test_desktop_list_is_live_and_actions_work(app_factory: Any, daemon: Any, project: dict[str, Any]) -> None:
    app = app_factory("desktop", DESKTOP)
    page = app.page
    app.login()
    page.wait_for_selector(".empty")

    # Created elsewhere (the TUI, an agent over MCP): it appears without a reload.
    task = create_task(daemon, project, "live list check")
    row = page.locator(f'.task-row[data-task-id="{task["id"]}"]')
    row.wait_for()

    # Renamed elsewhere: the list follows.
    daemon.client.post(f"/api/tasks/{task['id']}/rename", json={"name": "renamed-remotely"})
    page.wait_for_selector(f'.task-row[data-task-id="{task["id"]}"] .task-name:text("renamed-remotely")')

    # Waiting for input: shown as "needs you".
    page.wait_for_selector(f'.task-row[data-task-id="{task["id"]}"][data-status="needs_you"]')
    row.locator(".task-link").click()
    app.wait_terminal_settled()
    app.shot("task")
    app.assert_no_page_scroll_x()

    def server_task() -> dict[str, Any]:
        return daemon.client.get(f"/api/tasks/{task['id']}").json()["task"]

    def action(name: str) -> None:
        page.click("#task-actions")
        page.click(f'.sheet [data-action="{name}"]')

    # Rename from the action sheet.
    action("rename")
    page.fill(".sheet input", "renamed-here")
    page.click('.sheet button[type="submit"]')
    wait_for(lambda: server_task()["name"] == "renamed-here", what="rename")
    page.wait_for_selector('#topbar-title:text("renamed-here")')

    # Stop ends the session; Restart starts a new one and the terminal reattaches to it.
    action("stop")
    wait_for(lambda: not server_task()["running"], what="stop")
    page.wait_for_selector('.quick button:text("Restart")')
    page.click(".quick button")
    wait_for(lambda: server_task()["running"], what="restart")
    app.wait_terminal("resumed session")
    app.wait_terminal_settled()

    # Status from the sheet's chips.
    page.click("#task-actions")
    page.click('.sheet [data-status="complete"]')
    wait_for(lambda: server_task()["status"] == "complete", what="status")

    # Fork: a new task from this one, opened at once.
    action("fork")
    page.fill(".sheet input", "forked-one")
    page.click('.sheet button[type="submit"]')
    page.wait_for_url(re.compile(r"/task/(?!" + task["id"] + ")"))
    forked = daemon.client.get("/api/tasks/" + page.url.rsplit("/", 1)[-1]).json()["task"]
    assert forked["name"] == "forked-one"
    row.locator(".task-link").click()
    page.wait_for_url(re.compile(task["id"]))

    # Archive from the action sheet; then delete with confirmation.
    page.click("#task-actions")
    page.click('.sheet [data-action="archive"]')
    wait_for(lambda: daemon.client.get(f"/api/tasks/{task['id']}").json()["task"]["archived"], what="archive")
    page.click("#task-actions")
    page.click('.sheet [data-action="delete-"]')
    page.wait_for_selector(".sheet [data-confirm]")
    app.shot("delete-confirm")
    page.click(".sheet [data-confirm]")
    # The agent edited a file: the daemon refuses (409) and the app asks once more before forcing.
    page.wait_for_selector('.sheet:has-text("unsaved work") [data-confirm]')
    page.click(".sheet [data-confirm]")
    wait_for(lambda: daemon.client.get(f"/api/tasks/{task['id']}").status_code == 404, what="delete")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator(f'.task-row[data-task-id="{task["id"]}"]').count() == 0


def test_offline_screen_then_recovery_resumes_terminal(app_factory: Any, daemon: Any,
                                                         project: dict[str, Any]) -> None:
    task = create_task(daemon, project, "survive a daemon restart")
    app = app_factory("phone-offline")
    page = app.page
    app.login(path=f"/task/{task['id']}")
    app.wait_terminal_settled()

    daemon.stop()
    page.wait_for_selector("#offline", state="visible")
    assert "Tailscale" in page.inner_text("#offline")
    app.shot("offline")

    daemon.start()
    page.wait_for_selector("#offline", state="hidden")
    page.wait_for_selector('.stream-state[data-kind="ok"]')
    # The agent outlived the daemon (the supervisor owns it); the terminal resumed from its offset.
    before = app.terminal_text().count("Argus demo agent")
    page.fill("#compose-input", "still there?")
    page.press("#compose-input", "Enter")
    app.wait_terminal("you said: still there?")
    assert app.terminal_text().count("Argus demo agent") == before, "output was replayed twice"
    app.shot("recovered")


def test_revoked_device_token_returns_to_login(app_factory: Any, daemon: Any) -> None:
    minted = daemon.client.post("/api/tokens", json={"label": "test phone"}).json()
    app = app_factory("phone-device")
    page = app.page
    app.login(token=minted["token"])
    page.click('#tabbar a[data-tab="settings"]')
    page.wait_for_selector("#token-kind")
    assert "device token" in page.inner_text("#token-kind")
    assert page.locator("#tokens-link").count() == 0  # token management is master-only

    # Revoked from another device: the app hears token.revoked, finds its token refused, and
    # sends the user back to login with a clear message.
    assert daemon.client.delete(f"/api/tokens/{minted['id']}").status_code == 200
    page.wait_for_selector("#login-reason")
    assert "revoked" in page.inner_text("#login-reason")
    assert page.evaluate("localStorage.getItem('argus.token')") is None
    app.shot("revoked")


def test_master_mints_and_revokes_tokens(app_factory: Any, daemon: Any) -> None:
    app = app_factory("desktop-tokens", DESKTOP)
    page = app.page
    app.login(path="/tokens")
    page.fill("#token-label", "My iPhone")
    page.click('#mint-form button[type="submit"]')
    plaintext = page.inner_text("#minted-token").strip()
    assert daemon.client.get("/api/status", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    row = page.locator("#tokens-list li", has_text="My iPhone")
    assert f"…{plaintext[-4:]}" in row.inner_text()
    app.shot("minted")
    row.locator("button", has_text="Revoke").click()
    page.click(".sheet [data-confirm]")
    wait_for(lambda: daemon.client.get("/api/status", headers={"Authorization": f"Bearer {plaintext}"})
             .status_code == 401, what="revocation")


def test_share_target_lands_on_new_task_with_prompt(app_factory: Any, daemon: Any, project: dict[str, Any]) -> None:
    app = app_factory("phone-share")
    page = app.page
    # Shared while logged out: login first, then the share lands where it was going.
    app.login(path="/new?title=Flaky%20test&text=It%20fails%20on%20CI&url=https%3A%2F%2Fexample.com%2Fci%2F1")
    page.wait_for_selector("#nt-prompt")
    assert page.input_value("#nt-prompt") == "Flaky test\n\nIt fails on CI\n\nhttps://example.com/ci/1"
    assert "share" in page.inner_text(".new-task h2")
    app.shot("share")


def test_manifest_and_service_worker_make_it_installable(playwright: Any, daemon: Any, tmp_path: Path) -> None:
    # A persistent profile: Chromium never offers installation in an incognito-like context.
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=DESKTOP["viewport"])
    try:
        context.set_default_timeout(WAIT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(daemon.url + "/")
        page.fill("#token-input", daemon.token)
        page.click("#login-btn")
        page.wait_for_selector("#login-btn", state="detached")
        scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == daemon.url + "/"
        if not page.evaluate("navigator.serviceWorker.controller !== null"):
            page.reload()  # the first load is not controlled; the next one is
        assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == daemon.url + "/sw.js"

        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == daemon.url + "/manifest.webmanifest"
        assert manifest["errors"] == [], manifest["errors"]
        assert '"display": "standalone"' in manifest["data"]
        installability = cdp.send("Page.getInstallabilityErrors")
        assert installability["installabilityErrors"] == [], installability

        cached = page.evaluate("""async () => {
            const keys = await caches.keys();
            const cache = await caches.open(keys.find((k) => k.startsWith('argus-shell-')));
            return (await cache.keys()).map((r) => new URL(r.url).pathname);
        }""")
        for path in ("/", "/app.js", "/vendor/xterm.mjs", "/icons/icon-192.png"):
            assert path in cached

        # Started with no network at all: the cached shell boots and shows the offline screen,
        # then finds the daemon again by itself.
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#offline", state="visible")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "desktop-offline-start.png"))
        context.set_offline(False)
        page.wait_for_selector("#offline", state="hidden")
        page.wait_for_selector(".list-summary:not(:empty)")
    finally:
        context.close()


def test_client_units_parse_sse_split_diffs_and_shares(app_factory: Any, daemon: Any) -> None:
    """The small pure pieces of the client, run in the browser as the app loads them."""
    app = app_factory("units", DESKTOP)
    page = app.page
    page.goto(app.url("/login"))
    page.wait_for_selector("#token-input")
    out = page.evaluate("""async () => {
        const { SSEParser, b64bytes } = await import('/js/sse.js');
        const { splitDiff } = await import('/js/views/diff.js');
        const { sharedPrompt } = await import('/js/views/newtask.js');
        const got = [];
        const p = new SSEParser((m) => got.push(m));
        // Split anywhere, CRLF and LF mixed, a comment, a multi-line data field, an id.
        for (const piece of [': keepalive\\r', '\\n\\nid: 7\\r\\nevent: out', 'put\\ndata: {"a":', '1}\\ndata: x\\n',
                             '\\r\\n', 'data: second\\n\\n']) p.feed(piece);
        const diff = 'diff --git a/x.py b/x.py\\nindex 1..2\\n--- a/x.py\\n+++ b/x.py\\n@@ -1 +1 @@\\n-a\\n+b\\n'
          + 'diff --git a/gone.txt b/gone.txt\\ndeleted file mode 100644\\n'
          + '--- a/gone.txt\\n+++ /dev/null\\n@@ -1 +0,0 @@\\n-x\\n';
        const files = splitDiff(diff);
        return {
          messages: got,
          bytes: Array.from(b64bytes('AAEC/w==')),
          paths: [...files.keys()],
          share: sharedPrompt(new URLSearchParams('title=T&text=see+https://e.com/1&url=https://e.com/1')),
        };
    }""")
    assert out["messages"] == [
        {"event": "output", "data": '{"a":1}\nx', "id": "7"},
        {"event": "message", "data": "second", "id": None},
    ]
    assert out["bytes"] == [0, 1, 2, 255]
    assert out["paths"] == ["x.py", "gone.txt"]
    assert out["share"] == "T\n\nsee https://e.com/1"  # the url is already in the text: not twice


def test_settings_show_the_sandbox_backend_and_edit_a_projects_sandbox(app_factory: Any, daemon: Any,
                                                                        project: dict[str, Any]) -> None:
    app = app_factory("desktop-sandbox", DESKTOP)
    page = app.page
    app.login(path="/settings")
    status = page.wait_for_selector('[data-section="sandbox"] .sandbox-status')
    assert "on this host" in status.inner_text()
    row = page.locator("#projects-list li", has_text=project["name"])
    assert "sandbox: inherit" in row.inner_text()
    row.locator("details.project-sandbox summary").click()
    row.locator('select[name="enabled"]').select_option("enabled")
    row.locator('select[name="network"]').select_option("off")
    row.locator('input[name="deny_read"]').fill("~/secrets, /srv/keys")
    row.locator("button", has_text="Save sandbox").click()

    def saved() -> bool:
        p = next(p for p in daemon.client.get("/api/projects/full").json()["projects"] if p["name"] == project["name"])
        return p["sandbox"]["enabled"] is True and p["sandbox"]["network"] is False \
            and p["sandbox"]["deny_read"] == ["~/secrets", "/srv/keys"]
    wait_for(saved, what="the project's sandbox saved")
    page.wait_for_selector(f'#projects-list li[data-project="{project["name"]}"] >> text=🔒 sandbox on')
    if daemon.client.get("/api/settings").json()["sandbox"]["available"]:
        t = create_task(daemon, project, "boxed", name="boxed-task")
        page.goto(app.url("/"))
        page.wait_for_selector(f'.task-row[data-task-id="{t["id"]}"] .lock')
