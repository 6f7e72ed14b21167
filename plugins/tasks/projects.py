"""Projects: git repositories tasks run in, stored in SQLite and overlaid by ``[projects.<name>]`` of
config.toml (wholesale); their sandbox settings; scanning a directory for repositories to add."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from typing import Any

import trio
from argus.kernel.api import Forbidden, Invalid, NotFound

from . import worktrees
from .store import Store

PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_sandbox(value: object) -> dict[str, Any]:
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


def config_sandbox(raw: dict[str, Any]) -> dict[str, Any]:
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


class Projects:
    """Project CRUD and the quick-add scan."""

    def __init__(self, store: Store, config: Callable[[], dict[str, Any]],
                 publish: Callable[[str, dict[str, Any]], None]) -> None:
        """``config``: the ``[projects]`` table of config.toml, read anew on each call."""
        self.store = store
        self._config = config
        self.publish = publish

    def all(self) -> list[dict[str, Any]]:
        """DB projects overlaid with ``[projects.<name>]`` from config.toml (wholesale)."""
        rows = {p["name"]: p for p in self.store.projects()}
        for name, entry in self._config().items():
            if isinstance(entry, dict):
                sandbox = entry.get("sandbox", {}) if isinstance(entry.get("sandbox"), dict) else {}
                rows[name] = {"name": name, "path": str(entry.get("path", "")), "branch": str(entry.get("branch", "")),
                              "backend": str(entry.get("backend", "")),
                              "sandbox": config_sandbox(sandbox), "source": "config"}
        return sorted(rows.values(), key=lambda p: p["name"])

    def get(self, name: str) -> dict[str, Any]:
        """One project or NotFound."""
        for p in self.all():
            if p["name"] == name:
                return p
        raise NotFound(f"no project {name!r}")

    def ensure_row(self, project: dict[str, Any]) -> None:
        """Give a config.toml-only project its DB row (tasks reference a projects row; the config
        entry still wins wherever projects are read)."""
        if project.get("source") == "config" and self.store.project(project["name"]) is None:
            self.store.insert_project(project["name"], project["path"], project["branch"], project["backend"],
                                      check_sandbox(None))

    def guard_sandbox(self, name: str | None, body: Any, *, master: bool) -> None:
        """Only the master token changes a project's ``sandbox`` (a device token must not be able
        to switch an agent's confinement off). Sending it back unchanged is allowed."""
        if master or not isinstance(body, dict) or "sandbox" not in body:
            return
        current = self.store.project(name) if name else None
        before = check_sandbox((current or {}).get("sandbox") or None)
        try:
            after = check_sandbox(body["sandbox"])
        except Invalid:
            return  # the validation that follows reports it
        if after != before:  # the object is replaced whole by an update
            raise Forbidden("changing a project's sandbox requires the master token")

    def _check_backend(self, backend: Any) -> str:
        if not isinstance(backend, str) or (backend and self.store.backend(backend) is None):
            raise Invalid(f"unknown backend {backend!r}")
        return backend

    async def add(self, body: dict[str, Any]) -> dict[str, Any]:
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
        backend = self._check_backend(body.get("backend") or "")
        sandbox = check_sandbox(body.get("sandbox"))
        self.store.insert_project(name, root, branch, backend, sandbox)
        project = self.get(name)
        self.publish("project.created", {"project": project})
        return project

    async def update(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Partial update of a DB project."""
        stored = self.store.project(name)
        if stored is None:
            raise NotFound(f"no project {name!r}")
        fields: dict[str, Any] = {}
        if "path" in body:
            path = body["path"]
            if not isinstance(path, str) or not os.path.isdir(os.path.expanduser(path)):
                raise Invalid(f"path does not exist: {path}")
            if not await worktrees.is_git_repo(os.path.expanduser(path)):
                raise Invalid(f"not a git repository: {path}")
            fields["path"] = await worktrees.repo_root(os.path.expanduser(path))
        repo = fields.get("path") or stored["path"]
        if "branch" in body:
            branch = body["branch"] or await worktrees.default_branch(repo)
            if not isinstance(branch, str) or not await worktrees.branch_exists(repo, branch):
                raise Invalid(f"branch {branch!r} does not exist in {repo}")
            fields["branch"] = branch
        if "backend" in body:
            fields["backend"] = self._check_backend(body["backend"] or "")
        if "sandbox" in body:
            fields["sandbox"] = check_sandbox(body["sandbox"])
        self.store.update_project(name, fields)
        project = self.get(name)
        self.publish("project.updated", {"project": project})
        return project

    def delete(self, name: str) -> None:
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
        known = {p["path"] for p in self.all()}
        for r in repos:
            r["registered"] = r["path"] in known
        self.publish("project.scan.done", {"scan_id": scan_id, "count": len(repos)})
        return repos
