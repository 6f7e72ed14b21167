"""Backends are templated commands. This module turns a backend + task into an argv and env.

Known CLIs get their flags: Claude Code (``--session-id``/``--resume``, ``--model``, permission
flags, ``--mcp-config``, ``--settings`` with idle hooks), Codex (``resume ID``, ``-c`` MCP server
and ``notify``), pi (``--model``), opencode (``--session ID``/``--continue``, ``--model``, an
``OPENCODE_CONFIG`` file with Argus's MCP server). Anything else receives the prompt positionally or through its
``prompt_flag`` and discovers Argus's MCP server from a project-local ``.mcp.json``.

Each launch carries the task's token (see ``docs/security.md``), never on the command line (argv
is readable by every local user): Claude's ``--mcp-config`` file (0600, in the 0700 run dir) holds
the ``Authorization`` header; Codex reads it from ``ARGUS_MCP_TOKEN`` (``bearer_token_env_var``);
a generic CLI's ``.mcp.json`` names ``${ARGUS_MCP_TOKEN}``; the hook script sends ``ARGUS_HOOK_TOKEN``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argus.kernel.api import Invalid, atomic_write

from .api import AgentKind, AgentLaunch
from .limits import UsageLimit

PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypass-allow", "bypass-active")
PERMISSION_FLAGS = {
    "default": [],
    "acceptEdits": ["--permission-mode", "acceptEdits"],
    "plan": ["--permission-mode", "plan"],
    "bypass-allow": ["--allow-dangerously-skip-permissions"],
    "bypass-active": ["--dangerously-skip-permissions"],
}
MODEL_FLAG_KINDS = {"claude", "codex", "pi", "demo", "opencode"}

# Screen rules for idle detection, on the ANSI-stripped tail of the output.
# "waiting" means the agent shows an input prompt; "busy" means it is mid-turn.
SCREEN_RULES: dict[str, dict[str, re.Pattern[str]]] = {
    "claude": {
        "waiting": re.compile(r"\? for shortcuts|^\s*[>❯]\s*$|Do you want to|\(y/n\)|Enter to confirm", re.M),
        "busy": re.compile(r"esc to interrupt", re.I),
    },
    "codex": {
        "waiting": re.compile(r"^\s*[›>]\s|Ctrl\+J newline|send\s+⏎|\? for shortcuts", re.M),
        "busy": re.compile(r"esc to interrupt|Working \(", re.I),
    },
    "generic": {
        "waiting": re.compile(r"\? for shortcuts|^\s*[>❯›$#]\s*$|\(y/n\)|\[Y/n\]", re.M),
        "busy": re.compile(r"esc to interrupt", re.I),
    },
}
SCREEN_RULES["demo"] = SCREEN_RULES["claude"]
SCREEN_RULES["pi"] = SCREEN_RULES["generic"]
SCREEN_RULES["opencode"] = SCREEN_RULES["generic"]


def agent_path() -> str:
    """PATH for agents: the interpreter's bin dir first (so ``argus-demo`` resolves), then PATH."""
    here = os.path.dirname(sys.executable)
    return os.pathsep.join([here, os.environ.get("PATH", "")])


def kind_of(command: str) -> str:
    """The CLI family of a command template (``claude``, ``codex``, ``pi``, ``opencode``, ``demo`` or
    ``generic``)."""
    try:
        exe = shlex.split(command)[0]
    except (ValueError, IndexError):
        return "generic"
    base = os.path.basename(exe)
    if base == "argus-demo":
        return "demo"
    return base if base in ("claude", "codex", "pi", "opencode") else "generic"


