"""Tab 2 when native Hera is on: a rail of orchestrators and roles, the coordinator's live terminal,
and a details region (a worker's live terminal, or the coordinator's roster / the dependency DAG).

Data comes from ``GET /api/hera`` (re-fetched on ``hera.*`` and task events while shown, never on
a timer); terminals follow ``GET /api/tasks/{id}/stream`` like the agent view, without resizing the
agent's PTY. When ``GET /api/hera`` says ``enabled: false`` (or the route is missing) the tab is the
DAG view and its label says so; the label follows the setting live.

Rail keys: ``j``/``k`` move, Space collapses an orchestrator / the Freelance / Archive section,
Tab / Shift+Tab cycle the focus rail → coordinator pane → details, Enter re-attaches a dead
session and focuses the role's pane (keys then go to that agent), ``w`` spawns a worker, ``r``
renames, ``a`` archives, ``P`` pins, ``s``/``S`` step the role status, ctrl+d deletes, ``g`` flips
a coordinator's details between the roster and the DAG, ctrl+q returns to the rail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout import DynamicContainer, FormattedTextControl, HSplit, VSplit, Window
from prompt_toolkit.layout.controls import UIContent, UIControl
from prompt_toolkit.layout.dimension import Dimension

from .client import ApiError, task_path
from .forms import Confirm, Form, FormField
from .host import UiHost
from .state import as_dict, as_list
from .terminal import Terminal
from .termview import InputSender, decode_output, message_content, screen_content

if TYPE_CHECKING:  # pragma: no cover
    from .dagview import DagView

STATUS_STYLE = {"idle": "class:task.dim", "working": "class:status.running", "blocked": "class:status.needs",
                "done": "class:status.complete"}
STATUS_GLYPH = {"idle": "○", "working": "●", "blocked": "■", "done": "✓"}
FOCI = ("rail", "coord", "details")
RAIL_WIDTH = 34


def role_path(role_id: str, suffix: str = "") -> str:
    """The REST path of a role."""
    return f"/api/hera/roles/{quote(role_id, safe='')}{suffix}"


@dataclass
class Row:
    """One rail line: a section header, an orchestrator, or a role."""

    kind: str  # section | orch | role
    key: str
    label: str
    orch: dict[str, Any] | None = None
    role: dict[str, Any] | None = None
    depth: int = 0


class PaneTerm:
    """One task's live terminal inside the Hera tab (rendered at the pane's size)."""

    def __init__(self, tui: UiHost) -> None:
        self.tui = tui
        self.task_id: str | None = None
        self.terminal: Terminal | None = None
        self.ended = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._input = InputSender()
        self.control = _TermControl(self)

    def show(self, task_id: str | None) -> None:
        """Follow ``task_id`` (None: nothing)."""
        if task_id == self.task_id:
            return
        self.close()
        self.task_id = task_id
        if task_id is None:
            return
        self.ended = False
        self.terminal = Terminal(80, 24, on_update=self.tui.invalidate, executor=self.tui.executor)
        self._input = InputSender()
        self._tasks = [self.tui.spawn(self.terminal.run(), name="hera pane feeder"),
                       self.tui.spawn(self._stream(task_id, self.terminal), name="hera pane stream"),
                       self.tui.spawn(self._input.run(self.tui, task_id), name="hera pane input")]

    def close(self) -> None:
        """Stop following."""
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        self.terminal = None
        self.task_id = None

    def reattached(self) -> None:
        """The session came back: follow it again from its tail."""
        task_id = self.task_id
        self.close()
        self.show(task_id)

    async def _stream(self, task_id: str, term: Terminal) -> None:
        since: int | None = None
        while True:
            try:
                async for ev in self.tui.client.sse(task_path(task_id, "/stream"),
                                                         {"since": since, "encoding": "text"}):
                    if ev.event == "output":
                        chunk = decode_output(ev, since)
                        if chunk is None:
                            continue
                        data, _, since = chunk
                        term.push(data, since)
                    elif ev.event == "exit":
                        self.ended = True
                        self.tui.invalidate()
                        return
            except ApiError as exc:
                if exc.status == 404:
                    self.ended = True
                    self.tui.invalidate()
                    return
            await asyncio.sleep(0.5)

    def send(self, data: bytes) -> None:
        """Queue keys for the agent (sent in order, bursts coalesced)."""
        if self.task_id:
            self._input.put(data)


class _TermControl(UIControl):
    def __init__(self, pane: PaneTerm) -> None:
        self.pane = pane

    def is_focusable(self) -> bool:
        return True

    def create_content(self, width: int, height: int) -> UIContent:
        term = self.pane.terminal
        if term is None:
            return message_content(" no agent")
        term.resize(max(10, width), max(4, height))
        ended: StyleAndTextTuples = [("class:status.failed", " session ended — Enter re-attaches")]
        return screen_content(term, cursor=False, last_line=ended if self.pane.ended else None)


class HeraView:
    """The Hera tab's data, widgets and actions."""

    def __init__(self, tui: UiHost, dag: DagView, dag_window: Window) -> None:
        self.tui = tui
        self.dag = dag
        self.dag_window = dag_window  # the DAG shown in a coordinator's details (g)
        self.enabled: bool | None = None
        self.orchestrators: list[dict[str, Any]] = []
        self.index = 0
        self.focus = "rail"
        self.collapsed: set[str] = set()
        self._seen: set[str] = set()
        self.sections_open = {"freelance": True, "archive": False}
        self.details_mode = "roster"
        self.error = ""
        self.coord = PaneTerm(tui)
        self.worker = PaneTerm(tui)
        self.rail_window = Window(FormattedTextControl(self.rail_fragments, focusable=True, show_cursor=False),
                                  width=RAIL_WIDTH)
        self.coord_window = Window(self.coord.control, width=Dimension(weight=3))
        self.worker_window = Window(self.worker.control, width=Dimension(weight=2))
        self.roster_window = Window(FormattedTextControl(self.roster_fragments, focusable=True, show_cursor=False),
                                    width=Dimension(weight=2))
        self.container = VSplit([
            HSplit([Window(FormattedTextControl(lambda: self._title("rail", " Hera")), height=1),
                    self.rail_window]),
            Window(width=1, char="│", style="class:pane.border"),
            HSplit([Window(FormattedTextControl(lambda: self._title("coord", " coordinator")), height=1),
                    self.coord_window]),
            Window(width=1, char="│", style="class:pane.border"),
            HSplit([Window(FormattedTextControl(self._details_title), height=1),
                    DynamicContainer(self._details)]),
        ])

    # ---- data -----------------------------------------------------------------------------

    @property
    def title(self) -> str:
        """The tab label: Hera, or DAG while hera is disabled."""
        return "DAG" if self.enabled is False else "Hera"

    async def load(self) -> None:
        """Fetch ``/api/hera`` (a missing route means disabled)."""
        before: Row | None = None
        try:
            body = as_dict(await self.tui.client.get("/api/hera"))
            before = self.selected()  # after the await: keys may have moved the cursor meanwhile
            self.enabled = bool(body.get("enabled"))
            self.orchestrators = [o for o in as_list(body.get("orchestrators")) if isinstance(o, dict)]
            if self.enabled is False or self.error:
                self.error = ""
            for o in self.orchestrators:  # the saved fold state, once: afterwards Space rules
                oid = str(o.get("id"))
                if oid not in self._seen:
                    self._seen.add(oid)
                    if o.get("collapsed"):
                        self.collapsed.add(oid)
        except ApiError as exc:
            if exc.status == 404:
                self.enabled = False
            else:
                self.error = str(exc)
        self.keep_selection(before)
        self.sync_panes()
        self.tui.invalidate()

    def keep_selection(self, before: Row | None) -> None:
        """Keep the cursor on the same line (by key, then by object id) when the rail changes."""
        rows = self.rows()
        if before is not None:
            bare = before.key.split(":")[-1]
            matchers: tuple[Callable[[Row], bool], ...] = (
                lambda r: r.key == before.key, lambda r: r.key.split(":")[-1] == bare)
            for match in matchers:
                found = next((i for i, r in enumerate(rows) if match(r)), None)
                if found is not None:
                    self.index = found
                    return
        self.index = max(0, min(self.index, len(rows) - 1))

    def rows(self) -> list[Row]:
        """The rail: Pinned, active orchestrators with their roles, Freelance, Archive."""
        out: list[Row] = []
        roles = [(o, r) for o in self.orchestrators for r in as_list(o.get("roles")) if isinstance(r, dict)]
        pinned = [o for o in self.orchestrators if o.get("pinned") and not o.get("archived")]
        pinned_roles = [(o, r) for o, r in roles if r.get("pinned") and not r.get("archived")]
        if pinned or pinned_roles:
            out.append(Row("section", "pinned", "★ Pinned"))
            out += [Row("orch", f"p:{o['id']}", str(o.get("name")), o, None, 1) for o in pinned]
            out += [Row("role", f"p:{r['id']}", str(r.get("name")), o, r, 1) for o, r in pinned_roles]
        for o in self.orchestrators:
            if o.get("archived"):
                continue
            out.append(Row("orch", str(o["id"]), str(o.get("name")), o))
            if str(o["id"]) in self.collapsed:
                continue
            out += [Row("role", str(r["id"]), str(r.get("name")), o, r, 1)
                    for oo, r in roles if oo is o and r.get("kind") != "freelance" and not r.get("archived")]
        free = [(o, r) for o, r in roles if r.get("kind") == "freelance" and not r.get("archived")]
        if free:
            out.append(Row("section", "freelance", ("▾ " if self.sections_open["freelance"] else "▸ ")
                           + f"Freelance ({len(free)})"))
            if self.sections_open["freelance"]:
                out += [Row("role", str(r["id"]), str(r.get("name")), o, r, 1) for o, r in free]
        archived = [Row("orch", f"a:{o['id']}", str(o.get("name")), o, None, 1)
                    for o in self.orchestrators if o.get("archived")]
        archived += [Row("role", f"a:{r['id']}", str(r.get("name")), o, r, 1) for o, r in roles
                     if r.get("archived") and not o.get("archived")]
        if archived:
            out.append(Row("section", "archive", ("▾ " if self.sections_open["archive"] else "▸ ")
                           + f"Archive ({len(archived)})"))
            if self.sections_open["archive"]:
                out += archived
        return out

    def selected(self) -> Row | None:
        """The row under the rail cursor."""
        rows = self.rows()
        return rows[self.index] if 0 <= self.index < len(rows) else None

    def selected_orch(self) -> dict[str, Any] | None:
        """The orchestrator of the selected row."""
        row = self.selected()
        return row.orch if row else None

    def selected_role(self) -> dict[str, Any] | None:
        """The selected role, or the selected orchestrator's coordinator."""
        row = self.selected()
        if row is None or row.orch is None:
            return None
        if row.role is not None:
            return row.role
        return self.coordinator(row.orch)

    @staticmethod
    def coordinator(orch: dict[str, Any]) -> dict[str, Any] | None:
        """An orchestrator's coordinator role."""
        return next((r for r in as_list(orch.get("roles")) if isinstance(r, dict)
                     and r.get("kind") == "coordinator"), None)

    def sync_panes(self) -> None:
        """Point the coordinator and worker panes at the selection (only while the tab is shown)."""
        shown = self.tui.showing("hera") and bool(self.enabled)
        orch = self.selected_orch() if shown else None
        coord = self.coordinator(orch) if orch else None
        self.coord.show(str(coord["task_id"]) if coord and coord.get("task_id") else None)
        role = self.selected_role() if shown else None
        worker = role if role and role.get("kind") != "coordinator" else None
        self.worker.show(str(worker["task_id"]) if worker and worker.get("task_id") else None)

    def on_event(self, etype: str, data: dict[str, Any]) -> None:
        """Bus events: hera changes refresh the rail; a restarted session re-attaches its pane."""
        if etype.startswith("hera.") or etype in ("task.deleted",):
            self.tui.request_refresh("hera")
        tid = str(data.get("task_id") or data.get("id") or as_dict(data.get("task")).get("id") or "")
        if etype in ("session.started", "task.updated") and tid:
            for pane in (self.coord, self.worker):
                if pane.task_id == tid and pane.ended and as_dict(data.get("task")).get("running", True):
                    pane.reattached()

    # ---- rendering ------------------------------------------------------------------------

    def _title(self, which: str, text: str) -> StyleAndTextTuples:
        style = "class:pane.title.focused" if self.focus == which else "class:pane.title"
        return [(style, text)]

    def _details_title(self) -> StyleAndTextTuples:
        role = self.selected_role()
        if role and role.get("kind") != "coordinator":
            return self._title("details", f" {role.get('name')} ({role.get('kind')})")
        return self._title("details", " dependency DAG (g: roster)" if self.details_mode == "dag"
                           else " roster (g: DAG)")

    def _details(self) -> Window:
        role = self.selected_role()
        if role and role.get("kind") != "coordinator":
            return self.worker_window
        return self.dag_window if self.details_mode == "dag" else self.roster_window

    def rail_fragments(self) -> StyleAndTextTuples:
        """The rail lines."""
        out: StyleAndTextTuples = []
        if self.error:
            out.append(("class:status.failed", f" {self.error}\n"))
        rows = self.rows()
        if not rows:
            out.append(("class:task.dim", "  no orchestrators yet:\n  an agent creates one with\n"
                                          "  hera_new_orchestrator\n"))
        for i, row in enumerate(rows):
            sel = i == self.index
            base = "class:task.selected" if sel and self.focus == "rail" else ("reverse" if sel else "")
            if sel:
                out.append(("[SetCursorPosition]", ""))
            indent = "  " * row.depth
            if row.kind == "section":
                out.append((f"{base} class:task.header", f" {row.label}\n"))
            elif row.kind == "orch" and row.orch is not None:
                o = row.orch
                arrow = "▸" if str(o.get("id")) in self.collapsed else "▾"
                unread = int(o.get("unread") or 0)
                out.append((f"{base} bold", f" {indent}{arrow} {row.label}"))
                out.append((f"{base} class:status.needs", f" ✉{unread}" if unread else ""))
                out.append((base, "\n"))
            elif row.role is not None:
                r = row.role
                status = str(r.get("status") or "idle")
                out.append((base, f"   {indent}"))
                out.append((f"{base} {STATUS_STYLE.get(status, '')}", STATUS_GLYPH.get(status, "?") + " "))
                out.append((base, str(r.get("name"))))
                out.append((f"{base} class:task.dim", f" {r.get('kind', '')[:5]} {status}"))
                unread = int(r.get("unread") or 0)
                out.append((f"{base} class:status.needs", f" ✉{unread}" if unread else ""))
                if not r.get("bound"):
                    out.append((f"{base} class:status.failed", " unbound"))
                out.append((base, "\n"))
        return out

    def roster_fragments(self) -> StyleAndTextTuples:
        """A coordinator's read-only roster: each role's status, ready-to-close and PR marks."""
        orch = self.selected_orch()
        if orch is None:
            return [("class:task.dim", " select an orchestrator")]
        out: StyleAndTextTuples = [("class:task.header", f" {orch.get('name')}\n")]
        for r in as_list(orch.get("roles")):
            if not isinstance(r, dict):
                continue
            status = str(r.get("status") or "idle")
            task = self.tui.state.tasks.get(str(r.get("task_id") or ""), {})
            result = as_dict(task.get("result"))
            marks = []
            if status == "done":
                marks.append("ready to close")
            if result.get("pr") or result.get("pr_url"):
                marks.append("PR")
            out.append((STATUS_STYLE.get(status, ""), f" {STATUS_GLYPH.get(status, '?')} "))
            out.append(("", f"{r.get('name')}"))
            out.append(("class:task.dim", f"  {r.get('kind')} · {status}"))
            if marks:
                out.append(("class:status.complete", "  [" + ", ".join(marks) + "]"))
            unread = int(r.get("unread") or 0)
            if unread:
                out.append(("class:status.needs", f"  ✉{unread}"))
            out.append(("", "\n"))
        return out

    # ---- actions --------------------------------------------------------------------------

    def move(self, step: int) -> None:
        """Move the rail cursor."""
        n = len(self.rows())
        if n:
            self.index = max(0, min(n - 1, self.index + step))
            self.sync_panes()
            self.tui.invalidate()

    def toggle(self) -> None:
        """Space: collapse / expand an orchestrator or the Freelance / Archive section."""
        row = self.selected()
        if row is None:
            return
        if row.kind == "section" and row.key in self.sections_open:
            self.sections_open[row.key] = not self.sections_open[row.key]
        elif row.kind == "orch" and row.orch is not None:
            oid = str(row.orch["id"])
            now = oid not in self.collapsed
            (self.collapsed.add if now else self.collapsed.discard)(oid)
            self.tui.spawn(self.tui.client.request("PATCH", f"/api/hera/orchestrators/{quote(oid)}",
                                                   json_body={"collapsed": now}), name="collapse")
        self.keep_selection(row)
        self.tui.invalidate()

    def cycle_focus(self, step: int) -> None:
        """Tab / Shift+Tab: rail → coordinator pane → details."""
        self.focus = FOCI[(FOCI.index(self.focus) + step) % len(FOCI)]
        self.apply_focus()

    def to_rail(self) -> None:
        """ctrl+q: focus back on the rail."""
        self.focus = "rail"
        self.apply_focus()

    def apply_focus(self) -> None:
        """Move prompt_toolkit's focus to the region named by ``focus``."""
        target = {"rail": self.rail_window, "coord": self.coord_window}.get(self.focus)
        if target is None:
            details = self._details()
            target = details if isinstance(details, Window) else self.rail_window
        self.tui.focus(target)
        self.tui.invalidate()

    def pane_for_focus(self) -> PaneTerm | None:
        """The terminal pane that has the focus (keys go to its agent)."""
        if self.focus == "coord":
            return self.coord
        if self.focus == "details" and self._details() is self.worker_window:
            return self.worker
        return None

    def enter(self) -> None:
        """Enter: re-attach a dead session for the selected role, then focus its pane."""
        role = self.selected_role()
        if role is None:
            self.tui.set_status("select a role")
            return

        async def go() -> None:
            body = as_dict(await self.tui.client.post(role_path(str(role["id"]), "/reattach")))
            if body.get("resumed"):
                self.tui.set_status(f"{role.get('name')}: session re-attached")
                for pane in (self.coord, self.worker):
                    if pane.task_id == role.get("task_id"):
                        pane.reattached()
        self.tui.spawn(go(), name="reattach")
        self.focus = "coord" if role.get("kind") == "coordinator" else "details"
        self.apply_focus()

    def spawn_worker(self) -> None:
        """w: spawn a worker under the selected orchestrator."""
        orch = self.selected_orch()
        if orch is None:
            self.tui.set_status("select an orchestrator first", error=True)
            return

        async def submit(values: dict[str, Any]) -> None:
            body = {"name": values["name"], "prompt": values["prompt"]}
            if values.get("model"):
                body["model"] = values["model"]
            out = as_dict(await self.tui.client.post(f"/api/hera/orchestrators/{quote(str(orch['id']))}/workers",
                                                     body))
            self.tui.set_status(f"worker {as_dict(out.get('role')).get('name')} spawned")
            self.tui.close_modal()
            await self.load()

        self.tui.open_modal(Form(f"Spawn a worker in {orch.get('name')}", [
            FormField("name", "Role name"), FormField("prompt", "Prompt", type="text"),
            FormField("model", "Model (optional)")], submit, on_close=self.tui.close_modal, run=self.tui.spawn))

    def rename(self) -> None:
        """r: rename the selected role / orchestrator."""
        row = self.selected()
        if row is None or row.kind == "section" or row.orch is None:
            return
        role = row.role
        path = role_path(str(role["id"])) if role else f"/api/hera/orchestrators/{quote(str(row.orch['id']))}"
        current = str((role or row.orch).get("name"))

        async def submit(values: dict[str, Any]) -> None:
            await self.tui.client.request("PATCH", path, json_body={"name": values["name"]})
            self.tui.close_modal()
            await self.load()

        self.tui.open_modal(Form(f"Rename {current}", [FormField("name", "Name", value=current)], submit,
                                 on_close=self.tui.close_modal, run=self.tui.spawn))

    def flag(self, name: str) -> None:
        """a / P: toggle archived / pinned on the selected role or orchestrator."""
        row = self.selected()
        if row is None or row.kind == "section" or row.orch is None:
            return
        path = role_path(str(row.role["id"])) if row.role else f"/api/hera/orchestrators/{quote(str(row.orch['id']))}"

        async def go() -> None:
            out = as_dict(await self.tui.client.request("PATCH", path, json_body={name: None}))
            obj = as_dict(out.get("role") or out.get("orchestrator"))
            self.tui.set_status(f"{obj.get('name')}: {name} {'on' if obj.get(name) else 'off'}")
            await self.load()
        self.tui.spawn(go(), name=name)

    def step_status(self, step: int) -> None:
        """s / S: advance / revert the selected role's status."""
        row = self.selected()
        if row is None or row.role is None:
            self.tui.set_status("select a role")
            return
        role = row.role

        async def go() -> None:
            out = as_dict(await self.tui.client.post(role_path(str(role["id"]), "/status"), {"step": step}))
            self.tui.set_status(f"{role.get('name')}: {as_dict(out.get('role')).get('status')}")
            await self.load()
        self.tui.spawn(go(), name="status")

    def delete(self) -> None:
        """ctrl+d: delete the selected role (a worker with its task) or orchestrator."""
        row = self.selected()
        if row is None or row.kind == "section" or row.orch is None:
            return
        if row.role is not None:
            role = row.role
            worker = role.get("kind") == "worker"
            path = role_path(str(role["id"])) + ("?delete_task=1" if worker else "")
            what = f"role {role.get('name')}" + (" and its task (agent, worktree, branch)" if worker else "")
        else:
            path = f"/api/hera/orchestrators/{quote(str(row.orch['id']))}?delete_tasks=1"
            what = f"orchestrator {row.orch.get('name')}, its roles, messages and workers' tasks"

        def yes() -> None:
            async def go() -> None:
                await self.tui.client.delete(path)
                self.tui.set_status(f"deleted {what}")
                await self.load()
            self.tui.close_modal()
            self.tui.spawn(go(), name="delete")

        self.tui.open_modal(Confirm("Delete", f"Delete {what}?", yes, on_close=self.tui.close_modal))

    def toggle_dag(self) -> None:
        """g: a coordinator's details flip between the roster and the dependency DAG."""
        role = self.selected_role()
        if role is None or role.get("kind") != "coordinator":
            self.tui.set_status("g works with a coordinator (or an orchestrator) selected")
            return
        self.details_mode = "dag" if self.details_mode == "roster" else "roster"
        if self.details_mode == "dag":
            self.tui.spawn(self.dag.load(), name="dag")
        self.tui.invalidate()
