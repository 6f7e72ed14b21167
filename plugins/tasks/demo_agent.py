"""The Argus demo agent: a scripted agent CLI that looks like Claude Code from the outside.

It is the ``demo`` backend that ships with Argus (so a machine without any agent CLI works end to
end) and the core of the tests' fake agent (``tests/fakeagent/{claude,codex,pi,fakeagent}``). It is
pure standard library on purpose: it runs inside the agent's PTY, possibly under another
interpreter or a sandbox, and must start fast.

Run it as ``python -m argus.plugins.tasks.demo_agent [options] [PROMPT]``.

What it does, in order:

1. Prints a banner: name, model, session id, cwd (and ``resumed session ID`` with ``--resume``).
2. With a prompt (and not resuming): prints ``Plan: 1. read files 2. edit <file> 3. wait for you``,
   shows a busy spinner redrawn with ``\\r`` whose line contains ``esc to interrupt``, then appends
   a note to ``ARGUS_DEMO.md`` in its cwd (never commits).
3. Runs the ``--mcp-call`` tool calls, printing ``mcp TOOL -> <result text>``.
4. Shows an input prompt: a line containing ``? for shortcuts`` followed by a line ``> ``, and
   reads keys in cbreak mode with its own echo and line editing (printable characters, backspace,
   Ctrl-U, Enter). A lone ESC prints ``[interrupted]`` and redraws the prompt; ESC or Ctrl-C
   during a busy phase interrupts it. Shift+Tab cycles the permission mode shown in the footer.
   Ctrl-C on an empty line twice in a row exits 130; Ctrl-D on an empty line exits 0.
5. On each submitted line prints ``you said: <line>``, a busy phase, an answer, the prompt again.

Slash commands: ``/exit [N]`` exits N (default 0); ``/crash`` prints a traceback-like text and
exits 1; ``/flood N`` prints N KB of numbered lines quickly, then ``flood done: N KB``;
``/sleep S`` is busy for S seconds; ``/link`` prints ``https://example.com/argus/<session>``;
``/mcp TOOL [JSON]`` calls an MCP tool now; ``/help`` lists them.

Options (unknown flags are ignored, like a tolerant CLI wrapper; flags known to take a value in
the real CLIs have their value skipped too; ``--flag=value`` forms work for every flag):

- ``PROMPT`` (positional words, joined) or ``-p/--prompt PROMPT``
- ``--model/-m M``, ``--session-id ID``, ``--resume/-r ID`` (``-c``/``--continue`` resumes
  ``latest``), ``--mcp-config PATH|JSON``, ``--settings PATH|JSON``, ``--permission-mode X``,
  ``--dangerously-skip-permissions`` (recorded and shown in the banner)
- ``-c key=value`` / ``--config key=value``: Codex-style config overrides (recorded; ``notify``
  is honoured, see below)
- ``--mcp-call TOOL JSON`` (repeatable), ``--busy S``, ``--edit-file NAME``, ``--no-edit``
- ``--print``: print mode, as ``claude -p``/``pi -p``: one answer on stdout, then exit (Codex:
  ``exec`` as the first positional word); see ``FAKEAGENT_PRINT_*`` below
- ``--version``, ``--help``
- With ``FAKEAGENT_AS=codex`` (set by the ``codex`` wrapper), ``resume ID`` / ``resume --last``
  as the first positional words resume that session, like ``codex resume``.
- With ``FAKEAGENT_AS=opencode`` (the ``opencode`` wrapper), ``--session/-s ID`` resumes that session
  and a new session is recorded under ``$XDG_DATA_HOME/opencode/storage/session/`` (when set).

Environment variables:

- ``FAKEAGENT_BUSY``: seconds of each busy phase, initial work and every answer (default 1.5).
- ``FAKEAGENT_EXIT``: exit with this code right after the banner.
- ``FAKEAGENT_EDIT_FILE``: file in the cwd to append to (default ``ARGUS_DEMO.md``).
- ``FAKEAGENT_NO_EDIT``: when set (and not ``0``), edit nothing.
- ``FAKEAGENT_NAME``: the name in the banner (default: ``FAKEAGENT_AS`` or ``demo``).
- ``FAKEAGENT_AS``: which CLI to imitate for argument quirks (``codex``); set by the wrappers.
- ``FAKEAGENT_RECORD``: a file to which each launch appends one JSON line (argv, cwd, parsed
  options, ``ARGUS_*`` variables with token values masked), for tests of command building.
- ``FAKEAGENT_PRINT_ANSWER`` / ``FAKEAGENT_PRINT_DELAY`` / ``FAKEAGENT_PRINT_EXIT``: print mode's answer
  (default: empty), delay in seconds before it, and exit code; ``FAKEAGENT_PRINT_RECORD``: the file
  print-mode launches are recorded to (never ``FAKEAGENT_RECORD``).
- ``CODEX_HOME``: as Codex (``FAKEAGENT_AS=codex``), a new session writes its rollout file under
  ``$CODEX_HOME/sessions/YYYY/MM/DD/`` (first line ``session_meta`` with ``id`` and ``cwd``).
- ``FAKEAGENT_MCP_TIMEOUT``: seconds per MCP HTTP request (default 30).
- ``FAKEAGENT_TRANSCRIPT``: a folder; every byte the agent writes to its terminal is also appended
  to ``<folder>/<pid>.out`` just before it goes to the terminal (so a killed agent's log is a prefix of
  it; the PTY then turns ``\\n`` into ``\\r\\n``): tests compare a session's log with what the agent wrote.
- ``FAKEAGENT_IGNORE_HUP=1``: ignore SIGHUP (survive the terminal's hangup), as some real CLIs do.
- ``ARGUS_HOOK_URL``: when set (and not imitating ``claude``, ``codex``, ``pi`` or ``opencode``, which report only
  through their own hooks/notify, or not at all), POST ``{"event": "Stop", "task_id", "session_id", "cwd"}``
  whenever a fresh input prompt is shown, and ``{"event": "UserPromptSubmit", ..., "prompt"}``
  whenever a prompt is submitted (the initial one included). Synchronous, 1 s timeout, errors
  ignored. ``ARGUS_HOOK_TOKEN`` adds ``Authorization: Bearer <token>``; ``ARGUS_TASK_ID`` fills
  ``task_id``.
- ``ARGUS_MCP_URL``: the MCP endpoint (default: the ``argus`` server, else the first server with a
  ``url``, in ``--mcp-config`` or ``./.mcp.json``, else Codex's ``-c mcp_servers.argus.url="..."``;
  else ``http://127.0.0.1:7742/mcp``). Headers of that config entry are sent (``${VAR}`` expanded
  from the environment); Codex's ``-c mcp_servers.argus.bearer_token_env_var="VAR"`` sends ``$VAR``
  as a bearer token; ``ARGUS_MCP_TOKEN`` adds one when none is configured (not when imitating
  ``claude`` or ``codex``, which read only their config).

Like the real CLIs, it also runs the ``command`` hooks of Claude Code settings (``--settings``,
``./.claude/settings.json``, ``./.claude/settings.local.json``) for ``UserPromptSubmit`` and
``Stop`` (JSON on stdin), and Codex's ``-c notify=[...]`` program after each turn (JSON as last
argument). Unlike ``ARGUS_HOOK_URL``, those fire ``Stop``/notify only after a turn, as the real
CLIs do, not when the first prompt appears without work.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
import unicodedata
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERSION = "0.1.0"
DEFAULT_MCP_URL = "http://127.0.0.1:7742/mcp"
DEFAULT_EDIT_FILE = "ARGUS_DEMO.md"
DEFAULT_BUSY = 1.5
MCP_PROTOCOL_VERSION = "2025-06-18"
SPINNER = "·✢✳✶✻✽"
ESC = "\x1b"
LONE_ESC_WAIT = 0.05  # seconds to wait after a trailing ESC for the rest of an escape sequence

# Our own flags and the real CLIs' flags that take a value: name -> option attribute.
VALUE_FLAGS: dict[str, str] = {
    "-p": "prompt",
    "--prompt": "prompt",
    "-m": "model",
    "--model": "model",
    "--session-id": "session_id",
    "-r": "resume",
    "--resume": "resume",
    "--mcp-config": "mcp_config",
    "--settings": "settings",
    "--permission-mode": "permission_mode",
    "--config": "config",
    "--busy": "busy",
    "--edit-file": "edit_file",
}
SWITCH_FLAGS: dict[str, str] = {
    "--dangerously-skip-permissions": "skip_permissions",
    "--no-edit": "no_edit",
    "--continue": "continue_",
    "--print": "print_mode",
}
# Flags of claude / codex / pi that take a value we do not use: skip the value with the flag.
FOREIGN_VALUE_FLAGS = frozenset(
    """
    --add-dir --agent --agents --allowedTools --allowed-tools --append-system-prompt --api-key
    --ask-for-approval -a --cd -C --disallowedTools --disallowed-tools --fallback-model --image -i
    --input-format --max-turns --output-format --profile --provider --sandbox -s --session
    --session-dir --system-prompt --thinking --tools
    """.split()
)
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions")
MODE_FOOTERS = {
    "default": "",
    "acceptEdits": "⏵⏵ accept edits on (shift+tab to cycle) · ",
    "plan": "⏸ plan mode on (shift+tab to cycle) · ",
    "bypassPermissions": "⏵⏵ bypass permissions on (shift+tab to cycle) · ",
}


class Exit(Exception):
    """Raised to leave the agent with an exit code from anywhere in the loop."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Options:
    """The parsed command line and environment of one launch."""

    prompt: str = ""
    model: str = "demo"
    session_id: str = ""
    resume: str | None = None
    continue_: bool = False
    mcp_config: str | None = None
    settings: str | None = None
    permission_mode: str | None = None
    skip_permissions: bool = False
    config: dict[str, str] = field(default_factory=dict)
    mcp_calls: list[tuple[str, str]] = field(default_factory=list)
    busy: float = DEFAULT_BUSY
    edit_file: str = DEFAULT_EDIT_FILE
    no_edit: bool = False
    exit_code: int | None = None
    name: str = "demo"
    imitate: str = ""
    show: str | None = None  # "help" or "version"
    print_mode: bool = False  # --print (codex: `exec`): answer once on stdout and exit
    ignored: list[str] = field(default_factory=list)


