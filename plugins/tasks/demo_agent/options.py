"""The demo agent's command line and environment: constants, :class:`Options`, :func:`parse_args`."""

from __future__ import annotations

import json
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = "0.1.0"
DEFAULT_EDIT_FILE = "ARGUS_DEMO.md"
DEFAULT_BUSY = 1.5

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


def load_json_arg(value: str | None) -> dict[str, Any]:
    """Load a ``--settings``/``--mcp-config`` value: a path or an inline JSON object."""
    if not value:
        return {}
    try:
        text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parse_toml_value(text: str) -> Any:
    """A TOML value (a Codex ``-c key=value`` value such as ``notify=[...]``), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
