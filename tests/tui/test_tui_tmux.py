"""End to end in a real terminal: ``argus`` under tmux with a temporary ARGUS_HOME.

Create a task from the New Task form (after a Tab round trip through its fields), watch the agent
view, type and see the echo, go back, quit, and check the agent is still running (it belongs to the
daemon, not the TUI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import wait_for

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux") or "/usr/bin/tmux"

pytestmark = [pytest.mark.tmux, pytest.mark.skipif(not Path(TMUX).exists(), reason="tmux not installed")]


class Tmux:
    """One private tmux server (``-L``) running a single pane."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> str:
        return subprocess.run([TMUX, "-L", self.name, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "argus")

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", "argus", *keys)

    def wait(self, text: str, timeout: float = 30.0) -> str:
        return str(wait_for(lambda: (screen := self.screen()) and text in screen and screen, timeout,
                            f"{text!r} to appear", interval=0.1, detail=self.last_screen))

    def wait_gone(self, text: str, timeout: float = 30.0) -> str:
        return str(wait_for(lambda: (screen := self.screen()) and text not in screen and screen, timeout,
                            f"{text!r} to go away", interval=0.1, detail=self.last_screen))

    def last_screen(self) -> str:
        try:
            return "screen:\n" + self.screen()
        except subprocess.CalledProcessError:
            return "(pane gone)"

    def alive(self) -> bool:
        return subprocess.run([TMUX, "-L", self.name, "has-session", "-t", "argus"],
                              capture_output=True).returncode == 0


def _argus_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "argus"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "argus.kernel.cli"]


def _open_tmux(home: Path, *args: str) -> Tmux:
    """``argus ARGS`` with ``ARGUS_HOME=home`` in a fresh 120×36 tmux pane (a private server)."""
    t = Tmux(f"argus-test-{os.getpid()}-{int(time.monotonic() * 1000)}")
    env = {"ARGUS_HOME": str(home), "PATH": os.environ["PATH"], "TERM": "xterm-256color",
           "ARGUS_TEST_PYTHON": sys.executable, "FAKEAGENT_BUSY": "0.2", "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8"}
    envs = " ".join(f"{k}={v!s}" for k, v in env.items())
    cmd = f"env -i {envs} {' '.join([*_argus_cmd(), *args])}; echo TUI-EXITED $?; sleep 600"
    subprocess.run([TMUX, "-L", t.name, "-f", "/dev/null", "new-session", "-d", "-s", "argus", "-x", "120",
                    "-y", "36", cmd], check=True, cwd=str(ROOT))
    return t


@pytest.fixture
def tmux_argus(argus_home: Path, git_repo: Path) -> Iterator[tuple[Tmux, Path]]:
    """``argus`` running in a 120×36 tmux pane; stops tmux, the daemon and the supervisor after."""
    t = _open_tmux(argus_home)
    try:
        yield t, argus_home
    finally:
        subprocess.run([TMUX, "-L", t.name, "kill-server"], capture_output=True)
        cli_env = {**os.environ, "ARGUS_HOME": str(argus_home)}
        for args in (["daemon", "stop"], ["session-supervisor", "stop"]):
            subprocess.run([sys.executable, "-m", "argus.kernel.cli", *args], env=cli_env,
                           capture_output=True, timeout=60)


def _api(home: Path) -> httpx.Client:
    token = (home / "api-token").read_text().strip()
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(home / "daemon.sock")), base_url="http://argus",
                        headers={"Authorization": f"Bearer {token}"}, timeout=15)


def test_argus_in_tmux_task_from_form_echo_back_quit_agent_survives(tmux_argus: Any, git_repo: Path) -> None:
    t, home = tmux_argus
    # The TUI starts the daemon by itself, then shows the empty list.
    t.wait("No tasks yet", timeout=60)
    with _api(home) as api:
        assert api.post("/api/projects", json={"name": "demo-proj", "path": str(git_repo)}).status_code == 201
    # The project.created event reaches the TUI, which drops the "add a project first" hint.
    t.wait_gone("add a project first")
    t.send("n")
    t.wait("▸ Prompt")  # the form opens on the prompt, marked as focused
    # Three Tabs reach Backend (a choice): typed letters are explained, Esc still closes the form.
    t.send("Tab", "Tab", "Tab")
    t.wait("▸ Backend")
    t.send("-l", "qqq")
    t.wait("Backend is a choice")
    t.send("Escape")
    screen = t.wait_gone("New task")
    assert "qqq" not in screen
    # A full round trip: Tab wraps from Name to Project, Shift+Tab goes back, both stay in the form.
    t.send("n")
    t.wait("▸ Prompt")
    t.send("Tab", "Tab")
    t.wait("▸ Project")
    t.send("Tab", "Tab", "Tab")
    t.wait("▸ Prompt")
    t.send("BTab")
    t.wait("▸ Model")
    t.send("Tab")
    t.wait("▸ Prompt")
    t.send("-l", "write a limerick")
    t.send("Enter")
    t.wait("? for shortcuts", timeout=30)  # the agent view, with the fake agent's prompt
    t.send("-l", "hello tmux")
    t.wait("> hello tmux")
    t.send("Enter")
    t.wait("you said: hello tmux", timeout=20)
    t.send("C-q")
    t.wait("demo-proj")
    t.wait("1 Tasks")
    t.send("q")
    t.wait("TUI-EXITED 0")
    with _api(home) as api:
        tasks = api.get("/api/tasks").json()["tasks"]
    assert len(tasks) == 1
    assert tasks[0]["running"] is True, tasks[0]


