"""Hera's vocabulary: role kinds and statuses, limits, and small validators shared by tools and REST.

The limits are those of inter-task messages (the reference manual's): a body is at most 64 KiB, a
recipient holds at most 500 unread messages, a sender sends at most 50 messages a minute.
"""

from __future__ import annotations

import re
from typing import Any

from argus.kernel.api import Invalid

KINDS = ("coordinator", "worker", "freelance")
JOIN_KINDS = ("worker", "freelance")
STATUSES = ("idle", "working", "blocked", "done")
MAX_BODY = 64 * 1024
MAX_UNREAD = 500
RATE_LIMIT = 50
RATE_WINDOW = 60.0
MAX_IDS = 500
MAX_NAME = 64
SUBJECT_MAX = 120
INBOX_DEFAULT = 50
TREE_DEFAULT = 100
LIST_MAX = 500
MAX_ID = 2**63 - 1
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def one_line(text: str, limit: int) -> str:
    """``text`` flattened to one printable line of at most ``limit`` characters."""
    flat = CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def opt_str(args: dict[str, Any], key: str) -> str | None:
    """An optional string argument (None when absent or empty)."""
    value = args.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a string")
    if "\x00" in value:
        raise Invalid(f"{key} must not contain a NUL byte")
    return value


def req_str(args: dict[str, Any], key: str) -> str:
    """A required non-empty string argument."""
    value = opt_str(args, key)
    if value is None or not value.strip():
        raise Invalid(f"{key} is required")
    return value


def role_name(value: object, key: str = "role_name") -> str:
    """A role or orchestrator name: 1-64 letters, digits, ``_ . -``, starting alphanumeric."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{key} is required")
    value = value.strip()
    if len(value) > MAX_NAME or not NAME_RE.match(value):
        raise Invalid(f"{key} must be 1-{MAX_NAME} letters, digits, '_', '.' or '-' (starting with a letter "
                      f"or digit); got {value[:80]!r}")
    return value


def display_name(value: object, key: str = "name") -> str:
    """A free-form display name (orchestrators): one line, 1-64 characters."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{key} is required")
    flat = one_line(value, 1000)
    if len(flat) > MAX_NAME:
        raise Invalid(f"{key} is at most {MAX_NAME} characters")
    return flat


def status(value: object) -> str:
    """A role status."""
    if value not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    return str(value)


def message_ids(value: object, key: str = "message_ids") -> list[int]:
    """A list of at most 500 message ids (integers, or digit strings)."""
    if not isinstance(value, list):
        raise Invalid(f"{key} must be a list of message ids")
    if len(value) > MAX_IDS:
        raise Invalid(f"at most {MAX_IDS} message ids per call")
    out = []
    for item in value:
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit() and len(item.strip()) <= 19:
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= MAX_ID:
            raise Invalid(f"message ids are non-negative integers (got {str(item)[:40]!r})")
        out.append(item)
    return out


def limit(value: object, default: int, key: str = "limit") -> int:
    """A page size from 1 to 500."""
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LIST_MAX:
        raise Invalid(f"{key} must be an integer from 1 to {LIST_MAX}")
    return value


def subject_of(subject: str | None, body: str) -> str:
    """The message's subject line: the given one, else the body's first line (≤ 120 chars)."""
    if subject is not None and subject.strip():
        return one_line(subject, SUBJECT_MAX)
    first = next((ln for ln in body.splitlines() if ln.strip()), body)
    return one_line(first, SUBJECT_MAX)
