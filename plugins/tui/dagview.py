"""Tab 2's fallback when no plugin contributes one: the task dependency DAG (``GET /api/dag``).

Roots (tasks without parents) are listed first with their descendants indented below them;
``j``/``k`` move, ``Enter`` opens the agent view. The snapshot is re-fetched when the tab is
shown and after task events while it is visible (debounced), never on a timer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prompt_toolkit.formatted_text import StyleAndTextTuples

from .client import ApiError
from .state import as_dict, as_list, task_name
from .tasklist import status_icon

if TYPE_CHECKING:  # pragma: no cover
    from .app import ArgusTui


def dag_lines(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, task) rows: each root then its children depth-first; cycles and repeats cut."""
    by_id = {str(n.get("id")): n for n in nodes if isinstance(n, dict) and n.get("id")}
    children: dict[str, list[str]] = {}
    has_parent: set[str] = set()
    for e in edges:
        if not isinstance(e, dict):
            continue
        c, p = str(e.get("child_id")), str(e.get("parent_id"))
        if c in by_id and p in by_id:
            children.setdefault(p, []).append(c)
            has_parent.add(c)
    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(tid: str, depth: int) -> None:
        if tid in seen:
            return
        seen.add(tid)
        out.append((depth, by_id[tid]))
        for c in sorted(children.get(tid, []), key=lambda i: str(by_id[i].get("created_at") or "")):
            walk(c, depth + 1)

    roots = [t for t in by_id if t not in has_parent]
    roots.sort(key=lambda i: (str(by_id[i].get("plan_slug") or ""), str(by_id[i].get("created_at") or "")))
    for r in roots:
        walk(r, 0)
    for t in by_id:  # nodes only reachable through a cycle
        walk(t, 0)
    return out


class DagView:
    """The DAG tab's data and rendering."""

    title = "DAG"

    def __init__(self, tui: ArgusTui) -> None:
        self.tui = tui
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.index = 0
        self.error = ""
        self.loaded = False

    async def load(self) -> None:
        """Fetch ``/api/dag``."""
        try:
            body = as_dict(await self.tui.client.get("/api/dag"))
            self.rows = dag_lines(as_list(body.get("nodes")), as_list(body.get("edges")))
            self.error = ""
        except ApiError as exc:
            self.error = str(exc)
        self.loaded = True
        self.index = max(0, min(self.index, len(self.rows) - 1))
        self.tui.invalidate()

    def move(self, step: int) -> None:
        """Move the cursor."""
        if self.rows:
            self.index = max(0, min(len(self.rows) - 1, self.index + step))

    def selected_id(self) -> str | None:
        """The task under the cursor."""
        return str(self.rows[self.index][1].get("id")) if 0 <= self.index < len(self.rows) else None

    def fragments(self, width: int) -> StyleAndTextTuples:
        """The DAG as an indented tree."""
        out: StyleAndTextTuples = [("class:task.header", " Dependency DAG (hera not loaded)\n")]
        if self.error:
            out.append(("class:status.failed", f" {self.error}\n"))
        if not self.rows:
            out.append(("class:task.dim", "  loading…\n" if not self.loaded else "  no tasks\n"))
        style_name = str(self.tui.state.setting("ui", "spinner_style", "progress"))
        slug = None
        for i, (depth, node) in enumerate(self.rows):
            task = self.tui.state.tasks.get(str(node.get("id")), node)
            if depth == 0 and node.get("plan_slug") and node.get("plan_slug") != slug:
                slug = node.get("plan_slug")
                out.append(("class:task.dim", f"  [{slug}]\n"))
            sel = i == self.index
            if sel:
                out.append(("[SetCursorPosition]", ""))
            base = "class:task.selected" if sel else ""
            istyle, glyph = status_icon(task, style_name)
            prefix = "  " + "   " * depth + ("└─ " if depth else "")
            out.append((base, prefix))
            out.append((f"{base} {istyle}", glyph + " "))
            out.append((base, f"{task_name(task)}  "))
            out.append((f"{base} class:task.dim", str(task.get("status") or "") + "\n"))
        return out
