"""The sandbox of one running daemon: wraps agent launches and remembers how each was confined.

``Sandbox`` is registered with the plugin manager as its own plugin object (``argus_register``
does it), so its hook implementations reach this daemon's kernel without module globals.

A launch with the sandbox enabled either runs confined or does not run: when the backend is
unavailable (bwrap missing, user namespaces off) the hook raises ``Invalid`` naming the reason, so
task creation answers 400 and rolls back, and a resume answers 400 — never silently unconfined.
Settings are read at each launch: a change affects new launches and resumes, never a running agent;
``GET /api/tasks/{id}/sandbox`` shows both what the running agent got and what the next launch gets.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import trio
from argus.kernel.api import Invalid, Kernel, Migration, hookimpl, utcnow

from . import detect
from .bwrap import bwrap_argv
from .config import Effective, effective, global_values
from .policy import Platform, Policy, PolicyInputs, compute_policy
from .sbpl import sandbox_exec_argv, sbpl_profile
from .tasks_link import project_of, task_of

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration("sandbox", 1, """
CREATE TABLE sandbox_launches (
    task_id TEXT PRIMARY KEY,
    sandboxed INTEGER NOT NULL,
    backend TEXT,
    policy TEXT NOT NULL DEFAULT '{}',
    launched_at TEXT NOT NULL
);
"""),
]
PROFILE_NAME = "sandbox.sb"


def git_common_dir(worktree: str) -> str | None:
    """The main repository's ``.git`` of a linked worktree (read from its ``.git`` file, no git call)."""
    dotgit = os.path.join(worktree, ".git")
    if os.path.isdir(dotgit):
        return dotgit
    try:
        with open(dotgit, encoding="utf-8") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = os.path.normpath(os.path.join(worktree, text[len("gitdir:"):].strip()))
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as fh:
            return os.path.normpath(os.path.join(gitdir, fh.read().strip()))
    except OSError:
        return gitdir


