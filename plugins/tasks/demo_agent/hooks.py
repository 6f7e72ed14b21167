"""How the demo agent reports its turns: a POST to ``ARGUS_HOOK_URL`` (as the demo agent), the
``command`` hooks of Claude Code settings, and Codex's ``-c notify=[...]`` program."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .mcp import no_proxy_opener
from .options import Options, load_json_arg, parse_toml_value

# The real CLIs never POST to Argus by themselves: as those, report only through their own hooks.
SILENT_IMITATIONS = ("claude", "codex", "pi", "opencode")


@dataclass
class Turn:
    """Where the conversation stands when a hook fires."""

    mode: str
    turns: int
    last_prompt: str
    last_answer: str


def load_settings_hooks(settings: str | None) -> dict[str, list[dict[str, Any]]]:
    """The ``command`` hooks of ``./.claude/settings.json``, ``./.claude/settings.local.json`` and
    ``--settings`` (a path or inline JSON), by event."""
    sources = [
        load_json_arg(str(p))
        for p in (Path(".claude/settings.json"), Path(".claude/settings.local.json"))
        if p.is_file()
    ]
    sources.append(load_json_arg(settings))
    merged: dict[str, list[dict[str, Any]]] = {}
    for source in sources:
        hooks = source.get("hooks")
        if not isinstance(hooks, dict):
            continue
        for event, groups in hooks.items():
            for group in groups if isinstance(groups, list) else []:
                for hook in (group or {}).get("hooks") or []:
                    if isinstance(hook, dict) and hook.get("type") == "command" and hook.get("command"):
                        merged.setdefault(event, []).append(hook)
    return merged


class Hooks:
    """The hooks of one run of the agent."""

    def __init__(self, opts: Options, env: Mapping[str, str], cwd: str) -> None:
        self.opts = opts
        self.env = env
        self.cwd = cwd
        self.commands = load_settings_hooks(opts.settings)

    def fire(self, event: str, turn: Turn, after_turn: bool = True, **extra: Any) -> None:
        """Report ``event`` to Argus (``ARGUS_HOOK_URL``) and, after a turn, run configured CLI hooks."""
        self.post(event, **extra)
        if not after_turn:
            return
        payload = {
            "session_id": self.opts.session_id,
            "transcript_path": "",
            "cwd": self.cwd,
            "permission_mode": turn.mode,
            "hook_event_name": event,
            **({"stop_hook_active": False} if event == "Stop" else {}),
            **extra,
        }
        env = {**self.env, "CLAUDE_PROJECT_DIR": self.cwd}
        for hook in self.commands.get(event, []):
            run(hook["command"], shell=True, stdin=json.dumps(payload), env=env,
                timeout=float(hook.get("timeout") or 10))
        notify = self.opts.config.get("notify")
        if event == "Stop" and notify:
            argv = parse_toml_value(notify)
            if isinstance(argv, list) and argv:
                message = {
                    "type": "agent-turn-complete",
                    "thread-id": self.opts.session_id,
                    "turn-id": str(turn.turns),
                    "cwd": self.cwd,
                    "input-messages": [turn.last_prompt],
                    "last-assistant-message": turn.last_answer,
                }
                run([str(a) for a in argv] + [json.dumps(message)], env=dict(self.env), timeout=10)

    def post(self, event: str, **extra: Any) -> None:
        """POST the event to ``ARGUS_HOOK_URL`` (unless imitating a CLI that never does)."""
        url = self.env.get("ARGUS_HOOK_URL")
        if not url or self.opts.imitate in SILENT_IMITATIONS:
            return
        body = {"event": event, "task_id": self.env.get("ARGUS_TASK_ID"), "session_id": self.opts.session_id,
                "cwd": self.cwd, **extra}
        headers = {"Content-Type": "application/json"}
        if self.env.get("ARGUS_HOOK_TOKEN"):
            headers["Authorization"] = f"Bearer {self.env['ARGUS_HOOK_TOKEN']}"
        req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            no_proxy_opener().open(req, timeout=1.0).close()
        except (OSError, ValueError):
            pass


def run(cmd: str | list[str], *, env: dict[str, str], timeout: float, shell: bool = False,
        stdin: str | None = None) -> None:
    """Run a hook program, ignoring its output and failures."""
    try:
        subprocess.run(cmd, shell=shell, input=(stdin or "").encode(), env=env, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        pass
