"""The Tasks tab: tasks grouped by project under a pinned section, with live status icons.

``build_rows`` is pure (state in, rows out) and is what the tests check; ``TaskList`` keeps the
selection and renders the rows as prompt_toolkit fragments.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prompt_toolkit.formatted_text import StyleAndTextTuples

from .marks import conflicts_text, usage_text
from .state import AppState, elapsed, is_hidden, needs_you, parse_time, task_name

SPINNERS: dict[str, tuple[tuple[str, ...], float]] = {
    "progress": (tuple(chr(c) for c in range(0xEE06, 0xEE0C)), 0.15),
    "dots": (tuple("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), 0.10),
    "braille": (tuple("⣷⣯⣟⡿⢿⣻⣽⣾"), 0.10),
    "classic": (tuple("|/-\\"), 0.15),
}

_STATUS_RANK = {"in_progress": 0, "pending": 1, "limit": 1, "in_review": 2, "complete": 3}


def spinner_frame(style: str, now: float | None = None) -> str:
    """The spinner character of ``style`` (unknown styles fall back to progress) at ``now``."""
    frames, interval = SPINNERS.get(style, SPINNERS["progress"])
    t = time.monotonic() if now is None else now
    return frames[int(t / interval) % len(frames)]


def spinner_interval(style: str) -> float:
    """Seconds per frame for ``style``."""
    return SPINNERS.get(style, SPINNERS["progress"])[1]


def is_spinning(task: dict[str, Any]) -> bool:
    """True when the task's agent is working (its row shows the spinner)."""
    return (task.get("status") == "in_progress" and not task.get("idle")
            and task.get("running", True) is not False and not task.get("archived"))


@dataclass(frozen=True)
class Row:
    """One line of the list: a section header (``task_id`` None) or a task."""

    kind: str  # "header" | "task"
    title: str = ""
    task_id: str | None = None


def _sort_key(task: dict[str, Any]) -> tuple[int, int, str]:
    rank = _STATUS_RANK.get(str(task.get("status")), 4)
    return (0 if needs_you(task) and rank <= 2 else 1, rank, "~" + str(task.get("created_at") or ""))


def visible_tasks(state: AppState) -> list[dict[str, Any]]:
    """Tasks the list shows under the current toggles (archived / Hera workers)."""
    out = []
    for t in state.tasks.values():
        if t.get("archived") and not state.show_archived:
            continue
        if is_hidden(t) and not state.show_hera_workers:
            continue
        out.append(t)
    return out


def matches(task: dict[str, Any], query: str) -> bool:
    """True when ``query`` (case-insensitive) is in the task's name, project or branch."""
    q = query.strip().lower()
    if not q:
        return True
    return any(q in str(v or "").lower() for v in (task_name(task), task.get("project"), task.get("branch")))


