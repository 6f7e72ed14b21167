"""The demo agent's entry point: usage, launch records, print mode, :func:`main`."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any

from .agent import Agent
from .options import VERSION, Exit, Options, parse_args
from .terminal import Terminal

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
Commands at the prompt: /exit [N] /crash /flood KB /sleep S /link /limit S /mcp TOOL [JSON] /help
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
