"""The behaviour of the tasks plugin: projects, backends, and the task lifecycle.

Task creation is a transaction: each step registers its undo, and a failure at any step undoes
everything done so far (no stray worktree, branch, row, file or process). Statuses move
pending → in_progress → in_review → complete; a clean agent exit completes the task, a crash, a
stop or a lost session moves it to in_review.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import signal
import sqlite3
import unicodedata
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from argus.kernel.api import (
    ArgusError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    Unavailable,
    fault_point,
    strip_ansi,
    utcnow,
)

from . import claude_sessions, merge, worktrees
from .api import AgentKind
from .backends import (
    BUILTIN_KINDS,
    PERMISSION_MODES,
    build_kind_launch,
    build_launch,
    kind_of,
    parse_command,
    require_executable,
    screen_rules,
    write_project_mcp_config,
)
from .idle import IdleDetector
from .slug import slug_from_prompt, slugify, unique_slug
from .store import STATUSES, Store
from .undo import UndoStack

log = logging.getLogger(__name__)

MAX_FILE = 10 * 1024 * 1024
MAX_TOTAL = 50 * 1024 * 1024
MAX_FILES = 20
MAX_UPLOAD_NAME_BYTES = 200
EXIT_RETRY = 2.0  # seconds between attempts to save an exit while the disk is full
RESUME_WAIT = 30.0  # seconds an interrupted task waits for the supervisor before staying in review
MAX_NAME = 200  # task names, everywhere (REST, MCP, and the UIs through them)
RERENDER_COLS = 15
RERENDER_QUIET = 3.0  # seconds since a client last typed before a resize may re-render
DEFAULT_ROWS, DEFAULT_COLS = 40, 120
PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
BACKEND_NAME = PROJECT_NAME
URL_RE = re.compile(r"https?://[^\s<>\"'`\x1b\x07]+")
CLEAR_LINE = b"\x15"  # ctrl-U: clear the agent's input line before typing into it
TYPE_PAUSE = 0.1  # between typed text and Enter (TUIs treat a burst with its Enter as a paste)
FAULT_ENV = "ARGUS_FAULT_INJECT"  # test-only: name of a creation step that must fail


def check_name(name: Any, *, required: bool = True) -> str:
    """A task name, stripped: text of at most ``MAX_NAME`` characters without control characters
    (ESC, NUL, newlines, ...) or lone surrogates. Invalid otherwise (or when empty and ``required``)."""
    if not isinstance(name, str):
        raise Invalid("name must be a string")
    name = name.strip()
    if required and not name:
        raise Invalid("name is required")
    if len(name) > MAX_NAME:
        raise Invalid(f"name is longer than {MAX_NAME} characters")
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")), None)
    if bad is not None:
        raise Invalid(f"name must not contain control characters (found U+{ord(bad):04X})")
    return name


def _checkpoint(step: str) -> None:
    """Fault injection for tests: raise at ``step`` when ARGUS_FAULT_INJECT names it."""
    if os.environ.get(FAULT_ENV) == step:
        raise RuntimeError(f"fault injected at step {step!r}")


def _bool(row: dict[str, Any], key: str) -> bool:
    return bool(row.get(key))


class TaskService:
    """Everything the REST routes, MCP tools and recovery code do with tasks."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.store = Store(kernel.db, on_status=self._status_changed)
        self.idle = IdleDetector(self._idle_changed)
        self.stopping: set[str] = set()      # session ids being stopped on purpose
        self.rerendering: set[str] = set()   # session ids being restarted for a re-render
        self.rerender_input: dict[str, list[bytes]] = {}  # task id → input typed during its re-render
        self._locks: dict[str, trio.Lock] = {}  # per task: create/stop/resume/restart/delete in turn
        self._reserved_slugs: set[tuple[str, str]] = set()  # (project, slug) of creations in flight

    @asynccontextmanager
    async def _task_lock(self, task_id: str) -> AsyncIterator[None]:
        """Serialize the lifecycle operations of one task (a double-clicked resume must not start
        two agents; a stop must not slip between a resume's check and its spawn)."""
        lock = self._locks.setdefault(task_id, trio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(task_id) is lock:
                del self._locks[task_id]

    # -- helpers ---------------------------------------------------------------------------

    @property
    def sessions(self) -> Any:
        return self.kernel.sessions

    @property
    def hook(self) -> Any:
        """The plugin manager's hooks (the tasks hookspecs: ``argus_task_created`` ...)."""
        return self.kernel.pm.hook

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        self.kernel.bus.publish(type_, data)

    def get(self, task_id: str) -> dict[str, Any]:
        """The task row, or NotFound."""
        row = self.store.task(task_id) if isinstance(task_id, str) else None
        if row is None:
            raise NotFound(f"no task {task_id!r}")
        return row

    def live_session(self, row: dict[str, Any]) -> Any | None:
        """The task's session if it is alive."""
        sid = row.get("session_id")
        session = self.sessions.get(sid) if sid else None
        return session if session is not None and session.alive else None

    def is_idle(self, row: dict[str, Any]) -> bool:
        """In progress but waiting for input, or with no live session."""
        if row["status"] != "in_progress":
            return False
        if self.live_session(row) is None:
            return True
        return self.idle.is_idle(row.get("session_id"))

    def to_json(self, row: dict[str, Any]) -> dict[str, Any]:
        """The task as clients see it (docs/rest.md)."""
        session = self.live_session(row)
        idle = self.is_idle(row)
        result = row.get("result")
        meta = json.loads(row.get("meta") or "{}")
        out = {
            "id": row["id"], "name": row["name"], "slug": row["slug"], "project": row["project"],
            "backend": row["backend"], "model": row["model"], "prompt": row["prompt"],
            "status": row["status"], "display_status": "in_review" if idle else row["status"],
            "archived": _bool(row, "archived"), "pinned": _bool(row, "pinned"), "idle": idle,
            "worktree_path": row["worktree_path"], "branch": row["branch"], "base_branch": row["base_branch"],
            "session_id": row["session_id"], "agent_session_id": row["agent_session_id"],
            "running": session is not None, "pid": session.pid if session else None,
            "exit_code": row["exit_code"], "plan_slug": row["plan_slug"],
            "result": json.loads(result) if result else None,
            "parent_ids": meta.get("depends_on", []), "parent_id": row.get("parent_id"),
            "hidden": _bool(row, "hidden"), "extra": json.loads(row.get("extra") or "{}"),
            "created_at": row["created_at"], "started_at": row["started_at"], "ended_at": row["ended_at"],
            "updated_at": row["updated_at"],
        }
        answer = self.hook.argus_task_hidden(task=out)
        if answer is not None:
            out["hidden"] = bool(answer)
        for fields in self.hook.argus_task_fields(task=dict(out)):
            if isinstance(fields, dict):
                for key, value in fields.items():
                    out.setdefault(key, value)  # plugins add keys; they never override the core ones
        return out

    def _status_changed(self, task_id: str, old: str, new: str) -> None:
        """``Store.on_status``: tell plugins (``argus_task_status_changed``)."""
        row = self.store.task(task_id)
        if row is not None:
            self.hook.argus_task_status_changed(task=self.to_json(row), old=old, new=new)

    def visible(self, row: dict[str, Any]) -> bool:
        """Whether the task belongs in the main task list (not hidden by its flag or a plugin)."""
        return not self.to_json(row)["hidden"]

    def changed(self, task_id: str) -> None:
        """Publish ``task.updated`` with the current row."""
        row = self.store.task(task_id)
        if row:
            self.publish("task.updated", {"task": self.to_json(row)})

    # -- projects --------------------------------------------------------------------------

    def _config_projects(self) -> dict[str, Any]:
        return self.kernel.settings.raw("projects")

    def projects(self) -> list[dict[str, Any]]:
        """DB projects overlaid with ``[projects.<name>]`` from config.toml (wholesale)."""
        rows = {p["name"]: p for p in self.store.projects()}
        for name, entry in self._config_projects().items():
            if isinstance(entry, dict):
                sandbox = entry.get("sandbox", {}) if isinstance(entry.get("sandbox"), dict) else {}
                rows[name] = {"name": name, "path": str(entry.get("path", "")), "branch": str(entry.get("branch", "")),
                              "backend": str(entry.get("backend", "")),
                              "sandbox": _config_sandbox(sandbox), "source": "config"}
        return sorted(rows.values(), key=lambda p: p["name"])

    def project(self, name: str) -> dict[str, Any]:
        """One project or NotFound."""
        for p in self.projects():
            if p["name"] == name:
                return p
        raise NotFound(f"no project {name!r}")

    @staticmethod
    def _sandbox(value: Any) -> dict[str, Any]:
        """A project's ``sandbox`` object validated: enabled/network true|false|null (null =
        inherit the global setting), deny_read/extra_write/allow_apple_events lists of strings."""
        if value is None:
            return {"enabled": None, "deny_read": [], "extra_write": [], "allow_apple_events": [], "network": None}
        if not isinstance(value, dict):
            raise Invalid("sandbox must be an object")
        out: dict[str, Any] = {}
        for key in ("enabled", "network"):
            flag = value.get(key)
            if flag is not None and not isinstance(flag, bool):
                raise Invalid(f"sandbox.{key} must be true, false or null")
            out[key] = flag
        for key in ("deny_read", "extra_write", "allow_apple_events"):
            items = value.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise Invalid(f"sandbox.{key} must be a list of strings")
            out[key] = items
        return out

    def guard_sandbox(self, name: str | None, body: Any, *, master: bool) -> None:
        """Only the master token changes a project's ``sandbox`` (a device token must not be able
        to switch an agent's confinement off). Sending it back unchanged is allowed."""
        if master or not isinstance(body, dict) or "sandbox" not in body:
            return
        current = self.store.project(name) if name else None
        before = self._sandbox((current or {}).get("sandbox") or None)
        try:
            after = self._sandbox(body["sandbox"])
        except Invalid:
            return  # the validation that follows reports it
        if after != before:  # the object is replaced whole by an update
            raise Forbidden("changing a project's sandbox requires the master token")

    async def add_project(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a git repository as a project."""
        name, path = body.get("name"), body.get("path")
        if not isinstance(name, str) or not PROJECT_NAME.match(name):
            raise Invalid("name must be 1-64 characters: letters, digits, '.', '_' or '-'")
        if not isinstance(path, str) or not path.strip():
            raise Invalid("path is required")
        path = os.path.abspath(os.path.expanduser(path.strip()))
        if not os.path.isdir(path):
            raise Invalid(f"path does not exist or is not a directory: {path}")
        if not await worktrees.is_git_repo(path):
            raise Invalid(f"not a git repository: {path}")
        root = await worktrees.repo_root(path)
        branch = body.get("branch") or ""
        if not isinstance(branch, str):
            raise Invalid("branch must be a string")
        if branch:
            if not await worktrees.branch_exists(root, branch):
                raise Invalid(f"branch {branch!r} does not exist in {root}")
        else:
            branch = await worktrees.default_branch(root)
        backend = body.get("backend") or ""
        if not isinstance(backend, str) or (backend and self.store.backend(backend) is None):
            raise Invalid(f"unknown backend {backend!r}")
        sandbox = self._sandbox(body.get("sandbox"))
        self.store.insert_project(name, root, branch, backend, sandbox)
        project = self.project(name)
        self.publish("project.created", {"project": project})
        return project

    async def update_project(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Partial update of a DB project."""
        if self.store.project(name) is None:
            raise NotFound(f"no project {name!r}")
        fields: dict[str, Any] = {}
        if "path" in body:
            path = body["path"]
            if not isinstance(path, str) or not os.path.isdir(os.path.expanduser(path)):
                raise Invalid(f"path does not exist: {path}")
            if not await worktrees.is_git_repo(os.path.expanduser(path)):
                raise Invalid(f"not a git repository: {path}")
            fields["path"] = await worktrees.repo_root(os.path.expanduser(path))
        repo = fields.get("path") or self.store.project(name)["path"]  # type: ignore[index]
        if "branch" in body:
            branch = body["branch"] or await worktrees.default_branch(repo)
            if not isinstance(branch, str) or not await worktrees.branch_exists(repo, branch):
                raise Invalid(f"branch {branch!r} does not exist in {repo}")
            fields["branch"] = branch
        if "backend" in body:
            backend = body["backend"] or ""
            if not isinstance(backend, str) or (backend and self.store.backend(backend) is None):
                raise Invalid(f"unknown backend {backend!r}")
            fields["backend"] = backend
        if "sandbox" in body:
            fields["sandbox"] = self._sandbox(body["sandbox"])
        self.store.update_project(name, fields)
        project = self.project(name)
        self.publish("project.updated", {"project": project})
        return project

    def delete_project(self, name: str) -> None:
        """Forget a project (refused while it has tasks)."""
        self.store.delete_project(name)
        self.publish("project.deleted", {"name": name})

    async def scan(self, directory: Any) -> list[dict[str, Any]]:
        """Git repositories under ``directory`` for quick-add, with progress events."""
        if not isinstance(directory, str) or not directory.strip():
            raise Invalid("dir is required")
        root = os.path.abspath(os.path.expanduser(directory))
        if not os.path.isdir(root):
            raise Invalid(f"not a directory: {root}")
        scan_id = uuid.uuid4().hex[:8]
        token = trio.lowlevel.current_trio_token()

        def progress(count: int, current: str) -> None:
            def emit() -> None:
                self.publish("project.scan.progress", {"scan_id": scan_id, "dirs": count, "current": current})
            try:
                token.run_sync_soon(emit)
            except trio.RunFinishedError:
                pass

        repos: list[dict[str, Any]] = await worktrees.scan_repos(root, on_progress=progress)  # gains "registered"
        known = {p["path"] for p in self.projects()}
        for r in repos:
            r["registered"] = r["path"] in known
        self.publish("project.scan.done", {"scan_id": scan_id, "count": len(repos)})
        return repos

    # -- backends --------------------------------------------------------------------------

    def agent_kinds(self) -> dict[str, AgentKind]:
        """The agent kinds plugins provide (``argus_agent_kinds``), by name; invalid ones are skipped."""
        kinds: dict[str, AgentKind] = {}
        for answer in self.hook.argus_agent_kinds():
            for kind in answer or ():
                problem = None
                if not isinstance(kind, AgentKind):
                    problem = "not an AgentKind"
                elif not BACKEND_NAME.match(kind.name) or kind.name in BUILTIN_KINDS or kind.name in kinds:
                    problem = "its name is invalid, built in or taken"
                else:
                    try:
                        screen_rules(kind)
                    except re.error as exc:
                        problem = f"invalid idle pattern: {exc}"
                if problem:
                    log.warning("agent kind %r ignored: %s", getattr(kind, "name", kind), problem)
                    continue
                kinds[kind.name] = kind
        return kinds

    def backends(self) -> list[dict[str, Any]]:
        """DB backends overlaid with ``[backends.<name>]`` from config.toml, plus a backend per plugin
        agent kind not otherwise defined; flags the default."""
        kinds = self.agent_kinds()
        rows = {k.name: {"name": k.name, "command": k.command or k.name, "prompt_flag": "", "model": "",
                         "kind": k.name, "source": "plugin"} for k in kinds.values()}
        rows.update({b["name"]: b for b in self.store.backends()})
        for name, entry in self.kernel.settings.raw("backends").items():
            if isinstance(entry, dict):
                rows[name] = {"name": name, "command": str(entry.get("command", "")),
                              "prompt_flag": str(entry.get("prompt_flag", "")),
                              "model": str(entry.get("model", "")), "kind": str(entry.get("kind", "")),
                              "source": "config"}
        default = self.default_backend()
        out = []
        for row in sorted(rows.values(), key=lambda r: str(r["name"])):
            b: dict[str, Any] = dict(row)
            b["default"] = b["name"] == default
            named = b.get("kind") or ""  # only a plugin kind is named; built-in ones follow from the command
            b["kind"] = named if named and named not in BUILTIN_KINDS else kind_of(b["command"])
            exe = (b["command"].split() or [""])[0]
            b["available"] = bool(exe and shutil.which(exe, path=_agent_path()))
            out.append(b)
        return out

    def backend(self, name: str) -> dict[str, Any]:
        """One backend or Invalid (it is always named by the caller)."""
        for b in self.backends():
            if b["name"] == name:
                return b
        raise Invalid(f"unknown backend {name!r}")

    def default_backend(self) -> str:
        return str(self.kernel.settings.get("defaults", "backend"))

    def save_backend(self, name: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Create or update a backend (master token enforced by the kernel policy)."""
        if not isinstance(name, str) or not BACKEND_NAME.match(name):
            raise Invalid("backend name must be 1-64 characters: letters, digits, '.', '_' or '-'")
        existing = self.store.backend(name)
        if create and existing:
            raise Conflict(f"backend {name!r} already exists")
        if not create and existing is None:
            raise NotFound(f"no backend {name!r}")
        base = existing or {"command": "", "prompt_flag": "", "model": "", "kind": ""}
        values = {k: body.get(k, base[k]) for k in ("command", "prompt_flag", "model", "kind")}
        for key, value in values.items():
            if not isinstance(value, str):
                raise Invalid(f"{key} must be a string")
        if values["kind"]:
            kinds = self.agent_kinds()
            if values["kind"] not in kinds:
                raise Invalid(f"unknown agent kind {values['kind']!r}; plugins provide: "
                              f"{', '.join(sorted(kinds)) or 'none'} (built-in kinds follow from the command)")
            if not values["command"]:
                kind = kinds[values["kind"]]
                values["command"] = kind.command or kind.name
        parse_command(values["command"])
        self.store.put_backend(name, values["command"], values["prompt_flag"], values["model"], values["kind"])
        self.publish("backend.updated" if existing else "backend.created", {"name": name})
        return self.backend(name)

    def delete_backend(self, name: str) -> None:
        if name == self.default_backend():
            raise Conflict(f"backend {name!r} is the default; choose another default first")
        self.store.delete_backend(name)
        self.publish("backend.deleted", {"name": name})

    # -- task creation ---------------------------------------------------------------------

    async def create(self, *, name: Any = None, prompt: Any = "", project: Any = None, backend: Any = None,
                     model: Any = None, files: list[tuple[str, bytes]] | None = None,
                     base_branch: Any = None, plan_slug: Any = "", depends_on: list[str] | None = None,
                     meta: dict[str, Any] | None = None, context_files: dict[str, bytes] | None = None,
                     hidden: bool = False, parent_id: str | None = None, extra: dict[str, Any] | None = None,
                     ) -> dict[str, Any]:
        """Create a task transactionally and start its agent (unless a launch gate holds it)."""
        if not isinstance(prompt, str):
            raise Invalid("prompt must be a string")
        if name is not None:
            name = check_name(name, required=False)
        if parent_id is not None:
            parent = self.get(parent_id)
            project = project or parent["project"]
        if not isinstance(project, str) or not project:
            raise Invalid("project is required")
        if extra is not None and not isinstance(extra, dict):
            raise Invalid("extra must be an object")
        proj = self.project(project) if project else None
        assert proj is not None
        if proj.get("source") == "config" and self.store.project(project) is None:
            # Tasks reference a projects row: give a config.toml-only project its DB row (the
            # config entry still wins wherever projects are read).
            self.store.insert_project(project, proj["path"], proj["branch"], proj["backend"],
                                      self._sandbox(None))
        if not (name or "").strip() and not prompt.strip():
            raise Invalid("a name or a prompt is required")
        backend_name = backend or proj.get("backend") or self.default_backend()
        if not isinstance(backend_name, str):
            raise Invalid("backend must be a string")
        be = self.backend(backend_name)
        require_executable(be)
        if model is not None and not isinstance(model, str):
            raise Invalid("model must be a string")
        base = base_branch or proj["branch"] or await worktrees.default_branch(proj["path"])
        if not isinstance(base, str):
            raise Invalid("base_branch must be a string")
        if plan_slug is not None and not isinstance(plan_slug, str):
            raise Invalid("plan_slug must be a string")
        uploads = self._check_uploads(files or [])
        display = (name or "").strip() or slug_from_prompt(prompt)
        # Choosing the slug and reserving it happen with no checkpoint in between, so concurrent
        # creations with the same name get distinct slugs (the row is inserted after awaits).
        slug = unique_slug(slugify(display), lambda s: (project, s) in self._reserved_slugs
                           or self.store.slug_taken(project, s)
                           or os.path.exists(self._worktree_path(project, s)))
        self._reserved_slugs.add((project, slug))
        try:
            return await self._create_reserved(
                project=project, proj=proj, slug=slug, display=display, prompt=prompt, be=be, model=model,
                base=base, plan_slug=plan_slug, meta=meta, depends_on=depends_on, uploads=uploads,
                context_files=context_files, hidden=hidden, parent_id=parent_id, extra=extra,
                name_given=bool((name or "").strip()))
        finally:
            self._reserved_slugs.discard((project, slug))

    async def _create_reserved(self, *, project: str, proj: dict[str, Any], slug: str, display: str,
                               prompt: str, be: dict[str, Any], model: Any, base: str, plan_slug: Any,
                               meta: dict[str, Any] | None, depends_on: list[str] | None,
                               uploads: list[tuple[str, bytes]], context_files: dict[str, bytes] | None,
                               hidden: bool, parent_id: str | None, extra: dict[str, Any] | None,
                               name_given: bool = True) -> dict[str, Any]:
        """The transactional part of :meth:`create`, once ``slug`` is reserved."""
        task_id = "t_" + secrets.token_hex(4)
        worktree = self._worktree_path(project, slug)
        row = {
            "id": task_id, "slug": slug, "name": display, "project": project, "backend": be["name"],
            "model": model or "", "prompt": prompt, "status": "pending", "worktree_path": worktree,
            "branch": f"argus/{slug}", "base_branch": base,
            "agent_session_id": str(uuid.uuid4()) if self._assigns_session_id(be["kind"]) else None,
            "hook_secret": None, "plan_slug": plan_slug or "",  # agents use per-launch task tokens
            "meta": json.dumps({**(meta or {}), **({"depends_on": depends_on} if depends_on else {})}),
            "hidden": int(bool(hidden)), "parent_id": parent_id, "extra": json.dumps(extra or {}),
        }
        async with self._task_lock(task_id), UndoStack() as undo:
            _checkpoint("insert")
            self.store.insert_task(row)
            fault_point("create.inserted")

            def undo_insert() -> None:
                self.kernel.tokens.revoke_task(task_id)
                self.store.delete_task(task_id)
            undo.push(undo_insert, "delete task row and its tokens")
            _checkpoint("worktree")
            await worktrees.create_worktree(proj["path"], worktree, row["branch"], base, undo)
            fault_point("create.worktree")
            _checkpoint("worktreeinclude")
            await worktrees.copy_worktreeinclude(proj["path"], worktree)
            _checkpoint("context")
            saved = self._save_uploads(worktree, uploads, context_files or {})
            if saved:
                row["prompt"] = self._prompt_with_files(prompt, saved)
                self.store.update_task(task_id, prompt=row["prompt"])
            run_dir = self._run_dir(task_id)
            undo.push(lambda: shutil.rmtree(run_dir, ignore_errors=True), "remove run dir")
            _checkpoint("hooks")
            self.hook.argus_worktree_created(task=self.to_json(self.get(task_id)), path=worktree)
            created = self.to_json(self.get(task_id))
            self.hook.argus_task_created(task=created)
            undo.push(lambda: self.hook.argus_task_deleted(task=created), "tell plugins the task is gone")
            _checkpoint("spawn")
            task = self.store.task(task_id)
            assert task is not None
            hold = self._hold_reason(task)
            if hold is None:
                session = await self._spawn(task, resume=False)
                undo.push(lambda: self._discard_session(session), "kill the agent, forget its session and log")
                fault_point("create.spawned")
            _checkpoint("started")
            undo.commit()
        task = self.get(task_id)
        # name_given: False when the name came from the prompt (the ops plugin may auto-name it).
        self.publish("task.created", {"task": self.to_json(task), "name_given": name_given})
        return task

    def _hold_reason(self, task: dict[str, Any]) -> str | None:
        """The first ``argus_launch_gate`` reason to keep the task pending, or None."""
        for reason in self.hook.argus_launch_gate(task=self.to_json(task)):
            if reason:
                return str(reason)
        return None

    async def _discard_session(self, session: Any) -> None:
        """Rollback of a spawn: kill the agent, forget the session, remove its log."""
        self.stopping.add(session.id)
        try:
            await session.terminate(grace=1.0)
        except Exception:
            log.debug("kill during rollback failed", exc_info=True)
        await self._forget(session.id)
        self._remove_log(session.id)

    def _remove_log(self, session_id: str) -> None:
        try:
            (self.kernel.paths.sessions / f"{session_id}.log").unlink()
        except FileNotFoundError:
            pass

    def _worktree_path(self, project: str, slug: str) -> str:
        return str(self.kernel.paths.worktrees / project / slug)

    def _run_dir(self, task_id: str) -> Path:
        return self.kernel.paths.run / task_id

    @staticmethod
    def _safe_name(filename: str) -> str:
        if not isinstance(filename, str) or not filename.strip():
            raise Invalid("uploaded file has no name")
        if "/" in filename or "\\" in filename or "\x00" in filename or filename in (".", "..") \
                or filename.startswith(".."):
            raise Invalid(f"invalid file name {filename!r}: no paths or traversal allowed")
        try:
            size = len(filename.encode("utf-8"))
        except UnicodeEncodeError:
            raise Invalid("file name is not valid Unicode text") from None
        if size > MAX_UPLOAD_NAME_BYTES:  # room for the "-N" suffix within the 255-byte file name limit
            raise Invalid(f"file name longer than {MAX_UPLOAD_NAME_BYTES} bytes")
        return filename

    def _check_uploads(self, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        if len(files) > MAX_FILES:
            raise TooLarge(f"at most {MAX_FILES} files per request")
        total = 0
        out = []
        for filename, data in files:
            name = self._safe_name(filename)
            if len(data) > MAX_FILE:
                raise TooLarge(f"{name} is larger than 10 MB")
            total += len(data)
            out.append((name, data))
        if total > MAX_TOTAL:
            raise TooLarge("uploads are larger than 50 MB in total")
        return out

    def _save_uploads(self, worktree: str, files: list[tuple[str, bytes]],
                      extra: dict[str, bytes]) -> list[str]:
        if not files and not extra:
            return []
        ctx = Path(worktree) / ".context"
        ctx.mkdir(exist_ok=True)
        saved = []
        for name, data in [*files, *extra.items()]:
            target = ctx / name
            stem, suffix, n = target.stem, target.suffix, 1
            while target.exists():
                target = ctx / f"{stem}-{n}{suffix}"
                n += 1
            target.write_bytes(data)
            saved.append(str(target.relative_to(worktree)))
        return saved

    @staticmethod
    def _prompt_with_files(prompt: str, saved: list[str]) -> str:
        listing = "\n".join(f"- {p}" for p in saved)
        return f"{prompt}\n\nAttached files (in the worktree):\n{listing}".strip()

    async def upload(self, task_id: str, files: list[tuple[str, bytes]]) -> list[str]:
        """Save files mid-session into ``<worktree>/.context/`` (auto-suffixed)."""
        row = self.get(task_id)
        if not files:
            raise Invalid("no files in the request (multipart 'files' parts)")
        return self._save_uploads(row["worktree_path"], self._check_uploads(files), {})

    # -- sessions --------------------------------------------------------------------------

    def permission_mode(self) -> str:
        mode = str(self.kernel.settings.get("defaults", "permission_mode"))
        return mode if mode in PERMISSION_MODES else "bypass-active"

    async def _spawn(self, task: dict[str, Any], *, resume: bool, cols: int | None = None,
                     rows: int | None = None) -> Any:
        be = self.backend(task["backend"])
        require_executable(be)
        if not os.path.isdir(task["worktree_path"]):
            raise Conflict(f"the worktree {task['worktree_path']} is gone; delete the task")
        if resume and be["kind"] in ("codex", "opencode") and not task.get("agent_session_id"):
            # Codex without a notify yet, opencode always: find the session in the CLI's own files.
            finder = codex_session_for if be["kind"] == "codex" else opencode_session_for
            sid = await trio.to_thread.run_sync(finder, task["worktree_path"])
            if sid:
                self.store.update_task(task["id"], agent_session_id=sid)
                task = {**task, "agent_session_id": sid}
        mcp_url = f"http://127.0.0.1:{self.kernel.mcp_port}/mcp"
        hook_url = f"http://127.0.0.1:{self.kernel.mcp_port}/api/agent/hook"
        # A fresh task token per launch (the previous agent's token stops working).
        token = self.kernel.tokens.mint_task(task["id"])
        plugin_kind = self._plugin_kind(be["kind"])
        if plugin_kind is not None:
            launch = build_kind_launch(plugin_kind, backend=be, task=task, prompt=None if resume else task["prompt"],
                                       resume=resume, mcp_url=mcp_url, hook_url=hook_url, token=token)
        else:
            launch = build_launch(backend=be, task=task, prompt=None if resume else task["prompt"], resume=resume,
                                  permission_mode=self.permission_mode(), mcp_url=mcp_url, hook_url=hook_url,
                                  run_dir=self._run_dir(task["id"]), token=token)
        if be["kind"] in ("generic", "pi") or (plugin_kind is not None and plugin_kind.reads_mcp_config):
            written = write_project_mcp_config(task["worktree_path"], mcp_url)
            if written:
                self._remember_generated(task["id"], written)
        argv = self.hook.argus_session_command(task=self.to_json(task), argv=launch.argv, env=launch.env) \
            or launch.argv
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        env.update(launch.env)
        previous = task.get("session_id")
        session = await self.sessions.spawn(
            argv, task["worktree_path"], env, rows=rows or DEFAULT_ROWS, cols=cols or DEFAULT_COLS,
            meta={"task_id": task["id"], "backend": be["name"], "kind": be["kind"]},
        )
        fault_point("spawn.before_status")
        now = utcnow()
        meta = json.loads(self.get(task["id"])["meta"] or "{}")
        meta["sessions"] = [*meta.get("sessions", []), session.id]
        self.store.update_task(task["id"], session_id=session.id, status="in_progress", meta=json.dumps(meta),
                               started_at=task["started_at"] or now, ended_at=None, exit_code=None)
        self.watch(session, be["kind"])
        self.changed(task["id"])
        self.hook.argus_session_started(task=self.to_json(self.get(task["id"])), session_id=session.id,
                                        resumed=resume)
        if previous and previous != session.id:
            await self._forget(previous)
        return session

    async def _forget(self, session_id: str) -> None:
        """Drop an old session's record in the supervisor (its log file stays until task deletion)."""
        try:
            await self.sessions.forget(session_id)
        except Exception:
            log.debug("forget session %s failed", session_id, exc_info=True)

    def _remember_generated(self, task_id: str, path: str) -> None:
        row = self.get(task_id)
        meta = json.loads(row["meta"] or "{}")
        meta.setdefault("generated", [])
        if path not in meta["generated"]:
            meta["generated"].append(path)
        self.store.update_task(task_id, meta=json.dumps(meta))

    def _plugin_kind(self, kind: str) -> AgentKind | None:
        """The plugin agent kind a backend ``kind`` names; None for a built-in kind; Invalid when
        the plugin providing it is gone."""
        if kind in BUILTIN_KINDS:
            return None
        found = self.agent_kinds().get(kind)
        if found is None:
            raise Invalid(f"agent kind {kind!r} is not provided by any loaded plugin")
        return found

    def _assigns_session_id(self, kind: str) -> bool:
        """Whether a new task of this backend kind gets its agent session id up front."""
        if kind in ("claude", "demo"):
            return True
        plugin_kind = self._plugin_kind(kind)
        return bool(plugin_kind and plugin_kind.session_ids)

    def watch(self, session: Any, kind: str) -> None:
        """Start the idle watcher of a live session in the kernel nursery."""
        if session.id not in self.idle.states and session.alive:
            found = None if kind in BUILTIN_KINDS else self.agent_kinds().get(kind)
            rules = screen_rules(found) if found is not None else None
            self.kernel.spawn_background(lambda: self.idle.watch(session, kind, rules), f"idle:{session.id}")

    def _idle_changed(self, session_id: str, idle: bool, reason: str) -> None:
        row = self.store.task_by_session(session_id)
        self.publish("session.idle" if idle else "session.busy",
                     {"session_id": session_id, "task_id": row["id"] if row else None, "reason": reason})
        if row is None:
            return
        if idle:
            self.publish("task.idle", {"id": row["id"], "reason": reason})
        self.changed(row["id"])
        self.hook.argus_task_idle(task=self.to_json(row), idle=idle, reason=reason)

    def on_session_exited(self, data: dict[str, Any]) -> None:
        """``session.exited``: clean exit → complete; crash, stop or lost → in_review."""
        sid = data.get("session_id") or ""
        row = self.store.task_by_session(sid)
        code = data.get("code")
        if sid in self.rerendering:
            self.rerendering.discard(sid)
            if row is not None:
                self.hook.argus_session_exited(task=self.to_json(row), session_id=sid, code=code, reason="restarted")
            return
        if row is None:
            return
        stopped = sid in self.stopping
        self.stopping.discard(sid)
        if row["status"] in ("in_progress", "pending"):
            status = "complete" if (code == 0 and not data.get("signal") and not stopped
                                    and not data.get("lost")) else "in_review"
        else:
            status = row["status"]
        try:
            self.store.update_task(row["id"], status=status, exit_code=code, ended_at=utcnow())
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc).lower():
                raise
            # The disk is full: keep the exit and save it once there is room again.
            task_id, lost = row["id"], bool(data.get("lost")) and not stopped
            reason = "stopped" if stopped else "lost" if lost else "exited"
            log.warning("cannot save the exit of task %s (%s); retrying", task_id, exc)
            self.kernel.spawn_background(lambda: self._save_exit_later(task_id, status, code, lost, reason),
                                         f"exit:{task_id}")
            return
        reason = ("stopped" if stopped else "lost" if data.get("lost") else "signal" if data.get("signal")
                  else "exited")
        self._after_exit(row, status, lost=bool(data.get("lost")) and not stopped, reason=reason)

    async def _save_exit_later(self, task_id: str, status: str, code: Any, lost: bool, reason: str) -> None:
        """Retry saving an exit until the disk has room again."""
        while True:
            await trio.sleep(EXIT_RETRY)
            try:
                self.store.update_task(task_id, status=status, exit_code=code, ended_at=utcnow())
            except sqlite3.OperationalError as exc:
                if "full" in str(exc).lower():
                    continue
                raise
            row = self.store.task(task_id)
            if row is not None:
                log.info("saved the exit of task %s", task_id)
                self._after_exit(row, status, lost=lost, reason=reason)
            return

    def _after_exit(self, row: dict[str, Any], status: str, *, lost: bool, reason: str) -> None:
        """Publish the change; resume an interrupted agent; start what waited for a completion."""
        self.changed(row["id"])
        fresh = self.get(row["id"])
        self.hook.argus_session_exited(task=self.to_json(fresh), session_id=row.get("session_id") or "",
                                       code=fresh.get("exit_code"), reason=reason)
        if lost and status == "in_review" and not row["archived"] \
                and self.kernel.settings.get("defaults", "resume_interrupted"):
            task_id = row["id"]
            self.kernel.spawn_background(lambda: self._resume_interrupted(task_id), f"resume:{task_id}")

    async def _resume_interrupted(self, task_id: str) -> None:
        """An agent lost with its supervisor: resume it once a supervisor answers again."""
        with trio.move_on_after(RESUME_WAIT):
            while True:
                await trio.sleep(0.2)  # the link that just dropped may still look connected
                if not getattr(self.sessions, "connected", True):
                    continue
                try:
                    row = self.get(task_id)
                    if row["status"] == "in_review" and self.live_session(row) is None:
                        await self.resume(task_id)
                        log.info("resumed task %s after its agent was lost with the supervisor", task_id)
                    return
                except Unavailable:  # the supervisor is still coming back
                    continue
                except Exception as exc:  # the task changed or cannot start: the user sees it in review
                    log.warning("could not resume interrupted task %s: %s", task_id, exc)
                    return
        log.warning("could not resume interrupted task %s: no session-supervisor within %gs", task_id, RESUME_WAIT)

    async def stop(self, task_id: str) -> dict[str, Any]:
        """Stop the agent (SIGHUP → TERM → KILL); a task at work moves to in_review, a complete one stays."""
        async with self._task_lock(task_id):
            return await self._stop(task_id)

    async def _stop(self, task_id: str) -> dict[str, Any]:
        row = self.get(task_id)
        session = self.live_session(row)
        # Only a task still at work goes to review; a complete (or already reviewed) one keeps its status.
        status = "in_review" if row["status"] in ("in_progress", "pending") else row["status"]
        if session is None:
            if row["status"] == "in_progress":
                self.store.update_task(task_id, status=status, ended_at=utcnow())
                self.changed(task_id)
            return self.get(task_id)
        self.stopping.add(session.id)
        await session.terminate()
        ended = (row["ended_at"] or utcnow()) if status == "complete" else utcnow()
        self.store.update_task(task_id, status=status, ended_at=ended)
        self.changed(task_id)
        return self.get(task_id)

    async def resume(self, task_id: str) -> dict[str, Any]:
        """Re-spawn a stopped agent, resuming its conversation (in_review → in_progress)."""
        async with self._task_lock(task_id):
            return await self._resume(task_id)

    async def _resume(self, task_id: str) -> dict[str, Any]:
        row = self.get(task_id)
        if self.live_session(row) is not None:
            raise Conflict("the agent is already running")
        if row["archived"]:
            raise Conflict("unarchive the task before resuming it")
        never_started = row["session_id"] is None
        if never_started and self._hold_reason(row):
            raise Conflict(f"the task is held back: {self._hold_reason(row)}")
        await self._spawn(row, resume=not never_started and self._resumable(row))
        return self.get(task_id)

    async def restart(self, task_id: str) -> dict[str, Any]:
        """Re-spawn the session in the same worktree (killing a live one first)."""
        async with self._task_lock(task_id):
            return await self._restart(task_id)

    async def _restart(self, task_id: str) -> dict[str, Any]:
        row = self.get(task_id)
        session = self.live_session(row)
        if session is not None:
            self.stopping.add(session.id)
            await session.terminate()
        await self._spawn(self.get(task_id), resume=row["session_id"] is not None and self._resumable(row))
        return self.get(task_id)

    async def switch_claude_session(self, task_id: str, session_id: str) -> dict[str, Any]:
        """Resume another of the worktree's Claude conversations: stop the agent, remember the id,
        start the backend's resume command with it."""
        async with self._task_lock(task_id):
            row = self.get(task_id)
            if self.backend(row["backend"])["kind"] not in ("claude", "demo"):
                raise Invalid("only Claude backends have sessions to switch between")
            if row["archived"]:
                raise Conflict("unarchive the task before resuming it")
            claude_sessions.check_session(row["worktree_path"], session_id)
            session = self.live_session(row)
            if session is not None:
                self.stopping.add(session.id)
                await session.terminate()
            self.store.update_task(task_id, agent_session_id=session_id)
            await self._spawn(self.get(task_id), resume=True)
            return self.get(task_id)

    def _resumable(self, row: dict[str, Any]) -> bool:
        """Whether the backend can resume this task's conversation by id."""
        kind = self.backend(row["backend"])["kind"]
        return bool(row["agent_session_id"]) or kind in ("codex", "opencode")

    async def start_pending(self, task_id: str) -> None:
        """Start a task that was held back (its dependencies are now complete)."""
        async with self._task_lock(task_id):
            row = self.get(task_id)
            if row["status"] != "pending" or self.live_session(row) is not None:
                return
            await self._spawn(row, resume=False)

    async def delete(self, task_id: str, *, force: bool) -> None:
        """Kill the agent, remove worktree and branch (409 on unsaved work unless force)."""
        async with self._task_lock(task_id):
            await self._delete(task_id, force=force)

    async def _repo_of(self, row: dict[str, Any]) -> str | None:
        """The task's repository: its project's path, else found from the worktree itself
        (the project may have been removed from config.toml); None when neither exists."""
        try:
            return str(self.project(row["project"])["path"])
        except NotFound:
            pass
        if os.path.isdir(row["worktree_path"]):
            res = await worktrees.git(row["worktree_path"], "rev-parse", "--path-format=absolute", "--git-common-dir")
            if res.ok and res.stdout.strip():
                return os.path.dirname(res.stdout.strip().rstrip("/"))
        return None

    async def _delete(self, task_id: str, *, force: bool) -> None:
        row = self.get(task_id)
        before = self.to_json(row)
        repo = await self._repo_of(row)
        meta = json.loads(row["meta"] or "{}")
        # Files Argus generated in the worktree (a .mcp.json) are not the user's work: set them
        # aside for the check, and put them back if the delete is refused.
        aside = self._run_dir(task_id) / "generated-aside"
        moved: list[tuple[str, Path]] = []
        for i, path in enumerate(meta.get("generated", [])):
            if os.path.exists(path):
                aside.mkdir(parents=True, exist_ok=True)
                target = aside / f"{i}-{os.path.basename(path)}"
                os.replace(path, target)
                moved.append((path, target))
        if not force and repo is not None:
            reason = await worktrees.worktree_dirty(repo, row["worktree_path"], row["branch"],
                                                 row["base_branch"])
            if reason:
                for original, target in moved:
                    os.replace(target, original)
                raise Conflict(f"task {row['name']!r} has unsaved work ({reason}); pass ?force=1 to delete anyway",
                               reason=reason)
        session = self.live_session(row)
        if session is not None:
            self.stopping.add(session.id)
            await session.terminate(grace=2.0)
        if repo is not None:
            await worktrees.remove_worktree(repo, row["worktree_path"], row["branch"], force=True,
                                         base_branch=row["base_branch"])
        shutil.rmtree(self._run_dir(task_id), ignore_errors=True)
        self.kernel.tokens.revoke_task(task_id)
        for sid in {*meta.get("sessions", []), *([row["session_id"]] if row["session_id"] else [])}:
            await self._forget(sid)
            self._remove_log(sid)
        self.store.delete_task(task_id)
        self.publish("task.deleted", {"id": task_id})
        self.hook.argus_task_deleted(task=before)

    async def _merge_repo(self, row: dict[str, Any]) -> str:
        repo = await self._repo_of(row)
        if repo is None or not os.path.isdir(row["worktree_path"]):
            raise Conflict("the task's repository or worktree is gone")
        return repo

    async def merge_preview(self, task_id: str) -> dict[str, Any]:
        """Commits ahead/behind the base branch and the conflict preview (``merge.preview``)."""
        row = self.get(task_id)
        out = await merge.preview(await self._merge_repo(row), row["worktree_path"], row["branch"],
                                  row["base_branch"])
        out["overlaps"] = await self._overlaps(row)
        return out

    async def _overlaps(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Other live tasks of the project whose changed files overlap this task's ("conflicts with")."""
        mine = await merge.changed_files(row["worktree_path"], row["base_branch"])
        found = []
        for other in self.store.tasks(project=row["project"]):
            if other["id"] == row["id"] or other["status"] == "complete" or not mine:
                continue
            shared = mine & await merge.changed_files(other["worktree_path"], other["base_branch"])
            if shared:
                found.append({"id": other["id"], "name": other["name"], "files": sorted(shared)})
        return found

    async def merge_action(self, task_id: str, action: str, *, title: str | None = None,
                           body: str | None = None, remote: str = "origin") -> dict[str, Any]:
        """``rebase`` onto the base, ``merge`` into the base, or ``pr`` (push + ``gh pr create``)."""
        async with self._task_lock(task_id):
            row = self.get(task_id)
            repo = await self._merge_repo(row)
            branch, base = row["branch"], row["base_branch"]
            if action == "rebase":
                result = await merge.rebase(row["worktree_path"], branch, base)
            elif action == "merge":
                async with worktrees.repo_lock(repo):
                    result = await merge.merge(repo, branch, base)
            elif action == "pr":
                result = await merge.pull_request(row["worktree_path"], branch, base, title or row["name"],
                                                  body if body is not None else row["prompt"], remote)
            else:
                raise Invalid("action must be one of rebase, merge, pr")
        self.publish("task.merge", {"id": task_id, **result})
        self.changed(task_id)
        return {**result, "merge": await self.merge_preview(task_id)}

    def set_archived(self, task_id: str, archived: bool | None) -> dict[str, Any]:
        """Archive/unarchive (None toggles)."""
        row = self.get(task_id)
        value = (not row["archived"]) if archived is None else bool(archived)
        self.store.update_task(task_id, archived=int(value))
        self.changed(task_id)
        return self.get(task_id)

    def rename(self, task_id: str, name: Any) -> dict[str, Any]:
        """Change the display name only (slug, branch and worktree stay)."""
        self.get(task_id)
        self.store.update_task(task_id, name=check_name(name))
        self.changed(task_id)
        return self.get(task_id)

    def set_pinned(self, task_id: str, pinned: bool | None) -> dict[str, Any]:
        """Pin/unpin (None toggles)."""
        row = self.get(task_id)
        value = (not row["pinned"]) if pinned is None else bool(pinned)
        self.store.update_task(task_id, pinned=int(value))
        self.changed(task_id)
        return self.get(task_id)

    def set_status(self, task_id: str, status: Any) -> dict[str, Any]:
        """Set the status directly (the TUI's s/S, the PWA's status menu)."""
        row = self.get(task_id)
        if status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}")
        fields: dict[str, Any] = {"status": status}
        if status == "complete":
            fields["ended_at"] = row["ended_at"] or utcnow()
        self.store.update_task(task_id, **fields)
        self.changed(task_id)
        return self.get(task_id)

    async def stop_all(self) -> list[str]:
        """Stop every running session."""
        stopped = []
        for row in self.store.tasks(archived="all"):
            if self.live_session(row) is not None:
                await self.stop(row["id"])
                stopped.append(row["id"])
        return stopped

    async def prune_completed(self) -> dict[str, Any]:
        """Delete completed tasks whose worktrees hold no unsaved work; report the skipped ones."""
        deleted, skipped = [], []
        for row in self.store.tasks(status="complete", archived="all"):
            try:
                await self.delete(row["id"], force=False)
                deleted.append(row["id"])
            except Conflict as exc:
                skipped.append({"id": row["id"], "reason": exc.extra.get("reason", exc.message)})
            except NotFound:
                continue
        for proj in self.projects():
            try:
                await worktrees.prune_worktrees(proj["path"])
            except Exception:
                log.debug("worktree prune failed for %s", proj["name"], exc_info=True)
        return {"deleted": deleted, "skipped": skipped}

    # -- terminal --------------------------------------------------------------------------

    def session_of(self, row: dict[str, Any]) -> Any | None:
        """The task's most recent session object (alive or exited), if the manager knows it."""
        sid = row.get("session_id")
        return self.sessions.get(sid) if sid else None

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the task's current session output (from the log when needed)."""
        row = self.get(task_id)
        session = self.session_of(row)
        if session is not None:
            end = session.end_offset
            start = max(0, end - nbytes)
            try:
                chunk = await session.read_range(start, end)
                return chunk.data
            except Exception:
                return session.tail(nbytes)[1]
        log_file = self.kernel.paths.sessions / f"{row['session_id']}.log" if row["session_id"] else None
        if log_file and log_file.exists():
            with open(log_file, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                fh.seek(max(0, size - nbytes))
                return fh.read()
        return b""

    async def write_input(self, task_id: str, data: bytes) -> int:
        """Send raw bytes to the agent's stdin; clears its idle flag."""
        queue = self.rerender_input.get(task_id)
        if queue is not None:  # the session is being replaced at a new width: deliver it to the new one
            queue.append(data)
            return len(data)
        row = self.get(task_id)
        session = self.live_session(row)
        if session is None:
            raise Conflict("the agent is not running; resume the task first")
        await session.write(data)
        self.idle.input(session.id)
        return len(data)

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent: clear its input line, the text, a pause, then Enter."""
        if not isinstance(text, str):
            raise Invalid("text must be a string")
        line = " ".join(text.splitlines()).strip()
        await self.write_input(task_id, CLEAR_LINE + line.encode())
        await trio.sleep(TYPE_PAUSE)
        if task_id in self.rerender_input or self.live_session(self.get(task_id)) is not None:
            await self.write_input(task_id, b"\r")

    async def resize(self, task_id: str, cols: Any, rows: Any) -> dict[str, Any]:
        """Resize the PTY; re-render (kill + resume) when idle and ≥15 columns from the start width."""
        if not isinstance(cols, int) or not isinstance(rows, int) or isinstance(cols, bool) \
                or isinstance(rows, bool) or not (10 <= cols <= 1000) or not (4 <= rows <= 500):
            raise Invalid("cols (10-1000) and rows (4-500) must be integers")
        async with self._task_lock(task_id):
            return await self._resize(task_id, cols, rows)

    async def _resize(self, task_id: str, cols: int, rows: int) -> dict[str, Any]:
        row = self.get(task_id)
        session = self.live_session(row)
        if session is None:
            raise Conflict("the agent is not running")
        await session.resize(rows, cols)
        start_cols = getattr(session, "start_cols", cols)
        rerender = abs(cols - start_cols) >= RERENDER_COLS and self._can_rerender(row, session)
        if rerender:
            await self._rerender(row, session, cols, rows)
        return {"cols": cols, "rows": rows, "rerendered": rerender}

    def _can_rerender(self, row: dict[str, Any], session: Any) -> bool:
        """A re-render (kill + resume at the new width) only when nothing can be lost: the agent is
        idle, the task is not complete, nobody typed in the last seconds, and the relaunch resolves."""
        state = self.idle.states.get(session.id)
        if not self.idle.is_idle(session.id) or row["status"] == "complete" or not row["agent_session_id"]:
            return False
        if state is not None and trio.current_time() - state.last_input_at < RERENDER_QUIET:
            return False
        try:
            require_executable(self.backend(row["backend"]))
        except ArgusError:
            return False
        return os.path.isdir(row["worktree_path"])

    async def _rerender(self, row: dict[str, Any], session: Any, cols: int, rows: int) -> None:
        """Replace the session at the new width; input typed meanwhile is queued and delivered to
        the new session; the task's status is what it was before."""
        task_id, status = row["id"], row["status"]
        queue = self.rerender_input[task_id] = []
        try:
            self.rerendering.add(session.id)
            # Marked in the row first: a crash between the kill and the new spawn is finished later.
            self._mark_rerender(task_id, {"cols": cols, "rows": rows, "status": status})
            await session.terminate(grace=2.0)
            fault_point("rerender.terminated")
            try:
                new = await self._spawn(self.get(task_id), resume=True, cols=cols, rows=rows)
            except Exception as exc:
                # The old agent is gone and the new one did not start: the task needs the user,
                # unless the supervisor is only gone for a moment (then it is finished when it is back).
                if status in ("in_progress", "pending"):
                    self.store.update_task(task_id, status="in_review", ended_at=utcnow())
                self.changed(task_id)
                if isinstance(exc, Unavailable):
                    self.kernel.spawn_background(lambda: self._finish_rerender(task_id), f"rerender:{task_id}")
                else:
                    self._mark_rerender(task_id, None)
                raise
            self._mark_rerender(task_id, None)
            if status != "in_progress":  # a resize never moves the status
                self.store.update_task(task_id, status=status)
                self.changed(task_id)
            while queue:
                await new.write(queue.pop(0))
                self.idle.input(new.id)
        finally:
            self.rerender_input.pop(task_id, None)

    def _mark_rerender(self, task_id: str, mark: dict[str, Any] | None) -> None:
        """Record (or clear) a re-render in flight in the task's meta, so a crash cannot end it half-way."""
        row = self.store.task(task_id)
        if row is None:
            return
        meta = json.loads(row["meta"] or "{}")
        if mark is None and "rerender" not in meta:
            return
        if mark is None:
            meta.pop("rerender", None)
        else:
            meta["rerender"] = mark
        self.store.update_task(task_id, meta=json.dumps(meta))

    async def _finish_rerender(self, task_id: str) -> None:
        """A re-render cut short by a crash (its mark is still in the row): once a supervisor
        answers, start the agent again at the new size and put the status back."""
        with trio.move_on_after(RESUME_WAIT):
            while True:
                await trio.sleep(0.2)
                if not getattr(self.sessions, "connected", True):
                    continue
                try:
                    async with self._task_lock(task_id):
                        await self._complete_rerender(task_id)
                    return
                except Unavailable:
                    continue
                except Exception as exc:  # the task changed or cannot start: the user sees it in review
                    log.warning("could not finish the re-render of task %s: %s", task_id, exc)
                    self._mark_rerender(task_id, None)
                    return
        log.warning("could not finish the re-render of task %s: no session-supervisor within %gs",
                    task_id, RESUME_WAIT)
        self._mark_rerender(task_id, None)

    async def _complete_rerender(self, task_id: str) -> None:
        row = self.store.task(task_id)
        mark = json.loads(row["meta"] or "{}").get("rerender") if row is not None else None
        if row is None or not isinstance(mark, dict):
            return
        if self.live_session(row) is None:
            await self._spawn(row, resume=True, cols=mark.get("cols"), rows=mark.get("rows"))
            log.info("finished the re-render of task %s after a crash", task_id)
        self._mark_rerender(task_id, None)
        status = mark.get("status")
        if isinstance(status, str) and status != self.get(task_id)["status"] and status != "pending":
            self.store.update_task(task_id, status=status)
        self.changed(task_id)

    async def links(self, task_id: str) -> list[dict[str, str]]:
        """URLs found in the recent output, newest first, de-duplicated."""
        text = strip_ansi((await self.output(task_id, 256 * 1024)).decode("utf-8", "replace"))
        seen: dict[str, None] = {}
        for url in reversed(URL_RE.findall(text)):
            url = url.rstrip(".,;:)]}>")
            seen.setdefault(url, None)
        return [{"label": url, "url": url} for url in seen]

    # -- recovery --------------------------------------------------------------------------

    def recover(self) -> None:
        """At daemon start: finish re-renders a crash cut short; watch live sessions; in_progress
        tasks without one go to in_review."""
        for row in self.store.tasks(archived="all"):
            if "rerender" not in json.loads(row["meta"] or "{}"):
                continue
            if self.live_session(row) is not None:  # the crash came before the old agent was killed
                self._mark_rerender(row["id"], None)
            else:
                if row["session_id"]:
                    self.rerendering.add(row["session_id"])  # its exit is the re-render's, not the task's
                task_id = row["id"]
                self.kernel.spawn_background(lambda task_id=task_id: self._finish_rerender(task_id),
                                             f"rerender:{task_id}")
        for row in self.store.tasks(status="in_progress", archived="all"):
            if row["session_id"] in self.rerendering:
                continue
            session = self.session_of(row)
            if session is not None and session.alive:
                # The kind recorded at launch: the backend may have been edited or deleted since.
                self.watch(session, str(session.meta.get("kind") or "generic"))
                continue
            if session is not None and session.exit is not None:
                self.on_session_exited({"session_id": session.id, "code": session.exit.code,
                                        "signal": session.exit.signal})
                continue
            self.store.update_task(row["id"], status="in_review", ended_at=utcnow())
            self.changed(row["id"])

    def agent_hook(self, body: dict[str, Any], principal: Any) -> None:
        """An agent-side hook report from ``principal`` (the task's own token, or the master token):
        signal idle. Another task's token, a device or a scope token is 403."""
        task_id = body.get("task_id")
        if not isinstance(task_id, str):
            raise Invalid("task_id is required")
        if not (principal.is_master or (principal.kind == "task" and principal.task_id == task_id)):
            raise Forbidden("the agent hook takes the token of the task it reports for")
        row = self.store.task(task_id)
        if row is None:
            raise NotFound(f"no task {task_id!r}")
        event = body.get("event")
        if not isinstance(event, str):
            raise Invalid("event is required")
        if not row["agent_session_id"]:  # Codex says its session id in notify: keep it for `codex resume`
            sid = codex_thread_id(body.get("payload"))
            if sid:
                self.store.update_task(task_id, agent_session_id=sid)
        if row["session_id"]:
            self.idle.hook(row["session_id"], event)


_THREAD_ID = re.compile(r'"(?:thread-id|thread_id|session_id|session-id)"\s*:\s*"([0-9A-Za-z._:-]{8,128})"')


def codex_thread_id(payload: Any) -> str | None:
    """The session id in a Codex ``notify`` payload (JSON text, possibly cut short), or None."""
    if not isinstance(payload, str) or "agent-turn-complete" not in payload:
        return None
    match = _THREAD_ID.search(payload)
    return match.group(1) if match else None


def codex_session_for(worktree: str, limit: int = 500) -> str | None:
    """The newest Codex session whose recorded cwd is ``worktree``, from its rollout files
    (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``, first line ``session_meta``)."""
    root = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex") / "sessions"
    try:
        files = sorted(root.glob("*/*/*/rollout-*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for path in files[:limit]:
        try:
            with open(path, encoding="utf-8") as fh:
                first = json.loads(fh.readline() or "{}")
        except (OSError, ValueError):
            continue
        meta = first.get("payload", first) if isinstance(first, dict) else {}
        if isinstance(meta, dict) and meta.get("cwd") == worktree and isinstance(meta.get("id"), str):
            return meta["id"]
    return None


def opencode_session_for(worktree: str, limit: int = 500) -> str | None:
    """The newest opencode session whose directory is ``worktree``, from opencode's storage
    (``$XDG_DATA_HOME/opencode/storage/session/<project>/ses_*.json``). Worktrees of one repository
    share an opencode project, so ``--continue`` alone could pick another task's session."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    root = base / "opencode" / "storage" / "session"
    try:
        files = sorted(root.glob("*/ses_*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for path in files[:limit]:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and info.get("directory") == worktree and isinstance(info.get("id"), str):
            return info["id"]
    return None


def _config_sandbox(raw: dict[str, Any]) -> dict[str, Any]:
    """A config.toml ``[projects.<name>.sandbox]`` table: the manual's lowercased keys
    (``denyread``, ``extrawrite``, ``allowappleevents``) or snake_case ones."""
    def items(*keys: str) -> list[str]:
        for key in keys:
            value = raw.get(key)
            if isinstance(value, list):
                return [v for v in value if isinstance(v, str)]
        return []

    flags = {k: raw.get(k) if isinstance(raw.get(k), bool) else None for k in ("enabled", "network")}
    return {**flags, "deny_read": items("denyread", "deny_read"), "extra_write": items("extrawrite", "extra_write"),
            "allow_apple_events": items("allowappleevents", "allow_apple_events")}


def _agent_path() -> str:
    from .backends import agent_path

    return agent_path()


_ = signal  # signals are sent by the session layer
