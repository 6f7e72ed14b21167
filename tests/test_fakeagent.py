"""The scripted agent (plugins/tasks/demo_agent/ and its tests/fakeagent wrappers), in real PTYs."""

from __future__ import annotations

import json
import os
import queue
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trio
from argus.plugins.tasks.demo_agent import parse_args
from ptyprocess import PtyProcess

FAKEAGENT_DIR = Path(__file__).resolve().parent / "fakeagent"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
WAIT = 20.0  # seconds: a deadline for conditions, not an expected duration


def strip_ansi(text: str) -> str:
    """Drop CSI sequences and carriage returns, as a screen-scraper would before matching."""
    return ANSI.sub("", text).replace("\r", "")


class PtyAgent:
    """An agent process on a real PTY, with deadline-bound waits on its output."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        exe = shutil.which(argv[0], path=env["PATH"]) or argv[0]
        self.proc = PtyProcess.spawn([exe, *argv[1:]], cwd=str(cwd), env=env, dimensions=(50, 200))
        self.raw = b""
        self.pos = 0  # in the stripped text: expect() searches after the previous match
        self.eof = False

    @property
    def text(self) -> str:
        """Everything printed so far, ANSI-stripped."""
        return strip_ansi(self.raw.decode("utf-8", "replace"))

    def _read(self, timeout: float) -> None:
        if self.eof:
            return
        ready, _, _ = select.select([self.proc.fd], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.proc.fd, 65536)
        except OSError:  # EIO: the child side is closed
            data = b""
        if not data:
            self.eof = True
        self.raw += data

    def expect(self, needle: str, timeout: float = WAIT) -> str:
        """Wait until ``needle`` appears after the previous match; return the text up to it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            index = text.find(needle, self.pos)
            if index >= 0:
                start, self.pos = self.pos, index + len(needle)
                return text[start : self.pos]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                why = "exited" if self.eof else "timed out"
                raise AssertionError(f"{why} waiting for {needle!r}; output after last match:\n{text[self.pos :]}")
            self._read(min(remaining, 0.5))

    def send(self, data: bytes) -> None:
        """Type ``data`` into the agent's terminal."""
        self.proc.write(data)

    def wait_exit(self, timeout: float = WAIT) -> int:
        """Drain output until the agent exits; return its exit status."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(min(0.5, deadline - time.monotonic()))
        while self.proc.isalive():
            if time.monotonic() >= deadline:
                raise AssertionError(f"agent did not exit; output:\n{self.text[-2000:]}")
            time.sleep(0.02)
        assert self.proc.exitstatus is not None, f"killed by signal {self.proc.signalstatus}"
        return self.proc.exitstatus

    def close(self) -> None:
        """Kill the agent if it still runs and release the PTY."""
        if self.proc.isalive():
            self.proc.terminate(force=True)
        self.proc.close(force=True)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A git repository with one commit: the agent's worktree."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "README.md").write_text("hello\n")
    subprocess.run([*git, "add", "README.md"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=repo, check=True)
    return repo


@pytest.fixture
def agent_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: our ARGUS_HOME, the fake CLIs first on PATH, short busy phases."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "FAKEAGENT_"))}
    home = tmp_path / "argus-home"
    home.mkdir()
    env.update(
        ARGUS_HOME=str(home),
        ARGUS_TEST_PYTHON=sys.executable,
        PATH=f"{FAKEAGENT_DIR}{os.pathsep}{env.get('PATH', '')}",
        FAKEAGENT_BUSY="0.2",
        TERM="xterm-256color",
    )
    return env


@pytest.fixture
def spawn(workdir: Path, agent_env: dict[str, str]) -> Iterator[Callable[..., PtyAgent]]:
    """Start agents in PTYs (in ``workdir`` with ``agent_env`` unless told); kill them all after."""
    agents: list[PtyAgent] = []

    def start(*argv: str, cwd: Path | None = None, **env: str) -> PtyAgent:
        agent = PtyAgent(list(argv), cwd or workdir, {**agent_env, **env})
        agents.append(agent)
        return agent

    try:
        yield start
    finally:
        for agent in agents:
            agent.close()


class HookServer:
    """A tiny HTTP server on 127.0.0.1:0 recording the JSON POSTs it receives."""

    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[dict[str, str], dict[str, Any]]] = queue.Queue()
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posts.put((dict(self.headers.items()), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = WAIT) -> tuple[dict[str, str], dict[str, Any]]:
        """The next POST (headers, JSON body), waiting up to ``timeout``."""
        return self.posts.get(timeout=timeout)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    """A running HookServer, stopped after the test."""
    server = HookServer()
    try:
        yield server
    finally:
        server.close()


def wait_for_file(path: Path, timeout: float = WAIT) -> str:
    """Wait until ``path`` exists and is non-empty; return its text."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)
    return path.read_text()


