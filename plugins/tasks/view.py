"""The Task JSON: how a task row looks to clients and plugins, and the notifications of its changes.

This part owns the idle detector (``idle.py``): whether a task waits for input is part of how it
looks (``idle``, ``display_status``), and a change of it is published like any other change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus.kernel.api import NotFound

from .idle import IdleDetector
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session, SessionManager
    from pluggy import HookRelay


def _bool(row: dict[str, Any], key: str) -> bool:
    return bool(row.get(key))


class TaskView:
    """Rows to Task JSON (with plugin fields), live sessions and idleness, ``task.*`` events."""

    def __init__(self, store: Store, hook: HookRelay, publish: Callable[[str, dict[str, Any]], None],
                 sessions: Callable[[], SessionManager]) -> None:
        """``hook``: the plugin manager's hook relay; ``sessions``: the kernel's session manager
        (read when needed: it exists once the daemon runs)."""
        self.store = store
        self.hook = hook
        self.publish = publish
        self._sessions = sessions
        self.idle = IdleDetector(self._idle_changed)
        store.on_status = self._status_changed
        store.on_change = self._task_changed
        #: The input path's cache: task id → its session id (``None``: no session), so a keystroke
        #: reads no SQLite row. Every write to a task row drops its entry (``Store.on_change``).
        self._session_ids: dict[str, str | None] = {}
        # Set by the service: the usage-limit plan's Task JSON keys, and who hears status changes first.
        self.limit_fields: Callable[[str], dict[str, Any]] = lambda task_id: {
            "limit_resets_at": None, "limit_resume_at": None}
        self.status_listeners: list[Callable[[str, str, str], None]] = []

    def get(self, task_id: str) -> dict[str, Any]:
        """The task row, or NotFound."""
        row = self.store.task(task_id) if isinstance(task_id, str) else None
        if row is None:
            raise NotFound(f"no task {task_id!r}")
        return row

    def session_of(self, row: dict[str, Any]) -> Session | None:
        """The task's most recent session object (alive or exited), if the manager knows it."""
        sid = row.get("session_id")
        return self._sessions().get(sid) if sid else None

    def live_session(self, row: dict[str, Any]) -> Session | None:
        """The task's session if it is alive."""
        session = self.session_of(row)
        return session if session is not None and session.alive else None

    def _task_changed(self, task_id: str) -> None:
        """``Store.on_change``: forget what the input path cached about the task."""
        self._session_ids.pop(task_id, None)

    def input_session(self, task_id: str) -> Session | None:
        """The task's live session for input, from the in-memory cache (NotFound for no task)."""
        try:
            sid = self._session_ids[task_id]
        except KeyError:
            sid = self._session_ids[task_id] = self.get(task_id)["session_id"]
        session = self._sessions().get(sid) if sid else None
        return session if session is not None and session.alive else None

    def is_idle(self, row: dict[str, Any]) -> bool:
        """In progress but waiting for input, or with no live session."""
        if row["status"] != "in_progress":
            return False
        if self.live_session(row) is None:
            return True
        return self.idle.is_idle(row.get("session_id"))

    def to_json(self, row: dict[str, Any]) -> dict[str, Any]:
        """The task as clients see it (docs/rest.md)."""
        session = self.live_session(row)
        idle = self.is_idle(row)
        result = row.get("result")
        meta = json.loads(row.get("meta") or "{}")
        out = {
            "id": row["id"], "name": row["name"], "slug": row["slug"], "project": row["project"],
            "backend": row["backend"], "model": row["model"], "prompt": row["prompt"],
            "status": row["status"], "display_status": "in_review" if idle else row["status"],
            "archived": _bool(row, "archived"), "pinned": _bool(row, "pinned"), "idle": idle,
            "worktree_path": row["worktree_path"], "branch": row["branch"], "base_branch": row["base_branch"],
            "session_id": row["session_id"], "agent_session_id": row["agent_session_id"],
            "running": session is not None, "pid": session.pid if session else None,
            "exit_code": row["exit_code"], "plan_slug": row["plan_slug"],
            "result": json.loads(result) if result else None,
            "parent_ids": meta.get("depends_on", []), "parent_id": row.get("parent_id"),
            "hidden": _bool(row, "hidden"), **self.limit_fields(row["id"]),
            "extra": json.loads(row.get("extra") or "{}"),
            "created_at": row["created_at"], "started_at": row["started_at"], "ended_at": row["ended_at"],
            "updated_at": row["updated_at"],
        }
        answer = self.hook.argus_task_hidden(task=out)
        if answer is not None:
            out["hidden"] = bool(answer)
        for fields in self.hook.argus_task_fields(task=dict(out)):
            if isinstance(fields, dict):
                for key, value in fields.items():
                    out.setdefault(key, value)  # plugins add keys; they never override the core ones
        return out

    def visible(self, row: dict[str, Any]) -> bool:
        """Whether the task belongs in the main task list (not hidden by its flag or a plugin)."""
        return not self.to_json(row)["hidden"]

    def changed(self, task_id: str) -> None:
        """Publish ``task.updated`` with the current row."""
        row = self.store.task(task_id)
        if row:
            self.publish("task.updated", {"task": self.to_json(row)})

    def _status_changed(self, task_id: str, old: str, new: str) -> None:
        """``Store.on_status``: tell the listeners, then plugins (``argus_task_status_changed``)."""
        for listener in self.status_listeners:
            listener(task_id, old, new)
        row = self.store.task(task_id)
        if row is not None:
            self.hook.argus_task_status_changed(task=self.to_json(row), old=old, new=new)

    def _idle_changed(self, session_id: str, idle: bool, reason: str) -> None:
        """The idle detector's callback: ``session.idle``/``session.busy``, ``task.idle``, the hook."""
        row = self.store.task_by_session(session_id)
        self.publish("session.idle" if idle else "session.busy",
                     {"session_id": session_id, "task_id": row["id"] if row else None, "reason": reason})
        if row is None:
            return
        if idle:
            self.publish("task.idle", {"id": row["id"], "reason": reason})
        self.changed(row["id"])
        self.hook.argus_task_idle(task=self.to_json(row), idle=idle, reason=reason)
