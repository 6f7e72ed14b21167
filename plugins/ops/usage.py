"""Tokens and cost per task, read from what the agent CLI itself records (nothing is estimated).

- Claude Code (and the demo agent's Claude imitation): the session transcript
  ``$CLAUDE_CONFIG_DIR/projects/<worktree with non-alphanumerics as ->/<session id>.jsonl``
  (``~/.claude`` by default). Each assistant message carries ``message.usage``; a message split over
  several lines is counted once (by ``message.id``). ``costUSD`` is summed only where present.
- Codex: the rollout file ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*-<session id>.jsonl``, whose
  ``token_count`` events carry the session's running ``total_token_usage``. Codex reports no cost.

Usage is refreshed when a task goes idle or stops, and on demand by ``GET /api/usage/tasks/{id}``;
it is stored per task and day in ``ops_usage`` so it outlives the CLI's files. A refresh that
changes a task's totals re-publishes the task (``task.updated``) so the task lists redraw it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Kernel, Migration, hookimpl

from .compat import tasks_of

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

log = logging.getLogger(__name__)

MIGRATIONS = [Migration("ops", 1, """
CREATE TABLE IF NOT EXISTS ops_usage (
    task_id TEXT NOT NULL,
    day TEXT NOT NULL,
    project TEXT NOT NULL DEFAULT '',
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    source TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, day)
);
CREATE INDEX IF NOT EXISTS ops_usage_day ON ops_usage (day);
""")]
COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    yield obj
    except OSError:
        return


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def claude_transcript(worktree: str, session_id: str) -> Path | None:
    """Where Claude Code keeps this session's transcript, if it exists."""
    base = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude") / "projects"
    direct = base / _NOT_ALNUM.sub("-", worktree) / f"{session_id}.jsonl"
    if direct.is_file():
        return direct
    return next(iter(sorted(base.glob(f"*/{session_id}.jsonl"))), None) if base.is_dir() else None


def codex_rollout(session_id: str) -> Path | None:
    """Codex's rollout file of this session, if it exists."""
    root = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex") / "sessions"
    return next(iter(sorted(root.glob(f"*/*/*/rollout-*-{session_id}.jsonl"))), None) if root.is_dir() else None


def read_claude(path: Path) -> dict[str, dict[str, Any]]:
    """Per-day totals from a Claude Code transcript: ``{day: {counts..., "cost_usd"}}``."""
    messages: dict[str, tuple[str, dict[str, Any], float | None]] = {}
    for n, obj in enumerate(_lines(path)):
        msg = obj.get("message")
        if obj.get("type") != "assistant" or not isinstance(msg, dict) or not isinstance(msg.get("usage"), dict):
            continue
        key = str(msg.get("id") or obj.get("uuid") or n)
        cost = obj.get("costUSD")
        day = str(obj.get("timestamp") or "")[:10] or "unknown"
        messages[key] = (day, msg["usage"], float(cost) if isinstance(cost, int | float) else None)
    days: dict[str, dict[str, Any]] = {}
    for day, usage, cost in messages.values():
        d = days.setdefault(day, {**dict.fromkeys(COUNTS, 0), "cost_usd": None})
        d["input_tokens"] += _int(usage.get("input_tokens"))
        d["output_tokens"] += _int(usage.get("output_tokens"))
        d["cache_read_tokens"] += _int(usage.get("cache_read_input_tokens"))
        d["cache_write_tokens"] += _int(usage.get("cache_creation_input_tokens"))
        if cost is not None:
            d["cost_usd"] = (d["cost_usd"] or 0.0) + cost
    return days


def read_codex(path: Path) -> dict[str, dict[str, Any]]:
    """Per-day totals from a Codex rollout: the growth of ``total_token_usage`` on each day."""
    days: dict[str, dict[str, Any]] = {}
    last = dict.fromkeys(COUNTS, 0)
    for obj in _lines(path):
        payload = obj.get("payload")
        if not isinstance(payload, dict) or payload.get("type") != "token_count":
            continue
        info = payload.get("info")
        total = info.get("total_token_usage") if isinstance(info, dict) else None
        if not isinstance(total, dict):
            continue
        cached = _int(total.get("cached_input_tokens"))
        now = {"input_tokens": max(0, _int(total.get("input_tokens")) - cached), "cache_read_tokens": cached,
               "output_tokens": _int(total.get("output_tokens")), "cache_write_tokens": 0}
        day = str(obj.get("timestamp") or "")[:10] or "unknown"
        d = days.setdefault(day, {**dict.fromkeys(COUNTS, 0), "cost_usd": None})
        for k in COUNTS:
            d[k] += max(0, now[k] - last[k])
        last = now
    return days


