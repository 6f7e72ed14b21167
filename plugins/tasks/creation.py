"""Task creation, as a transaction: each step registers its undo, and a failure at any step undoes
everything done so far (no stray worktree, branch, row, file or process).

Steps: row → worktree and branch → ``.worktreeinclude`` copies → plugins' contributions
(``argus_task_prepare``: prompt text, ``.context/`` files) and uploaded context files → plugin hooks
(``argus_worktree_created``, ``argus_task_created``) → the agent (unless a launch gate holds the
task ``pending``). ``ARGUS_FAULT_INJECT=<step>`` makes a step fail, for tests.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Invalid, fault_point

from . import worktrees
from .backends import Backends
from .coordination import TaskLocks
from .launch import require_executable
from .launcher import Launcher
from .options import TaskOptions
from .projects import Projects
from .slug import check_name, slug_from_prompt, slugify, unique_slug
from .store import Store
from .undo import UndoStack
from .uploads import check_uploads, prompt_with_files, save_uploads
from .view import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from argus.kernel.api import TokenService
    from pluggy import HookRelay

FAULT_ENV = "ARGUS_FAULT_INJECT"  # test-only: name of a creation step that must fail


def _checkpoint(step: str) -> None:
    """Fault injection for tests: raise at ``step`` when ARGUS_FAULT_INJECT names it."""
    if os.environ.get(FAULT_ENV) == step:
        raise RuntimeError(f"fault injected at step {step!r}")


class Creation:
    """Creates tasks; saves files into a task's worktree."""

    def __init__(self, *, store: Store, view: TaskView, projects: Projects, backends: Backends,
                 launcher: Launcher, locks: TaskLocks, hook: HookRelay, tokens: TokenService,
                 worktrees_root: Path,
                 publish: Callable[[str, dict[str, Any]], None], options: TaskOptions | None = None) -> None:
        """``tokens`` revokes a rolled-back task's tokens; ``worktrees_root`` is
        ``$ARGUS_HOME/worktrees`` (``<project>/<slug>`` below it); ``options`` are the create-time
        options plugins declare (``argus_task_options``)."""
        self.store = store
        self.view = view
        self.projects = projects
        self.backends = backends
        self.launcher = launcher
        self.locks = locks
        self.hook = hook
        self.tokens = tokens
        self.worktrees_root = worktrees_root
        self.publish = publish
        self.options = options or TaskOptions()
        self._reserved_slugs: set[tuple[str, str]] = set()  # (project, slug) of creations in flight

    def worktree_path(self, project: str, slug: str) -> str:
        """Where the worktree of task ``slug`` of ``project`` lives."""
        return str(self.worktrees_root / project / slug)

    async def create(self, *, name: Any = None, prompt: Any = "", project: Any = None, backend: Any = None,
                     model: Any = None, files: list[tuple[str, bytes]] | None = None,
                     base_branch: Any = None, plan_slug: Any = "", depends_on: list[str] | None = None,
                     meta: dict[str, Any] | None = None, context_files: dict[str, bytes] | None = None,
                     hidden: bool = False, parent_id: str | None = None, extra: dict[str, Any] | None = None,
                     options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a task transactionally and start its agent (unless a launch gate holds it).

        ``options`` are plugins' create-time options (checked here: unknown, mistyped or unavailable → Invalid).
        """
        if not isinstance(prompt, str):
            raise Invalid("prompt must be a string")
        if name is not None:
            name = check_name(name, required=False)
        if parent_id is not None:
            parent = self.view.get(parent_id)
            project = project or parent["project"]
        if not isinstance(project, str) or not project:
            raise Invalid("project is required")
        if extra is not None and not isinstance(extra, dict):
            raise Invalid("extra must be an object")
        options = self.options.check(options)
        proj = self.projects.get(project)
        self.projects.ensure_row(proj)
        if not (name or "").strip() and not prompt.strip():
            raise Invalid("a name or a prompt is required")
        backend_name = backend or proj.get("backend") or self.backends.default()
        if not isinstance(backend_name, str):
            raise Invalid("backend must be a string")
        be = self.backends.get(backend_name)
        require_executable(be)
        if model is not None and not isinstance(model, str):
            raise Invalid("model must be a string")
        base = base_branch or proj["branch"] or await worktrees.default_branch(proj["path"])
        if not isinstance(base, str):
            raise Invalid("base_branch must be a string")
        if plan_slug is not None and not isinstance(plan_slug, str):
            raise Invalid("plan_slug must be a string")
        uploads = check_uploads(files or [])
        display = (name or "").strip() or slug_from_prompt(prompt)
        # Choosing the slug and reserving it happen with no checkpoint in between, so concurrent
        # creations with the same name get distinct slugs (the row is inserted after awaits).
        slug = unique_slug(slugify(display), lambda s: (project, s) in self._reserved_slugs
                           or self.store.slug_taken(project, s)
                           or os.path.exists(self.worktree_path(project, s)))
        self._reserved_slugs.add((project, slug))
        try:
            return await self._create_reserved(
                project=project, proj=proj, slug=slug, display=display, prompt=prompt, be=be, model=model,
                base=base, plan_slug=plan_slug, meta=meta, depends_on=depends_on, uploads=uploads,
                context_files=context_files, hidden=hidden, parent_id=parent_id, extra=extra,
                name_given=bool((name or "").strip()), options=options)
        finally:
            self._reserved_slugs.discard((project, slug))

    async def _create_reserved(self, *, project: str, proj: dict[str, Any], slug: str, display: str,
                               prompt: str, be: dict[str, Any], model: Any, base: str, plan_slug: Any,
                               meta: dict[str, Any] | None, depends_on: list[str] | None,
                               uploads: list[tuple[str, bytes]], context_files: dict[str, bytes] | None,
                               hidden: bool, parent_id: str | None, extra: dict[str, Any] | None,
                               name_given: bool = True, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """The transactional part of :meth:`create`, once ``slug`` is reserved."""
        task_id = "t_" + secrets.token_hex(4)
        worktree = self.worktree_path(project, slug)
        row = {
            "id": task_id, "slug": slug, "name": display, "project": project, "backend": be["name"],
            "model": model or "", "prompt": prompt, "status": "pending", "worktree_path": worktree,
            "branch": f"argus/{slug}", "base_branch": base,
            "agent_session_id": str(uuid.uuid4()) if self.backends.kind_of(be).session_ids else None,
            "hook_secret": None, "plan_slug": plan_slug or "",  # agents use per-launch task tokens
            "meta": json.dumps({**(meta or {}), **({"depends_on": depends_on} if depends_on else {})}),
            "hidden": int(bool(hidden)), "parent_id": parent_id, "extra": json.dumps(extra or {}),
        }
        async with self.locks.hold(task_id), UndoStack() as undo:
            _checkpoint("insert")
            self.store.insert_task(row)
            fault_point("create.inserted")

            def undo_insert() -> None:
                self.tokens.revoke_task(task_id)
                self.store.delete_task(task_id)
            undo.push(undo_insert, "delete task row and its tokens")
            _checkpoint("worktree")
            await worktrees.create_worktree(proj["path"], worktree, row["branch"], base, undo)
            fault_point("create.worktree")
            _checkpoint("worktreeinclude")
            await worktrees.copy_worktreeinclude(proj["path"], worktree)
            _checkpoint("context")
            added, _ = self.options.prepare(self.hook, self.view.to_json(self.view.get(task_id)), worktree,
                                            options or {})
            full_prompt = f"{prompt}\n\n{added}".strip() if added else prompt
            saved = save_uploads(worktree, uploads, context_files or {})
            if saved:
                full_prompt = prompt_with_files(full_prompt, saved)
            if full_prompt != prompt:
                row["prompt"] = full_prompt
                self.store.update_task(task_id, prompt=full_prompt)
            run_dir = self.launcher.run_dir(task_id)
            undo.push(lambda: shutil.rmtree(run_dir, ignore_errors=True), "remove run dir")
            _checkpoint("hooks")
            self.hook.argus_worktree_created(task=self.view.to_json(self.view.get(task_id)), path=worktree)
            created = self.view.to_json(self.view.get(task_id))
            self.hook.argus_task_created(task=created)
            undo.push(lambda: self.hook.argus_task_deleted(task=created), "tell plugins the task is gone")
            _checkpoint("spawn")
            task = self.view.get(task_id)
            if self.launcher.hold_reason(task) is None:
                session = await self.launcher.spawn(task, resume=False)
                undo.push(lambda: self.launcher.discard(session), "kill the agent, forget its session and log")
                fault_point("create.spawned")
            _checkpoint("started")
            undo.commit()
        task = self.view.get(task_id)
        # name_given: False when the name came from the prompt (the ops plugin may auto-name it).
        self.publish("task.created", {"task": self.view.to_json(task), "name_given": name_given})
        return task

    async def upload(self, task_id: str, files: list[tuple[str, bytes]]) -> list[str]:
        """Save files mid-session into ``<worktree>/.context/`` (auto-suffixed)."""
        row = self.view.get(task_id)
        if not files:
            raise Invalid("no files in the request (multipart 'files' parts)")
        return save_uploads(row["worktree_path"], check_uploads(files), {})
