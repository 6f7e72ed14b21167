"""Starting the TUI: ``run_tui(remote, token)`` is what ``argus`` (no subcommand) runs.

Locally it starts the daemon when none answers on ``$ARGUS_HOME/daemon.sock``; with ``--remote``
it uses the given URL and token. Plugin tabs (``argus_tui_tabs``) and commands
(``argus_tui_commands``) are collected here with the kernel's client-side plugin manager.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from argus.kernel.api import LocalDaemon

from .app import ArgusTui
from .client import ArgusClient

log = logging.getLogger("argus.tui")


def daemon_answers(home: Path, timeout: float = 2.0) -> bool:
    """True when a daemon answers HTTP on ``home``'s unix socket (any status, even 401)."""
    return LocalDaemon(home).answers(timeout)


def ensure_daemon(home: Path, timeout: float = 30.0) -> str:
    """Start the local daemon (``argus daemon start``) unless one answers; "" or an error message."""
    if daemon_answers(home):
        return ""
    print("argus: starting the daemon…", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run([sys.executable, "-m", "argus.kernel.cli", "daemon", "start"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not start the daemon: {exc}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon_answers(home):
            return ""
        time.sleep(0.1)
    detail = (proc.stderr or proc.stdout or "").strip().splitlines()
    return "the daemon did not come up" + (f": {detail[-1]}" if detail else "")


def _hook_answers(hook: str) -> list[dict[str, Any]]:
    """The dicts plugins return from the TUI hook ``hook`` (a plugin that fails is logged)."""
    from argus.kernel.api import client_plugins

    pm, _ = client_plugins()
    out: list[dict[str, Any]] = []
    for answer in getattr(pm.hook, hook)():
        out.extend(spec for spec in answer or () if isinstance(spec, dict))
    return out


def load_plugin_tabs() -> list[dict[str, Any]]:
    """Tabs plugins contribute through ``argus_tui_tabs`` (loaded with the kernel's plugin manager)."""
    try:
        return [spec for spec in _hook_answers("argus_tui_tabs") if spec.get("key") and callable(spec.get("factory"))]
    except Exception:
        log.exception("plugin tabs could not be loaded")
        return []


def load_plugin_commands() -> list[dict[str, Any]]:
    """Commands plugins contribute through ``argus_tui_commands`` (checked when the TUI registers them)."""
    try:
        return _hook_answers("argus_tui_commands")
    except Exception:
        log.exception("plugin commands could not be loaded")
        return []


def _setup_logging(home: Path) -> None:
    """Log to ``$ARGUS_HOME/ux.log`` before any plugin import can point logging at the screen."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.FileHandler(home / "ux.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run_tui(remote: str | None, token: str | None) -> int:
    """Open the TUI (``argus`` / ``argus --remote URL --token T``); returns the process exit code."""
    from argus.kernel.api import Paths

    home = Paths.default().home
    _setup_logging(home)
    if remote:
        token = token or os.environ.get("ARGUS_TOKEN") or ""
        if not token:
            print("argus: --remote needs --token (or ARGUS_TOKEN)", file=sys.stderr)
            return 2
        if "://" not in remote:
            remote = "http://" + remote
        client = ArgusClient.remote(remote, token)
    else:
        problem = ensure_daemon(home)
        if problem:
            log.error(problem)
        client = ArgusClient.local(home)
    tui = ArgusTui(client, plugin_tabs=load_plugin_tabs(), plugin_commands=load_plugin_commands())
    if not remote and not client.token:
        tui.set_status(f"no master token at {home / 'api-token'}", error=True)
    try:
        return asyncio.run(tui.run())
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("the TUI crashed")
        sys.stdout.write("\x1b[?1049l\x1b[?25h\x1b[0m\n")
        sys.stdout.flush()
        print(f"argus: the TUI stopped on an internal error; see {home / 'ux.log'}", file=sys.stderr)
        return 1
