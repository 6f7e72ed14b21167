"""The MCP tools of the tasks plugin (scope ``tasks``): tasks, the DAG, messages, clipboard, artifacts.

Names, parameters and limits are the reference manual's. Tools acting on "the caller" take ``id``
or ``cwd`` (the agent's working directory, resolved to the task owning it; see ``caller.py``).
Every handler returns a JSON object; failures raise ``argus.kernel.errors`` types, which the MCP
layer turns into tool results with ``is_error`` so the agent can read and correct them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from argus.kernel.api import ToolContext
from argus.kernel.errors import Invalid

from .caller import require_owned, resolve, resolve_optional, task_principal
from .orch import Orchestration
from .store import STATUSES

SCOPE = "tasks"

ID = {"type": "string", "description": "Task id (e.g. t_8f3a2c). Alternative to cwd."}
CWD = {"type": "string", "description": "Your working directory (output of pwd); resolves to the task "
                                        "whose worktree contains it. Alternative to id."}
TASK_ID = {"type": "string", "description": "Task id"}
CALLER = {"id": ID, "cwd": CWD}


def _schema(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _bool_or_none(args: dict[str, Any], key: str) -> bool | None:
    value = args.get(key)
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"{key} must be a boolean")
    return value


def register(kernel: Any, orch: Orchestration) -> None:
    """Register every tool with ``kernel.registry`` under scope ``tasks``."""
    svc = orch.svc
    Handler = Callable[[dict[str, Any], ToolContext], Awaitable[Any]]

    def tool(name: str, description: str, schema: dict[str, Any]) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            kernel.registry.add_tool(SCOPE, name, description, schema, fn)
            return fn
        return deco

    def out(row: dict[str, Any]) -> dict[str, Any]:
        return {"task": svc.to_json(row)}

    def _own_child(args: dict[str, Any], ctx: ToolContext) -> None:
        """A task token may change only the dependencies of a task it owns."""
        child = args.get("child_id")
        if task_principal(ctx) is not None and isinstance(child, str) and child:
            require_owned(svc, ctx, svc.get(child))

    # -- tasks -----------------------------------------------------------------------------

    @tool("task_create",
          "Create a task with its own git worktree and start an agent in it. Params: name, prompt, project, "
          "model (optional --model override), backend. Orchestration: base_branch, depends_on (task ids: the "
          "task stays pending and starts by itself when all of them complete), plan_slug, upsert (return the "
          "existing task with the same name in the project instead of creating another). Pass cwd to default "
          "project to your own task's project. At most 5 creations in flight.",
          _schema({"name": {"type": "string"}, "prompt": {"type": "string"}, "project": {"type": "string"},
                   "model": {"type": "string"}, "backend": {"type": "string"},
                   "base_branch": {"type": "string"},
                   "depends_on": {"type": "array", "items": {"type": "string"}},
                   "plan_slug": {"type": "string"}, "upsert": {"type": "boolean"}, **CALLER}))
    async def task_create(args: dict[str, Any], ctx: ToolContext) -> Any:
        caller = resolve_optional(svc, args, ctx)
        return await orch.create_task(args, caller)

    @tool("task_list", "List tasks, filtered by status and/or project (and plan_slug). Archived tasks are "
          "hidden unless archived is true (or \"all\"). Task objects include plan_slug and parent_ids.",
          _schema({"status": {"type": "string", "enum": [*STATUSES, "idle"]}, "project": {"type": "string"},
                   "plan_slug": {"type": "string"},
                   "archived": {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["all"]}]}}))
    async def task_list(args: dict[str, Any], ctx: ToolContext) -> Any:
        status = args.get("status") or None
        if status is not None and status not in (*STATUSES, "idle"):
            raise Invalid(f"status must be one of {', '.join((*STATUSES, 'idle'))}")
        archived = args.get("archived", False)
        flag = "all" if archived == "all" else ("1" if archived is True else "0")
        if archived not in (True, False, None, "all"):
            raise Invalid("archived must be true, false or \"all\"")
        project = args.get("project") or None
        if project is not None and not isinstance(project, str):
            raise Invalid("project must be a string")
        rows = svc.store.tasks(status=None if status == "idle" else status, project=project, archived=flag)
        tasks = [svc.to_json(r) for r in rows]
        if status == "idle":
            tasks = [t for t in tasks if t["idle"]]
        if args.get("plan_slug"):
            tasks = [t for t in tasks if t["plan_slug"] == args["plan_slug"]]
        return {"tasks": tasks}

    @tool("task_get", "Get task details by id (or cwd), with its one-hop dependencies.", _schema({**CALLER}))
    async def task_get(args: dict[str, Any], ctx: ToolContext) -> Any:
        row = resolve(svc, args, ctx, act=False)
        deps = orch.dag.deps(row["id"])
        return {"task": svc.to_json(row), "upstream": [t["id"] for t in deps["upstream"]],
                "downstream": [t["id"] for t in deps["downstream"]]}

    @tool("task_stop", "Stop a running agent (the task moves to in_review). Pass id or cwd.", _schema({**CALLER}))
    async def task_stop(args: dict[str, Any], ctx: ToolContext) -> Any:
        return out(await svc.stop(resolve(svc, args, ctx)["id"]))

    @tool("task_resume", "Resume a stopped agent in its worktree (in_review → in_progress), continuing its "
          "conversation. Pass id or cwd.", _schema({**CALLER}))
    async def task_resume(args: dict[str, Any], ctx: ToolContext) -> Any:
        return out(await svc.resume(resolve(svc, args, ctx)["id"]))

    @tool("task_archive", "Archive or unarchive a task. Pass cwd (from the agent's pwd) to resolve by worktree, "
          "or id. Omit archived to toggle.", _schema({**CALLER, "archived": {"type": "boolean"}}))
    async def task_archive(args: dict[str, Any], ctx: ToolContext) -> Any:
        return out(svc.set_archived(resolve(svc, args, ctx)["id"], _bool_or_none(args, "archived")))

    @tool("task_rename", "Rename a task. Updates only the display name (branch and worktree paths stay locked "
          "to the original slug). Pass cwd or id plus name.",
          _schema({**CALLER, "name": {"type": "string"}}, ["name"]))
    async def task_rename(args: dict[str, Any], ctx: ToolContext) -> Any:
        return out(svc.rename(resolve(svc, args, ctx)["id"], args.get("name")))

    @tool("task_complete", "Mark a task as complete (sets status, stamps ended_at; tasks depending on it may "
          "start). Pass cwd or id. Does NOT stop a running agent — call task_stop first if needed.",
          _schema({**CALLER}))
    async def task_complete(args: dict[str, Any], ctx: ToolContext) -> Any:
        return out(svc.set_status(resolve(svc, args, ctx)["id"], "complete"))

    @tool("task_fork", "Fork a task: a new task and worktree whose .context/ holds the source's prompt, recent "
          "output and git diff. Pass id or cwd of the source, optional name, prompt, project.",
          _schema({**CALLER, "name": {"type": "string"}, "prompt": {"type": "string"},
                   "project": {"type": "string"}}))
    async def task_fork(args: dict[str, Any], ctx: ToolContext) -> Any:
        src = resolve(svc, args, ctx, act=False)  # forking reads the source; the fork is the caller's
        row = await orch.fork(src["id"], name=args.get("name"), prompt=args.get("prompt"),
                              project=args.get("project"), created_by=task_principal(ctx))
        return {"task": svc.to_json(row), "source_id": src["id"]}

    @tool("task_set_plan_slug", "Stamp the orchestrator grouping label. Opaque to the daemon; tasks sharing "
          "the same slug render as one stack in the DAG view. Pass id or cwd plus plan_slug.",
          _schema({**CALLER, "plan_slug": {"type": "string"}}, ["plan_slug"]))
    async def task_set_plan_slug(args: dict[str, Any], ctx: ToolContext) -> Any:
        return out(orch.set_plan_slug(resolve(svc, args, ctx)["id"], args.get("plan_slug")))

    @tool("task_set_result", "Persist an opaque JSON result blob the orchestrator can read (PR URL, milestone, "
          "failure reason). Pass cwd or id plus result. Up to 64 KiB.",
          _schema({**CALLER, "result": {}}, ["result"]))
    async def task_set_result(args: dict[str, Any], ctx: ToolContext) -> Any:
        if "result" not in args:
            raise Invalid("result is required")
        return out(orch.set_result(resolve(svc, args, ctx)["id"], args["result"]))

    # -- the DAG ---------------------------------------------------------------------------

    edge = _schema({"child_id": {"type": "string", "description": "The task that depends on parent_id"},
                    "parent_id": {"type": "string", "description": "The task that must complete first"}},
                   ["child_id", "parent_id"])

    @tool("task_link", "Add a dependency edge: child_id depends on parent_id. Cycle attempts fail with the "
          "offending path (A → B → A).", edge)
    async def task_link(args: dict[str, Any], ctx: ToolContext) -> Any:
        _own_child(args, ctx)
        return orch.dag.link(args.get("child_id"), args.get("parent_id"))

    @tool("task_unlink", "Remove a dependency edge. Params: child_id, parent_id. No-op when the edge does not "
          "exist.", edge)
    async def task_unlink(args: dict[str, Any], ctx: ToolContext) -> Any:
        _own_child(args, ctx)
        return orch.dag.unlink(args.get("child_id"), args.get("parent_id"))

    @tool("task_deps", "Return one-hop upstream (what it depends on) and downstream (what depends on it) "
          "neighbours of a task. Pass id or cwd.", _schema({**CALLER}))
    async def task_deps(args: dict[str, Any], ctx: ToolContext) -> Any:
        return orch.dag.deps(resolve(svc, args, ctx, act=False)["id"])

    @tool("task_halt_downstream", "Cascade stop/archive through every transitive descendant of a task (after "
          "a milestone fails, so the rest of the stack doesn't waste effort). The seed is untouched. Pass id "
          "or cwd.", _schema({**CALLER}))
    async def task_halt_downstream(args: dict[str, Any], ctx: ToolContext) -> Any:
        return await orch.dag.halt_downstream(resolve(svc, args, ctx)["id"])

    # -- messages --------------------------------------------------------------------------

    @tool("task_message_send", "Send a peer-to-peer message to another task. Params: to (task id), body "
          "(≤ 64 KiB), optional kind (note / question / answer), optional in_reply_to (message id). Caller "
          "resolved via cwd or id. Recipient inbox capped at 500 unread; sender limited to 50/min.",
          _schema({**CALLER, "to": {"type": "string"}, "body": {"type": "string"},
                   "kind": {"type": "string", "enum": ["note", "question", "answer"]},
                   "in_reply_to": {"type": "integer"}}, ["to", "body"]))
    async def task_message_send(args: dict[str, Any], ctx: ToolContext) -> Any:
        sender = resolve(svc, args, ctx)
        return {"message": orch.mail.send(sender, args.get("to"), args.get("body"), args.get("kind"),
                                          args.get("in_reply_to"))}

    @tool("task_inbox", "Read messages addressed to the caller, oldest first. Filters: unread_only (default "
          "true), sender (task id), since (RFC3339), limit (default 50, max 500). Does NOT mark anything "
          "read: use task_message_ack.",
          _schema({**CALLER, "unread_only": {"type": "boolean"}, "sender": {"type": "string"},
                   "since": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 500}}))
    async def task_inbox(args: dict[str, Any], ctx: ToolContext) -> Any:
        return orch.mail.inbox(resolve(svc, args, ctx), unread_only=args.get("unread_only", True),
                               sender=args.get("sender"), since=args.get("since"), limit=args.get("limit"))

    @tool("task_message_ack", "Mark messages read. Pass message_ids (up to 500). Ids not addressed to the "
          "caller are silently ignored.",
          _schema({**CALLER, "message_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 500}},
                  ["message_ids"]))
    async def task_message_ack(args: dict[str, Any], ctx: ToolContext) -> Any:
        return orch.mail.ack(resolve(svc, args, ctx), args.get("message_ids"))

    @tool("task_ask", "Send a question to another task and optionally wait for the reply. Params: to, body, "
          "optional timeout_seconds (default 0 = return immediately; max 120). The reply is any message "
          "sent with in_reply_to = the question's id; for longer waits poll task_inbox.",
          _schema({**CALLER, "to": {"type": "string"}, "body": {"type": "string"},
                   "timeout_seconds": {"type": "number", "minimum": 0, "maximum": 120}}, ["to", "body"]))
    async def task_ask(args: dict[str, Any], ctx: ToolContext) -> Any:
        return await orch.mail.ask(resolve(svc, args, ctx), args.get("to"), args.get("body"),
                                   args.get("timeout_seconds", 0))

    # -- clipboard and artifacts -----------------------------------------------------------

    @tool("argus_clipboard_set", "Stage text for the user to copy with one tap (PWA Copy button) or one "
          "keypress (TUI ctrl+y). Params: text (required), id or cwd. Last write wins, 5-minute TTL, 1 MiB max.",
          _schema({**CALLER, "text": {"type": "string"}}, ["text"]))
    async def argus_clipboard_set(args: dict[str, Any], ctx: ToolContext) -> Any:
        caller = resolve_optional(svc, args, ctx)
        return orch.clipboard.set(args.get("text"), caller["id"] if caller else None)

    @tool("artifact_register", "Register a file you produced (HTML report, PDF, markdown, image, or text) so it "
          "renders in Argus Web. Params: path (required; inside your worktree, absolute or relative to it), "
          "title, type (html/pdf/markdown/image/text; inferred from the extension), id or cwd. Self-contained "
          "files render best; 25 MiB max.",
          _schema({**CALLER, "path": {"type": "string"}, "title": {"type": "string"},
                   "type": {"type": "string"}}, ["path"]))
    async def artifact_register(args: dict[str, Any], ctx: ToolContext) -> Any:
        task = resolve(svc, args, ctx)
        return {"task_id": task["id"],
                "artifact": orch.artifacts.register(task, args.get("path"), args.get("title"), args.get("type"))}
