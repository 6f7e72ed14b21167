"""Settings → Status rows from the ops plugin: "Auto-start at login" (Enter toggles) and usage.

Both are loaded with the Status section (``GET /api/autostart``, master token only, and
``GET /api/usage``); a daemon without the ops plugin (404) shows neither row, and a device token
sees why it cannot change auto-start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .client import ApiError
from .forms import Confirm
from .host import UiHost
from .marks import usage_text
from .state import as_dict

USAGE_DAYS = 14  # days listed in the usage dialog


def autostart_text(state: dict[str, Any]) -> str:
    """What the Auto-start row says: on/off, the service's state, or why it is unavailable."""
    installed = bool(state.get("installed"))
    system = str(state.get("system") or "systemd")
    if system == "launchd":
        detail = "loaded" if state.get("loaded") else "not loaded"
    else:
        detail = ("enabled" if state.get("enabled") else "not enabled") + (" · running" if state.get("active") else "")
    if not state.get("available", True):
        why = str(state.get("reason") or "the service manager does not answer")
        return (f"on (unit written, {why})" if installed else f"unavailable: {why}") + " · Enter toggles"
    return (f"on · {detail}" if installed else "off") + f" ({system}) · Enter toggles"


class StatusExtras:
    """The auto-start state and the usage summary behind two rows of the Status section."""

    def __init__(self, tui: UiHost) -> None:
        self.tui = tui
        self.autostart: dict[str, Any] | None = None  # None: no ops plugin (or not loaded yet)
        self.autostart_error = ""  # e.g. a device token (403)
        self.usage: dict[str, Any] | None = None
        self.busy = False

    async def load(self) -> None:
        """Fetch ``/api/autostart`` and ``/api/usage`` (quietly: a missing route hides the row)."""
        try:
            self.autostart = as_dict(await self.tui.client.get("/api/autostart"))
            self.autostart_error = ""
        except ApiError as exc:
            self.autostart = None
            self.autostart_error = "" if exc.status in (404, 405) or exc.unreachable else exc.message
        try:
            self.usage = as_dict(await self.tui.client.get("/api/usage"))
        except ApiError:
            self.usage = None
        self.tui.invalidate()

    # -- rows ------------------------------------------------------------------------------------

    def rows(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """``(kind, label, value, data)`` of the rows to show under Status."""
        out: list[tuple[str, str, str, dict[str, Any]]] = []
        if self.autostart is not None:
            value = "working…" if self.busy else autostart_text(self.autostart)
            out.append(("action", "Auto-start at login", value, {"action": "autostart"}))
        elif self.autostart_error:
            out.append(("status", "Auto-start at login", f"unavailable: {self.autostart_error}", {}))
        if self.usage is not None:
            out.append(("action", "Usage", self.usage_summary(), {"action": "usage"}))
        return out

    def usage_summary(self) -> str:
        """``today 12.3k tok $0.41 · 3 days recorded · Enter: per day`` (or that nothing is recorded)."""
        days = as_dict(as_dict(self.usage).get("days"))
        if not days:
            return "nothing reported by the agent CLIs yet"
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        head = f"today {usage_text(days[today])}" if today in days else "nothing today"
        return f"{head} · {len(days)} day(s) recorded · Enter: per day"

    # -- actions ---------------------------------------------------------------------------------

    def toggle_autostart(self) -> None:
        """Enter on Auto-start: install the login service when it is off, remove it when on."""
        if self.autostart is None or self.busy:
            return
        enable = not bool(self.autostart.get("installed"))
        self.busy = True

        async def go() -> None:
            try:
                out = as_dict(await self.tui.client.put("/api/autostart", {"enabled": enable}))
                self.autostart = out
                result = as_dict(out.get("result"))
                if enable:
                    where = out.get("unit") or out.get("plist") or "the service file"
                    note = "" if out.get("available", True) else f" — {out.get('reason')}"
                    hint = str(result.get("hint") or out.get("hint") or "")
                    self.tui.set_status(f"auto-start on: wrote {where}{note}" + (f"; {hint}" if hint and note else ""))
                else:
                    self.tui.set_status("auto-start off: the login service is removed")
            except ApiError as exc:
                self.tui.set_status(f"auto-start: {exc.message}", error=True)
            finally:
                self.busy = False
                self.tui.invalidate()
        self.tui.invalidate()
        self.tui.spawn(go(), name="autostart")

    def show_usage(self) -> None:
        """Enter on Usage: tokens and cost per day (newest first) and per project, in a dialog."""
        usage = as_dict(self.usage)
        days = as_dict(usage.get("days"))
        if not days:
            self.tui.set_status("usage: nothing reported by the agent CLIs yet")
            return
        lines = ["per day (UTC):"]
        lines += [f"  {day}  {usage_text(days[day])}" for day in sorted(days, reverse=True)[:USAGE_DAYS]]
        if len(days) > USAGE_DAYS:
            lines.append(f"  … and {len(days) - USAGE_DAYS} earlier day(s)")
        projects = as_dict(usage.get("projects"))
        if projects:
            lines.append("per project:")
            lines += [f"  {name or '(none)'}  {usage_text(projects[name])}" for name in sorted(projects)]
        self.tui.open_modal(Confirm("Usage", "\n".join(lines) + "\n\nClose?", lambda: None,
                                    on_close=self.tui.close_modal))
