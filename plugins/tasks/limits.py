"""Usage-limit messages on an agent's screen, and when the limit resets.

An agent kind may describe its CLI's "usage limit reached" message as a :class:`UsageLimit`: a
regular expression on the last lines of the screen (ANSI-stripped) and a function turning the match
into the reset time. The built-in ``claude`` (and ``demo``) and ``codex`` kinds (``kinds/``) use these:

- Claude Code: ``5-hour limit reached ∙ resets 3pm``, ``Claude usage limit reached. Your limit will
  reset at 3pm (Europe/Paris).``, ``You've hit your session limit · resets 3:45pm``, ``Weekly limit
  reached ∙ resets Oct 9, 3pm``, ``... resets in 1d 5h`` and the older ``Claude AI usage limit
  reached|1750000000`` (a Unix time);
- Codex: ``You've hit your usage limit. ... try again in 2 hours 5 minutes.`` and ``... try again at
  3:15 PM.`` / ``... try again at Jul 9th, 2026 1:47 AM.``

Clock times are read in the zone the message names (``(Europe/Paris)``), else in the zone of
``now`` (the host's); a time without a date that has already passed today is tomorrow's.
Seconds (``3:15:42pm``) are accepted where a clock time is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CLAUDE_USAGE_LIMIT", "CODEX_USAGE_LIMIT", "UsageLimit", "reset_from_text"]


@dataclass(frozen=True)
class UsageLimit:
    """How an agent CLI says it hit its usage limit.

    - ``pattern``: a regular expression (case-insensitive, multi-line) searched in the last lines of
      the agent's screen without escape sequences.
    - ``reset_at(match, now)``: the reset time (an aware ``datetime``) from the match, or None when
      the message gives none (nothing is planned then). ``now`` is aware, in the host's zone.
    """

    pattern: str
    reset_at: Callable[[re.Match[str], datetime], datetime | None]

    def compile(self) -> re.Pattern[str]:
        """The compiled pattern (``re.error`` when invalid)."""
        return re.compile(self.pattern, re.I | re.M)


MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
WEEKDAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}

_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])\.?\s?m\.?\b|\b(\d{1,2}):(\d{2})(?::(\d{2}))?\b",
                    re.I)
_ZONE = re.compile(r"\(([A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*|UTC|GMT)\)")
_MONTH_DAY = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?"
                        r"(?:,?\s+(\d{4}))?", re.I)
_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.I)
_DURATION_PART = re.compile(r"(\d+)\s*(d(?:ays?)?|h(?:ours?|rs?)?|m(?:in(?:ute)?s?)?|s(?:ec(?:ond)?s?)?)\b", re.I)
_EPOCH = re.compile(r"\|\s*(\d{10})\b")


def _zone(text: str, default: tzinfo) -> tzinfo:
    """The zone named in parentheses in ``text`` (``(Europe/Paris)``), else ``default``."""
    found = _ZONE.search(text)
    if found:
        try:
            return ZoneInfo(found.group(1)) if found.group(1) not in ("UTC", "GMT") else UTC
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def _clock(text: str) -> tuple[int, int, int] | None:
    """The first clock time in ``text`` as (hour, minute, second) on a 24-hour clock."""
    m = _CLOCK.search(text)
    if m is None:
        return None
    if m.group(4):  # 3pm, 3:15 PM, 3:15:42pm
        hour, minute, second = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(4).lower() == "p" else 0)
    else:  # 15:00, 15:00:42
        hour, minute, second = int(m.group(5)), int(m.group(6)), int(m.group(7) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _duration(text: str) -> timedelta | None:
    """``2 hours 5 minutes``, ``1d 5h``, ``30 seconds``, ``less than a minute`` as a timedelta."""
    if re.search(r"less than a minute", text, re.I):
        return timedelta(minutes=1)
    total, found = 0.0, False
    for m in _DURATION_PART.finditer(text):
        unit = m.group(2)[0].lower()
        total += int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
        found = True
    return timedelta(seconds=total) if found else None


def reset_from_text(text: str, now: datetime) -> datetime | None:
    """The reset time a limit message's tail says, in UTC; None when it says none.

    ``text`` is what follows "resets" / "reset at" / "try again": a Unix time after ``|``, a duration
    after ``in``, or a clock time with an optional date (``Oct 9, 3pm``, ``Jul 9th, 2026 1:47 AM``)
    or weekday (``Mon 12:00am``), in the zone named in parentheses or ``now``'s. A clock time alone
    that has already passed is the next day's.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    epoch = _EPOCH.search(text)
    if epoch:
        return datetime.fromtimestamp(int(epoch.group(1)), UTC)
    relative = re.match(r"\s*(?:at\s+)?in\s+(.+)", text, re.I)
    if relative:
        span = _duration(relative.group(1))
        return (now + span).astimezone(UTC) if span is not None else None
    zone = _zone(text, now.tzinfo)
    local_now = now.astimezone(zone)
    clock = _clock(text)
    month_day = _MONTH_DAY.search(text)
    weekday = _WEEKDAY.search(text)
    hour, minute, second = clock if clock is not None else (0, 0, 0)
    if month_day:
        month, day = MONTHS[month_day.group(1).lower()[:3]], int(month_day.group(2))
        year = int(month_day.group(3)) if month_day.group(3) else local_now.year
        try:
            when = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        except ValueError:
            return None
        if not month_day.group(3) and when < local_now - timedelta(days=1):
            when = when.replace(year=year + 1)  # "Jan 2" said in late December
        return when.astimezone(UTC)
    if clock is None:
        return None
    when = local_now.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if weekday:
        ahead = (WEEKDAYS[weekday.group(1).lower()[:3]] - local_now.weekday()) % 7
        when += timedelta(days=ahead)
    if when <= local_now:
        when += timedelta(days=7 if weekday else 1)
    # a wall-clock time in a zone with DST: re-attach the zone at the new date
    when = when.replace(tzinfo=None).replace(tzinfo=zone)
    return when.astimezone(UTC)


# Claude Code: "... limit reached ∙ resets 3pm (Europe/Paris)", "You've hit your session limit ·
# resets 3:45pm", "Claude usage limit reached. Your limit will reset at 3pm (Europe/Paris).",
# "Claude AI usage limit reached|1750000000".
CLAUDE_USAGE_LIMIT = UsageLimit(
    pattern=(r"(?:limit reached|hit your (?:\w+ )?limit)(?:\s*\|\s*(?P<epoch>\d{10})\b|\W{0,6}"
             r".{0,80}?\bresets?\b(?:\s+at)?(?P<when>[^\n]{1,60}))"),
    reset_at=lambda m, now: _claude_reset(m, now),
)


def _claude_reset(match: re.Match[str], now: datetime) -> datetime | None:
    if match.group("epoch"):
        return datetime.fromtimestamp(int(match.group("epoch")), UTC)
    return reset_from_text(match.group("when"), now)


# Codex: "You've hit your usage limit. Upgrade to Pro (...) or try again in 2 hours 5 minutes." and
# "... or try again at 3:15 PM." / "... try again at Jul 9th, 2026 1:47 AM."
CODEX_USAGE_LIMIT = UsageLimit(
    pattern=(r"hit your (?:usage|rate) limit\b[\s\S]{0,300}?\btry again (?P<when>(?:at|in)\s+[^\n]{1,60}?)"
             r"(?:\.\s|\.?$)"),
    reset_at=lambda m, now: reset_from_text(re.sub(r"^at\s+", "", m.group("when"), flags=re.I), now),
)