def _truthy(value: str | None) -> bool:
    return bool(value) and value not in {"0", "false", "no"}


def parse_args(argv: list[str], env: Mapping[str, str]) -> Options:
    """Parse ``argv`` tolerantly (unknown flags are ignored) with ``env`` supplying defaults."""
    opts = Options()
    opts.imitate = env.get("FAKEAGENT_AS", "")
    opts.name = env.get("FAKEAGENT_NAME") or opts.imitate or "demo"
    if env.get("FAKEAGENT_BUSY"):
        opts.busy = float(env["FAKEAGENT_BUSY"])
    if env.get("FAKEAGENT_EXIT"):
        opts.exit_code = int(env["FAKEAGENT_EXIT"])
    if env.get("FAKEAGENT_EDIT_FILE"):
        opts.edit_file = env["FAKEAGENT_EDIT_FILE"]
    opts.no_edit = _truthy(env.get("FAKEAGENT_NO_EDIT"))

    positionals: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positionals.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            continue
        inline: str | None  # None: no "=value" part
        name, eq, inline = arg.partition("=")
        if not eq:
            name, inline = arg, None
        has_next = i < len(args)
        if name in ("-h", "--help"):
            opts.show = "help"
        elif name in ("-v", "--version"):
            opts.show = "version"
        elif name == "--mcp-call":
            values = [inline] if inline is not None else []
            while len(values) < 2 and i < len(args):
                values.append(args[i])
                i += 1
            if values:
                opts.mcp_calls.append((values[0], values[1] if len(values) > 1 else "{}"))
        elif name == "-c":
            # Codex's `-c key=value`, or Claude's and pi's `-c` (= --continue).
            if inline is None and has_next and "=" in args[i] and not args[i].startswith("-"):
                _set_config(opts, args[i])
                i += 1
            elif inline is not None:
                _set_config(opts, inline)
            else:
                opts.continue_ = True
        elif opts.imitate == "opencode" and name in ("--session", "-s"):
            value = inline if inline is not None else (args[i] if has_next else None)
            if inline is None and has_next:
                i += 1
            if value:
                opts.resume = value
        elif name in VALUE_FLAGS:
            attr = VALUE_FLAGS[name]
            value = inline
            if value is None and has_next and (attr == "prompt" or not args[i].startswith("-")):
                value = args[i]
                i += 1
            if value is None:
                opts.ignored.append(arg)
                continue
            if attr == "config":
                _set_config(opts, value)
            elif attr == "busy":
                opts.busy = float(value)
            else:
                setattr(opts, attr, value)
        elif name in SWITCH_FLAGS:
            setattr(opts, SWITCH_FLAGS[name], True)
        else:
            opts.ignored.append(arg)
            if name in FOREIGN_VALUE_FLAGS and inline is None and has_next:
                opts.ignored.append(args[i])
                i += 1

    if opts.imitate == "codex" and positionals[:1] == ["resume"]:
        positionals.pop(0)
        if positionals:
            opts.resume = positionals.pop(0)
        else:
            opts.resume = "latest"
    if opts.imitate == "codex" and positionals[:1] == ["exec"]:
        positionals.pop(0)
        opts.print_mode = True
    if opts.continue_ and not opts.resume:
        opts.resume = "latest"
    if positionals:
        words = " ".join(positionals)
        opts.prompt = f"{opts.prompt} {words}".strip() if opts.prompt else words
    if opts.resume:
        opts.session_id = opts.resume
    if not opts.session_id:
        opts.session_id = ("ses_" + uuid.uuid4().hex[:24]) if opts.imitate == "opencode" else str(uuid.uuid4())
    return opts