def test_type_ahead_into_a_dialog_does_not_wedge_it(tmux_argus: Any, git_repo: Path) -> None:
    t, home = tmux_argus
    t.wait("No tasks yet", timeout=60)
    with _api(home) as api:
        assert api.post("/api/projects", json={"name": "demo-proj", "path": str(git_repo)}).status_code == 201
    t.wait_gone("add a project first")
    # `n` and the prompt typed at once, before the dialog draws: the keys land in the dialog,
    # and Esc still closes it.
    t.send("-l", "nquick typed prompt")
    t.wait("quick typed prompt")
    t.send("Escape")
    screen = t.wait_gone("New task")
    assert "quick typed prompt" not in screen
    # again, then Tab moves between fields (not typed literally) and Enter submits
    t.send("-l", "nquick typed prompt")
    t.wait("quick typed prompt")
    t.send("Tab")
    t.wait("▸ Name")
    t.send("BTab")
    t.wait("▸ Prompt")
    screen = t.screen()
    assert "\t" not in screen and "quick typed prompt" in screen
    t.send("Enter")
    t.wait("? for shortcuts", timeout=30)  # the agent view of the new task
    t.send("C-q")
    t.wait("1 Tasks")
    with _api(home) as api:
        tasks = api.get("/api/tasks").json()["tasks"]
    assert [x["prompt"] for x in tasks] == ["quick typed prompt"], tasks
    t.send("q")
    t.wait("TUI-EXITED 0")


@pytest.fixture
def tmux_remote(daemon: Any, tmp_path: Path) -> Iterator[tuple[Tmux, Any]]:
    """``argus --remote URL --token DEVICE`` in tmux against a daemon's TCP REST API; the TUI's own
    ARGUS_HOME is an empty directory (no socket, no database to fall back on)."""
    device = daemon.client.post("/api/tokens", json={"label": "tmux"})
    assert device.status_code == 201, device.text
    elsewhere = tmp_path / "client-home"
    elsewhere.mkdir()
    t = _open_tmux(elsewhere, "--remote", daemon.url, "--token", device.json()["token"])
    try:
        yield t, daemon
    finally:
        subprocess.run([TMUX, "-L", t.name, "kill-server"], capture_output=True)


def _rename_with_type_ahead(t: Tmux, api: httpx.Client, task_id: str) -> None:
    """``r`` and the new name's tail typed at once, before the dialog draws; Esc, ctrl+q and Enter
    all still reach the dialog and Tab is never typed into the name."""
    def name() -> str:
        return str(api.get(f"/api/tasks/{task_id}").json()["task"]["name"])

    t.wait("alpha")
    # The typed text has list keys in it (q quits, n opens the New Task form): they must land
    # in the dialog's Name field.
    t.send("-l", "r quick new name")
    t.wait("alpha quick new name")
    t.send("Escape")
    t.wait_gone("Rename alpha")
    t.send("-l", "r quick new name")
    t.wait("alpha quick new name")
    t.send("C-q")
    t.wait_gone("Rename alpha")
    assert name() == "alpha"
    t.send("-l", "r quick new name")
    t.wait("alpha quick new name")
    t.send("Tab")
    t.send("BTab")
    t.wait("▸ Name")
    t.send("Enter")
    t.wait_gone("Rename alpha")
    wait_for(lambda: name() == "alpha quick new name", 30, what="the rename", detail=t.last_screen)
    t.send("q")
    t.wait("TUI-EXITED 0")


def test_type_ahead_into_the_rename_dialog_does_not_wedge_it(tmux_argus: Any, git_repo: Path) -> None:
    t, home = tmux_argus
    t.wait("No tasks yet", timeout=60)
    with _api(home) as api:
        assert api.post("/api/projects", json={"name": "demo-proj", "path": str(git_repo)}).status_code == 201
        resp = api.post("/api/tasks", json={"name": "alpha", "prompt": "wait", "project": "demo-proj",
                                            "backend": "demo"})
        assert resp.status_code == 201, resp.text
        _rename_with_type_ahead(t, api, resp.json()["task"]["id"])


def test_type_ahead_into_a_remote_tuis_rename_dialog_does_not_wedge_it(tmux_remote: Any,
                                                                       project: dict[str, Any]) -> None:
    t, daemon = tmux_remote
    resp = daemon.client.post("/api/tasks", json={"name": "alpha", "prompt": "wait", "project": project["name"],
                                                  "backend": "demo"})
    assert resp.status_code == 201, resp.text
    t.wait("remote", timeout=60)
    _rename_with_type_ahead(t, daemon.client, resp.json()["task"]["id"])
