"""Schedule expressions and fire times: 5-field cron, ``@hourly``-style descriptors, ``@every <duration>``
and one-shot RFC3339 UTC timestamps.

Cron expressions are evaluated in a time zone (the ``scheduler.time_zone`` setting, default the
host's) with croniter; every time this module returns is an aware UTC ``datetime``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argus.kernel.api import Invalid

DESCRIPTORS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
EVERY = re.compile(r"^@every\s+(\S+)$", re.IGNORECASE)
DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = 1.0  # seconds


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration (``30m``, ``1h30m``, ``90s``, ``2d``); Invalid if malformed."""
    pos, total = 0, 0.0
    for m in DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += int(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise Invalid(f"invalid duration {text!r}: use forms like 30s, 15m, 1h30m, 2d")
    return total


def every_seconds(expr: str) -> float | None:
    """The interval of an ``@every <duration>`` expression, or None for other expressions."""
    m = EVERY.match(expr.strip())
    return parse_duration(m.group(1)) if m else None


def validate(expr: object) -> str:
    """The normalized expression, or Invalid quoting it (5 cron fields, a descriptor, ``@every``)."""
    if not isinstance(expr, str) or not expr.strip():
        raise Invalid("schedule must be a non-empty string (cron, @daily or @every 30m)")
    text = " ".join(expr.split())
    if text.lower().startswith("@every"):
        try:
            seconds = every_seconds(text)
        except Invalid as exc:
            raise Invalid(f"invalid schedule {expr!r}: {exc.message}") from None
        if seconds is None:
            raise Invalid(f"invalid schedule {expr!r}: write '@every <duration>', e.g. '@every 30m'")
        if seconds < MIN_EVERY:
            raise Invalid(f"invalid schedule {expr!r}: the interval must be at least 1s")
        return text
    if text.startswith("@"):
        if text.lower() not in DESCRIPTORS:
            raise Invalid(f"invalid schedule {expr!r}: descriptors are {', '.join(DESCRIPTORS[:5])}")
        return text.lower()
    from croniter import croniter  # on first use: not at daemon start-up

    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise Invalid(f"invalid schedule {expr!r}: expected 5 cron fields (minute hour day month weekday)")
    return text


def parse_time(value: object, field: str = "run_once_at") -> datetime:
    """An RFC3339 timestamp as an aware UTC datetime (a naive one is taken as UTC), or Invalid."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field} must be an RFC3339 timestamp like 2026-01-02T09:00:00Z")
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"invalid {field} {value!r}: expected RFC3339 like 2026-01-02T09:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def fmt(when: datetime | None) -> str | None:
    """RFC3339 UTC with a ``Z`` suffix (seconds precision)."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_zone() -> tzinfo:
    """The host's time zone: ``$TZ``, the ``/etc/localtime`` link, or its contents."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    link = Path("/etc/localtime")
    try:
        target = str(link.resolve())
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
        with open(link, "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        return UTC


def zone(name: str) -> tzinfo:
    """The zone called ``name`` (IANA), or the host's when empty; Invalid when unknown."""
    if not name:
        return host_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {name!r}") from None


def next_after(expr: str, after: datetime, tz: tzinfo) -> datetime:
    """The first fire strictly after ``after`` (UTC) of a cron/descriptor/``@every`` expression."""
    seconds = every_seconds(expr)
    if seconds is not None:
        return (after + timedelta(seconds=seconds)).astimezone(UTC).replace(microsecond=0)
    from croniter import croniter

    local = after.astimezone(tz)
    nxt: datetime = croniter(expr, local).get_next(datetime)
    return nxt.astimezone(UTC)


def upcoming(expr: str, after: datetime, tz: tzinfo, count: int = 3) -> list[datetime]:
    """The next ``count`` fire times after ``after`` (for previews)."""
    out: list[datetime] = []
    cursor = after
    for _ in range(count):
        cursor = next_after(expr, cursor, tz)
        out.append(cursor)
    return out