# ------------------------------------------------------------------------------------------


def test_initial_prompt_shows_banner_busy_plan_edits_file_and_waits(spawn, workdir: Path) -> None:
    agent = spawn("claude", "--model", "opus", "--session-id", "s-1", "fix the bug")
    agent.expect("Argus demo agent (claude)")
    agent.expect("model: opus")
    agent.expect("session: s-1")
    agent.expect(f"cwd: {workdir}")
    agent.expect("Plan: 1. read files 2. edit ARGUS_DEMO.md 3. wait for you")
    agent.expect("esc to interrupt")
    agent.expect("Update(ARGUS_DEMO.md)")
    agent.expect("? for shortcuts\n> ")
    assert "fix the bug" in (workdir / "ARGUS_DEMO.md").read_text()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=workdir, capture_output=True, text=True, check=True
    ).stdout
    assert status == "?? ARGUS_DEMO.md\n"  # edited, never committed
    log = subprocess.run(["git", "log", "--oneline"], cwd=workdir, capture_output=True, text=True).stdout
    assert len(log.splitlines()) == 1


def test_busy_spinner_redraws_in_place_and_is_erased(spawn) -> None:
    agent = spawn("claude", "go", FAKEAGENT_BUSY="0.5")
    agent.expect("? for shortcuts")
    raw = agent.raw.decode()
    frames = re.findall(r"\r\x1b\[K[^\r\n]*esc to interrupt", raw)
    assert len(frames) >= 2  # redrawn on one line with \r
    # the spinner line is cleared before the next output, so a screen shows no stale "busy"
    assert "esc to interrupt)\r\x1b[K●" in raw


