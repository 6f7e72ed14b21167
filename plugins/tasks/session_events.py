"""What happens to a task when its agent's session does something on its own: it exits (a clean
exit completes the task; a crash, a stop or a lost session moves it to in_review), the agent reports
through its hook (idle, its session id), or the daemon restarts around it (recovery).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Forbidden, Invalid, NotFound, Unavailable, utcnow

from .backends import Backends
from .coordination import EndIntents
from .launcher import Launcher
from .store import Store
from .view import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import SessionManager
    from pluggy import HookRelay

log = logging.getLogger(__name__)

EXIT_RETRY = 2.0  # seconds between attempts to save an exit while the disk is full
RESUME_WAIT = 30.0  # seconds an interrupted task waits for the supervisor before staying in review


class SessionEvents:
    """Session exits, agent hook reports and start-up recovery."""

    def __init__(self, *, store: Store, view: TaskView, backends: Backends, launcher: Launcher,
                 intents: EndIntents, hook: HookRelay, sessions: Callable[[], SessionManager],
                 resume_interrupted: Callable[[], bool], resume: Callable[[str], Awaitable[Any]],
                 spawn_background: Callable[[Callable[[], Awaitable[None]], str], None]) -> None:
        """``resume_interrupted``: the ``defaults.resume_interrupted`` setting; ``resume``: the
        lifecycle's resume of a task."""
        self.store = store
        self.view = view
        self.backends = backends
        self.launcher = launcher
        self.intents = intents
        self.hook = hook
        self._sessions = sessions
        self._resume_interrupted_setting = resume_interrupted
        self._resume = resume
        self._spawn_background = spawn_background

    # -- exits -----------------------------------------------------------------------------

    def on_session_exited(self, data: dict[str, Any]) -> None:
        """``session.exited``: clean exit → complete; crash, stop or lost → in_review."""
        sid = data.get("session_id") or ""
        row = self.store.task_by_session(sid)
        code = data.get("code")
        if sid in self.intents.rerendering:
            self.intents.rerendering.discard(sid)
            if row is not None:
                self.hook.argus_session_exited(task=self.view.to_json(row), session_id=sid, code=code,
                                               reason="restarted")
            return
        if row is None:
            return
        stopped = sid in self.intents.stopping
        self.intents.stopping.discard(sid)
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

            async def later() -> None:
                await self._save_exit_later(task_id, status, code, lost, reason)

            self._spawn_background(later, f"exit:{task_id}")
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
        self.view.changed(row["id"])
        fresh = self.view.get(row["id"])
        self.hook.argus_session_exited(task=self.view.to_json(fresh), session_id=row.get("session_id") or "",
                                       code=fresh.get("exit_code"), reason=reason)
        if lost and status == "in_review" and not row["archived"] and self._resume_interrupted_setting():
            task_id = row["id"]

            async def resume() -> None:
                await self._resume_when_back(task_id)

            self._spawn_background(resume, f"resume:{task_id}")

    async def _resume_when_back(self, task_id: str) -> None:
        """An agent lost with its supervisor: resume it once a supervisor answers again."""
        with trio.move_on_after(RESUME_WAIT):
            while True:
                await trio.sleep(0.2)  # the link that just dropped may still look connected
                if not getattr(self._sessions(), "connected", True):
                    continue
                try:
                    row = self.view.get(task_id)
                    if row["status"] == "in_review" and self.view.live_session(row) is None:
                        await self._resume(task_id)
                        log.info("resumed task %s after its agent was lost with the supervisor", task_id)
                    return
                except Unavailable:  # the supervisor is still coming back
                    continue
                except Exception as exc:  # the task changed or cannot start: the user sees it in review
                    log.warning("could not resume interrupted task %s: %s", task_id, exc)
                    return
        log.warning("could not resume interrupted task %s: no session-supervisor within %gs", task_id, RESUME_WAIT)

    # -- recovery --------------------------------------------------------------------------

    def recover(self) -> None:
        """At daemon start: watch live sessions; in_progress tasks without one go to in_review."""
        for row in self.store.tasks(status="in_progress", archived="all"):
            if row["session_id"] in self.intents.rerendering:  # a re-render being finished
                continue
            session = self.view.session_of(row)
            if session is not None and session.alive:
                # The kind recorded at launch: the backend may have been edited or deleted since.
                self.launcher.watch(session, str(session.meta.get("kind") or "generic"))
                continue
            if session is not None and session.exit is not None:
                self.on_session_exited({"session_id": session.id, "code": session.exit.code,
                                        "signal": session.exit.signal})
                continue
            self.store.update_task(row["id"], status="in_review", ended_at=utcnow())
            self.view.changed(row["id"])

    # -- agent hooks -----------------------------------------------------------------------

    def agent_hook(self, body: dict[str, Any], principal: Any) -> None:
        """An agent-side hook report from ``principal`` (the task's own token, or the master token):
        signal idle; remember the session id the report carries (the kind's ``session_from_hook``).
        Another task's token, a device or a scope token is 403."""
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
        if not row["agent_session_id"]:  # e.g. Codex says its session id in notify: keep it for `codex resume`
            sid = self._session_from_hook(row, body.get("payload"))
            if sid:
                self.store.update_task(task_id, agent_session_id=sid)
        if row["session_id"]:
            self.view.idle.hook(row["session_id"], event)

    def _session_from_hook(self, row: dict[str, Any], payload: Any) -> str | None:
        """The session id in a hook payload, read by the task's agent kind (None if it reads none)."""
        session = self.view.session_of(row)
        kind_name = str((session.meta if session is not None else {}).get("kind") or "")
        try:
            kind = self.backends.kind_named(kind_name) if kind_name \
                else self.backends.kind_of(self.backends.get(row["backend"]))
        except Invalid:
            return None
        return kind.session_from_hook(payload) if kind.session_from_hook is not None else None
