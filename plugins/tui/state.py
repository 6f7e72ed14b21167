"""What the TUI knows about the daemon: a snapshot kept current by the event stream.

Everything here is plain data plus pure functions over it, so it is easy to test and can never
crash the UI: server data is read with defaults, unknown events are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUSES = ("pending", "in_progress", "in_review", "complete")


def as_dict(value: object) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty dict (bad server data never raises)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """``value`` when it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def task_name(task: dict[str, Any]) -> str:
    """The display name of a task."""
    return str(task.get("name") or task.get("slug") or task.get("id") or "?")


def needs_you(task: dict[str, Any]) -> bool:
    """True when the task waits for its user: idle in progress, or in review."""
    status = task.get("status")
    return bool(task.get("idle")) and status in ("in_progress", "in_review") or status == "in_review"


def is_hidden(task: dict[str, Any]) -> bool:
    """True for tasks hidden from the main list (e.g. Hera's workers, through ``argus_task_hidden``);
    shown when toggled with H."""
    return bool(task.get("hidden"))


def next_status(status: str, step: int) -> str:
    """The status ``step`` places after (``1``) or before (``-1``) ``status``, clamped."""
    try:
        i = STATUSES.index(status)
    except ValueError:
        i = 0
    return STATUSES[max(0, min(len(STATUSES) - 1, i + step))]


def parse_time(value: object) -> datetime | None:
    """An RFC3339 timestamp as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def format_elapsed(seconds: float) -> str:
    """A compact duration: ``42s``, ``3m``, ``1h05m``, ``2d3h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h"


def elapsed(task: dict[str, Any], now: datetime | None = None) -> str:
    """How long the task has been (or was) running, or "" when it never started."""
    start = parse_time(task.get("started_at")) or parse_time(task.get("created_at"))
    if start is None:
        return ""
    end = parse_time(task.get("ended_at")) or now or datetime.now(UTC)
    return format_elapsed((end - start).total_seconds())


@dataclass
class AppState:
    """The daemon's state as the TUI last saw it, plus the UI's own toggles."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: list[dict[str, Any]] = field(default_factory=list)
    backends: list[dict[str, Any]] = field(default_factory=list)
    backends_default: str = ""
    task_options: list[dict[str, Any]] = field(default_factory=list)  # GET /api/task-options
    settings: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    views: list[dict[str, Any]] = field(default_factory=list)
    plugin_sections: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] | None = None  # None: the daemon serves no /api/schedules
    connected: bool = False
    last_event_id: str | None = None
    show_archived: bool = False
    show_hera_workers: bool = False
    remote: bool = False

    def set_tasks(self, tasks: Any) -> None:
        """Replace the task table from a ``GET /api/tasks`` answer's list."""
        self.tasks = {str(t["id"]): t for t in as_list(tasks) if isinstance(t, dict) and t.get("id")}

    def upsert_task(self, task: Any) -> None:
        """Insert or replace one task (ignored when it has no id)."""
        if isinstance(task, dict) and task.get("id"):
            self.tasks[str(task["id"])] = task

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        """A value from ``GET /api/settings``'s ``sections`` (or its top-level mirror)."""
        sections = as_dict(self.settings.get("sections")) or self.settings
        value = as_dict(sections.get(section)).get(key, default)
        return default if value is None else value

    def default_backend(self) -> str:
        """The backend new tasks use when none is picked."""
        if self.backends_default:
            return self.backends_default
        for b in self.backends:
            if isinstance(b, dict) and b.get("default"):
                return str(b.get("name", ""))
        return str(self.setting("defaults", "backend", "") or "")

    def task_checkboxes(self) -> list[dict[str, Any]]:
        """The boolean create-time options plugins offer that can be used now (e.g. ``kb_context``)."""
        return [o for o in self.task_options if isinstance(o, dict) and o.get("type") == "bool"
                and o.get("available") and isinstance(o.get("name"), str)]

    def project_names(self) -> list[str]:
        """Registered project names, sorted."""
        return sorted(str(p.get("name")) for p in self.projects if isinstance(p, dict) and p.get("name"))

    def apply_event(self, event: dict[str, Any]) -> set[str]:
        """Apply one bus event; return what must be re-fetched (``tasks``, ``projects``, ...).

        ``task.*`` events carry the task and are applied directly; others name the snapshot
        parts that changed. Unknown types return an empty set.
        """
        etype = str(event.get("type") or "")
        data = as_dict(event.get("data"))
        if etype in ("task.created", "task.updated"):
            if isinstance(data.get("task"), dict):
                self.upsert_task(data["task"])
                return set()
            return {"tasks"}
        if etype == "task.deleted":
            self.tasks.pop(str(data.get("id") or as_dict(data.get("task")).get("id")), None)
            return set()
        if etype == "task.idle":
            t = self.tasks.get(str(data.get("id") or data.get("task_id")))
            if t is not None:
                t["idle"] = True
            return set()
        if etype.startswith("session."):
            return set()  # the daemon follows every session change with task.updated
        if etype.startswith("project."):
            return {"projects"}
        if etype.startswith("backend."):
            return {"backends"}
        if etype.startswith("settings."):
            return {"settings"}
        if etype.startswith("registry."):
            return {"registry"}
        if etype.startswith("schedule."):
            return {"schedules"}
        if etype == "resync":
            return {"all"}
        return set()
