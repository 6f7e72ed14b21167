"""What a notification says: the last meaningful lines of an agent's screen, and whether they are
a yes/no or numbered permission prompt that action buttons can answer."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from argus.kernel.api import strip_ansi

DECOR = re.compile(r"^[\s─━│┃┌┐└┘├┤┬┴┼╭╮╯╰═║╔╗╚╝╠╣╦╩╬▔▁█▌▐░▒▓·•…>❯›✻✽✶✢*\-_=~|]*$")
NOISE = re.compile(r"\? for shortcuts|esc to interrupt|shift\+tab to cycle|bypass permissions on", re.I)
YES_NO = re.compile(r"[(\[]\s*y(?:es)?\s*/\s*n(?:o)?\s*[)\]]\s*[:?]?\s*$", re.I)  # the line ends asking
OPTION = re.compile(r"^\s*(?:[❯>›]\s*)?(\d)[.)]\s+(.+?)\s*$")
MAX_LINES = 4
MAX_BODY = 240


def clean_lines(raw: bytes) -> list[str]:
    """The text lines of raw terminal output: escapes removed, carriage-return redraws collapsed."""
    return [line.rstrip() for line in strip_ansi(raw.decode("utf-8", errors="replace")).split("\n")]


def meaningful(lines: list[str]) -> list[str]:
    """Lines that carry words: no blank, border-only, prompt-only or footer lines."""
    return [ln.strip() for ln in lines if ln.strip() and not DECOR.match(ln) and not NOISE.search(ln)]


@dataclass
class Prompt:
    """A question on screen that buttons can answer: action name → keystrokes."""

    text: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """A short fingerprint of the question: an action for an older prompt is stale."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


def find_prompt(lines: list[str]) -> Prompt | None:
    """A yes/no question or a numbered Yes/No menu among the last screen lines, or None."""
    tail = meaningful(lines)[-8:]
    for line in reversed(tail[-2:]):
        if YES_NO.search(line):
            return Prompt(line, {"approve": "y\r", "deny": "n\r"})
    options: dict[str, str] = {}
    menu: list[str] = []
    last_option = -1
    for index, line in enumerate(tail):
        m = OPTION.match(line)
        if not m:
            continue
        last_option = index
        menu.append(line)
        label = m.group(2).lower()
        if label.startswith("yes") and "approve" not in options:
            options["approve"] = m.group(1)
        elif label.startswith("no") and "deny" not in options:
            options["deny"] = m.group(1)
    if "approve" in options and "deny" in options and last_option >= len(tail) - 2:  # still the screen's end
        return Prompt(" / ".join(menu), options)
    return None


def excerpt(raw: bytes) -> tuple[str, Prompt | None]:
    """The notification body (the last meaningful lines, the question first when there is one)."""
    lines = clean_lines(raw)
    prompt = find_prompt(lines)
    body_lines = meaningful(lines)[-MAX_LINES:]
    body = "\n".join(body_lines)
    if len(body) > MAX_BODY:
        body = "…" + body[-(MAX_BODY - 1):]
    return body, prompt
