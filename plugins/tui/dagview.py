"""Tab 2's fallback when no plugin contributes one: the task dependency DAG (``GET /api/dag``).

Roots (tasks without parents) are listed first with their descendants indented below them;
``j``/``k`` (arrows) move, ←/→ jump to the parent / first child, ``Enter`` opens the agent view,
``l`` links the selected task under a parent it will depend on, ``L`` removes one of its
dependencies, ``h`` halts everything downstream of it (stop + archive). The snapshot is re-fetched when the tab is
shown and after task events while it is visible (debounced), never on a timer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from prompt_toolkit.formatted_text import StyleAndTextTuples

from .client import ApiError
from .forms import Confirm, Picker, PickerItem
from .host import UiHost
from .state import as_dict, as_list, task_name
from .tasklist import status_icon


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

    def __init__(self, tui: UiHost) -> None:
        self.tui = tui
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.edges: list[dict[str, Any]] = []
        self.index = 0
        self.error = ""
        self.loaded = False

    async def load(self) -> None:
        """Fetch ``/api/dag``; the selection stays on the same task when the rows reorder."""
        chosen = self.selected_id()
        try:
            body = as_dict(await self.tui.client.get("/api/dag"))
            self.edges = [e for e in as_list(body.get("edges")) if isinstance(e, dict)]
            self.rows = dag_lines(as_list(body.get("nodes")), self.edges)
            self.error = ""
        except ApiError as exc:
            self.error = str(exc)
        self.loaded = True
        ids = [str(task.get("id")) for _, task in self.rows]
        self.index = ids.index(chosen) if chosen in ids else max(0, min(self.index, len(self.rows) - 1))
        self.tui.invalidate()

    def move(self, step: int) -> None:
        """Move the cursor."""
        if self.rows:
            self.index = max(0, min(len(self.rows) - 1, self.index + step))

    def jump(self, step: int) -> None:
        """←: the nearest row above at a smaller depth (the parent); →: the next row one deeper."""
        if not self.rows:
            return
        depth = self.rows[self.index][0]
        if step < 0:
            for i in range(self.index - 1, -1, -1):
                if self.rows[i][0] < depth:
                    self.index = i
                    return
        elif self.index + 1 < len(self.rows) and self.rows[self.index + 1][0] > depth:
            self.index += 1

    def parents_of(self, task_id: str) -> list[str]:
        """Ids of the tasks ``task_id`` depends on."""
        return [str(e.get("parent_id")) for e in self.edges if str(e.get("child_id")) == task_id]

    def link(self) -> None:
        """``l``: pick a task the selected one will depend on."""
        child = self.selected_id()
        if child is None:
            self.tui.set_status("no task selected")
            return
        taken = set(self.parents_of(child)) | {child}
        items = [PickerItem(task_name(t), str(t.get("id")), detail=str(t.get("status") or ""))
                 for _, t in self.rows if str(t.get("id")) not in taken]

        def pick(parent: Any) -> None:
            self.tui.close_modal()

            async def go() -> None:
                await self.tui.client.post(f"/api/tasks/{quote(child)}/deps", {"parent_id": parent})
                self.tui.set_status(f"linked: {self._name(child)} now depends on {self._name(str(parent))}")
                await self.load()
            self.tui.spawn(go(), name="link")

        self.tui.open_modal(Picker(f"{self._name(child)} depends on…", items, pick, on_close=self.tui.close_modal,
                                   empty_text="no other task to depend on"))

    def unlink(self) -> None:
        """``L``: pick one of the selected task's dependencies to remove."""
        child = self.selected_id()
        if child is None:
            self.tui.set_status("no task selected")
            return
        parents = self.parents_of(child)
        if not parents:
            self.tui.set_status(f"{self._name(child)} depends on nothing")
            return
        items = [PickerItem(self._name(p), p) for p in parents]

        def pick(parent: Any) -> None:
            self.tui.close_modal()

            async def go() -> None:
                await self.tui.client.delete(f"/api/tasks/{quote(child)}/deps/{quote(str(parent))}")
                self.tui.set_status(f"unlinked {self._name(child)} from {self._name(str(parent))}")
                await self.load()
            self.tui.spawn(go(), name="unlink")

        self.tui.open_modal(Picker(f"Remove a dependency of {self._name(child)}", items, pick,
                                   on_close=self.tui.close_modal))

    def halt(self) -> None:
        """``h``: stop and archive every task downstream of the selected one (after confirming)."""
        seed = self.selected_id()
        if seed is None:
            self.tui.set_status("no task selected")
            return

        def yes() -> None:
            self.tui.close_modal()

            async def go() -> None:
                out = as_dict(await self.tui.client.post(f"/api/tasks/{quote(seed)}/halt-downstream"))
                self.tui.set_status(f"halted {len(as_list(out.get('halted')))} downstream task(s)")
                await self.load()
            self.tui.spawn(go(), name="halt")

        self.tui.open_modal(Confirm("Halt downstream", f"Stop and archive every task downstream of "
                                    f"{self._name(seed)}? (it is left alone)", yes, on_close=self.tui.close_modal))

    def _name(self, task_id: str) -> str:
        task = self.tui.state.tasks.get(task_id) or next((t for _, t in self.rows if str(t.get("id")) == task_id), {})
        return task_name(task) if task else task_id

    def selected_id(self) -> str | None:
        """The task under the cursor."""
        return str(self.rows[self.index][1].get("id")) if 0 <= self.index < len(self.rows) else None

    def fragments(self, width: int) -> StyleAndTextTuples:
        """The DAG as an indented tree."""
        out: StyleAndTextTuples = [("class:task.header", " Dependency DAG\n")]
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
