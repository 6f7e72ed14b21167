"""The dependency DAG: edges "child depends on parent", cycle checks, halting, launch gating.

A task created with unmet ``depends_on`` stays ``pending`` (the DAG answers ``argus_launch_gate``)
and starts by itself once every parent is ``complete`` (it implements ``argus_task_status_changed``);
the DAG is registered on the kernel's plugin manager like any other consumer of the tasks hooks.
A parent that failed (in review), was halted (archived) or never finishes never starts its children.
``halt_downstream`` stops and archives every transitive descendant of a task, leaving the task
itself alone.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Conflict, Database, Invalid, hookimpl, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from .service import TaskService

log = logging.getLogger(__name__)

MAX_PARENTS = 100


class Dag:
    """Edges in ``task_edges``, with the behaviour the MCP tools and REST routes share."""

    def __init__(self, svc: TaskService) -> None:
        self.svc = svc
        self.db: Database = svc.store.db
        self._starting: set[str] = set()

    # -- reading ---------------------------------------------------------------------------

    def parents(self, task_id: str) -> list[str]:
        """Ids this task depends on."""
        return [r["parent_id"] for r in self.db.query(
            "SELECT parent_id FROM task_edges WHERE child_id = ? ORDER BY created_at, parent_id", (task_id,))]

    def children(self, task_id: str) -> list[str]:
        """Ids that depend on this task."""
        return [r["child_id"] for r in self.db.query(
            "SELECT child_id FROM task_edges WHERE parent_id = ? ORDER BY created_at, child_id", (task_id,))]

    def edges(self) -> list[dict[str, str]]:
        """Every edge as ``{"child_id", "parent_id"}``."""
        return self.db.query("SELECT child_id, parent_id FROM task_edges ORDER BY created_at, child_id")

    def descendants(self, task_id: str) -> list[str]:
        """Every transitive descendant, breadth-first (the seed excluded)."""
        seen: dict[str, None] = {}
        queue = deque(self.children(task_id))
        while queue:
            node = queue.popleft()
            if node in seen or node == task_id:
                continue
            seen[node] = None
            queue.extend(self.children(node))
        return list(seen)

    def _upstream_path(self, start: str, goal: str) -> list[str] | None:
        """A path start → parent → … → goal following "depends on" edges, or None."""
        prev: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == goal:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])  # type: ignore[arg-type]
                return list(reversed(path))
            for parent in self.parents(node):
                if parent not in prev:
                    prev[parent] = node
                    queue.append(parent)
        return None

    def deps(self, task_id: str) -> dict[str, Any]:
        """One-hop neighbours: ``{"task_id", "upstream": [task], "downstream": [task]}``."""
        self.svc.get(task_id)
        def rows(ids: list[str]) -> list[dict[str, Any]]:
            out = []
            for i in ids:
                row = self.svc.store.task(i)
                if row:
                    out.append(self.svc.to_json(row))
            return out
        return {"task_id": task_id, "upstream": rows(self.parents(task_id)),
                "downstream": rows(self.children(task_id))}

    def snapshot(self, archived: str = "0") -> dict[str, Any]:
        """``{"nodes": [task], "edges": [{"child_id", "parent_id"}]}`` for the DAG view."""
        nodes = [self.svc.to_json(r) for r in self.svc.store.tasks(archived=archived)]
        ids = {n["id"] for n in nodes}
        edges = [e for e in self.edges() if e["child_id"] in ids and e["parent_id"] in ids]
        return {"nodes": nodes, "edges": edges}

    # -- changing --------------------------------------------------------------------------

    def _label(self, task_id: str) -> str:
        row = self.svc.store.task(task_id)
        return f"{row['name']} ({task_id})" if row else task_id

    def link(self, child_id: Any, parent_id: Any) -> dict[str, Any]:
        """Add "child depends on parent"; Conflict naming the cycle path (A → B → A) if it closes one."""
        if not isinstance(child_id, str) or not child_id or not isinstance(parent_id, str) or not parent_id:
            raise Invalid("child_id and parent_id are required")
        self.svc.get(child_id)
        self.svc.get(parent_id)
        if child_id == parent_id:
            path = [child_id, child_id]
        else:
            tail = self._upstream_path(parent_id, child_id)
            path = [child_id, *tail] if tail else []
        if path:
            arrow = " → ".join(path)
            names = " → ".join(self._label(p) for p in path)
            raise Conflict(f"linking would create a dependency cycle: {arrow} ({names})", path=path)
        if self.db.one("SELECT 1 FROM task_edges WHERE child_id = ? AND parent_id = ?", (child_id, parent_id)):
            return {"child_id": child_id, "parent_id": parent_id, "created": False}
        if len(self.parents(child_id)) >= MAX_PARENTS:
            raise Invalid(f"a task may depend on at most {MAX_PARENTS} others")
        self.db.execute("INSERT INTO task_edges (child_id, parent_id, created_at) VALUES (?,?,?)",
                        (child_id, parent_id, utcnow()))
        self._sync_meta(child_id)
        self.svc.publish("link.created", {"child_id": child_id, "parent_id": parent_id})
        self.svc.changed(child_id)
        return {"child_id": child_id, "parent_id": parent_id, "created": True}

    def unlink(self, child_id: Any, parent_id: Any) -> dict[str, Any]:
        """Remove the edge (a no-op when absent); a held child whose parents are now done starts."""
        if not isinstance(child_id, str) or not child_id or not isinstance(parent_id, str) or not parent_id:
            raise Invalid("child_id and parent_id are required")
        cur = self.db.execute("DELETE FROM task_edges WHERE child_id = ? AND parent_id = ?", (child_id, parent_id))
        if cur.rowcount == 0:
            return {"child_id": child_id, "parent_id": parent_id, "deleted": False}
        self._sync_meta(child_id)
        self.svc.publish("link.deleted", {"child_id": child_id, "parent_id": parent_id})
        self.svc.changed(child_id)
        self._maybe_start(child_id)
        return {"child_id": child_id, "parent_id": parent_id, "deleted": True}

    def _sync_meta(self, task_id: str) -> None:
        """Mirror the parents into ``meta.depends_on`` (what task JSON shows as ``parent_ids``)."""
        row = self.svc.store.task(task_id)
        if row is None:
            return
        meta = json.loads(row["meta"] or "{}")
        parents = self.parents(task_id)
        if parents:
            meta["depends_on"] = parents
        else:
            meta.pop("depends_on", None)
        self.svc.store.update_task(task_id, meta=json.dumps(meta))

    def forget(self, task_id: str) -> None:
        """After ``task_id`` was deleted: refresh ``meta.depends_on`` of the tasks that listed it."""
        for row in self.db.query("SELECT id, meta FROM tasks WHERE meta LIKE ?", (f'%"{task_id}"%',)):
            if task_id in (json.loads(row["meta"] or "{}").get("depends_on") or []):
                self._sync_meta(row["id"])
                self.svc.changed(row["id"])

    async def halt_downstream(self, task_id: str) -> dict[str, Any]:
        """Stop and archive every transitive descendant; the seed is untouched."""
        self.svc.get(task_id)
        halted = []
        for child in self.descendants(task_id):
            row = self.svc.store.task(child)
            if row is None:
                continue
            if self.svc.live_session(row) is not None:
                await self.svc.stop(child)
            self.svc.set_archived(child, True)
            halted.append(child)
        self.svc.publish("task.halted_downstream", {"id": task_id, "halted": halted})
        return {"task_id": task_id, "halted": halted}

    # -- launch gating ---------------------------------------------------------------------

    def validate_parents(self, depends_on: Any) -> list[str]:
        """``depends_on`` as a list of existing task ids (Invalid otherwise)."""
        if depends_on in (None, ""):
            return []
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        if not isinstance(depends_on, list) or not all(isinstance(d, str) and d for d in depends_on):
            raise Invalid("depends_on must be a list of task ids")
        if len(depends_on) > MAX_PARENTS:
            raise Invalid(f"a task may depend on at most {MAX_PARENTS} others")
        for parent in depends_on:
            if self.svc.store.task(parent) is None:
                raise Invalid(f"depends_on: no task {parent!r}")
        return list(dict.fromkeys(depends_on))

    def on_created(self, task_id: str) -> None:
        """Inside ``TaskService.create``: turn ``meta.depends_on`` into edges (before the gate)."""
        row = self.svc.store.task(task_id)
        if row is None:
            return
        meta = json.loads(row["meta"] or "{}")
        parents = self.validate_parents(meta.get("depends_on"))
        now = utcnow()
        for parent in parents:
            self.db.execute("INSERT OR IGNORE INTO task_edges (child_id, parent_id, created_at) VALUES (?,?,?)",
                            (task_id, parent, now))
        if parents:
            self._sync_meta(task_id)
            for parent in parents:
                self.svc.publish("link.created", {"child_id": task_id, "parent_id": parent})

    def unmet(self, task_id: str) -> list[str]:
        """Parents that are not complete yet."""
        out = []
        for parent in self.parents(task_id):
            row = self.svc.store.task(parent)
            if row is not None and row["status"] != "complete":
                out.append(parent)
        return out

    def gate(self, task: dict[str, Any]) -> str | None:
        """The launch gate: a reason to keep the task pending while parents are incomplete."""
        waiting = self.unmet(task["id"])
        if waiting:
            return "waiting for " + ", ".join(waiting)
        return None

    def _startable(self, task_id: str) -> bool:
        row = self.svc.store.task(task_id)
        return (row is not None and row["status"] == "pending" and not row["archived"]
                and not row["session_id"] and bool(self.parents(task_id)) and not self.unmet(task_id))

    def _maybe_start(self, task_id: str) -> None:
        if task_id in self._starting or not self._startable(task_id):
            return
        log.info("dependencies of %s are complete: starting it", task_id)
        svc = self.svc
        self._starting.add(task_id)

        async def start() -> None:
            try:
                if self._startable(task_id):
                    await svc.start_pending(task_id)
            except Exception as exc:
                log.warning("could not start %s after its dependencies completed: %s", task_id, exc)
                svc.publish("task.start_failed", {"id": task_id, "error": str(exc)})
            finally:
                self._starting.discard(task_id)

        svc.kernel.spawn_background(start, f"start:{task_id}")

    # -- the tasks hooks ---------------------------------------------------------------------

    @hookimpl
    def argus_task_created(self, task: dict[str, Any]) -> None:
        """Turn ``depends_on`` into edges before the launch gate is asked."""
        self.on_created(task["id"])

    @hookimpl
    def argus_launch_gate(self, task: dict[str, Any]) -> str | None:
        """Hold a task while some parent is not complete."""
        return self.gate(task)

    @hookimpl
    def argus_task_status_changed(self, task: dict[str, Any], old: str, new: str) -> None:
        """A completed task starts its held children whose parents are all complete."""
        if new == "complete":
            self.on_completed(task["id"])

    @hookimpl
    def argus_task_deleted(self, task: dict[str, Any]) -> None:
        """A deleted task leaves its children's ``parent_ids`` (its edges went with it)."""
        self.forget(task["id"])

    def recover(self) -> None:
        """At daemon start: start held tasks whose parents all completed while nothing watched."""
        for row in self.db.query("SELECT DISTINCT child_id FROM task_edges"):
            self._maybe_start(row["child_id"])

    def on_completed(self, task_id: str) -> None:
        """A task completed; start each held child whose parents are all complete."""
        for child in self.children(task_id):
            self._maybe_start(child)