def test_prompt_flag_and_unknown_flags_are_tolerated(spawn, workdir: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    agent = spawn(
        "fakeagent", "--frobnicate", "--add-dir", "/elsewhere", "-p", "from the flag",
        "--permission-mode", "acceptEdits", "--mcp-config", "/x/mcp.json", "--settings=/x/s.json",
        FAKEAGENT_RECORD=str(record),
    )  # fmt: skip
    agent.expect("mcp config: /x/mcp.json")
    agent.expect("accept edits on (shift+tab to cycle) · ? for shortcuts")
    assert "from the flag" in (workdir / "ARGUS_DEMO.md").read_text()
    entry = json.loads(record.read_text().splitlines()[0])
    assert entry["prompt"] == "from the flag"
    assert entry["settings"] == "/x/s.json"
    assert entry["ignored"] == ["--frobnicate", "--add-dir", "/elsewhere"]
    assert entry["env"]["ARGUS_HOME"]


def test_typed_input_is_echoed_with_line_editing(spawn) -> None:
    agent = spawn("claude")
    agent.expect("? for shortcuts\n> ")
    agent.send(b"hellp\x7fo")
    agent.expect("hellp\x08 \x08o")  # our own echo, backspace erased the p
    agent.send(b"\r")
    agent.expect("you said: hello")
    agent.expect("esc to interrupt")
    agent.expect("I heard: hello")
    agent.expect("? for shortcuts\n> ")
    agent.send("héllo wörld\r".encode())
    agent.expect("you said: héllo wörld")


def test_lone_esc_at_prompt_prints_interrupted_and_clears_the_line(spawn) -> None:
    agent = spawn("claude")
    agent.expect("> ")
    agent.send(b"abc")
    agent.expect("abc")
    agent.send(b"\x1b")
    agent.expect("[interrupted]")
    agent.expect("? for shortcuts\n> ")
    agent.send(b"x\r")
    agent.expect("you said: x\n")


def test_escape_sequences_are_not_a_lone_esc(spawn) -> None:
    agent = spawn("claude")
    agent.expect("> ")
    agent.send(b"\x1b[A\x1b[D")  # arrow keys
    agent.send(b"y\r")
    agent.expect("you said: y")
    assert "[interrupted]" not in agent.text


def test_esc_interrupts_the_busy_phase(spawn, workdir: Path) -> None:
    agent = spawn("claude", "a long job", FAKEAGENT_BUSY="600")
    agent.expect("esc to interrupt")
    agent.send(b"\x1b")
    agent.expect("[interrupted]")
    agent.expect("? for shortcuts\n> ")
    assert not (workdir / "ARGUS_DEMO.md").exists()


def test_shift_tab_cycles_the_mode_in_the_footer(spawn) -> None:
    agent = spawn("claude")
    agent.expect("? for shortcuts")
    agent.send(b"\x1b[Z")
    agent.expect("accept edits on (shift+tab to cycle)")
    agent.send(b"\x1b[Z")
    agent.expect("plan mode on (shift+tab to cycle)")


@pytest.mark.parametrize(
    ("line", "code", "output"),
    [("/exit 3", 3, "you said: /exit 3"), ("/exit", 0, ""), ("/crash", 1, "Traceback (most recent call last)")],
)
def test_exit_commands_set_the_exit_code(spawn, line: str, code: int, output: str) -> None:
    agent = spawn("claude")
    agent.expect("> ")
    agent.send(line.encode() + b"\r")
    assert agent.wait_exit() == code
    assert output in agent.text


def test_ctrl_c_twice_on_an_empty_line_exits(spawn) -> None:
    agent = spawn("claude")
    agent.expect("> ")
    agent.send(b"\x03")
    agent.expect("press Ctrl-C again to exit")
    agent.send(b"\x03")
    assert agent.wait_exit() == 130


def test_fakeagent_exit_env_exits_right_after_the_banner(spawn, workdir: Path) -> None:
    agent = spawn("claude", "do things", FAKEAGENT_EXIT="7")
    assert agent.wait_exit() == 7
    assert "Argus demo agent" in agent.text
    assert "Plan:" not in agent.text
    assert not (workdir / "ARGUS_DEMO.md").exists()


def test_resume_skips_the_initial_work(spawn, workdir: Path) -> None:
    agent = spawn("claude", "--resume", "abc-123", "ignored prompt")
    agent.expect("session: abc-123")
    agent.expect("resumed session abc-123")
    agent.expect("? for shortcuts\n> ")
    assert "Plan:" not in agent.text
    assert not (workdir / "ARGUS_DEMO.md").exists()


def test_codex_wrapper_accepts_resume_subcommand_and_config_flags(spawn, tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    agent = spawn(
        "codex", "-c", "model_reasoning_effort=high", "--dangerously-bypass-approvals-and-sandbox",
        "resume", "sess-9", FAKEAGENT_RECORD=str(record),
    )  # fmt: skip
    agent.expect("Argus demo agent (codex)")
    agent.expect("resumed session sess-9")
    agent.expect("> ")
    entry = json.loads(record.read_text())
    assert entry["config"] == {"model_reasoning_effort": "high"}
    assert entry["resume"] == "sess-9"


def test_codex_notify_program_runs_after_a_turn(spawn, tmp_path: Path) -> None:
    out = tmp_path / "notify.json"
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"
    notify = json.dumps([sys.executable, "-c", script, str(out)])
    agent = spawn("codex", "-c", f"notify={notify}", "write the docs")
    agent.expect("? for shortcuts")
    message = json.loads(wait_for_file(out))
    assert message["type"] == "agent-turn-complete"
    assert message["input-messages"] == ["write the docs"]


def test_hooks_are_posted_to_argus_hook_url(spawn, hook_server: HookServer) -> None:
    agent = spawn(
        "fakeagent", "--session-id", "s-7",
        ARGUS_HOOK_URL=hook_server.url, ARGUS_HOOK_TOKEN="tok-1", ARGUS_TASK_ID="task-42",
    )  # fmt: skip
    headers, body = hook_server.next()
    assert body == {"event": "Stop", "task_id": "task-42", "session_id": "s-7", "cwd": body["cwd"]}
    assert headers["Authorization"] == "Bearer tok-1"
    agent.expect("> ")
    agent.send(b"hi there\r")
    _, body = hook_server.next()
    assert (body["event"], body["prompt"]) == ("UserPromptSubmit", "hi there")
    _, body = hook_server.next()
    assert body["event"] == "Stop"


def test_imitating_claude_posts_nothing_by_itself(spawn, hook_server: HookServer) -> None:
    agent = spawn("claude", "build it", ARGUS_HOOK_URL=hook_server.url, ARGUS_TASK_ID="t1")
    agent.expect("? for shortcuts")
    assert hook_server.posts.empty()


def test_initial_prompt_posts_user_prompt_submit_then_stop(spawn, hook_server: HookServer) -> None:
    spawn("fakeagent", "build it", ARGUS_HOOK_URL=hook_server.url, ARGUS_TASK_ID="t1")
    events = [hook_server.next()[1] for _ in range(2)]
    assert [e["event"] for e in events] == ["UserPromptSubmit", "Stop"]
    assert events[0]["prompt"] == "build it"


def test_claude_settings_command_hooks_run(spawn, tmp_path: Path) -> None:
    stop_file = tmp_path / "stop.json"
    submit_file = tmp_path / "submit.json"
    settings = {
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": f"cat > {stop_file}"}]}],
            "UserPromptSubmit": [{"matcher": "", "hooks": [{"type": "command", "command": f"cat > {submit_file}"}]}],
        }
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    agent = spawn("claude", "--settings", str(path), "--session-id", "s-3", "hello hooks")
    agent.expect("? for shortcuts")
    submitted = json.loads(wait_for_file(submit_file))
    assert submitted["hook_event_name"] == "UserPromptSubmit"
    assert submitted["prompt"] == "hello hooks"
    stopped = json.loads(wait_for_file(stop_file))
    assert (stopped["hook_event_name"], stopped["session_id"]) == ("Stop", "s-3")


def test_flood_prints_numbered_kilobytes_and_link_prints_url(spawn) -> None:
    agent = spawn("claude", "--session-id", "s-9")
    agent.expect("> ")
    agent.send(b"/flood 8\r")
    flooded = agent.expect("flood done: 8 KB")
    assert len(re.findall(r"^flood \d{8} x{48}$", flooded, re.M)) == 8 * 1024 // 64
    agent.send(b"/link\r")
    agent.expect("https://example.com/argus/s-9")


def test_runs_without_a_tty(agent_env: dict[str, str], workdir: Path) -> None:
    result = subprocess.run(
        [str(FAKEAGENT_DIR / "fakeagent")], input=b"hi\n/exit 4\n", cwd=workdir,
        env={**agent_env, "FAKEAGENT_BUSY": "0"}, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr.decode()
    assert b"you said: hi" in result.stdout


def test_module_runs_with_python_m_and_prints_version(agent_env: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "argus.plugins.tasks.demo_agent", "--version"],
        cwd=tmp_path, env=agent_env, capture_output=True, text=True, timeout=WAIT,
    )  # fmt: skip
    assert result.returncode == 0
    assert "Argus demo agent" in result.stdout
    for name in ("claude", "codex", "pi", "fakeagent"):
        assert os.access(FAKEAGENT_DIR / name, os.X_OK), name


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--model=m1", "a", "b"], {"model": "m1", "prompt": "a b"}),
        (["-c", "k=v", "-c"], {"config": {"k": "v"}, "resume": "latest"}),
        (["--unknown=1", "-x", "--", "-not-a-flag"], {"prompt": "-not-a-flag", "ignored": ["--unknown=1", "-x"]}),
        (["--mcp-call", "t", '{"a": 1}', "--mcp-call", "u", "{}"], {"mcp_calls": [("t", '{"a": 1}'), ("u", "{}")]}),
        (["--resume", "r1"], {"resume": "r1", "session_id": "r1"}),
    ],
)
def test_parse_args(argv: list[str], expected: dict[str, Any]) -> None:
    opts = parse_args(argv, {})
    assert {key: getattr(opts, key) for key in expected} == expected


