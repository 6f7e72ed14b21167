"""The nine ``hera_*`` MCP tools (served only while ``[hera] enabled``).

Every tool identifies its caller by ``cwd`` (the agent's working directory, from ``pwd``) or
``token`` (its task token), as the task tools do; the caller's *binding* is the role bound to that
task. Failures are tool errors with the reason (no binding, unknown role, wrong orchestrator, ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .models import JOIN_KINDS, LIST_MAX, MAX_IDS, STATUSES
from .service import Hera

CALLER = {
    "cwd": {"type": "string", "description": "Your working directory (output of pwd); resolves to your task."},
    "token": {"type": "string", "description": "Your task token (alternative to cwd)."},
}
IDS = {"type": "array", "items": {"type": "integer"}, "maxItems": MAX_IDS}


def _schema(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": {**CALLER, **props}}
    if required:
        out["required"] = required
    return out


Handler = Callable[[dict[str, Any], Any], Awaitable[Any]]
SCOPE = "hera"


def tool_specs(hera: Hera) -> list[tuple[str, str, dict[str, Any], Handler]]:
    """``(name, description, input schema, handler)`` of every hera tool."""

    async def new_orchestrator(args: dict[str, Any], ctx: Any) -> Any:
        return hera.new_orchestrator(args)

    async def join(args: dict[str, Any], ctx: Any) -> Any:
        return hera.join(args)

    async def spawn_worker(args: dict[str, Any], ctx: Any) -> Any:
        return await hera.spawn_worker(args)

    async def send(args: dict[str, Any], ctx: Any) -> Any:
        return hera.send(args)

    async def inbox(args: dict[str, Any], ctx: Any) -> Any:
        return hera.inbox(args)

    async def mark_read(args: dict[str, Any], ctx: Any) -> Any:
        return hera.mark_read(args)

    async def status(args: dict[str, Any], ctx: Any) -> Any:
        return hera.status_tool(args)

    async def tree_updates(args: dict[str, Any], ctx: Any) -> Any:
        return hera.tree_updates(args)

    async def get_messages(args: dict[str, Any], ctx: Any) -> Any:
        return hera.get_messages(args)

    name = {"type": "string", "description": "A role name: letters, digits, _ . - (unique in the orchestrator)"}
    return [
        ("hera_new_orchestrator",
         "Bootstrap a new orchestrator and claim its coordinator role for the calling task. Params: name "
         "(optional; defaults to your task's name), role_name (optional; default 'coordinator').",
         _schema({"name": {"type": "string"}, "role_name": name}), new_orchestrator),
        ("hera_join",
         "Claim the calling task's existing role + unread count, or (with role_name + kind) attach a new "
         "worker/freelance role for the calling task under an orchestrator (its id or name).",
         _schema({"role_name": name, "kind": {"type": "string", "enum": list(JOIN_KINDS)},
                  "orchestrator": {"type": "string"}}), join),
        ("hera_spawn_worker",
         "Spawn a born-bound worker task + session under the caller's orchestrator (caller must hold a live "
         "coordinator binding). Params: name (the worker's role name), prompt, optional model (pick by task "
         "complexity; backend-scoped; empty = backend default), depends_on (role names: the worker stays "
         "pending until they all report done), project and backend (default: yours).",
         _schema({"name": name, "prompt": {"type": "string"}, "model": {"type": "string"},
                  "depends_on": {"type": "array", "items": {"type": "string"}},
                  "project": {"type": "string"}, "backend": {"type": "string"}}, ["name", "prompt"]),
         spawn_worker),
        ("hera_send",
         "Send a role-addressed message: to (a role name in your orchestrator), subject (one TLDR line; "
         "default: the body's first line), body (≤ 64 KiB). Workers/freelancers default to the coordinator "
         "when to is omitted; coordinators must name a recipient. Inbox capped at 500 unread; 50/min per sender.",
         _schema({"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}}, ["body"]),
         send),
        ("hera_inbox",
         "Fetch your role's unread messages (oldest first), cancel their pending pane deliveries, and mark "
         f"them read. Optional limit (default 50, max {LIST_MAX}).",
         _schema({"limit": {"type": "integer", "minimum": 1, "maximum": LIST_MAX}}), inbox),
        ("hera_mark_read",
         "Mark a specific list of message ids read and cancel their pending deliveries (ids not addressed to "
         "you are ignored).",
         _schema({"message_ids": IDS}, ["message_ids"]), mark_read),
        ("hera_status",
         "Set your role's status (idle/working/blocked/done), mirrored into your task; a worker reporting done "
         "rolls its task to in_review.",
         _schema({"status": {"type": "string", "enum": list(STATUSES)}}, ["status"]), status),
        ("hera_tree_updates",
         "Scan your orchestrator's messages since your per-role cursor; returns TLDR subject lines only and "
         f"auto-advances the cursor. Optional limit (default 100, max {LIST_MAX}); more=true means call again.",
         _schema({"limit": {"type": "integer", "minimum": 1, "maximum": LIST_MAX}}), tree_updates),
        ("hera_get_messages",
         "Fetch full message bodies by id (after hera_tree_updates), scoped to your orchestrator.",
         _schema({"message_ids": IDS}, ["message_ids"]), get_messages),
    ]


TOOL_NAMES = ("hera_new_orchestrator", "hera_join", "hera_spawn_worker", "hera_send", "hera_inbox",
              "hera_mark_read", "hera_status", "hera_tree_updates", "hera_get_messages")


def register(kernel: Any, hera: Hera) -> None:
    """Serve the tools under scope ``hera`` (idempotent)."""
    for name, description, schema, handler in tool_specs(hera):
        kernel.registry.add_tool(SCOPE, name, description, schema, handler)


def unregister(kernel: Any) -> None:
    """Stop serving hera's in-process tools (an external plugin's tools are left alone)."""
    for name in [n for n, t in kernel.registry.tools.items() if t.scope == SCOPE and not t.external]:
        kernel.registry.remove_tool(name)