def _set_config(opts: Options, item: str) -> None:
    key, _, value = item.partition("=")
    opts.config[key.strip()] = value.strip()


def initial_mode(opts: Options) -> str:
    """The permission mode the footer starts in."""
    if opts.skip_permissions:
        return "bypassPermissions"
    mode = opts.permission_mode or "default"
    return mode if mode in PERMISSION_MODES else "default"


def _load_json_arg(value: str | None) -> dict[str, Any]:
    """Load a ``--settings``/``--mcp-config`` value: a path or an inline JSON object."""
    if not value:
        return {}
    try:
        text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    # The daemon is on loopback or the tailnet: never go through an HTTP proxy from the env.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------------------------
# MCP over streamable HTTP (initialize -> notifications/initialized -> tools/call)


class McpError(Exception):
    """A failed MCP exchange (transport error, JSON-RPC error, malformed answer)."""


class McpClient:
    """A minimal MCP client over the streamable-HTTP transport, using only urllib."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._next_id = 0
        self._opener = _no_proxy_opener()

    def _request(self, method: str, params: dict[str, Any] | None, notify: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            payload["params"] = params
        request_id = None
        if not notify:
            self._next_id += 1
            request_id = payload["id"] = self._next_id
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **self.headers,
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        req = urllib.request.Request(self.url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                session_id = resp.headers.get("Mcp-Session-Id")
                if session_id:
                    self.session_id = session_id
                if notify:
                    return {}
                ctype = resp.headers.get("Content-Type", "")
                if "text/event-stream" in ctype:
                    message = self._read_sse(resp, request_id)
                else:
                    message = self._pick(json.loads(resp.read() or b"null"), request_id)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace").strip()
            raise McpError(f"HTTP {exc.code}: {body[:300]}") from None
        except (OSError, ValueError) as exc:
            raise McpError(str(exc) or type(exc).__name__) from None
        if message is None:
            raise McpError(f"no answer to {method}")
        if "error" in message:
            error = message["error"] or {}
            raise McpError(f"{error.get('message', 'error')} ({error.get('code')})")
        result = message.get("result")
        return result if isinstance(result, dict) else {}

    @staticmethod
    def _pick(data: Any, request_id: int | None) -> dict[str, Any] | None:
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and item.get("id") == request_id:
                return item
        return None

    def _read_sse(self, resp: Any, request_id: int | None) -> dict[str, Any] | None:
        data_lines: list[str] = []
        for raw in resp:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if data_lines:
                    found = self._pick(json.loads("\n".join(data_lines)), request_id)
                    data_lines = []
                    if found is not None and ("result" in found or "error" in found):
                        return found
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if name == "data":
                data_lines.append(value[1:] if value.startswith(" ") else value)
        if data_lines:
            return self._pick(json.loads("\n".join(data_lines)), request_id)
        return None

    def initialize(self) -> None:
        """Open an MCP session: ``initialize`` then ``notifications/initialized``."""
        result = self._request(
            "initialize",
            {
                "protocolVersion": MCP_PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "argus-demo-agent", "version": VERSION},
            },
        )
        self.protocol_version = str(result.get("protocolVersion") or MCP_PROTOCOL_VERSION)
        self._request("notifications/initialized", None, notify=True)

    def call_tool(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """Call tool ``name``; return its text content and whether it is a tool error."""
        result = self._request("tools/call", {"name": name, "arguments": arguments})
        texts = [
            str(item.get("text", ""))
            for item in result.get("content") or []
            if isinstance(item, dict) and item.get("type") == "text"
        ]
        text = "\n".join(texts)
        if not texts and result.get("structuredContent") is not None:
            text = json.dumps(result["structuredContent"])
        return text, bool(result.get("isError"))

    def close(self) -> None:
        """End the MCP session (DELETE), ignoring errors."""
        if not self.session_id:
            return
        headers = {"Mcp-Session-Id": self.session_id, **self.headers}
        req = urllib.request.Request(self.url, headers=headers, method="DELETE")
        try:
            self._opener.open(req, timeout=min(self.timeout, 2.0)).close()
        except (OSError, ValueError):
            pass


def mcp_endpoint(opts: Options, env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Where to reach Argus's MCP server, and which headers to send."""
    config = _load_json_arg(opts.mcp_config) or _load_json_arg(".mcp.json" if Path(".mcp.json").is_file() else None)
    servers = config.get("mcpServers") or {}
    entry: dict[str, Any] = {}
    if isinstance(servers, dict):
        candidates = [servers.get("argus")] + list(servers.values())
        entry = next((c for c in candidates if isinstance(c, dict) and c.get("url")), {})
    codex_url = _parse_toml_value(opts.config.get("mcp_servers.argus.url", ""))  # codex -c override
    if not entry and isinstance(codex_url, str) and codex_url:
        entry = {"url": codex_url}
    url = env.get("ARGUS_MCP_URL") or str(entry.get("url") or DEFAULT_MCP_URL)
    headers: dict[str, str] = {}
    if entry and str(entry.get("url")) == url and isinstance(entry.get("headers"), dict):
        # Like Claude Code, ${VAR} in a header value is taken from the environment.
        headers = {str(k): _expand_env(str(v), env) for k, v in entry["headers"].items()}
    token_var = _parse_toml_value(opts.config.get("mcp_servers.argus.bearer_token_env_var", ""))
    if isinstance(token_var, str) and token_var and env.get(token_var):  # codex's bearer_token_env_var
        headers.setdefault("Authorization", f"Bearer {env[token_var]}")
    # Claude and Codex read no token variable of their own: only what their config names.
    if opts.imitate not in ("claude", "codex") and env.get("ARGUS_MCP_TOKEN") \
            and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = f"Bearer {env['ARGUS_MCP_TOKEN']}"
    return url, headers