def parse_command(command: str) -> list[str]:
    """Split a command template, or raise Invalid with the reason."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise Invalid(f"backend command cannot be parsed: {exc}") from None
    if not argv:
        raise Invalid("backend command is empty")
    return argv


def require_executable(backend: dict[str, Any]) -> str:
    """The resolved executable of a backend, or Invalid naming what is missing from PATH."""
    exe = parse_command(backend["command"])[0]
    found = shutil.which(exe, path=agent_path())
    if not found:
        raise Invalid(f"backend {backend['name']!r}: executable {exe!r} was not found on PATH; "
                      f"install it or pick another backend (the 'demo' backend always works)",
                      backend=backend["name"], executable=exe)
    return found


@dataclass
class Launch:
    """Everything needed to spawn one agent session."""

    argv: list[str]
    env: dict[str, str]
    files: list[str] = field(default_factory=list)  # generated files (removed with the task)


# Reports an agent-side hook to the daemon. argv: EVENT [payload]; without a payload argument
# the payload is read from stdin (Claude Code hooks pass JSON there; Codex's notify appends it).
HOOK_SCRIPT = (
    "import sys,json,os,urllib.request as u\n"
    "e=sys.argv[1] if len(sys.argv)>1 else 'Stop'\n"
    "d=sys.argv[2] if len(sys.argv)>2 else ('' if sys.stdin.isatty() else sys.stdin.read())\n"
    "b=json.dumps({'event':e,'task_id':os.environ.get('ARGUS_TASK_ID',''),'payload':d[:4000]}).encode()\n"
    "h={'Content-Type':'application/json','Authorization':'Bearer '+os.environ.get('ARGUS_HOOK_TOKEN','')}\n"
    "u.urlopen(u.Request(os.environ['ARGUS_HOOK_URL'],data=b,headers=h),timeout=2)\n"
)


def _hook_command(event: str) -> str:
    """A Claude Code hook command that reports ``event`` to the daemon (stdlib Python only)."""
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(HOOK_SCRIPT)} {event} || true"


def claude_settings(hook_url: str) -> dict[str, Any]:
    """The ``--settings`` JSON injecting Notification/Stop/UserPromptSubmit hooks."""
    def hooks(event: str) -> list[dict[str, Any]]:
        return [{"hooks": [{"type": "command", "command": _hook_command(event), "timeout": 5}]}]

    return {"hooks": {"Notification": hooks("Notification"), "Stop": hooks("Stop"),
                      "UserPromptSubmit": hooks("UserPromptSubmit")}}


MCP_TOKEN_ENV = "ARGUS_MCP_TOKEN"


def mcp_server_entry(mcp_url: str, authorization: str) -> dict[str, Any]:
    """The ``mcpServers.argus`` entry of a Claude-style MCP config."""
    return {"type": "http", "url": mcp_url, "headers": {"Authorization": authorization}}


def build_launch(*, backend: dict[str, Any], task: dict[str, Any], prompt: str | None, resume: bool,
                 permission_mode: str, mcp_url: str, hook_url: str, run_dir: Path, token: str = "") -> Launch:
    """The argv/env for a task's agent. ``prompt`` is None when resuming; ``token`` is the launch's
    task token (MCP and agent hook).

    Generated per-launch files live in ``run_dir`` ($ARGUS_HOME/run/<task id>): the user's global
    CLI configuration is never edited.
    """
    argv = parse_command(backend["command"])
    kind = kind_of(backend["command"])
    exe, rest = argv[0], argv[1:]
    model = task.get("model") or backend.get("model") or ""
    sid = task.get("agent_session_id") or ""
    files: list[str] = []
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = [exe]
    if kind == "codex" and resume and sid:
        out += ["resume", sid]
    out += rest
    if kind in ("claude", "demo"):
        out += ["--resume", sid] if (resume and sid) else (["--session-id", sid] if sid else [])
        mcp_file = run_dir / "mcp.json"
        config = {"mcpServers": {"argus": mcp_server_entry(mcp_url, f"Bearer {token}")}}
        atomic_write(mcp_file, json.dumps(config).encode(), 0o600)
        files.append(str(mcp_file))
        out += ["--mcp-config", str(mcp_file)]
        if kind == "claude":
            settings_file = run_dir / "claude-settings.json"
            atomic_write(settings_file, json.dumps(claude_settings(hook_url)).encode())
            files.append(str(settings_file))
            out += ["--settings", str(settings_file)]
            out += PERMISSION_FLAGS.get(permission_mode, [])
    elif kind == "opencode":
        if resume:
            out += ["--session", sid] if sid else ["--continue"]
        config_file = run_dir / "opencode.json"
        # opencode substitutes {env:VAR} in its config: the token stays in the environment only.
        server = {"type": "remote", "url": mcp_url, "enabled": True,
                  "headers": {"Authorization": "Bearer {env:" + MCP_TOKEN_ENV + "}"}}
        atomic_write(config_file, json.dumps({"$schema": "https://opencode.ai/config.json",
                                              "mcp": {"argus": server}}).encode(), 0o600)
        files.append(str(config_file))
    elif kind == "codex":
        out += ["-c", f'mcp_servers.argus.url="{mcp_url}"',
                "-c", f'mcp_servers.argus.bearer_token_env_var="{MCP_TOKEN_ENV}"']
        notify = [sys.executable, "-c", HOOK_SCRIPT, "Stop"]
        out += ["-c", "notify=" + json.dumps(notify)]
    if model and kind in MODEL_FLAG_KINDS:
        out += ["--model", model]
    if prompt:
        flag = backend.get("prompt_flag") or ""
        out += [flag, prompt] if flag else [prompt]
    env = base_env(task, mcp_url, hook_url, token)
    if kind not in ("claude", "demo"):  # Claude-style CLIs read it from their --mcp-config file
        env[MCP_TOKEN_ENV] = token
    if kind == "opencode":
        env["OPENCODE_CONFIG"] = str(run_dir / "opencode.json")
    return Launch(out, env, files)


def base_env(task: dict[str, Any], mcp_url: str, hook_url: str, token: str) -> dict[str, str]:
    """The environment every agent gets (terminal, PATH, the task and how to reach Argus)."""
    return {
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "PATH": agent_path(),
        "ARGUS_TASK_ID": task["id"],
        "ARGUS_MCP_URL": mcp_url,
        "ARGUS_HOOK_URL": hook_url,
        "ARGUS_HOOK_TOKEN": token,
    }


BUILTIN_KINDS = ("claude", "codex", "opencode", "pi", "demo", "generic")


def screen_rules(kind: AgentKind) -> dict[str, re.Pattern[str]]:
    """A plugin kind's idle rules, compiled like :data:`SCREEN_RULES` (``re.error`` if invalid, or
    if its ``usage_limit`` is not a :class:`UsageLimit` with a valid pattern)."""
    if kind.usage_limit is not None:
        if not isinstance(kind.usage_limit, UsageLimit) or not callable(kind.usage_limit.reset_at):
            raise re.error("usage_limit must be a UsageLimit(pattern, reset_at)")
        kind.usage_limit.compile()
    return {"waiting": re.compile(kind.waiting, re.M), "busy": re.compile(kind.busy, re.M | re.I)}


def build_kind_launch(kind: AgentKind, *, backend: dict[str, Any], task: dict[str, Any], prompt: str | None,
                      resume: bool, mcp_url: str, hook_url: str, token: str = "") -> Launch:
    """The argv/env for a task whose backend has a plugin-provided agent kind (its ``build_argv``)."""
    spec = AgentLaunch(command=parse_command(backend["command"]), prompt=prompt, resume=resume,
                       session_id=task.get("agent_session_id") or "",
                       model=task.get("model") or backend.get("model") or "",
                       prompt_flag=backend.get("prompt_flag") or "", task=dict(task), mcp_url=mcp_url)
    try:
        argv = kind.build_argv(spec)
    except Invalid:
        raise
    except Exception as exc:  # a plugin's bug refuses this launch, with its reason
        raise Invalid(f"agent kind {kind.name!r} could not build the command: {exc!r}") from None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise Invalid(f"agent kind {kind.name!r} built no command (a non-empty list of strings is needed)")
    env = base_env(task, mcp_url, hook_url, token)
    env[MCP_TOKEN_ENV] = token
    return Launch(list(argv), env, [])


def write_project_mcp_config(worktree: str, mcp_url: str) -> str | None:
    """For generic CLIs: a project-local ``.mcp.json`` in the worktree (not the user's config).

    Left alone if the repository already has one. Returns the path written, or None. The task
    records it as generated, and deletion removes it before checking the worktree for unsaved work.
    """
    path = Path(worktree) / ".mcp.json"
    if path.exists():
        return None
    # The token itself never lands in the worktree: the CLI expands the variable from its environment.
    entry = mcp_server_entry(mcp_url, "Bearer ${" + MCP_TOKEN_ENV + "}")
    path.write_text(json.dumps({"mcpServers": {"argus": entry}}, indent=2) + "\n")
    return str(path)
