"""Forking a task: a new task whose ``.context/`` carries the source's prompt, output and diff.

The new task gets its own worktree and branch (from the source's base branch, or the chosen
project's), and three context files the agent is pointed at: ``fork-source.md`` (who it was
forked from and the original prompt), ``fork-output.txt`` (the source's recent terminal output,
ANSI-stripped) and ``fork-diff.patch`` (the source worktree's changes against its base).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from argus.kernel.api import ArgusError, Invalid, strip_ansi

from . import worktrees

if TYPE_CHECKING:  # pragma: no cover
    from .service import TaskService

log = logging.getLogger(__name__)

OUTPUT_BYTES = 256 * 1024
OUTPUT_CHARS = 64 * 1024
DIFF_CHARS = 2 * 1024 * 1024


def _trim_tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return "[… earlier output trimmed …]\n" + text[-limit:]


async def fork(svc: TaskService, source_id: str, *, name: Any = None, prompt: Any = None,
               project: Any = None, created_by: str | None = None) -> dict[str, Any]:
    """Create the fork of ``source_id`` and start it; returns the new task row."""
    src = svc.get(source_id)
    for key, value in (("name", name), ("prompt", prompt), ("project", project)):
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{key} must be a string")
    target_project = (project or "").strip() or src["project"]
    same_project = target_project == src["project"]
    raw = await svc.output(source_id, OUTPUT_BYTES)
    output = _trim_tail(strip_ansi(raw.decode("utf-8", "replace")).strip("\n"), OUTPUT_CHARS)
    diff = ""
    try:
        result = await worktrees.git_diff(src["worktree_path"], src["base_branch"], None)
        diff = str(result.get("diff") or "")
        if result.get("truncated"):
            diff += "\n# [diff truncated]\n"
    except ArgusError as exc:
        diff = f"# no diff available: {exc.message}\n"
    if len(diff) > DIFF_CHARS:
        diff = diff[:DIFF_CHARS] + "\n# [diff truncated]\n"
    source_md = (
        f"# Forked from {src['name']} ({src['id']})\n\n"
        f"- project: {src['project']}\n- branch: {src['branch']} (base {src['base_branch']})\n"
        f"- worktree: {src['worktree_path']}\n- status: {src['status']}\n"
        f"- backend: {src['backend']}{' / ' + src['model'] if src['model'] else ''}\n\n"
        f"## Original prompt\n\n{src['prompt']}\n"
    )
    files = {
        "fork-source.md": source_md.encode(),
        "fork-output.txt": (output + "\n").encode(),
        "fork-diff.patch": diff.encode(),
    }
    if isinstance(prompt, str) and prompt.strip():
        new_prompt = prompt.strip()
    else:
        new_prompt = (f"You are continuing the work of task {src['name']!r}. Its original prompt, its recent "
                      f"terminal output and its changes (a git diff) are in .context/. Pick up where it "
                      f"left off.\n\nOriginal prompt:\n{src['prompt']}")
    new_name = (name or "").strip() or f"{src['name']} (fork)"
    row = await svc.create(name=new_name, prompt=new_prompt, project=target_project,
                           backend=src["backend"] if same_project else None, model=src["model"] or None,
                           base_branch=src["base_branch"] if same_project else None,
                           plan_slug=src["plan_slug"] or "",
                           meta={"forked_from": src["id"], **({"created_by": created_by} if created_by else {})},
                           context_files=files)
    svc.publish("task.forked", {"id": row["id"], "source_id": src["id"]})
    return row