def build_rows(state: AppState, query: str = "") -> list[Row]:
    """The list's rows: ★ Pinned first, then one group per project, then Archived if shown.

    Within a group, tasks needing the user come first, then by status, newest first. ``query``
    (the ``/`` filter) keeps the tasks whose name, project or branch contains it.
    """
    tasks = [t for t in visible_tasks(state) if matches(t, query)]
    live = [t for t in tasks if not t.get("archived")]
    archived = [t for t in tasks if t.get("archived")]
    rows: list[Row] = []

    def ordered(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        group = sorted(group, key=lambda t: str(t.get("created_at") or ""), reverse=True)
        return sorted(group, key=lambda t: _sort_key(t)[:2])

    pinned = [t for t in live if t.get("pinned")]
    if pinned:
        rows.append(Row("header", f"★ Pinned ({len(pinned)})"))
        rows.extend(Row("task", task_id=str(t["id"])) for t in ordered(pinned))
    by_project: dict[str, list[dict[str, Any]]] = {}
    for t in live:
        if not t.get("pinned"):
            by_project.setdefault(str(t.get("project") or "(no project)"), []).append(t)
    for project in sorted(by_project):
        group = by_project[project]
        waiting = sum(1 for t in group if needs_you(t))
        extra = f", {waiting} need you" if waiting else ""
        rows.append(Row("header", f"▾ {project} ({len(group)}{extra})"))
        rows.extend(Row("task", task_id=str(t["id"])) for t in ordered(group))
    if archived:
        rows.append(Row("header", f"Archived ({len(archived)})"))
        rows.extend(Row("task", task_id=str(t["id"])) for t in ordered(archived))
    return rows


def status_icon(task: dict[str, Any], spinner_style: str, now: float | None = None) -> tuple[str, str]:
    """The (style, glyph) shown before a task's name."""
    status = task.get("status")
    code = task.get("exit_code")
    if task.get("archived"):
        return ("class:task.archived", "▫")
    if status == "complete":
        return ("class:status.complete", "✓")
    if status == "limit":  # the agent hit its usage limit: Argus resumes it after the reset
        return ("class:status.pending", "⧗")
    if task.get("running") is False and isinstance(code, int) and code != 0 and status != "pending":
        return ("class:status.failed", "✗")
    if needs_you(task):
        return ("class:status.needs", "●")
    if status == "in_progress":
        if task.get("running") is False:
            return ("class:status.stopped", "◌")
        return ("class:status.running", spinner_frame(spinner_style, now))
    if status == "pending":
        return ("class:status.pending", "○")
    return ("class:status.unknown", "?")


def limit_words(task: dict[str, Any]) -> str:
    """``limit · resumes 15:01`` (local time) for a task in ``limit``; ``limit`` without a plan."""
    when = parse_time(task.get("limit_resume_at"))
    return f"limit · resumes {when.astimezone():%H:%M}" if when else "limit"


def render_task_line(task: dict[str, Any], *, selected: bool, spinner_style: str, show_icons: bool = True,
                     show_elapsed: bool = True, width: int = 80, now: datetime | None = None,
                     tasks: dict[str, dict[str, Any]] | None = None) -> StyleAndTextTuples:
    """One task row as fragments: icon, name, status words, "conflicts with", usage, elapsed time.

    ``tasks`` (id → task) names the tasks of the "conflicts with" mark."""
    base = "class:task.selected" if selected else ("class:task.archived" if task.get("archived") else "")
    frags: StyleAndTextTuples = [(base, "  ")]
    if show_icons:
        istyle, glyph = status_icon(task, spinner_style)
        frags.append((f"{base} {istyle}", glyph + " "))
    name = task_name(task)
    frags.append((f"{base} class:task.name", name))
    right: StyleAndTextTuples = []
    if needs_you(task) and not task.get("archived"):
        right.append((f"{base} class:status.needs", " ◀ needs you"))
    elif task.get("status") == "pending":
        right.append((f"{base} class:task.dim", " pending"))
    elif task.get("status") == "limit":
        right.append((f"{base} class:status.pending", " " + limit_words(task)))
    wide = 0
    clash = "" if task.get("archived") else conflicts_text(task, tasks or {})
    if clash:
        right.append((f"{base} class:status.conflict", f"  {clash}"))
    used_tokens = usage_text(task.get("usage"))
    if used_tokens:
        right.append((f"{base} class:task.dim", f"  {used_tokens}"))
    if (task.get("sandbox") or {}).get("sandboxed"):
        right.append((f"{base} class:task.dim", " 🔒"))  # the agent runs sandboxed
        wide = 1  # the lock takes two cells
    if task.get("backend"):
        right.append((f"{base} class:task.dim", f"  {task.get('backend')}"))
    if show_elapsed:
        e = elapsed(task, now or datetime.now(UTC))
        if e:
            right.append((f"{base} class:task.dim", f"  {e}"))
    used = sum(len(frag[1]) for frag in frags) + sum(len(frag[1]) for frag in right) + wide
    if used < width:
        frags.append((base, " " * (width - used)))
    return frags + right


class TaskList:
    """Selection and rendering of the task list (the model behind the Tasks tab)."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.selected_id: str | None = None
        self.rows: list[Row] = []
        self.query = ""  # the ``/`` filter
        self.new_key = "n"  # the key of ``task.new`` (``[keybindings] new``), named in the empty list

    def refresh(self) -> list[Row]:
        """Rebuild rows from the state, keeping the selection on the same task if it is still shown."""
        self.rows = build_rows(self.state, self.query)
        ids = [r.task_id for r in self.rows if r.task_id]
        if self.selected_id not in ids:
            self.selected_id = ids[0] if ids else None
        return self.rows

    def task_ids(self) -> list[str]:
        """Ids of the task rows, in display order."""
        return [r.task_id for r in self.rows if r.task_id]

    def move(self, step: int) -> None:
        """Move the selection ``step`` task rows down (negative: up), clamped."""
        ids = self.task_ids()
        if not ids:
            self.selected_id = None
            return
        i = ids.index(self.selected_id) if self.selected_id in ids else 0
        self.selected_id = ids[max(0, min(len(ids) - 1, i + step))]

    def selected(self) -> dict[str, Any] | None:
        """The selected task, or None."""
        return self.state.tasks.get(self.selected_id) if self.selected_id else None

    def fragments(self, width: int) -> StyleAndTextTuples:
        """The whole list as fragments, with the cursor on the selected row (for scrolling)."""
        self.refresh()
        style = str(self.state.setting("ui", "spinner_style", "progress"))
        show_icons = bool(self.state.setting("ui", "show_icons", True))
        show_elapsed = bool(self.state.setting("ui", "show_elapsed", True))
        now = datetime.now(UTC)
        out: StyleAndTextTuples = []
        if not self.rows:
            if self.query.strip():
                return [("class:task.dim", f"  No task matches /{self.query.strip()} (Esc in the filter clears it)\n")]
            if not self.state.tasks:
                msg = f"  No tasks yet. Press {self.new_key} to create one"
                if not self.state.projects:
                    msg += " (add a project first: 3 → Projects → n / i)"
            else:
                msg = "  Every task is hidden (A shows archived, H shows Hera workers)"
            return [("class:task.dim", msg + "\n")]
        for row in self.rows:
            if row.kind == "header":
                out.append(("class:task.header", f" {row.title}\n"))
                continue
            task = self.state.tasks.get(row.task_id or "")
            if task is None:
                continue
            sel = row.task_id == self.selected_id
            if sel:
                out.append(("[SetCursorPosition]", ""))
            try:
                out.extend(render_task_line(task, selected=sel, spinner_style=style, show_icons=show_icons,
                                            show_elapsed=show_elapsed, width=width, now=now,
                                            tasks=self.state.tasks))
            except Exception:  # bad server data must never take the list down
                out.append(("class:status.failed", f"  {row.task_id} (unreadable task)"))
            out.append(("", "\n"))
        return out

    def any_spinning(self) -> bool:
        """True when a visible task shows a spinner (so the list needs animation frames)."""
        return any(is_spinning(t) for t in visible_tasks(self.state))