def _expand_env(value: str, env: Mapping[str, str]) -> str:
    """``${VAR}`` replaced by the variable's value (empty when unset)."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), value)


# --------------------------------------------------------------------------------------------
# The terminal: cbreak mode, our own echo, key tokenizing


class Terminal:
    """The agent's side of its PTY: cbreak input (no echo, no signals), raw byte output."""

    def __init__(self, fd_in: int = 0, fd_out: int = 1) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._saved: list[Any] | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.keys: deque[str] = deque()
        self.eof = False
        folder = os.environ.get("FAKEAGENT_TRANSCRIPT")
        self._transcript = os.open(os.path.join(folder, f"{os.getpid()}.out"),
                                   os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if folder else None
        if os.isatty(fd_in):
            import termios

            self._saved = termios.tcgetattr(fd_in)
            mode = termios.tcgetattr(fd_in)
            mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
            mode[6][termios.VMIN] = 1
            mode[6][termios.VTIME] = 0
            termios.tcsetattr(fd_in, termios.TCSANOW, mode)

    def restore(self) -> None:
        """Put the tty back the way we found it."""
        if self._saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd_in, termios.TCSADRAIN, self._saved)
            except termios.error:
                pass
            self._saved = None

    def write(self, text: str) -> None:
        """Write ``text`` (UTF-8) completely."""
        view = memoryview(text.encode("utf-8", "replace"))
        if self._transcript is not None:
            os.write(self._transcript, view)
        while view:
            written = os.write(self.fd_out, view)
            view = view[written:]

    def _readable(self, timeout: float | None) -> bool:
        ready, _, _ = select.select([self.fd_in], [], [], timeout)
        return bool(ready)

    def _fill(self, timeout: float | None) -> bool:
        """Read what is available (waiting up to ``timeout``) into ``keys``; False on timeout."""
        if self.eof or not self._readable(timeout):
            return False
        data = os.read(self.fd_in, 4096)
        if not data:
            self.eof = True
            return True
        # An ESC at the very end may be the start of a sequence split across reads.
        while data.endswith(b"\x1b") and self._readable(LONE_ESC_WAIT):
            more = os.read(self.fd_in, 4096)
            if not more:
                break
            data += more
        self._tokenize(self._decoder.decode(data))
        return True

    def _tokenize(self, text: str) -> None:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == ESC and i + 1 < len(text) and text[i + 1] in "[O":
                j = i + 2
                while j < len(text) and not ("\x40" <= text[j] <= "\x7e"):
                    j += 1
                self.keys.append(text[i : j + 1])
                i = j + 1
                continue
            self.keys.append(ch)
            i += 1

    def next_key(self, timeout: float | None = None) -> str | None:
        """The next key (a character or an escape sequence); None on timeout or end of input."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.keys:
            if self.eof:
                return None
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._fill(remaining) and deadline is not None and time.monotonic() >= deadline:
                return None
        return self.keys.popleft()

    def interrupt_requested(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for ESC or Ctrl-C; other keys stay queued (type-ahead)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, key in enumerate(self.keys):
                if key in (ESC, "\x03"):
                    del self.keys[index]
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                if remaining > 0:
                    time.sleep(remaining)
                return False
            self._fill(remaining)


def char_width(ch: str) -> int:
    """Terminal cells taken by ``ch``."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


