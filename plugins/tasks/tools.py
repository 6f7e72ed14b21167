"""The MCP tools of the tasks plugin (scope ``tasks``): tasks, the DAG, messages, clipboard, artifacts.

Names, parameters and limits are the reference manual's. Tools acting on "the caller" take ``id``
or ``cwd`` (the agent's working directory, resolved to the task owning it; see ``caller.py``).
Every handler returns a JSON object; failures raise ``argus.kernel.errors`` types, which the MCP
layer turns into tool results with ``is_error`` so the agent can read and correct them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from argus.kernel.api import Kernel, ToolContext
from pydantic import BaseModel

from . import models as m
from .caller import require_owned, resolve, resolve_optional, task_principal
from .orch import Orchestration

SCOPE = "tasks"


def register(kernel: Kernel, orch: Orchestration) -> None:
    """Register every tool with ``kernel.registry`` under scope ``tasks``.

    Each tool declares its arguments as a model of ``models.py``: the registry serves the JSON
    Schema generated from it, validates every call against it and hands the handler the model.
    """
    svc = orch.svc
    Handler = Callable[[Any, ToolContext], Awaitable[Any]]

    def tool(name: str, description: str, model: type[BaseModel]) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            kernel.registry.add_tool(SCOPE, name, description, None, fn, input_model=model)
            return fn
        return deco

    def out(row: dict[str, Any]) -> dict[str, Any]:
        return {"task": svc.to_json(row)}

    def _own_child(child: Any, ctx: ToolContext) -> None:
        """A task token may change only the dependencies of a task it owns."""
        if task_principal(ctx) is not None and isinstance(child, str) and child:
            require_owned(svc, ctx, svc.get(child))

    # -- tasks -----------------------------------------------------------------------------

    @tool("task_create",
          "Create a task with its own git worktree and start an agent in it. Params: name, prompt, project, "
          "model (optional --model override), backend. Orchestration: base_branch, depends_on (task ids: the "
          "task stays pending and starts by itself when all of them complete), plan_slug, upsert (return the "
          "existing task with the same name in the project instead of creating another). Pass cwd to default "
          "project to your own task's project. At most 5 creations in flight. Plugins may add options "
          "(e.g. kb_context: attach the knowledge base's notes that match the prompt).",
          svc.options.extend(m.TaskCreateArgs))
    async def task_create(args: m.TaskCreateArgs, ctx: ToolContext) -> dict[str, Any]:
        caller = resolve_optional(svc, args.who(), ctx)
        return await orch.create_task(args.model_dump(exclude_none=True, exclude={"id", "cwd"}), caller)

    @tool("task_list", "List tasks, filtered by status and/or project (and plan_slug). Archived tasks are "
          "hidden unless archived is true (or \"all\"). Task objects include plan_slug and parent_ids.",
          m.TaskListArgs)
    async def task_list(args: m.TaskListArgs, ctx: ToolContext) -> dict[str, Any]:
        status = args.status
        flag = "all" if args.archived == "all" else ("1" if args.archived is True else "0")
        rows = svc.store.tasks(status=None if status == "idle" else status, project=args.project or None,
                               archived=flag)
        tasks = [svc.to_json(r) for r in rows]
        if status == "idle":
            tasks = [t for t in tasks if t["idle"]]
        if args.plan_slug:
            tasks = [t for t in tasks if t["plan_slug"] == args.plan_slug]
        return {"tasks": tasks}

    @tool("task_get", "Get task details by id (or cwd), with its one-hop dependencies.", m.Caller)
    async def task_get(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        row = resolve(svc, args.who(), ctx, act=False)
        deps = orch.dag.deps(row["id"])
        return {"task": svc.to_json(row), "upstream": [t["id"] for t in deps["upstream"]],
                "downstream": [t["id"] for t in deps["downstream"]]}

    @tool("task_stop", "Stop a running agent (the task moves to in_review). Pass id or cwd.", m.Caller)
    async def task_stop(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        return out(await svc.stop(resolve(svc, args.who(), ctx)["id"]))

    @tool("task_resume", "Resume a stopped agent in its worktree (in_review → in_progress), continuing its "
          "conversation. Pass id or cwd.", m.Caller)
    async def task_resume(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        return out(await svc.resume(resolve(svc, args.who(), ctx)["id"]))

    @tool("task_limit_cancel", "Cancel the resume Argus planned for a task whose agent hit its usage limit "
          "(status limit): the continue message will not be typed. Pass id or cwd.", m.Caller)
    async def task_limit_cancel(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        return out(svc.limits.cancel(resolve(svc, args.who(), ctx)["id"]))

    @tool("task_archive", "Archive or unarchive a task. Pass cwd (from the agent's pwd) to resolve by worktree, "
          "or id. Omit archived to toggle.", m.ArchiveArgs)
    async def task_archive(args: m.ArchiveArgs, ctx: ToolContext) -> dict[str, Any]:
        return out(svc.set_archived(resolve(svc, args.who(), ctx)["id"], args.archived))

    @tool("task_rename", "Rename a task. Updates only the display name (branch and worktree paths stay locked "
          "to the original slug). Pass cwd or id plus name.", m.RenameArgs)
    async def task_rename(args: m.RenameArgs, ctx: ToolContext) -> dict[str, Any]:
        return out(svc.rename(resolve(svc, args.who(), ctx)["id"], args.name))

    @tool("task_merge", "Merge flow of a task's branch. action=preview (default): commits ahead/behind its base "
          "branch and the files a merge would conflict on; rebase: rebase onto the base; merge: merge into the "
          "base (fast-forward or a merge commit; refused when the base worktree is dirty or it would conflict); "
          "pr: push the branch and open a pull request with gh (title, body, remote). Pass cwd or id.",
          m.MergeArgs)
    async def task_merge(args: m.MergeArgs, ctx: ToolContext) -> dict[str, Any]:
        task_id = resolve(svc, args.who(), ctx)["id"]
        if args.action == "preview":
            return await svc.merge_preview(task_id)
        return await svc.merge_action(task_id, args.action, title=args.title, body=args.body, remote=args.remote)

    @tool("task_complete", "Mark a task as complete (sets status, stamps ended_at; tasks depending on it may "
          "start). Pass cwd or id. Does NOT stop a running agent — call task_stop first if needed.", m.Caller)
    async def task_complete(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        return out(svc.set_status(resolve(svc, args.who(), ctx)["id"], "complete"))

    @tool("task_fork", "Fork a task: a new task and worktree whose .context/ holds the source's prompt, recent "
          "output and git diff. Pass id or cwd of the source, optional name, prompt, project.", m.ForkArgs)
    async def task_fork(args: m.ForkArgs, ctx: ToolContext) -> dict[str, Any]:
        src = resolve(svc, args.who(), ctx, act=False)  # forking reads the source; the fork is the caller's
        row = await orch.fork(src["id"], name=args.name, prompt=args.prompt, project=args.project,
                              created_by=task_principal(ctx))
        return {"task": svc.to_json(row), "source_id": src["id"]}

    @tool("task_set_plan_slug", "Stamp the orchestrator grouping label. Opaque to the daemon; tasks sharing "
          "the same slug render as one stack in the DAG view. Pass id or cwd plus plan_slug.", m.PlanSlugArgs)
    async def task_set_plan_slug(args: m.PlanSlugArgs, ctx: ToolContext) -> dict[str, Any]:
        return out(orch.set_plan_slug(resolve(svc, args.who(), ctx)["id"], args.plan_slug))

    @tool("task_set_result", "Persist an opaque JSON result blob the orchestrator can read (PR URL, milestone, "
          "failure reason). Pass cwd or id plus result. Up to 64 KiB.", m.ResultArgs)
    async def task_set_result(args: m.ResultArgs, ctx: ToolContext) -> dict[str, Any]:
        return out(orch.set_result(resolve(svc, args.who(), ctx)["id"], args.result))

    # -- the DAG ---------------------------------------------------------------------------

    @tool("task_link", "Add a dependency edge: child_id depends on parent_id. Cycle attempts fail with the "
          "offending path (A → B → A).", m.EdgeArgs)
    async def task_link(args: m.EdgeArgs, ctx: ToolContext) -> dict[str, Any]:
        _own_child(args.child_id, ctx)
        return orch.dag.link(args.child_id, args.parent_id)

    @tool("task_unlink", "Remove a dependency edge. Params: child_id, parent_id. No-op when the edge does not "
          "exist.", m.EdgeArgs)
    async def task_unlink(args: m.EdgeArgs, ctx: ToolContext) -> dict[str, Any]:
        _own_child(args.child_id, ctx)
        return orch.dag.unlink(args.child_id, args.parent_id)

    @tool("task_deps", "Return one-hop upstream (what it depends on) and downstream (what depends on it) "
          "neighbours of a task. Pass id or cwd.", m.Caller)
    async def task_deps(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        return orch.dag.deps(resolve(svc, args.who(), ctx, act=False)["id"])

    @tool("task_halt_downstream", "Cascade stop/archive through every transitive descendant of a task (after "
          "a milestone fails, so the rest of the stack doesn't waste effort). The seed is untouched. Pass id "
          "or cwd.", m.Caller)
    async def task_halt_downstream(args: m.Caller, ctx: ToolContext) -> dict[str, Any]:
        return await orch.dag.halt_downstream(resolve(svc, args.who(), ctx)["id"])

    # -- messages --------------------------------------------------------------------------

    @tool("task_message_send", "Send a peer-to-peer message to another task. Params: to (task id), body "
          "(≤ 64 KiB), optional kind (note / question / answer), optional in_reply_to (message id). Caller "
          "resolved via cwd or id. Recipient inbox capped at 500 unread; sender limited to 50/min.",
          m.MessageSendArgs)
    async def task_message_send(args: m.MessageSendArgs, ctx: ToolContext) -> dict[str, Any]:
        sender = resolve(svc, args.who(), ctx)
        return {"message": orch.mail.send(sender, args.to, args.body, args.kind, args.in_reply_to)}

    @tool("task_review", "Review a task's changes in place: add comments (path relative to its worktree, line, "
          "optional end_line, body, optional quote: default the current lines of the file) to its draft review "
          "and, unless send is false, send the draft as one message typed into its agent when it is idle "
          "(queued until then; recorded in the task's review history). Pass the reviewed task's id.",
          m.TaskReviewArgs)
    async def task_review(args: m.TaskReviewArgs, ctx: ToolContext) -> dict[str, Any]:
        row = resolve(svc, args.who(), ctx)
        added = [orch.reviews.add(row["id"], c.path, c.line, c.end_line, c.body, c.quote) for c in args.comments]
        if not args.send:
            return {"comments": added, "drafts": orch.reviews.drafts(row["id"])}
        return {"review": orch.reviews.send(row["id"], args.summary)}

    @tool("task_inbox", "Read messages addressed to the caller, oldest first. Filters: unread_only (default "
          "true), sender (task id), since (RFC3339), limit (default 50, max 500). Does NOT mark anything "
          "read: use task_message_ack.", m.InboxArgs)
    async def task_inbox(args: m.InboxArgs, ctx: ToolContext) -> dict[str, Any]:
        return orch.mail.inbox(resolve(svc, args.who(), ctx), unread_only=args.unread_only, sender=args.sender,
                               since=args.since, limit=args.limit)

    @tool("task_message_ack", "Mark messages read. Pass message_ids (up to 500). Ids not addressed to the "
          "caller are silently ignored.", m.AckArgs)
    async def task_message_ack(args: m.AckArgs, ctx: ToolContext) -> dict[str, Any]:
        return orch.mail.ack(resolve(svc, args.who(), ctx), args.message_ids)

    @tool("task_ask", "Send a question to another task and optionally wait for the reply. Params: to, body, "
          "optional timeout_seconds (default 0 = return immediately; max 120). The reply is any message "
          "sent with in_reply_to = the question's id; for longer waits poll task_inbox.", m.AskArgs)
    async def task_ask(args: m.AskArgs, ctx: ToolContext) -> dict[str, Any]:
        return await orch.mail.ask(resolve(svc, args.who(), ctx), args.to, args.body, args.timeout_seconds)

    # -- clipboard and artifacts -----------------------------------------------------------

    @tool("argus_clipboard_set", "Stage text for the user to copy with one tap (PWA Copy button) or one "
          "keypress (TUI ctrl+y). Params: text (required), id or cwd. Last write wins, 5-minute TTL, 1 MiB max.",
          m.ClipboardArgs)
    async def argus_clipboard_set(args: m.ClipboardArgs, ctx: ToolContext) -> dict[str, Any]:
        caller = resolve_optional(svc, args.who(), ctx)
        return orch.clipboard.set(args.text, caller["id"] if caller else None)

    @tool("artifact_register", "Register a file you produced (HTML report, PDF, markdown, image, or text) so it "
          "renders in Argus Web. Params: path (required; inside your worktree, absolute or relative to it), "
          "title, type (html/pdf/markdown/image/text; inferred from the extension), id or cwd. Self-contained "
          "files render best; 25 MiB max.", m.ArtifactArgs)
    async def artifact_register(args: m.ArtifactArgs, ctx: ToolContext) -> dict[str, Any]:
        task = resolve(svc, args.who(), ctx)
        return {"task_id": task["id"],
                "artifact": orch.artifacts.register(task, args.path, args.title, args.type)}