class Sandbox:
    """Policy computation, launch wrapping and launch records for one kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.detector = detect.Detector()  # this kernel's cached probes

    # -- reading -----------------------------------------------------------------------------

    def availability(self) -> detect.Availability:
        """The backend of this host for the configured bwrap executable (cached probe)."""
        return self.detector.detect(str(global_values(self.kernel.settings)["bwrap"] or "bwrap"))

    def effective(self, task: dict[str, Any]) -> Effective:
        """The settings that apply to ``task``'s next launch."""
        return effective(self.kernel.settings, project_of(self.kernel, task["project"]))

    def policy(self, task: dict[str, Any], eff: Effective, home: str | None = None) -> Policy:
        """The policy of ``task``'s next launch under ``eff``."""
        project = project_of(self.kernel, task["project"]) or {}
        plat: Platform = "darwin" if detect.platform() == "darwin" else "linux"
        return compute_policy(PolicyInputs(
            task_id=task["id"], worktree=task["worktree_path"], run_dir=str(self.kernel.paths.run / task["id"]),
            argus_home=str(self.kernel.paths.home), home=home or os.path.expanduser("~"),
            git_dir=git_common_dir(task["worktree_path"]), repo=project.get("path") or None,
            deny_read=eff.deny_read, extra_write=eff.extra_write, allow_ssh_keys=eff.allow_ssh_keys,
            network=eff.network, apple_events=eff.apple_events, platform=plat,
        ))

    def launch_record(self, task_id: str) -> dict[str, Any] | None:
        """How ``task_id``'s most recent launch was confined, or None if it never launched."""
        row = self.kernel.db.one("SELECT * FROM sandbox_launches WHERE task_id = ?", (task_id,))
        if row is None:
            return None
        return {"sandboxed": bool(row["sandboxed"]), "backend": row["backend"],
                "policy": json.loads(row["policy"] or "{}"), "launched_at": row["launched_at"]}

    def describe(self, task_id: str) -> dict[str, Any]:
        """``GET /api/tasks/{id}/sandbox``: the running agent's confinement and the next launch's."""
        task = task_of(self.kernel, task_id)
        eff = self.effective(task)
        avail = self.availability()
        nxt: dict[str, Any] = {"enabled": eff.enabled, "enabled_from": eff.enabled_from,
                               "available": avail.available, "backend": avail.to_json()["backend"],
                               "reason": avail.reason or None}
        if eff.enabled:
            nxt["policy"] = self.policy(task, eff).to_json()
        return {"task_id": task_id, "current": self.launch_record(task_id), "next": nxt}

    def task_fields(self, task: dict[str, Any]) -> dict[str, Any]:
        """``{"sandbox": {"sandboxed", "backend"}}`` for the Task JSON (the last launch's truth)."""
        record = self.launch_record(task["id"])
        if record is None:
            return {"sandbox": {"sandboxed": False, "backend": None, "launched": False}}
        return {"sandbox": {"sandboxed": record["sandboxed"], "backend": record["backend"], "launched": True}}

    # -- wrapping ----------------------------------------------------------------------------

    def wrap(self, task: dict[str, Any], argv: list[str], env: dict[str, str]) -> list[str] | None:
        """The confined argv for ``task``'s launch, None when its sandbox is off; Invalid if it cannot be."""
        eff = self.effective(task)
        if not eff.enabled:
            self._record(task["id"], None, None)
            return None
        avail = self.detector.detect(eff.bwrap)
        if not avail.available:
            where = "project" if eff.enabled_from == "project" else "global"
            raise Invalid(f"the sandbox is enabled ({where} setting) but unavailable: {avail.reason}",
                          sandbox=avail.to_json())
        policy = self.policy(task, eff, home=env.get("HOME") or os.environ.get("HOME"))
        if avail.backend == "sandbox-exec":
            profile = os.path.join(policy.run_dir, PROFILE_NAME)
            os.makedirs(policy.run_dir, mode=0o700, exist_ok=True)
            with open(profile, "w", encoding="utf-8") as fh:
                fh.write(sbpl_profile(policy))
            wrapped = sandbox_exec_argv(profile, argv, sandbox_exec=avail.executable)
        else:
            wrapped = bwrap_argv(policy, argv, bwrap=avail.executable, signal_env=avail.env)
        self._record(task["id"], avail, policy)
        log.info("task %s: agent sandboxed with %s", task["id"], avail.to_json()["backend"])
        return wrapped

    def _record(self, task_id: str, avail: detect.Availability | None, policy: Policy | None) -> None:
        self.kernel.db.execute(
            "INSERT INTO sandbox_launches (task_id, sandboxed, backend, policy, launched_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(task_id) DO UPDATE SET sandboxed = excluded.sandboxed, backend = excluded.backend, "
            "policy = excluded.policy, launched_at = excluded.launched_at",
            (task_id, int(policy is not None), avail.to_json()["backend"] if avail else None,
             json.dumps(policy.to_json() if policy else {}), utcnow()),
        )

    # -- hooks (this object is registered as a plugin) --------------------------------------

    @hookimpl
    def argus_session_command(self, task: dict[str, Any], argv: list[str], env: dict[str, str]) -> list[str] | None:
        """Wrap the agent in bwrap / sandbox-exec when its project's sandbox is on."""
        return self.wrap(task, argv, env)

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any]:
        """``sandbox: {sandboxed, backend, launched}`` in the Task JSON (clients show a lock)."""
        return self.task_fields(task)

    @hookimpl
    def argus_task_deleted(self, task: dict[str, Any]) -> None:
        """Forget a deleted task's launch record."""
        self.kernel.db.execute("DELETE FROM sandbox_launches WHERE task_id = ?", (task["id"],))

    @hookimpl
    def argus_background(self, kernel: Kernel) -> list[Any]:
        """Probe the sandbox backend once at start, off the event loop (later reads hit the cache)."""
        async def warm() -> None:
            bwrap = str(global_values(self.kernel.settings)["bwrap"] or "bwrap")
            found = await trio.to_thread.run_sync(self.detector.detect, bwrap)
            log.info("sandbox backend: %s", found.to_json())
        return [warm]

    @hookimpl
    def argus_settings_info(self, kernel: Kernel) -> dict[str, Any]:
        """``sandbox.available`` / ``backend`` / ``reason`` in ``GET /api/settings``."""
        return {"sandbox": self.availability().to_json()}
