"""Orchestration: the DAG, messages, clipboard and artifacts bundled around one TaskService.

``Orchestration.install`` registers the DAG on the kernel's plugin manager, where it implements
the tasks hooks (created, launch gate, status changed, deleted) like any other plugin. The MCP
tools (``tools.py``) and the REST routes (``routes_orch.py``) both call into this object, so the
two surfaces behave the same.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Invalid, TooLarge, TooMany

from . import fork as forking
from . import skills as skillscan
from .artifacts import Artifacts
from .clipboard import Clipboard
from .dag import Dag
from .messages import Mailbox
from .review import Reviews

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

    from .service import TaskService

MAX_CREATIONS_IN_FLIGHT = 5
MAX_RESULT = 64 * 1024
MAX_PLAN_SLUG = 200


class Orchestration:
    """The agent-facing features layered on the task service."""

    def __init__(self, svc: TaskService) -> None:
        self.svc = svc
        self.dag = Dag(svc)
        self.mail = Mailbox(svc)
        self.clipboard = Clipboard(svc.publish)
        self.artifacts = Artifacts(svc)
        self.reviews = Reviews(svc, self.mail)
        self.mail.deliverers.append(self.reviews.deliver)
        self._creating = 0
        self._upserts: dict[tuple[str, str], trio.Event] = {}
        # Concurrent `git worktree add` in one repository can fail ("failed to read
        # .git/worktrees/<x>/commondir" while a sibling is being written), so creations from agents
        # run one at a time per project; they still count as in flight while they wait.
        self._project_locks: dict[str, trio.Lock] = {}

    def install(self) -> None:
        """Register the DAG's tasks hooks (edges at creation, launch gate, auto-start, forget)."""
        self.svc.kernel.pm.register(self.dag, name="tasks.dag")

    def on_event(self, event: Event) -> None:
        """``argus_event``: idle transitions feed message delivery."""
        self.mail.on_event(event)

    # -- task creation from agents ---------------------------------------------------------

    def _find_by_name(self, project: str, name: str) -> dict[str, Any] | None:
        rows = [r for r in self.svc.store.tasks(project=project, archived="all") if r["name"] == name]
        rows.sort(key=lambda r: (bool(r["archived"]), r["created_at"]))
        return rows[0] if rows else None

    async def create_task(self, args: dict[str, Any], caller: dict[str, Any] | None) -> dict[str, Any]:
        """``task_create``: at most 5 in flight; ``upsert`` makes name+project idempotent."""
        project = args.get("project") or (caller["project"] if caller else None)
        if not isinstance(project, str) or not project:
            raise Invalid("project is required (or pass cwd from inside a task's worktree to use its project)")
        name = args.get("name")
        if name is not None and not isinstance(name, str):
            raise Invalid("name must be a string")
        upsert = args.get("upsert", False)
        if not isinstance(upsert, bool):
            raise Invalid("upsert must be a boolean")
        if upsert and not (name or "").strip():
            raise Invalid("upsert needs a name (tasks are matched by name and project)")
        depends_on = self.dag.validate_parents(args.get("depends_on"))
        key = (project, (name or "").strip())
        if upsert:
            while key in self._upserts:  # the same upsert is being created right now: wait for it
                await self._upserts[key].wait()
            existing = self._find_by_name(project, key[1])
            if existing is not None:
                return {"task": self.svc.to_json(existing), "created": False}
        if self._creating >= MAX_CREATIONS_IN_FLIGHT:
            raise TooMany(f"at most {MAX_CREATIONS_IN_FLIGHT} task creations may be in flight; "
                          f"retry when one has finished")
        meta: dict[str, Any] = {}
        if caller is not None:
            meta["created_by"] = caller["id"]
        done = trio.Event()
        if upsert:
            self._upserts[key] = done
        self._creating += 1
        lock = self._project_locks.setdefault(project, trio.Lock())
        try:
            async with lock:
                row = await self.svc.create(
                    name=name, prompt=args.get("prompt") or "", project=project,
                    backend=args.get("backend") or None, model=args.get("model") or None,
                    base_branch=args.get("base_branch") or None, plan_slug=args.get("plan_slug") or "",
                    depends_on=depends_on or None, meta=meta, options=self.svc.options.pick(args))
        finally:
            self._creating -= 1
            if upsert:
                self._upserts.pop(key, None)
            done.set()
        return {"task": self.svc.to_json(row), "created": True}

    # -- small task fields -----------------------------------------------------------------

    def set_plan_slug(self, task_id: str, plan_slug: Any) -> dict[str, Any]:
        """Stamp the (opaque) orchestrator grouping label; empty clears it."""
        self.svc.get(task_id)
        if plan_slug is None:
            plan_slug = ""
        if not isinstance(plan_slug, str):
            raise Invalid("plan_slug must be a string")
        if len(plan_slug) > MAX_PLAN_SLUG:
            raise Invalid(f"plan_slug is longer than {MAX_PLAN_SLUG} characters")
        self.svc.store.update_task(task_id, plan_slug=plan_slug.strip())
        self.svc.changed(task_id)
        return self.svc.get(task_id)

    def set_result(self, task_id: str, result: Any) -> dict[str, Any]:
        """Persist an opaque JSON result (at most 64 KiB serialized); null clears it."""
        self.svc.get(task_id)
        encoded = None if result is None else json.dumps(result, separators=(",", ":"))
        if encoded is not None and len(encoded.encode()) > MAX_RESULT:
            raise TooLarge(f"result is {len(encoded.encode())} bytes of JSON; the limit is {MAX_RESULT} (64 KiB)")
        self.svc.store.update_task(task_id, result=encoded)
        self.svc.changed(task_id)
        return self.svc.get(task_id)

    async def fork(self, task_id: str, *, name: Any = None, prompt: Any = None, project: Any = None,
                   created_by: str | None = None) -> dict[str, Any]:
        """Fork a task (see ``fork.py``); ``created_by`` records the agent that asked for it."""
        return await forking.fork(self.svc, task_id, name=name, prompt=prompt, project=project,
                                  created_by=created_by)

    async def skills(self, project: Any = None, text: Any = "") -> list[dict[str, Any]]:
        """Skills for autocomplete (the file walk runs off the trio thread)."""
        path = None
        if project not in (None, ""):
            if not isinstance(project, str):
                raise Invalid("project must be a string")
            path = self.svc.project(project)["path"]
        if text is not None and not isinstance(text, str):
            raise Invalid("filter must be a string")
        return await trio.to_thread.run_sync(skillscan.list_skills, None, path, text or "")
