"""Who is calling: a task named by ``id``, or found from the agent's ``cwd``.

Agents identify themselves by their working directory (their ``pwd``), so they never have to track
ids. ``cwd`` resolves to the task whose worktree is the longest path prefix of it, compared whole
component by component (``/wt/app`` does not own ``/wt/app-2``). When two tasks share that worktree,
a non-archived one wins, then an ``in_progress`` one; anything still tied is an ambiguity error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from argus.kernel.api import Conflict, Invalid, NotFound


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


def resolve(svc: Any, args: dict[str, Any], *, id_key: str = "id") -> dict[str, Any]:
    """The calling task's row from ``args[id_key]`` or ``args["cwd"]`` (Invalid when neither)."""
    task_id = args.get(id_key)
    if task_id not in (None, ""):
        if not isinstance(task_id, str):
            raise Invalid(f"{id_key} must be a string")
        return svc.get(task_id)
    cwd = args.get("cwd")
    if cwd not in (None, ""):
        if not isinstance(cwd, str):
            raise Invalid("cwd must be a string")
        return match_cwd(svc.store.tasks(archived="all"), cwd)
    raise Invalid(f"pass {id_key} or cwd (your working directory, from pwd) to say which task")


def resolve_optional(svc: Any, args: dict[str, Any], *, id_key: str = "id") -> dict[str, Any] | None:
    """Like :func:`resolve`, but None when neither ``id_key`` nor ``cwd`` is given."""
    if args.get(id_key) in (None, "") and args.get("cwd") in (None, ""):
        return None
    return resolve(svc, args, id_key=id_key)
