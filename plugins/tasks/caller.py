"""Who is calling: a task named by ``id``, or found from the agent's ``cwd``.

Agents identify themselves by their working directory (their ``pwd``), so they never have to track
ids. ``cwd`` resolves to the task whose worktree is the longest path prefix of it, compared whole
component by component (``/wt/app`` does not own ``/wt/app-2``). When two tasks share that worktree,
a non-archived one wins, then an ``in_progress`` one; anything still tied is an ambiguity error.

Over MCP, an agent holding its task's token (``Principal`` kind ``task``) is that task: without
``id``/``cwd`` it resolves to itself, and the tools that act on a task (stop, resume, rename,
message as, ...) refuse a task it does not own. It owns itself and the tasks it created, directly
or through them (``meta.created_by``, or the ``parent_id`` a plugin gave it). Reading (list, get,
deps) and sending a message *to* any task stay open, as the reference manual's tools intend.
Master, device and scope tokens act on any task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Conflict, Forbidden, Invalid, NotFound, Principal, ToolContext

if TYPE_CHECKING:  # pragma: no cover
    from .service import TaskService


def _norm(path: str) -> str:
    return os.path.normpath(path)


def _variants(path: str) -> set[str]:
    """The path as written and with symlinks resolved (``/tmp`` vs ``/private/tmp``)."""
    out = {_norm(path)}
    try:
        out.add(os.path.realpath(path))
    except OSError:
        pass
    return out


def _contains(root: str, path: str) -> bool:
    """Whether ``path`` is ``root`` or below it (separator-guarded)."""
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)


def match_cwd(rows: Iterable[dict[str, Any]], cwd: str) -> dict[str, Any]:
    """The task row owning ``cwd`` (see the module docstring), NotFound or Conflict."""
    if not os.path.isabs(cwd) or "\x00" in cwd:
        raise Invalid(f"cwd must be an absolute path (got {cwd!r}); pass the output of pwd")
    wanted = _variants(cwd)
    best_len = -1
    best: list[dict[str, Any]] = []
    for row in rows:
        root = row.get("worktree_path") or ""
        if not root:
            continue
        length = -1
        for r in _variants(root):
            if any(_contains(r, w) for w in wanted):
                length = max(length, len(r))
        if length < 0:
            continue
        if length > best_len:
            best_len, best = length, [row]
        elif length == best_len:
            best.append(row)
    if not best:
        raise NotFound(f"no task owns the directory {cwd}: run this from inside a task's worktree, or pass id")
    if len(best) > 1:
        live = [r for r in best if not r.get("archived")]
        best = live or best
    if len(best) > 1:
        running = [r for r in best if r.get("status") == "in_progress"]
        best = running or best
    if len(best) > 1:
        ids = ", ".join(f"{r['id']} ({r.get('name', '')})" for r in best)
        raise Conflict(f"the directory {cwd} belongs to several tasks ({ids}); pass id instead")
    return best[0]


def task_principal(ctx: ToolContext | None) -> str | None:
    """The task id a tool call acts as (a task token), or None for master/device/scope callers."""
    principal: Principal | None = getattr(ctx, "principal", None)
    if principal is not None and principal.kind == "task":
        return principal.task_id
    return None


def owns(svc: TaskService, owner_id: str, row: dict[str, Any]) -> bool:
    """Whether ``row`` is task ``owner_id`` or was created by it, directly or through its children."""
    seen: set[str] = set()
    current: dict[str, Any] | None = row
    while current is not None and current["id"] not in seen:
        if current["id"] == owner_id:
            return True
        seen.add(current["id"])
        try:
            parent = json.loads(current.get("meta") or "{}").get("created_by")
        except (ValueError, AttributeError):
            parent = None
        parent = parent or current.get("parent_id")  # tasks created through the facade (Hera workers)
        current = svc.store.task(parent) if isinstance(parent, str) else None
    return False


def require_owned(svc: TaskService, ctx: ToolContext | None, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` if the caller may act on it (Forbidden for a task token on a task it does not own)."""
    owner = task_principal(ctx)
    if owner is not None and not owns(svc, owner, row):
        raise Forbidden(f"task {row['id']} is not yours: a task's token acts only on its own task and the "
                        f"tasks it created")
    return row


def resolve(svc: TaskService, args: dict[str, Any], ctx: ToolContext | None = None, *, id_key: str = "id",
            act: bool = True) -> dict[str, Any]:
    """The calling task's row from ``args[id_key]`` or ``args["cwd"]`` (Invalid when neither, unless
    the caller holds a task token: then its own task). With ``act``, a task token must own it."""
    task_id = args.get(id_key)
    cwd = args.get("cwd")
    if task_id not in (None, ""):
        if not isinstance(task_id, str):
            raise Invalid(f"{id_key} must be a string")
        row = svc.get(task_id)
    elif cwd not in (None, ""):
        if not isinstance(cwd, str):
            raise Invalid("cwd must be a string")
        row = match_cwd(svc.store.tasks(archived="all"), cwd)
    elif (own := task_principal(ctx)) is not None:
        row = svc.get(own)
    else:
        raise Invalid(f"pass {id_key} or cwd (your working directory, from pwd) to say which task")
    return require_owned(svc, ctx, row) if act else row


def resolve_optional(svc: TaskService, args: dict[str, Any], ctx: ToolContext | None = None, *,
                     id_key: str = "id") -> dict[str, Any] | None:
    """Like :func:`resolve`, but None when neither ``id_key`` nor ``cwd`` is given (and the caller
    holds no task token)."""
    if args.get(id_key) in (None, "") and args.get("cwd") in (None, "") and task_principal(ctx) is None:
        return None
    return resolve(svc, args, ctx, id_key=id_key)
