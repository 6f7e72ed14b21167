"""Idle detection: who is waiting for input, flagged within a fraction of a second.

Two signals, best first:
1. the agent's own hooks (Claude Code ``Stop``/``Notification``/``UserPromptSubmit``, Codex
   ``notify``) reported to ``POST /api/agent/hook``;
2. the screen: after output goes quiet for a short debounce, the ANSI-stripped tail is matched
   against the "waiting for input" and "busy" patterns of the backend's agent kind.

A watcher per live session consumes its output stream (no polling); typing into a session clears
its idle flag (as does the agent's ``UserPromptSubmit`` hook; once a hook said "idle", output that
raced it cannot undo it), and the screen rule only re-flags it once the agent has been busy again (or the
prompt has sat untouched for ``REARM_SECONDS``), so half-typed input does not flicker.

The same quiet-time check looks for the agent kind's usage-limit message (``limits.py``) in the
output that arrived since the watcher started or last reported one, and reports it with its reset
time to ``on_limit(session_id, reset_at, text)`` (``limit_resume.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import trio
from argus.kernel.api import strip_ansi

from .kinds import GENERIC
from .launch import screen_rules
from .limits import UsageLimit

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.25
#: Pause after a batch of a busy agent's output, so what follows it comes as one batch.
GATHER_SECONDS = 0.05
REARM_SECONDS = 10.0
TAIL_CHARS = 4096
#: Most output bytes the watcher takes at once.
WATCH_BATCH = 256 * 1024
SCAN_LINES = 12
#: Characters at the end of the tail stripped first to find its last lines (grown when too few).
LAST_LINES_WINDOW = 512
GENERIC_RULES = screen_rules(GENERIC)

@dataclass
class IdleState:
    """Per-session detector state."""

    session_id: str
    kind: str
    rules: dict[str, re.Pattern[str]] | None = None  # the kind's rules (else the generic ones)
    idle: bool = False
    tail: str = ""
    busy_since_input: bool = True
    last_input_at: float = -1e9
    quiet_check_pending: bool = False
    hook_idle: bool = False  # idle was reported by the agent's own hook: the screen may not undo it
    reasons: list[str] = field(default_factory=list)
    limit: UsageLimit | None = None  # the kind's usage-limit message
    limit_re: re.Pattern[str] | None = None
    unchecked: int = 0  # characters of the tail not yet searched for a usage-limit message


LimitListener = Callable[[str, datetime, str], None]


class IdleDetector:
    """Tracks every live session; calls ``on_change(session_id, idle, reason)`` on transitions."""

    def __init__(self, on_change: Callable[[str, bool, str], None], on_limit: LimitListener | None = None) -> None:
        self.on_change = on_change
        self.on_limit = on_limit  # (session_id, reset_at, message) when a usage-limit message shows
        self.states: dict[str, IdleState] = {}

    def is_idle(self, session_id: str | None) -> bool:
        """Whether that session is flagged as waiting for input."""
        state = self.states.get(session_id or "")
        return bool(state and state.idle)

    def _set(self, state: IdleState, idle: bool, reason: str) -> None:
        if state.idle != idle:
            state.idle = idle
            self.on_change(state.session_id, idle, reason)

    # -- signals ---------------------------------------------------------------------------

    def hook(self, session_id: str, event: str) -> None:
        """An agent hook fired: Stop/Notification → idle, UserPromptSubmit → busy."""
        state = self.states.get(session_id)
        if state is None:
            return
        if event in ("Stop", "Notification", "agent-turn-complete"):
            state.hook_idle = True
            self._set(state, True, f"hook:{event}")
        elif event in ("UserPromptSubmit", "PreToolUse"):
            state.hook_idle = False
            state.busy_since_input = True
            self._set(state, False, f"hook:{event}")

    def input(self, session_id: str) -> None:
        """The user typed into the session: it is not waiting any more (for now)."""
        state = self.states.get(session_id)
        if state is None:
            return
        state.last_input_at = trio.current_time()
        state.busy_since_input = False
        state.hook_idle = False
        self._set(state, False, "input")

    @staticmethod
    def _last_lines(state: IdleState, n: int) -> str:
        """The last ``n`` non-blank lines of the tail, ANSI-stripped. Only the end of the tail is
        stripped (a window from a line start, grown until it holds ``n`` lines): this runs for
        every batch of output, and stripping the whole tail each time cost more than the rest of
        the output path."""
        tail = state.tail
        size = LAST_LINES_WINDOW
        while True:
            window = tail
            if size < len(tail):
                cut = tail.find("\n", len(tail) - size)
                if cut < 0:  # no line start in the window: take the whole tail
                    size = len(tail)
                    continue
                window = tail[cut + 1:]
            lines = [ln for ln in strip_ansi(window).split("\n") if ln.strip()]
            if len(lines) >= n or window is tail:
                return "\n".join(lines[-n:])
            size *= 4

    def _busy_on_screen(self, state: IdleState) -> bool:
        rules = state.rules or GENERIC_RULES
        return bool(rules["busy"].search(self._last_lines(state, 3)))

    def check_limit(self, state: IdleState) -> None:
        """Look for the kind's usage-limit message in the output not searched yet; report it once."""
        if state.limit is None or state.limit_re is None or not state.unchecked:
            return
        fresh = state.tail[-min(state.unchecked, len(state.tail)):]
        lines = [ln for ln in strip_ansi(fresh).split("\n") if ln.strip()]
        match = state.limit_re.search("\n".join(lines[-SCAN_LINES:]))
        if match is None:
            return
        state.unchecked = 0
        try:
            reset_at = state.limit.reset_at(match, datetime.now().astimezone())
        except Exception:  # a plugin kind's parser failed: no plan, and the message is logged
            log.warning("usage-limit reset time of %r could not be read", match.group(0), exc_info=True)
            return
        if reset_at is not None and reset_at.tzinfo is not None and self.on_limit is not None:
            self.on_limit(state.session_id, reset_at, " ".join(match.group(0).split()))

    def evaluate(self, state: IdleState) -> None:
        """Apply the screen rule to the tail (called after the quiet debounce)."""
        self.check_limit(state)
        rules = state.rules or GENERIC_RULES
        lines = [ln for ln in strip_ansi(state.tail).split("\n") if ln.strip()]
        screen = "\n".join(lines[-SCAN_LINES:])
        last_lines = "\n".join(lines[-3:])
        if rules["busy"].search(last_lines):
            state.busy_since_input = True
            if not state.hook_idle:  # output that raced the hook must not undo it
                self._set(state, False, "screen:busy")
            return
        if rules["waiting"].search(screen):
            rearmed = state.busy_since_input or (trio.current_time() - state.last_input_at > REARM_SECONDS)
            if rearmed:
                self._set(state, True, "screen:prompt")

    # -- the watcher -----------------------------------------------------------------------

    async def watch(self, session: Session, kind: str, rules: dict[str, re.Pattern[str]] | None = None,
                    limit: UsageLimit | None = None) -> None:
        """Follow one session's output until it exits (run in the kernel nursery); ``rules`` are its
        agent kind's screen rules (``launch.screen_rules``), ``limit`` its usage-limit message (output
        shown before the watch started is not searched for it)."""
        state = IdleState(session.id, kind, rules, limit=limit, limit_re=limit.compile() if limit else None)
        self.states[session.id] = state
        start, data = session.tail(TAIL_CHARS)
        state.tail = data.decode("utf-8", "replace")
        offset = session.end_offset if hasattr(session, "end_offset") else start + len(data)
        try:
            while session.alive:
                try:
                    async with session.subscribe(since=offset) as chunks:
                        quiet_at = 0.0  # when the output counts as quiet (after the last batch)
                        while True:
                            deadline = quiet_at if state.quiet_check_pending else trio.current_time() + REARM_SECONDS
                            with trio.move_on_at(deadline) as quiet:
                                # what queued meanwhile is looked at once (a fast agent costs no more)
                                chunk = await chunks.receive_batch(WATCH_BATCH)
                                if chunk is None:
                                    return
                            if quiet.cancelled_caught:
                                state.quiet_check_pending = False
                                self.evaluate(state)
                                continue
                            assert chunk is not None  # the wait was not cancelled, so it got one
                            offset = chunk.offset + len(chunk.data)
                            text = chunk.data[-4 * TAIL_CHARS:].decode("utf-8", "replace")  # only the tail counts
                            state.tail = (state.tail + text)[-TAIL_CHARS:]
                            state.unchecked += len(text)
                            state.quiet_check_pending = True
                            quiet_at = trio.current_time() + DEBOUNCE_SECONDS
                            # Busy only if the marker is on the last lines now: a chunk that ends
                            # with the prompt after a last spinner frame is not busy. Looked at only
                            # when it can change something (flagged idle, or not busy since the
                            # last input).
                            if state.idle or not state.busy_since_input:
                                # Woken with the session's terminal streams: let them send the
                                # chunk (a keystroke's echo) before this scan.
                                await trio.lowlevel.checkpoint()
                                if self._busy_on_screen(state):
                                    state.busy_since_input = True
                                    if not state.hook_idle:
                                        self._set(state, False, "screen:busy")
                            else:
                                # A busy agent's output matters only once it goes quiet: let it
                                # gather into one batch for a moment (the quiet deadline counts
                                # from the batch before), instead of a wake-up per chunk.
                                await trio.sleep(GATHER_SECONDS)
                except Exception as exc:  # a lagging subscriber: resubscribe from our offset
                    if not session.alive:
                        return
                    log.debug("idle watcher for %s resubscribing: %r", session.id, exc)
                    await trio.sleep(0.05)
        finally:
            self.states.pop(session.id, None)