# ------------------------------------------------------------------------------------------
# MCP: the official SDK's server, streamable HTTP under hypercorn's trio worker


@pytest.mark.parametrize("mode", ["sse", "json", "mcp-config", "codex-config"])
async def test_mcp_calls_reach_a_real_mcp_server(spawn, tmp_path: Path, mode: str) -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("fake-argus")

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case ``text``."""
        return text.upper()

    app = server.streamable_http_app(json_response=mode == "json")
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(app, config, task_status=task_status))
        url = binds[0] + "/mcp"
        env = {"ARGUS_MCP_URL": url}
        extra: list[str] = []
        if mode == "mcp-config":
            config_path = tmp_path / "mcp.json"
            config_path.write_text(json.dumps({"mcpServers": {"argus": {"type": "http", "url": url}}}))
            env, extra = {}, ["--mcp-config", str(config_path)]
        cli = "claude"
        if mode == "codex-config":
            cli, env, extra = "codex", {}, ["-c", f'mcp_servers.argus.url="{url}"']
        agent = spawn(cli, *extra, "--mcp-call", "shout", '{"text": "hi"}', "--mcp-call", "nope", "{}", **env)
        await trio.to_thread.run_sync(agent.expect, "mcp shout -> HI")
        await trio.to_thread.run_sync(agent.expect, "mcp nope -> error:")
        await trio.to_thread.run_sync(agent.expect, "> ")
        agent.send(b'/mcp shout {"text": "later"}\r')
        await trio.to_thread.run_sync(agent.expect, "mcp shout -> LATER")
        agent.send(b"/exit\r")
        assert await trio.to_thread.run_sync(agent.wait_exit) == 0
        nursery.cancel_scope.cancel()


def test_mcp_call_to_nothing_reports_an_error_and_goes_on(spawn) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        agent = spawn("claude", "--mcp-call", "shout", "{}", ARGUS_MCP_URL=f"http://127.0.0.1:{port}/mcp")
        agent.expect("mcp shout -> error:")
        agent.expect("? for shortcuts")
