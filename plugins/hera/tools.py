"""The nine ``hera_*`` MCP tools (served only while ``[hera] enabled``).

Every tool identifies its caller by ``cwd`` (the agent's working directory, from ``pwd``) or
``token`` (its task token), as the task tools do; the caller's *binding* is the role bound to that
task. Failures are tool errors with the reason (no binding, unknown role, wrong orchestrator, ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from argus.kernel.api import Kernel, ModelToolHandler, ToolContext
from pydantic import BaseModel

from . import wire as w
from .models import LIST_MAX
from .service import AS_TASK, Hera

Handler = Callable[[dict[str, Any], ToolContext], Awaitable[dict[str, Any]]]
SCOPE = "hera"


def tool_specs(hera: Hera) -> list[tuple[str, str, type[BaseModel], Handler]]:
    """``(name, description, argument model, handler)`` of every hera tool (handlers take a dict)."""

    async def new_orchestrator(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.new_orchestrator(args)

    async def join(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.join(args)

    async def spawn_worker(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return await hera.spawn_worker(args)

    async def send(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.send(args)

    async def inbox(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.inbox(args)

    async def mark_read(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.mark_read(args)

    async def status(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.status_tool(args)

    async def tree_updates(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.tree_updates(args)

    async def get_messages(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return hera.get_messages(args)

    return [
        ("hera_new_orchestrator",
         "Bootstrap a new orchestrator and claim its coordinator role for the calling task. Params: name "
         "(optional; defaults to your task's name), role_name (optional; default 'coordinator').",
         w.NewOrchestratorArgs, new_orchestrator),
        ("hera_join",
         "Claim the calling task's existing role + unread count, or (with role_name + kind) attach a new "
         "worker/freelance role for the calling task under an orchestrator (its id or name).",
         w.JoinArgs, join),
        ("hera_spawn_worker",
         "Spawn a born-bound worker task + session under the caller's orchestrator (caller must hold a live "
         "coordinator binding). Params: name (the worker's role name), prompt, optional model (pick by task "
         "complexity; backend-scoped; empty = backend default), depends_on (role names: the worker stays "
         "pending until they all report done), project and backend (default: yours).",
         w.SpawnWorkerArgs, spawn_worker),
        ("hera_send",
         "Send a role-addressed message: to (a role name in your orchestrator), subject (one TLDR line; "
         "default: the body's first line), body (≤ 64 KiB). Workers/freelancers default to the coordinator "
         "when to is omitted; coordinators must name a recipient. Inbox capped at 500 unread; 50/min per sender.",
         w.SendArgs, send),
        ("hera_inbox",
         "Fetch your role's unread messages (oldest first), cancel their pending pane deliveries, and mark "
         f"them read. Optional limit (default 50, max {LIST_MAX}).",
         w.LimitArgs, inbox),
        ("hera_mark_read",
         "Mark a specific list of message ids read and cancel their pending deliveries (ids not addressed to "
         "you are ignored).",
         w.IdsArgs, mark_read),
        ("hera_status",
         "Set your role's status (idle/working/blocked/done), mirrored into your task; a worker reporting done "
         "rolls its task to in_review.",
         w.StatusArgs, status),
        ("hera_tree_updates",
         "Scan your orchestrator's messages since your per-role cursor; returns TLDR subject lines only and "
         f"auto-advances the cursor. Optional limit (default 100, max {LIST_MAX}); more=true means call again.",
         w.LimitArgs, tree_updates),
        ("hera_get_messages",
         "Fetch full message bodies by id (after hera_tree_updates), scoped to your orchestrator.",
         w.IdsArgs, get_messages),
    ]


TOOL_NAMES = ("hera_new_orchestrator", "hera_join", "hera_spawn_worker", "hera_send", "hera_inbox",
              "hera_mark_read", "hera_status", "hera_tree_updates", "hera_get_messages")


def _from_model(handler: Handler) -> ModelToolHandler:
    """The registry hands a validated model; hera's service takes the given arguments as a dict,
    plus ``AS_TASK`` when the caller holds a task's token (it then *is* that task)."""
    async def call(args: BaseModel, ctx: ToolContext) -> dict[str, Any]:
        given = args.model_dump(exclude_none=True)
        principal = ctx.principal
        if principal.kind == "task" and principal.task_id:
            given[AS_TASK] = principal.task_id
        return await handler(given, ctx)
    return call


def register(kernel: Kernel, hera: Hera) -> None:
    """Serve the tools under scope ``hera`` (idempotent), each declared with its argument model."""
    for name, description, model, handler in tool_specs(hera):
        kernel.registry.add_tool(SCOPE, name, description, None, _from_model(handler), input_model=model)


def unregister(kernel: Kernel) -> None:
    """Stop serving hera's in-process tools (an external plugin's tools are left alone)."""
    for name in [n for n, t in kernel.registry.tools.items() if t.scope == SCOPE and not t.external]:
        kernel.registry.remove_tool(name)
