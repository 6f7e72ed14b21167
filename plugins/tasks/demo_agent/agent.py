"""One run of the demo agent in its terminal: banner, work, the input prompt and its commands."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .hooks import Hooks, Turn
from .mcp import McpClient, McpError, mcp_endpoint
from .options import MODE_FOOTERS, PERMISSION_MODES, VERSION, Exit, Options, initial_mode
from .sessions import write_codex_rollout, write_opencode_session
from .terminal import ESC, Terminal, char_width

SPINNER = "·✢✳✶✻✽"


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
        self.hooks = Hooks(opts, env, self.cwd)

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

    def hook(self, event: str, after_turn: bool = True, **extra: Any) -> None:
        """Report ``event`` to Argus and run the configured CLI hooks (see :mod:`.hooks`)."""
        turn = Turn(self.mode, self.turns, self.last_prompt, self.last_answer)
        self.hooks.fire(event, turn, after_turn, **extra)

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
            self.say('  File "argus/plugins/tasks/demo_agent/agent.py", line 1, in <module>')
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
        if command == "/limit":
            self.limit(float(rest or "5"))
            return
        if command == "/mcp":
            tool, _, raw = rest.partition(" ")
            self.run_mcp_calls([(tool, raw.strip() or "{}")] if tool else [])
            return
        if command == "/help":
            self.say("● commands: /exit [N] /crash /flood KB /sleep S /link /limit S /mcp TOOL [JSON] /help")
            return
        if command.startswith("/"):
            self.say(f"● unknown command {command} (try /help)")
            return
        if self.busy(self.opts.busy):
            return
        self.last_answer = f"I'm the Argus demo agent; I can't code, but I heard: {line}"
        self.say(f"● {self.last_answer}")

    def limit(self, seconds: float) -> None:
        """Print a usage-limit message whose reset is ``seconds`` ahead (local time), as the imitated CLI."""
        if self.opts.imitate == "codex":
            self.last_answer = ("■ You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) "
                                f"or try again in {max(1, round(seconds))} seconds.")
        else:
            t = time.localtime(time.time() + seconds)
            clock = f"{t.tm_hour % 12 or 12}:{t.tm_min:02d}:{t.tm_sec:02d}{'am' if t.tm_hour < 12 else 'pm'}"
            self.last_answer = f"5-hour limit reached ∙ resets {clock}"
        self.say(f"  ⎿  {self.last_answer}")
        self.say("     /upgrade to increase your usage limit.")

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
            write_codex_rollout(self.env, o.session_id, self.cwd)
        if o.imitate == "opencode" and not o.resume:
            write_opencode_session(self.env, o.session_id, self.cwd, o.prompt)
        if o.exit_code is not None:
            return o.exit_code
        if o.prompt and not o.resume:
            self.first_work()
            if self.env.get("FAKEAGENT_LIMIT"):
                self.limit(float(self.env["FAKEAGENT_LIMIT"]))
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
