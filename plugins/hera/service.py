"""Hera's behaviour: orchestrators, roles bound to tasks, role-addressed messages.

Everything here is synchronous SQL plus calls on the tasks facade (``TasksAPI``); the MCP tools
(``tools.py``) and the REST routes (``routes.py``) are thin wrappers. The caller of a tool is the
task resolved from its ``cwd`` or task ``token``; its *binding* is the role bound to that task.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from argus.kernel.api import Conflict, Forbidden, Invalid, NotFound, TooLarge, TooMany

from . import guide
from . import models as m
from .store import Store
from .tasks import CreateTask, Tasks

log = logging.getLogger(__name__)

USER = "user"
AS_TASK = "_as_task"  # set by the MCP layer when the caller holds a task's token: the caller is that task


class Hera:
    """The coordination layer over one database and one tasks facade."""

    def __init__(self, store: Store, tasks: Tasks, publish: Callable[[str, dict[str, Any]], Any],
                 on_message: Callable[[str], None] | None = None,
                 on_ready: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.tasks = tasks
        self.publish = publish
        self.on_message = on_message or (lambda role_id: None)
        self.on_ready = on_ready or (lambda task_id: None)
        self._sent: dict[str, deque[float]] = {}

    # -- shapes ----------------------------------------------------------------------------

    def _live(self, role: dict[str, Any]) -> bool:
        task_id = role.get("task_id")
        return bool(task_id) and self.tasks.exists(task_id)

    def role_json(self, role: dict[str, Any], unread: int | None = None) -> dict[str, Any]:
        """A role as tools and REST return it."""
        orch = self.store.orchestrator(role["orchestrator_id"]) or {}
        return {"id": role["id"], "name": role["name"], "kind": role["kind"], "status": role["status"],
                "orchestrator_id": role["orchestrator_id"], "orchestrator": orch.get("name", ""),
                "task_id": role["task_id"], "bound": self._live(role),
                "archived": bool(role["archived"]), "pinned": bool(role["pinned"]),
                "depends_on": json.loads(role["depends_on"] or "[]"),
                "unread": self.store.unread_count(role["id"]) if unread is None else unread,
                "created_at": role["created_at"], "updated_at": role["updated_at"]}

    def orchestrator_json(self, orch: dict[str, Any], *, roles: bool = True,
                          unread: dict[str, int] | None = None) -> dict[str, Any]:
        """An orchestrator, with its roles (and their unread counts) when asked."""
        out = {"id": orch["id"], "name": orch["name"], "archived": bool(orch["archived"]),
               "pinned": bool(orch["pinned"]), "collapsed": bool(orch["collapsed"]),
               "created_at": orch["created_at"], "updated_at": orch["updated_at"]}
        if roles:
            counts = self.store.unread_by_role() if unread is None else unread
            out["roles"] = [self.role_json(r, counts.get(r["id"], 0)) for r in self.store.roles(orch["id"])]
            out["unread"] = sum(r["unread"] for r in out["roles"])
        return out

    def message_json(self, row: dict[str, Any], *, body: bool = True) -> dict[str, Any]:
        """A message; ``body=False`` gives the subject line only (tree updates)."""
        to = self.store.role(row["to_role"])
        out = {"id": row["id"], "orchestrator_id": row["orchestrator_id"], "from_role": row["from_role"],
               "from": row["from_name"], "to_role": row["to_role"], "to": to["name"] if to else "",
               "subject": row["subject"], "created_at": row["created_at"]}
        if body:
            out.update(body=row["body"], read=row["read_at"] is not None, read_at=row["read_at"],
                       delivered_at=row["delivered_at"], delivery=self.delivery_state(row))
        return out

    @staticmethod
    def delivery_state(row: dict[str, Any]) -> str:
        """``delivered`` (typed into the pane), ``cancelled`` (read first) or ``pending``."""
        if row["delivered_at"]:
            return "delivered"
        return "cancelled" if row["read_at"] else "pending"

    def snapshot(self) -> dict[str, Any]:
        """Every orchestrator with its roles and unread counts (the clients' tree)."""
        counts = self.store.unread_by_role()
        return {"orchestrators": [self.orchestrator_json(o, unread=counts) for o in self.store.orchestrators()]}

    def task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """The ``hera`` object merged into a task's JSON (None when the task holds no role)."""
        task_id = task.get("id")
        role = self.store.role_by_task(task_id) if isinstance(task_id, str) else None
        if role is None:
            return None
        orch = self.store.orchestrator(role["orchestrator_id"]) or {}
        return {"hera": {"role_id": role["id"], "role": role["name"], "kind": role["kind"],
                         "status": role["status"], "orchestrator_id": role["orchestrator_id"],
                         "orchestrator": orch.get("name", ""), "unread": self.store.unread_count(role["id"])}}

    # -- callers ---------------------------------------------------------------------------

    def caller_task(self, args: dict[str, Any]) -> dict[str, Any]:
        """The calling task: the task whose token the MCP request carried, else the one named by
        ``token`` (its task token) or ``cwd`` (its working directory)."""
        cwd, token = m.opt_str(args, "cwd"), m.opt_str(args, "token")
        own = args.get(AS_TASK)
        if isinstance(own, str):
            task = self.tasks.get(own)
            named = self.tasks.resolve_caller(cwd, token) if (cwd or token) else None
            if named is not None and named["id"] != own:
                raise Forbidden(f"you are task {own}: a task's token acts only as its own task, not as "
                                f"{named['id']} ({named.get('name', '')})")
            return task
        if cwd is None and token is None:
            raise Invalid("pass cwd (your working directory, from pwd) or token (your task token) "
                          "so hera knows which task is calling")
        resolved = self.tasks.resolve_caller(cwd, token)
        if resolved is None:
            where = f"the directory {cwd}" if cwd and not token else "that task token"
            raise NotFound(f"no task owns {where}: call hera tools from inside an argus task's worktree")
        return resolved

    def binding(self, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(task, role)`` of the caller; NotFound with the way out when it holds no role."""
        task = self.caller_task(args)
        role = self.store.role_by_task(task["id"])
        if role is None:
            raise NotFound(f"no hera binding: task {task['id']} ({task.get('name', '')}) holds no role; call "
                           f"hera_new_orchestrator (to coordinate) or hera_join with role_name and kind first")
        return task, role

    def _orchestrator(self, ref: str) -> dict[str, Any]:
        orch = self.store.orchestrator(ref) or self.store.orchestrator_by_name(ref)
        if orch is None:
            raise NotFound(f"unknown orchestrator {ref!r}")
        return orch

    def _role_in(self, orch: dict[str, Any], ref: str) -> dict[str, Any]:
        """A role of ``orch`` by name (or id); clear errors for unknown or foreign roles."""
        role = self.store.role_by_name(orch["id"], ref)
        if role is not None:
            return role
        other = self.store.role(ref)
        if other is not None:
            if other["orchestrator_id"] != orch["id"]:
                raise Forbidden(f"wrong orchestrator: role {ref} belongs to another orchestrator, not "
                                f"{orch['name']!r}")
            return other
        names = ", ".join(r["name"] for r in self.store.roles(orch["id"])) or "none"
        raise NotFound(f"unknown role {ref!r} in orchestrator {orch['name']!r} (its roles: {names})")

    def role(self, role_id: str) -> dict[str, Any]:
        """A role row by id, or NotFound."""
        role = self.store.role(role_id) if isinstance(role_id, str) else None
        if role is None:
            raise NotFound(f"unknown role {role_id!r}")
        return role

    def orchestrator(self, orch_id: str) -> dict[str, Any]:
        """An orchestrator row by id, or NotFound."""
        orch = self.store.orchestrator(orch_id) if isinstance(orch_id, str) else None
        if orch is None:
            raise NotFound(f"unknown orchestrator {orch_id!r}")
        return orch

    # -- orchestrators and roles -----------------------------------------------------------

    def new_orchestrator(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_new_orchestrator``: a new orchestrator whose coordinator is the calling task."""
        task = self.caller_task(args)
        held = self.store.role_by_task(task["id"])
        if held is not None:
            orch = self.store.orchestrator(held["orchestrator_id"]) or {}
            raise Conflict(f"task {task['id']} already holds role {held['name']!r} ({held['kind']}) in "
                           f"orchestrator {orch.get('name', '')!r}; one role per task")
        name = m.display_name(args.get("name") or task.get("name") or "orchestrator")
        role_name = m.role_name(args.get("role_name") or "coordinator")
        with self.store.db.transaction():
            orch = self.store.insert_orchestrator(name)
            role = self.store.insert_role(orch["id"], role_name, "coordinator", task["id"])
        self.publish("hera.orchestrator.created", {"orchestrator": self.orchestrator_json(orch, roles=False)})
        self.publish("hera.role.created", {"role": self.role_json(role)})
        self._task_changed(task["id"])
        return {"orchestrator": self.orchestrator_json(orch), "role": self.role_json(role), "guide": guide.COORDINATOR}

    def join(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_join``: the caller's existing role, or (with role_name + kind) a new role for it."""
        task = self.caller_task(args)
        held = self.store.role_by_task(task["id"])
        wanted = m.opt_str(args, "role_name")
        if wanted is None:
            if held is None:
                raise NotFound(f"no hera binding: task {task['id']} holds no role; pass role_name, kind and "
                               f"orchestrator to join one, or call hera_new_orchestrator")
            return {"role": self.role_json(held), "unread": self.store.unread_count(held["id"]),
                    "orchestrator": self.orchestrator_json(self.orchestrator(held["orchestrator_id"]),
                                                           roles=False)}
        name = m.role_name(wanted)
        kind = args.get("kind") or "worker"
        if kind not in m.JOIN_KINDS:
            raise Invalid(f"kind must be one of {', '.join(m.JOIN_KINDS)} (a coordinator is made by "
                          f"hera_new_orchestrator)")
        if held is not None:
            if held["name"] == name and held["kind"] == kind:
                return {"role": self.role_json(held), "unread": self.store.unread_count(held["id"])}
            raise Conflict(f"task {task['id']} already holds role {held['name']!r}; one role per task")
        ref = m.opt_str(args, "orchestrator")
        if ref is None:
            raise Invalid("orchestrator (its id or name) is required to join with a new role")
        orch = self._orchestrator(ref)
        if self.store.role_by_name(orch["id"], name) is not None:
            raise Conflict(f"orchestrator {orch['name']!r} already has a role named {name!r}")
        role = self.store.insert_role(orch["id"], name, kind, task["id"])
        self.publish("hera.role.created", {"role": self.role_json(role)})
        self._task_changed(task["id"])
        return {"role": self.role_json(role), "unread": 0,
                "orchestrator": self.orchestrator_json(orch, roles=False)}

    async def spawn_worker(self, args: dict[str, Any], *, coordinator: dict[str, Any] | None = None
                           ) -> dict[str, Any]:
        """``hera_spawn_worker``: a hidden worker task + session, born bound to a new worker role.

        From MCP the caller must hold a live coordinator binding; from REST ``coordinator`` is the
        orchestrator's coordinator role (the human acts for it).
        """
        task: dict[str, Any] | None
        if coordinator is None:
            task, coordinator = self.binding(args)
            if coordinator["kind"] != "coordinator":
                raise Forbidden(f"only a coordinator spawns workers; you are {coordinator['name']!r} "
                                f"({coordinator['kind']})")
        else:
            task = self.tasks.get(coordinator["task_id"]) if self._live(coordinator) else None
        if task is None or not self._live(coordinator):
            raise Conflict(f"coordinator {coordinator['name']!r} has no live task binding; re-attach it first")
        orch = self.orchestrator(coordinator["orchestrator_id"])
        name = m.role_name(args.get("name") or args.get("role_name"), "name")
        prompt = m.req_str(args, "prompt")
        model = m.opt_str(args, "model")
        project = m.opt_str(args, "project") or task.get("project")
        backend = m.opt_str(args, "backend") or task.get("backend")
        depends = args.get("depends_on") or []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise Invalid("depends_on must be a list of role names")
        deps = [self._role_in(orch, d)["name"] for d in depends]
        if self.store.role_by_name(orch["id"], name) is not None:
            raise Conflict(f"orchestrator {orch['name']!r} already has a role named {name!r}")
        role = self.store.insert_role(orch["id"], name, "worker", None, deps)
        try:
            brief = guide.worker_prompt(name, orch["name"], coordinator["name"], prompt)
            spec = CreateTask(prompt=brief, name=f"{orch['name']}-{name}"[:80], project=project,
                              backend=backend, hidden=True, parent_id=task["id"], model=model,
                              extra={"hera": {"orchestrator_id": orch["id"], "role_id": role["id"],
                                              "role": name, "depends_on": deps}})
            # Bind before the task exists in the list: the role is found by task id as soon as
            # the task is created (hooks fire during create).
            created = await self.tasks.create(spec)
        except BaseException:
            self.store.delete_role(role["id"])
            raise
        self.store.update_role(role["id"], task_id=created["id"])
        role = self.role(role["id"])
        self.publish("hera.role.created", {"role": self.role_json(role)})
        self._task_changed(created["id"])
        return {"role": self.role_json(role), "task": self.tasks.get(created["id"])}

    def launch_gate(self, task: dict[str, Any]) -> str | None:
        """Why a worker task must stay pending: a role it depends on is not done yet (else None)."""
        raw_extra = task.get("extra")
        extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
        spec = extra.get("hera") if isinstance(extra.get("hera"), dict) else None
        role = self.store.role(spec["role_id"]) if spec and isinstance(spec.get("role_id"), str) else None
        if role is None:
            return None
        waiting = [d for d in json.loads(role["depends_on"] or "[]")
                   if (dep := self.store.role_by_name(role["orchestrator_id"], d)) is not None
                   and dep["status"] != "done"]
        return f"waiting for hera role(s) {', '.join(waiting)} to be done" if waiting else None

    def _release_dependents(self, done: dict[str, Any]) -> None:
        """A role is done: start the workers that waited only for roles now done."""
        for role in self.store.roles(done["orchestrator_id"]):
            deps = json.loads(role["depends_on"] or "[]")
            if done["name"] not in deps or not role["task_id"]:
                continue
            if all((d := self.store.role_by_name(role["orchestrator_id"], n)) is not None and d["status"] == "done"
                   for n in deps):
                self.on_ready(role["task_id"])

    def set_status(self, role: dict[str, Any], value: Any) -> dict[str, Any]:
        """Set a role's status; a worker reporting done rolls its task to in_review."""
        new = m.status(value)
        old = role["status"]
        self.store.update_role(role["id"], status=new)
        role = self.role(role["id"])
        if new == "done" and role["kind"] == "worker" and self._live(role):
            try:
                self.tasks.set_status(role["task_id"], "in_review")
            except NotFound:
                pass
        if new == "done" and old != "done":
            self._release_dependents(role)
        self.publish("hera.role.updated", {"role": self.role_json(role), "old_status": old})
        self._task_changed(role["task_id"])
        return self.role_json(role)

    def step_status(self, role: dict[str, Any], direction: int) -> dict[str, Any]:
        """Advance (+1) or revert (-1) a role's status along idle → working → blocked → done."""
        idx = m.STATUSES.index(role["status"])
        return self.set_status(role, m.STATUSES[(idx + direction) % len(m.STATUSES)])

    def update_role(self, role: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Rename / archive / pin / status (REST and the TUI rail keys)."""
        fields: dict[str, Any] = {}
        if "name" in body:
            name = m.role_name(body["name"], "name")
            other = self.store.role_by_name(role["orchestrator_id"], name)
            if other is not None and other["id"] != role["id"]:
                raise Conflict(f"this orchestrator already has a role named {name!r}")
            fields["name"] = name
        for flag in ("archived", "pinned"):
            if flag in body:
                value = body[flag]
                if value is None:
                    value = not role[flag]
                if not isinstance(value, bool):
                    raise Invalid(f"{flag} must be a boolean (or null to toggle)")
                fields[flag] = int(value)
        unknown = set(body) - {"name", "archived", "pinned", "status"}
        if unknown:
            raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}")
        if fields:
            self.store.update_role(role["id"], **fields)
        if "status" in body:
            return self.set_status(self.role(role["id"]), body["status"])
        role = self.role(role["id"])
        self.publish("hera.role.updated", {"role": self.role_json(role)})
        self._task_changed(role["task_id"])
        return self.role_json(role)

    def update_orchestrator(self, orch: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Rename / archive / pin / collapse an orchestrator."""
        fields: dict[str, Any] = {}
        if "name" in body:
            fields["name"] = m.display_name(body["name"])
        for flag in ("archived", "pinned", "collapsed"):
            if flag in body:
                value = body[flag]
                if value is None:
                    value = not orch[flag]
                if not isinstance(value, bool):
                    raise Invalid(f"{flag} must be a boolean (or null to toggle)")
                fields[flag] = int(value)
        unknown = set(body) - {"name", "archived", "pinned", "collapsed"}
        if unknown:
            raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}")
        self.store.update_orchestrator(orch["id"], **fields)
        out = self.orchestrator_json(self.orchestrator(orch["id"]))
        self.publish("hera.orchestrator.updated", {"orchestrator": out})
        return out

    async def delete_role(self, role: dict[str, Any], *, delete_task: bool = False) -> dict[str, Any]:
        """Delete a role (and its messages); with ``delete_task`` its task too."""
        task_id = role["task_id"]
        if delete_task and task_id and self.tasks.exists(task_id):
            await self.tasks.delete(task_id, force=True)
        self.store.delete_role(role["id"])
        self.publish("hera.role.deleted", {"role_id": role["id"], "orchestrator_id": role["orchestrator_id"]})
        self._task_changed(task_id)
        return {"deleted": role["id"], "task_deleted": bool(delete_task and task_id)}

    async def delete_orchestrator(self, orch: dict[str, Any], *, delete_tasks: bool = False) -> dict[str, Any]:
        """Delete an orchestrator with its roles and messages (with ``delete_tasks``, workers' tasks too)."""
        roles = self.store.roles(orch["id"])
        if delete_tasks:
            for role in roles:
                if role["kind"] == "worker" and role["task_id"] and self.tasks.exists(role["task_id"]):
                    await self.tasks.delete(role["task_id"], force=True)
        self.store.delete_orchestrator(orch["id"])
        self.publish("hera.orchestrator.deleted", {"orchestrator_id": orch["id"]})
        for role in roles:
            self._task_changed(role["task_id"])
        return {"deleted": orch["id"], "roles": len(roles)}

    def task_deleted(self, task: dict[str, Any]) -> None:
        """The bound task is gone: the role stays (with its messages) but is unbound."""
        task_id = task.get("id")
        role = self.store.role_by_task(task_id) if isinstance(task_id, str) else None
        if role is not None:
            self.store.update_role(role["id"], task_id=None)
            self.publish("hera.role.updated", {"role": self.role_json(self.role(role["id"]))})

    def _task_changed(self, task_id: str | None) -> None:
        """Let clients refresh a task whose ``hera`` fields changed."""
        if task_id:
            self.publish("hera.task.changed", {"task_id": task_id})

    # -- messages --------------------------------------------------------------------------

    def _check_rate(self, sender: str) -> deque[float]:
        now = time.monotonic()
        sent = self._sent.setdefault(sender, deque())
        while sent and now - sent[0] >= m.RATE_WINDOW:
            sent.popleft()
        if len(sent) >= m.RATE_LIMIT:
            retry = max(1, int(m.RATE_WINDOW - (now - sent[0])) + 1)
            raise TooMany(f"rate limit: a role may send at most {m.RATE_LIMIT} messages per minute; "
                          f"retry in {retry} s", retry_after=retry)
        return sent

    def send(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_send``: a role-addressed message from the caller's role."""
        _task, sender = self.binding(args)
        orch = self.orchestrator(sender["orchestrator_id"])
        to_ref = m.opt_str(args, "to")
        if to_ref is None:
            if sender["kind"] == "coordinator":
                raise Invalid("coordinators must name a recipient: pass to (a role name)")
            recipient = self.store.coordinator(orch["id"])
            if recipient is None:
                raise NotFound(f"orchestrator {orch['name']!r} has no coordinator; pass to")
        else:
            recipient = self._role_in(orch, to_ref)
        if recipient["id"] == sender["id"]:
            raise Invalid("a role cannot message itself")
        return {"message": self.post(orch, sender["id"], sender["name"], recipient, args.get("subject"),
                                     args.get("body"))}

    def send_as_user(self, recipient: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """The human messages any role (REST)."""
        orch = self.orchestrator(recipient["orchestrator_id"])
        return {"message": self.post(orch, None, USER, recipient, body.get("subject"), body.get("body"))}

    def post(self, orch: dict[str, Any], from_role: str | None, from_name: str, recipient: dict[str, Any],
             subject: Any, body: Any) -> dict[str, Any]:
        """Validate against the limits, persist, announce and queue for delivery."""
        if not isinstance(body, str) or not body.strip():
            raise Invalid("body is required")
        if subject is not None and not isinstance(subject, str):
            raise Invalid("subject must be a string")
        size = len(body.encode("utf-8", "surrogatepass"))
        if size > m.MAX_BODY:
            raise TooLarge(f"message body is {size} bytes; the limit is {m.MAX_BODY} bytes (64 KiB)")
        unread = self.store.unread_count(recipient["id"])
        if unread >= m.MAX_UNREAD:
            raise TooMany(f"the inbox of role {recipient['name']!r} is full: {unread} unread messages "
                          f"(limit {m.MAX_UNREAD}); wait until it reads some")
        sent = self._check_rate(from_role or USER)
        row = self.store.insert_message(orch["id"], from_role, from_name, recipient["id"],
                                        m.subject_of(subject, body), body)
        sent.append(time.monotonic())
        out = self.message_json(row)
        self.publish("hera.message.created", {"message": self.message_json(row, body=False),
                                              "to_role": recipient["id"]})
        self.on_message(recipient["id"])
        return out

    def inbox(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_inbox``: unread messages oldest first; marks them read, cancelling their deliveries."""
        _task, role = self.binding(args)
        rows = self.store.unread(role["id"], m.limit(args.get("limit"), m.INBOX_DEFAULT))
        cancelled = [r["id"] for r in rows if r["delivered_at"] is None]
        self._mark(role, [r["id"] for r in rows], cancelled)
        messages = [self.message_json(self.store.message(r["id"]) or r) for r in rows]
        return {"role": role["name"], "messages": messages, "cancelled_deliveries": cancelled,
                "unread": self.store.unread_count(role["id"])}

    def mark_read(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_mark_read``: mark listed messages read and cancel their pending deliveries."""
        _task, role = self.binding(args)
        return self.mark_role_read(role, m.message_ids(args.get("message_ids")))

    def mark_role_read(self, role: dict[str, Any], ids: list[int]) -> dict[str, Any]:
        """Mark some of ``role``'s messages read (ids addressed to others are ignored)."""
        pending = {r["id"] for r in self.store.undelivered(role["id"])}
        changed = self._mark(role, ids, [i for i in ids if i in pending])
        return {"marked": len(changed), "message_ids": changed,
                "cancelled_deliveries": [i for i in changed if i in pending],
                "unread": self.store.unread_count(role["id"])}

    def _mark(self, role: dict[str, Any], ids: list[int], cancelled: list[int]) -> list[int]:
        changed = self.store.mark_read(role["id"], ids)
        if changed:
            self.publish("hera.message.read", {"role_id": role["id"], "message_ids": changed,
                                               "cancelled_deliveries": [i for i in cancelled if i in changed]})
            self._task_changed(role["task_id"])
        return changed

    def status_tool(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_status``: set the caller role's status."""
        _task, role = self.binding(args)
        return {"role": self.set_status(role, args.get("status"))}

    def tree_updates(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_tree_updates``: subject lines of the orchestrator's messages since the role's cursor."""
        _task, role = self.binding(args)
        size = m.limit(args.get("limit"), m.TREE_DEFAULT)
        rows = self.store.tree_since(role["orchestrator_id"], role["tree_cursor"], size + 1)
        more = len(rows) > size
        rows = rows[:size]
        cursor = rows[-1]["id"] if rows else role["tree_cursor"]
        if rows:
            self.store.update_role(role["id"], tree_cursor=cursor)
        return {"updates": [self.message_json(r, body=False) for r in rows], "cursor": cursor, "more": more}

    def get_messages(self, args: dict[str, Any]) -> dict[str, Any]:
        """``hera_get_messages``: full bodies by id, only within the caller's orchestrator."""
        _task, role = self.binding(args)
        ids = m.message_ids(args.get("message_ids"))
        if not ids:
            raise Invalid("message_ids is required (ids from hera_tree_updates)")
        rows = {r["id"]: r for r in self.store.messages_by_ids(ids)}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"no message(s) {', '.join(map(str, missing))}")
        foreign = [i for i in ids if rows[i]["orchestrator_id"] != role["orchestrator_id"]]
        if foreign:
            raise Forbidden(f"wrong orchestrator: message(s) {', '.join(map(str, foreign))} belong to another "
                            f"orchestrator; you may read only your own orchestrator's messages")
        return {"messages": [self.message_json(rows[i]) for i in dict.fromkeys(ids)]}

    def role_messages(self, role: dict[str, Any], size: int) -> dict[str, Any]:
        """Messages to and from a role (REST; nothing is marked read)."""
        return {"role": self.role_json(role),
                "messages": [self.message_json(r) for r in self.store.messages_of(role["id"], size)]}
