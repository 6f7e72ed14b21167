"""Spawning a task's agent: the launch gate, the launch its kind builds, a fresh task token, the
``argus_session_command`` wrap (the sandbox), the PTY session, its idle watcher; and forgetting old
sessions."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Conflict, Invalid, fault_point, utcnow

from .backends import Backends
from .coordination import EndIntents
from .kinds import GENERIC
from .launch import build_launch, require_executable, screen_rules, write_project_mcp_config
from .store import Store
from .view import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Paths, Session, SessionManager, TokenService
    from pluggy import HookRelay

log = logging.getLogger(__name__)

DEFAULT_ROWS, DEFAULT_COLS = 40, 120


class Launcher:
    """Starts agents for tasks and watches them."""

    def __init__(self, *, store: Store, view: TaskView, backends: Backends, hook: HookRelay,
                 sessions: Callable[[], SessionManager], tokens: TokenService, mcp_port: Callable[[], int],
                 paths: Paths,
                 permission_mode: Callable[[], str],
                 spawn_background: Callable[[Callable[[], Awaitable[None]], str], None],
                 intents: EndIntents) -> None:
        """``sessions``/``mcp_port`` are read when needed (they exist once the daemon runs);
        ``tokens`` mints per-launch task tokens; ``paths`` gives ``run`` and ``sessions``."""
        self.store = store
        self.view = view
        self.backends = backends
        self.hook = hook
        self._sessions = sessions
        self.tokens = tokens
        self._mcp_port = mcp_port
        self.paths = paths
        self._permission_mode = permission_mode
        self._spawn_background = spawn_background
        self.intents = intents

    def run_dir(self, task_id: str) -> Path:
        """The task's private directory of generated per-launch files."""
        return Path(self.paths.run) / task_id

    def hold_reason(self, task: dict[str, Any]) -> str | None:
        """The first ``argus_launch_gate`` reason to keep the task pending, or None."""
        for reason in self.hook.argus_launch_gate(task=self.view.to_json(task)):
            if reason:
                return str(reason)
        return None

    def resumable(self, row: dict[str, Any]) -> bool:
        """Whether the backend can resume this task's conversation (its kind's resume rule)."""
        kind = self.backends.kind_of(self.backends.get(row["backend"]))
        return bool(row["agent_session_id"]) or kind.resume_without_id

    async def spawn(self, task: dict[str, Any], *, resume: bool, cols: int | None = None,
                    rows: int | None = None) -> Session:
        """Start the task's agent in a new session (resuming its conversation when ``resume``); the
        task goes ``in_progress``. Returns the session."""
        be = self.backends.get(task["backend"])
        require_executable(be)
        kind = self.backends.kind_of(be)
        if not os.path.isdir(task["worktree_path"]):
            raise Conflict(f"the worktree {task['worktree_path']} is gone; delete the task")
        if resume and kind.find_session is not None and not task.get("agent_session_id"):
            # The session id is not known yet: find it in the CLI's own files.
            sid = await trio.to_thread.run_sync(kind.find_session, task["worktree_path"])
            if sid:
                self.store.update_task(task["id"], agent_session_id=sid)
                task = {**task, "agent_session_id": sid}
        port = self._mcp_port()
        mcp_url = f"http://127.0.0.1:{port}/mcp"
        hook_url = f"http://127.0.0.1:{port}/api/agent/hook"
        # A fresh task token per launch (the previous agent's token stops working).
        token = self.tokens.mint_task(task["id"])
        launch = build_launch(kind, backend=be, task=task, prompt=None if resume else task["prompt"], resume=resume,
                              mcp_url=mcp_url, hook_url=hook_url, token=token, run_dir=self.run_dir(task["id"]),
                              permission_mode=self._permission_mode())
        if kind.reads_mcp_config:
            written = write_project_mcp_config(task["worktree_path"], mcp_url)
            if written:
                self._remember_generated(task["id"], written)
        argv = self.hook.argus_session_command(task=self.view.to_json(task), argv=launch.argv, env=launch.env) \
            or launch.argv
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        env.update(launch.env)
        previous = task.get("session_id")
        session = await self._sessions().spawn(
            argv, task["worktree_path"], env, rows=rows or DEFAULT_ROWS, cols=cols or DEFAULT_COLS,
            meta={"task_id": task["id"], "backend": be["name"], "kind": be["kind"]},
        )
        fault_point("spawn.before_status")
        now = utcnow()
        meta = json.loads(self.view.get(task["id"])["meta"] or "{}")
        meta["sessions"] = [*meta.get("sessions", []), session.id]
        self.store.update_task(task["id"], session_id=session.id, status="in_progress", meta=json.dumps(meta),
                               started_at=task["started_at"] or now, ended_at=None, exit_code=None)
        self.watch(session, be["kind"])
        self.view.changed(task["id"])
        self.hook.argus_session_started(task=self.view.to_json(self.view.get(task["id"])), session_id=session.id,
                                        resumed=resume)
        if previous and previous != session.id:
            await self.forget(previous)
        return session

    def watch(self, session: Session, kind: str) -> None:
        """Start the idle watcher of a live session in the kernel nursery, with the screen rules of
        ``kind`` (the kind recorded at launch; ``generic`` ones when it is gone)."""
        if session.id in self.view.idle.states or not session.alive:
            return
        try:
            found = self.backends.kind_named(kind)
        except Invalid:
            found = GENERIC
        rules = screen_rules(found)

        async def watcher() -> None:
            await self.view.idle.watch(session, kind, rules, found.usage_limit)

        self._spawn_background(watcher, f"idle:{session.id}")

    async def forget(self, session_id: str) -> None:
        """Drop an old session's record in the supervisor (its log file stays until task deletion)."""
        try:
            await self._sessions().forget(session_id)
        except Exception:
            log.debug("forget session %s failed", session_id, exc_info=True)

    def remove_log(self, session_id: str) -> None:
        """Delete a session's output log."""
        try:
            (Path(self.paths.sessions) / f"{session_id}.log").unlink()
        except FileNotFoundError:
            pass

    async def discard(self, session: Session) -> None:
        """Rollback of a spawn: kill the agent, forget the session, remove its log."""
        self.intents.stopping.add(session.id)
        try:
            await session.terminate(grace=1.0)
        except Exception:
            log.debug("kill during rollback failed", exc_info=True)
        await self.forget(session.id)
        self.remove_log(session.id)

    def _remember_generated(self, task_id: str, path: str) -> None:
        """Record a file generated in the worktree (deletion sets it aside before its dirty check)."""
        row = self.view.get(task_id)
        meta = json.loads(row["meta"] or "{}")
        meta.setdefault("generated", [])
        if path not in meta["generated"]:
            meta["generated"].append(path)
        self.store.update_task(task_id, meta=json.dumps(meta))