# --------------------------------------------------------------------------------------------
# The agent


class Agent:
    """One run of the demo agent in its terminal."""

    def __init__(self, opts: Options, term: Terminal, env: Mapping[str, str]) -> None:
        self.opts = opts
        self.term = term
        self.env = env
        self.cwd = os.getcwd()
        self.mode = initial_mode(opts)
        self.turns = 0
        self._after_cr = False
        self.last_prompt = opts.prompt
        self.last_answer = ""
        self.hooks = self._load_settings_hooks()

    # ---- output helpers
    def say(self, text: str = "") -> None:
        """Print a line."""
        self.term.write(text + "\n")

    def footer(self) -> str:
        """The line above the input prompt (idle detectors look for ``? for shortcuts``)."""
        return f"  {MODE_FOOTERS.get(self.mode, '')}? for shortcuts"

    def draw_prompt(self, buf: str = "") -> None:
        """Draw the footer line and the ``> `` input line."""
        self.term.write(f"\n{self.footer()}\n> {buf}")

    def banner(self) -> None:
        """Print who we are."""
        o = self.opts
        self.say(f"✻ Argus demo agent ({o.name}) {VERSION}: a scripted stand-in for a coding agent")
        self.say(f"  model: {o.model}")
        self.say(f"  session: {o.session_id}")
        self.say(f"  cwd: {self.cwd}")
        extras = []
        if o.skip_permissions or o.permission_mode:
            extras.append(f"permissions: {initial_mode(o)}")
        if o.settings:
            extras.append(f"settings: {o.settings}")
        if o.mcp_config:
            extras.append(f"mcp config: {o.mcp_config}")
        if extras:
            self.say("  " + " · ".join(extras))
        if o.resume:
            self.say(f"  resumed session {o.resume}")
        self.say()

    def write_codex_rollout(self) -> None:
        """As Codex: record the session in ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``
        (first line ``session_meta`` with the id and cwd). Only when ``CODEX_HOME`` is set."""
        home = self.env.get("CODEX_HOME")
        if not home:
            return
        now = time.gmtime()
        folder = os.path.join(home, "sessions", time.strftime("%Y/%m/%d", now))
        try:
            os.makedirs(folder, exist_ok=True)
            name = f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S', now)}-{self.opts.session_id}.jsonl"
            meta = {"type": "session_meta", "payload": {"id": self.opts.session_id, "cwd": self.cwd,
                                                        "originator": "codex_cli_rs"}}
            with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
                fh.write(json.dumps(meta) + "\n")
        except OSError:
            pass

    def write_opencode_session(self) -> None:
        """As opencode: record the session in
        ``$XDG_DATA_HOME/opencode/storage/session/<project>/<id>.json`` (``id``, ``directory``).
        Only when ``XDG_DATA_HOME`` is set (tests never write to the real home)."""
        base = self.env.get("XDG_DATA_HOME")
        if not base:
            return
        folder = os.path.join(base, "opencode", "storage", "session", "fakeproject")
        try:
            os.makedirs(folder, exist_ok=True)
            now = int(time.time() * 1000)
            info = {"id": self.opts.session_id, "directory": self.cwd, "title": self.opts.prompt[:50],
                    "time": {"created": now, "updated": now}}
            with open(os.path.join(folder, f"{self.opts.session_id}.json"), "w", encoding="utf-8") as fh:
                json.dump(info, fh)
        except OSError:
            pass

    def busy(self, seconds: float, label: str = "Working") -> bool:
        """Show the spinner for ``seconds``; True if ESC/Ctrl-C interrupted it."""
        start = time.monotonic()
        frame = 0
        interrupted = False
        while True:
            elapsed = time.monotonic() - start
            glyph = SPINNER[frame % len(SPINNER)]
            self.term.write(f"\r\x1b[K{glyph} {label}… ({elapsed:.0f}s · esc to interrupt)")
            frame += 1
            remaining = seconds - elapsed
            if remaining <= 0:
                break
            if self.term.interrupt_requested(min(0.1, remaining)):
                interrupted = True
                break
        self.term.write("\r\x1b[K")
        if interrupted:
            self.say("[interrupted]")
        return interrupted

    # ---- hooks
    def _load_settings_hooks(self) -> dict[str, list[dict[str, Any]]]:
        sources = [
            _load_json_arg(str(p))
            for p in (Path(".claude/settings.json"), Path(".claude/settings.local.json"))
            if p.is_file()
        ]
        sources.append(_load_json_arg(self.opts.settings))
        merged: dict[str, list[dict[str, Any]]] = {}
        for settings in sources:
            hooks = settings.get("hooks")
            if not isinstance(hooks, dict):
                continue
            for event, groups in hooks.items():
                for group in groups if isinstance(groups, list) else []:
                    for hook in (group or {}).get("hooks") or []:
                        if isinstance(hook, dict) and hook.get("type") == "command" and hook.get("command"):
                            merged.setdefault(event, []).append(hook)
        return merged

    def hook(self, event: str, after_turn: bool = True, **extra: Any) -> None:
        """Report ``event`` to Argus (``ARGUS_HOOK_URL``) and run configured CLI hooks."""
        url = self.env.get("ARGUS_HOOK_URL")
        # The real claude/codex/pi never POST by themselves: as those, report only through the
        # CLI's own mechanisms below (settings hooks, notify) or not at all (the screen tells).
        if url and self.opts.imitate not in ("claude", "codex", "pi", "opencode"):
            body = {
                "event": event,
                "task_id": self.env.get("ARGUS_TASK_ID"),
                "session_id": self.opts.session_id,
                "cwd": self.cwd,
                **extra,
            }
            headers = {"Content-Type": "application/json"}
            if self.env.get("ARGUS_HOOK_TOKEN"):
                headers["Authorization"] = f"Bearer {self.env['ARGUS_HOOK_TOKEN']}"
            req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
            try:
                _no_proxy_opener().open(req, timeout=1.0).close()
            except (OSError, ValueError):
                pass
        if not after_turn:
            return
        payload = {
            "session_id": self.opts.session_id,
            "transcript_path": "",
            "cwd": self.cwd,
            "permission_mode": self.mode,
            "hook_event_name": event,
            **({"stop_hook_active": False} if event == "Stop" else {}),
            **extra,
        }
        env = {**self.env, "CLAUDE_PROJECT_DIR": self.cwd}
        for hook in self.hooks.get(event, []):
            self._run(
                hook["command"],
                shell=True,
                stdin=json.dumps(payload),
                env=env,
                timeout=float(hook.get("timeout") or 10),
            )
        notify = self.opts.config.get("notify")
        if event == "Stop" and notify:
            argv = _parse_toml_value(notify)
            if isinstance(argv, list) and argv:
                message = {
                    "type": "agent-turn-complete",
                    "thread-id": self.opts.session_id,
                    "turn-id": str(self.turns),
                    "cwd": self.cwd,
                    "input-messages": [self.last_prompt],
                    "last-assistant-message": self.last_answer,
                }
                self._run([str(a) for a in argv] + [json.dumps(message)], env=dict(self.env), timeout=10)

    @staticmethod
    def _run(
        cmd: str | list[str], *, env: dict[str, str], timeout: float, shell: bool = False, stdin: str | None = None
    ) -> None:
        try:
            subprocess.run(
                cmd,
                shell=shell,
                input=(stdin or "").encode(),
                env=env,
                timeout=timeout,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            pass

    # ---- work
    def first_work(self) -> None:
        """Plan, work a while, edit a file: what the agent does with its initial prompt."""
        o = self.opts
        self.say(f"> {o.prompt}")
        self.say()
        self.hook("UserPromptSubmit", prompt=o.prompt)
        self.turns += 1
        self.say(f"● Plan: 1. read files 2. edit {o.edit_file} 3. wait for you")
        if self.busy(o.busy):
            return
        files = [p for p in os.listdir(self.cwd) if not p.startswith(".")]
        self.say(f"● Read {len(files)} files in {self.cwd}")
        if not o.no_edit:
            path = Path(self.cwd, o.edit_file)
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            note = f"## {stamp}: demo agent, session {o.session_id}\n\n{o.prompt}\n\n"
            with path.open("a", encoding="utf-8") as fh:
                fh.write(note)
            self.say(f"● Update({o.edit_file})")
            self.say(f"  ⎿  Appended {note.count(chr(10))} lines")
            self.last_answer = f"Done: I noted your request in {o.edit_file}. Waiting for you."
        else:
            self.last_answer = "Done: I looked around and changed nothing. Waiting for you."
        self.say(f"● {self.last_answer}")

    def run_mcp_calls(self, calls: list[tuple[str, str]]) -> None:
        """Call each MCP tool and print ``mcp TOOL -> result``."""
        if not calls:
            return
        url, headers = mcp_endpoint(self.opts, self.env)
        client = McpClient(url, headers, timeout=float(self.env.get("FAKEAGENT_MCP_TIMEOUT") or 30))
        try:
            client.initialize()
        except McpError as exc:
            for tool, _ in calls:
                self.say(f"mcp {tool} -> error: {exc}")
            return
        try:
            for tool, raw in calls:
                try:
                    arguments = json.loads(raw or "{}")
                    if not isinstance(arguments, dict):
                        raise ValueError("arguments must be a JSON object")
                    text, is_error = client.call_tool(tool, arguments)
                    self.say(f"mcp {tool} -> {'error: ' if is_error else ''}{text}")
                except (McpError, ValueError) as exc:
                    self.say(f"mcp {tool} -> error: {exc}")
        finally:
            client.close()

    def read_line(self) -> str | None:
        """Edit one input line with our own echo; None at end of input."""
        buf: list[str] = []
        last_ctrl_c = False
        pasting = False  # inside a bracketed paste, Enter is a newline in the input, not a submit
        while True:
            key = self.term.next_key()
            if key is None:
                return None
            was_cr, self._after_cr = self._after_cr, key == "\r"
            if key != "\x03":
                last_ctrl_c = False
            if key in ("\x1b[200~", "\x1b[201~"):
                pasting = key == "\x1b[200~"
                continue
            if pasting and key in ("\r", "\n"):
                if not (key == "\n" and was_cr):
                    buf.append("\n")
                    self.term.write("\r\n")
                continue
            if key in ("\r", "\n"):
                if key == "\n" and was_cr:
                    continue  # the \n of a \r\n pair
                self.term.write("\n")
                return "".join(buf)
            if key == ESC:
                buf.clear()
                self.say()
                self.say("[interrupted]")
                self.draw_prompt()
            elif key == "\x1b[Z":  # Shift+Tab
                modes = PERMISSION_MODES
                self.mode = modes[(modes.index(self.mode) + 1) % len(modes)]
                self.term.write(f"\x1b[A\r\x1b[K{self.footer()}\n\r\x1b[K> {''.join(buf)}")
            elif key in ("\x7f", "\x08"):
                if buf:
                    width = char_width(buf.pop())
                    self.term.write("\b" * width + " " * width + "\b" * width)
            elif key == "\x15":  # Ctrl-U
                buf.clear()
                self.term.write("\r\x1b[K> ")
            elif key == "\x03":  # Ctrl-C
                if buf:
                    buf.clear()
                    self.term.write("\r\x1b[K> ")
                elif last_ctrl_c:
                    self.say()
                    raise Exit(130)
                else:
                    self.say()
                    self.say("(press Ctrl-C again to exit)")
                    self.draw_prompt()
                    last_ctrl_c = True
            elif key == "\x04":  # Ctrl-D
                if not buf:
                    self.say()
                    raise Exit(0)
            elif key.startswith(ESC) or (len(key) == 1 and ord(key) < 0x20):
                continue  # other escape sequences and control keys: ignored
            else:
                buf.append(key)
                self.term.write(key)

    def handle(self, line: str) -> None:
        """React to one submitted line."""
        text = line.strip()
        self.hook("UserPromptSubmit", prompt=line)
        self.say(f"you said: {line}")
        self.turns += 1
        self.last_prompt = line
        command, _, rest = text.partition(" ")
        rest = rest.strip()
        if command == "/exit":
            raise Exit(int(rest) if rest else 0)
        if command == "/crash":
            self.say("Traceback (most recent call last):")
            self.say('  File "argus/plugins/tasks/demo_agent.py", line 1, in <module>')
            self.say("RuntimeError: demo agent crashed on purpose (/crash)")
            raise Exit(1)
        if command == "/flood":
            self.flood(int(rest or "64"))
            self.last_answer = "flooded"
            return
        if command == "/sleep":
            self.busy(float(rest or "1"))
            self.last_answer = "slept"
            self.say(f"● {self.last_answer}")
            return
        if command == "/link":
            self.last_answer = f"https://example.com/argus/{self.opts.session_id}"
            self.say(f"● {self.last_answer}")
            return
        if command == "/mcp":
            tool, _, raw = rest.partition(" ")
            self.run_mcp_calls([(tool, raw.strip() or "{}")] if tool else [])
            return
        if command == "/help":
            self.say("● commands: /exit [N] /crash /flood KB /sleep S /link /mcp TOOL [JSON] /help")
            return
        if command.startswith("/"):
            self.say(f"● unknown command {command} (try /help)")
            return
        if self.busy(self.opts.busy):
            return
        self.last_answer = f"I'm the Argus demo agent; I can't code, but I heard: {line}"
        self.say(f"● {self.last_answer}")

    def flood(self, kilobytes: int) -> None:
        """Print ``kilobytes`` KB of numbered 64-byte lines, fast."""
        total = max(0, kilobytes) * 1024
        line_no = 0
        written = 0
        chunk: list[str] = []
        while written < total:
            line_no += 1
            line = f"flood {line_no:08d} " + "x" * 48 + "\n"  # 64 bytes
            chunk.append(line)
            written += len(line)
            if len(chunk) >= 1024:
                self.term.write("".join(chunk))
                chunk.clear()
        self.term.write("".join(chunk))
        self.say(f"flood done: {kilobytes} KB")

    def run(self) -> int:
        """The whole life of the agent; returns its exit code."""
        o = self.opts
        self.banner()
        if o.imitate == "codex" and not o.resume:
            self.write_codex_rollout()
        if o.imitate == "opencode" and not o.resume:
            self.write_opencode_session()
        if o.exit_code is not None:
            return o.exit_code
        if o.prompt and not o.resume:
            self.first_work()
        self.run_mcp_calls(o.mcp_calls)
        try:
            while True:
                self.draw_prompt()
                self.hook("Stop", after_turn=self.turns > 0)
                line = self.read_line()
                if line is None:
                    return 0
                while not line.strip():
                    self.term.write("> ")
                    line = self.read_line()
                    if line is None:
                        return 0
                self.handle(line)
        except Exit as exc:
            return exc.code


def _parse_toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


USAGE = """usage: demo_agent [options] [PROMPT...]

The Argus demo agent: a scripted agent CLI that looks like Claude Code.
  -p, --prompt TEXT        the initial prompt (or positional words)
  -m, --model M            model name shown in the banner
  --session-id ID          session id (default: a new uuid)
  -r, --resume ID          resume a session (skips the initial work)
  --mcp-config PATH|JSON   MCP servers (the argus entry is used by --mcp-call)
  --settings PATH|JSON     Claude Code settings (command hooks are run)
  --permission-mode MODE   default | acceptEdits | plan | bypassPermissions
  --dangerously-skip-permissions
  -c key=value             Codex-style config override (notify=[...] is run after turns)
  --mcp-call TOOL JSON     call an MCP tool before the first prompt (repeatable)
  --busy S                 seconds of each busy phase
  --edit-file NAME         file to append to (default ARGUS_DEMO.md)
  --no-edit                edit nothing
Commands at the prompt: /exit [N] /crash /flood KB /sleep S /link /mcp TOOL [JSON] /help
"""


def _record(opts: Options, argv: list[str], env: Mapping[str, str]) -> None:
    path = env.get("FAKEAGENT_RECORD")
    if not path:
        return
    argus_env = {k: ("<set>" if "TOKEN" in k else v) for k, v in env.items() if k.startswith(("ARGUS_", "FAKEAGENT_"))}
    entry = {
        "argv": argv,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "name": opts.name,
        "prompt": opts.prompt,
        "model": opts.model,
        "session_id": opts.session_id,
        "resume": opts.resume,
        "mcp_config": opts.mcp_config,
        "settings": opts.settings,
        "permission_mode": opts.permission_mode,
        "skip_permissions": opts.skip_permissions,
        "config": opts.config,
        "mcp_calls": opts.mcp_calls,
        "ignored": opts.ignored,
        "env": argus_env,
    }
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def print_answer(opts: Options, env: Mapping[str, str]) -> int:
    """Print mode (``--print``; Codex's ``exec``): one answer on stdout, no terminal UI.

    After ``FAKEAGENT_PRINT_DELAY`` seconds it prints ``FAKEAGENT_PRINT_ANSWER`` (nothing when
    unset, so auto-naming keeps the slug unless a test asks for a name); ``FAKEAGENT_PRINT_EXIT``
    sets the exit code.
    """
    time.sleep(float(env.get("FAKEAGENT_PRINT_DELAY") or 0))
    print(env.get("FAKEAGENT_PRINT_ANSWER", ""), flush=True)
    return int(env.get("FAKEAGENT_PRINT_EXIT") or 0)


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, run the agent in the current terminal, return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    env = os.environ
    opts = parse_args(args, env)
    if opts.show == "version":
        print(f"{VERSION} (Argus demo agent)")
        return 0
    if opts.show == "help":
        print(USAGE, end="")
        return 0
    if opts.print_mode:  # recorded apart, so tests counting agent launches are not disturbed
        _record(opts, args, {**env, "FAKEAGENT_RECORD": env.get("FAKEAGENT_PRINT_RECORD", "")})
        return print_answer(opts, env)
    _record(opts, args, env)

    def _terminate(signum: int, _frame: Any) -> None:
        raise Exit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
    # FAKEAGENT_IGNORE_HUP=1: survive a hangup of the terminal, as some real CLIs do
    signal.signal(signal.SIGHUP, signal.SIG_IGN if os.environ.get("FAKEAGENT_IGNORE_HUP") == "1" else _terminate)
    term = Terminal()
    try:
        return Agent(opts, term, env).run()
    except Exit as exc:
        return exc.code
    except OSError:  # the terminal went away
        return 1
    finally:
        term.restore()


if __name__ == "__main__":
    sys.exit(main())
