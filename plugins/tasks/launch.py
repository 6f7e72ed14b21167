"""Turning a backend + task into what is spawned: the argv and environment of one agent launch,
built by the backend's agent kind (``kinds/``, or a plugin's), and the idle rules of that kind.

Backends are templated commands; the kind adds its flags (session, resume, MCP, hooks, model) and
the prompt. Generated per-launch files live in the task's run dir ($ARGUS_HOME/run/<task id>,
0700): the user's global CLI configuration is never edited.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argus.kernel.api import Invalid

from .api import AgentKind, AgentLaunch
from .kinds.common import MCP_TOKEN_ENV, mcp_server_entry
from .limits import UsageLimit


@dataclass
class Launch:
    """Everything needed to spawn one agent session."""

    argv: list[str]
    env: dict[str, str]


def agent_path() -> str:
    """PATH for agents: the interpreter's bin dir first (so ``argus-demo`` resolves), then PATH."""
    here = os.path.dirname(sys.executable)
    return os.pathsep.join([here, os.environ.get("PATH", "")])


def parse_command(command: str) -> list[str]:
    """Split a command template, or raise Invalid with the reason."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise Invalid(f"backend command cannot be parsed: {exc}") from None
    if not argv:
        raise Invalid("backend command is empty")
    return argv


def executable_of(command: str) -> str:
    """The basename of a command template's executable ('' when it cannot be parsed)."""
    try:
        return os.path.basename(shlex.split(command)[0])
    except (ValueError, IndexError):
        return ""


def require_executable(backend: dict[str, Any]) -> str:
    """The resolved executable of a backend, or Invalid naming what is missing from PATH."""
    exe = parse_command(backend["command"])[0]
    found = shutil.which(exe, path=agent_path())
    if not found:
        raise Invalid(f"backend {backend['name']!r}: executable {exe!r} was not found on PATH; "
                      f"install it or pick another backend (the 'demo' backend always works)",
                      backend=backend["name"], executable=exe)
    return found


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


def screen_rules(kind: AgentKind) -> dict[str, re.Pattern[str]]:
    """A kind's idle rules, compiled (``re.error`` if invalid, or if its ``usage_limit`` is not a
    :class:`UsageLimit` with a valid pattern)."""
    if kind.usage_limit is not None:
        if not isinstance(kind.usage_limit, UsageLimit) or not callable(kind.usage_limit.reset_at):
            raise re.error("usage_limit must be a UsageLimit(pattern, reset_at)")
        kind.usage_limit.compile()
    return {"waiting": re.compile(kind.waiting, re.M), "busy": re.compile(kind.busy, re.M | re.I)}


def build_launch(kind: AgentKind, *, backend: dict[str, Any], task: dict[str, Any], prompt: str | None,
                 resume: bool, mcp_url: str, hook_url: str, token: str = "", run_dir: Path | None = None,
                 permission_mode: str = "") -> Launch:
    """The argv/env for a task's agent, built by its ``kind``. ``prompt`` is None when resuming;
    ``token`` is the launch's task token (MCP and agent hook); ``run_dir`` is created (0700)."""
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    spec = AgentLaunch(command=parse_command(backend["command"]), prompt=prompt, resume=resume,
                       session_id=task.get("agent_session_id") or "",
                       model=task.get("model") or backend.get("model") or "",
                       prompt_flag=backend.get("prompt_flag") or "", task=dict(task), mcp_url=mcp_url,
                       token=token, hook_url=hook_url, run_dir=str(run_dir or ""), permission_mode=permission_mode)
    try:
        argv = kind.build_argv(spec)
        extra_env = kind.build_env(spec) if kind.build_env is not None else {}
    except Invalid:
        raise
    except Exception as exc:  # a plugin's bug refuses this launch, with its reason
        raise Invalid(f"agent kind {kind.name!r} could not build the command: {exc!r}") from None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise Invalid(f"agent kind {kind.name!r} built no command (a non-empty list of strings is needed)")
    env = base_env(task, mcp_url, hook_url, token)
    if kind.token_in_env:
        env[MCP_TOKEN_ENV] = token
    env.update({str(k): str(v) for k, v in extra_env.items()})
    return Launch(list(argv), env)


def write_project_mcp_config(worktree: str, mcp_url: str) -> str | None:
    """For CLIs that read a project-local ``.mcp.json`` (``AgentKind.reads_mcp_config``): one in the
    worktree naming Argus's MCP server (not the user's config).

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
