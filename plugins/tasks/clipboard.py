"""The agent-staged clipboard: one slot, last write wins, gone after five minutes.

An agent stages text (``argus_clipboard_set``); the user copies it with one tap in the PWA or
``ctrl+y`` in the TUI, which reads ``GET /api/clipboard`` and then consumes it. This works around
iOS Safari's rule that ``clipboard.writeText`` needs a synchronous user gesture. Kept in memory on
purpose: staged text is short-lived and does not survive a daemon restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argus.kernel.api import Invalid, NotFound, TooLarge

MAX_TEXT = 1024 * 1024
TTL_SECONDS = 300.0


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Staged:
    """The staged text, who staged it and until when (wall-clock epoch seconds)."""

    text: str
    task_id: str | None
    expires: float

    def to_json(self) -> dict[str, Any]:
        """``{"text", "task_id", "expires_at"}``."""
        return {"text": self.text, "task_id": self.task_id, "expires_at": _rfc3339(self.expires)}


class Clipboard:
    """One slot of staged text with a TTL; changes are published on the event bus."""

    def __init__(self, publish: Callable[[str, dict[str, Any]], Any], clock: Callable[[], float] = time.time,
                 ttl: float = TTL_SECONDS) -> None:
        self.publish = publish
        self.clock = clock
        self.ttl = ttl
        self._staged: Staged | None = None

    def set(self, text: Any, task_id: str | None) -> dict[str, Any]:
        """Stage ``text`` (at most 1 MiB), replacing whatever was staged."""
        if not isinstance(text, str) or text == "":
            raise Invalid("text is required")
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT:
            raise TooLarge(f"clipboard text is {size} bytes; the limit is {MAX_TEXT} bytes (1 MiB)")
        self._staged = Staged(text, task_id, self.clock() + self.ttl)
        out = self._staged.to_json()
        self.publish("clipboard.set", {"task_id": task_id, "expires_at": out["expires_at"],
                                       "chars": len(text)})
        return {"task_id": task_id, "expires_at": out["expires_at"], "chars": len(text), "bytes": size}

    def get(self) -> dict[str, Any]:
        """The staged text, or NotFound when nothing is staged or it expired."""
        staged = self._staged
        if staged is None or staged.expires <= self.clock():
            self._staged = None
            raise NotFound("nothing is staged on the clipboard")
        return staged.to_json()

    def consume(self) -> dict[str, Any]:
        """Return the staged text and clear the slot."""
        out = self.get()
        self._staged = None
        self.publish("clipboard.consumed", {"task_id": out["task_id"]})
        return out