def read_usage(kind: str, worktree: str, session_id: str) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """``(source, per-day totals)`` for a task's agent session, or None when the CLI recorded none."""
    if not session_id:
        return None
    if kind in ("claude", "demo"):
        path = claude_transcript(worktree, session_id)
        return ("claude transcript", read_claude(path)) if path else None
    if kind == "codex":
        path = codex_rollout(session_id)
        return ("codex rollout", read_codex(path)) if path else None
    return None


def _kind(command: str) -> str:
    from .naming import kind_of

    return kind_of(command)[0]


class UsageTracker:
    """Refreshes, stores and sums usage; a per-kernel pluggy plugin adding ``usage`` to Task JSON."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._send, self._receive = trio.open_memory_channel[str](256)

    def on_event(self, event: Event) -> None:
        """Bus listener: refresh a task's usage when its agent goes idle or stops."""
        task_id = None
        if event.type == "task.idle":
            task_id = event.data.get("id")
        elif event.type == "task.updated":
            task = event.data.get("task") or {}
            if not task.get("running"):
                task_id = task.get("id")
        if isinstance(task_id, str):
            try:
                self._send.send_nowait(task_id)
            except trio.WouldBlock:
                pass

    async def worker(self) -> None:
        """Background job: refresh queued tasks one at a time."""
        async for task_id in self._receive:
            try:
                await self.refresh(task_id)
            except Exception:
                log.debug("usage refresh of %s failed", task_id, exc_info=True)

    async def refresh(self, task_id: str) -> None:
        """Re-read the task's CLI records (off the event loop) and store the per-day totals."""
        tasks = tasks_of(self.kernel)
        if tasks is None:
            return
        task = tasks.get(task_id)
        try:
            command = str(tasks.backend(task["backend"]).get("command", ""))
        except Exception:
            return
        found = await trio.to_thread.run_sync(read_usage, _kind(command), task["worktree_path"],
                                              task.get("agent_session_id") or "")
        if found is None:
            return
        source, days = found
        before = self.for_task(task_id)
        db = self.kernel.db
        with db.transaction():
            db.execute("DELETE FROM ops_usage WHERE task_id = ?", (task_id,))
            for day, d in days.items():
                db.execute("INSERT INTO ops_usage (task_id, day, project, input_tokens, output_tokens, "
                           "cache_read_tokens, cache_write_tokens, cost_usd, source) VALUES (?,?,?,?,?,?,?,?,?)",
                           (task_id, day, task.get("project") or "", d["input_tokens"], d["output_tokens"],
                            d["cache_read_tokens"], d["cache_write_tokens"], d["cost_usd"], source))
        if self.for_task(task_id) != before:
            tasks.changed(task_id)  # task.updated: the lists show the new totals

    def for_task(self, task_id: str) -> dict[str, Any] | None:
        """The task's totals, or None when its CLI reported nothing."""
        rows = self.kernel.db.query("SELECT * FROM ops_usage WHERE task_id = ?", (task_id,))
        return _total(rows) if rows else None

    def summary(self) -> dict[str, Any]:
        """Totals per task, per project and per day."""
        rows = self.kernel.db.query("SELECT * FROM ops_usage ORDER BY day")
        out: dict[str, Any] = {"tasks": {}, "projects": {}, "days": {}}
        for group, key in (("tasks", "task_id"), ("projects", "project"), ("days", "day")):
            buckets: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                buckets.setdefault(str(r[key]), []).append(r)
            out[group] = {k: _total(v) for k, v in buckets.items()}
        return out

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """``usage`` in the Task JSON (tokens, and cost when the CLI reports it)."""
        usage = self.for_task(str(task.get("id")))
        return {"usage": usage} if usage else None


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: sum(int(r[k]) for r in rows) for k in COUNTS}
    costs = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    out["cost_usd"] = round(sum(costs), 6) if costs else None
    out["source"] = sorted({r["source"] for r in rows})[0] if rows else ""
    return out
