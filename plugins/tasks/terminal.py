"""Terminal I/O of a task's agent: its recent output, typing into it, resizing it (with a re-render:
the idle agent is replaced at the new width, resuming its conversation), and the links it printed."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import ArgusError, Conflict, Invalid, Unavailable, fault_point, strip_ansi, utcnow

from .backends import Backends
from .coordination import EndIntents, TaskLocks
from .launch import require_executable
from .launcher import Launcher
from .store import Store
from .view import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from argus.kernel.api import Session, SessionManager

log = logging.getLogger(__name__)

RERENDER_COLS = 15
RESUME_WAIT = 30.0  # seconds a re-render cut short by a crash waits for a supervisor
OLD_AGENT_WAIT = 10.0  # seconds such a re-render waits for the exit of the agent it was replacing
RERENDER_QUIET = 3.0  # seconds since a client last typed before a resize may re-render
URL_RE = re.compile(r"https?://[^\s<>\"'`\x1b\x07]+")
CLEAR_LINE = b"\x15"  # ctrl-U: clear the agent's input line before typing into it
TYPE_PAUSE = 0.1  # between typed text and Enter (TUIs treat a burst with its Enter as a paste)


class TerminalIO:
    """Output, input and size of tasks' terminals."""

    def __init__(self, *, store: Store, view: TaskView, backends: Backends, launcher: Launcher,
                 locks: TaskLocks, intents: EndIntents, session_logs: Callable[[], Path],
                 sessions: Callable[[], SessionManager],
                 spawn_background: Callable[[Callable[[], Awaitable[None]], str], None]) -> None:
        """``session_logs``: the directory of session output logs (``$ARGUS_HOME/sessions``);
        ``sessions``: the kernel's session manager; ``spawn_background``: the kernel's."""
        self.store = store
        self.view = view
        self.backends = backends
        self.launcher = launcher
        self.locks = locks
        self.intents = intents
        self._session_logs = session_logs
        self._sessions = sessions
        self._spawn_background = spawn_background
        self.rerender_input: dict[str, list[bytes]] = {}  # task id → input typed during its re-render

    async def output(self, task_id: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of the task's current session output (from the log when needed)."""
        row = self.view.get(task_id)
        session = self.view.session_of(row)
        if session is not None:
            end = session.end_offset
            start = max(0, end - nbytes)
            try:
                chunk = await session.read_range(start, end)
                return bytes(chunk.data)
            except Exception:
                return bytes(session.tail(nbytes)[1])
        log_file = self._session_logs() / f"{row['session_id']}.log" if row["session_id"] else None
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
        session = self.view.input_session(task_id)  # from memory: no SQLite read per keystroke
        if session is None:
            raise Conflict("the agent is not running; resume the task first")
        await session.write(data)
        self.view.idle.input(session.id)
        return len(data)

    async def send_text(self, task_id: str, text: str) -> None:
        """Type one line into the agent: clear its input line, the text, a pause, then Enter."""
        if not isinstance(text, str):
            raise Invalid("text must be a string")
        line = " ".join(text.splitlines()).strip()
        await self.write_input(task_id, CLEAR_LINE + line.encode())
        await trio.sleep(TYPE_PAUSE)
        if task_id in self.rerender_input or self.view.live_session(self.view.get(task_id)) is not None:
            await self.write_input(task_id, b"\r")

    async def resize(self, task_id: str, cols: Any, rows: Any) -> dict[str, Any]:
        """Resize the PTY; re-render (kill + resume) when idle and ≥15 columns from the start width."""
        if not isinstance(cols, int) or not isinstance(rows, int) or isinstance(cols, bool) \
                or isinstance(rows, bool) or not (10 <= cols <= 1000) or not (4 <= rows <= 500):
            raise Invalid("cols (10-1000) and rows (4-500) must be integers")
        async with self.locks.hold(task_id):
            row = self.view.get(task_id)
            session = self.view.live_session(row)
            if session is None:
                raise Conflict("the agent is not running")
            await session.resize(rows, cols)
            start_cols = getattr(session, "start_cols", cols)
            rerender = abs(cols - start_cols) >= RERENDER_COLS and self._can_rerender(row, session)
            if rerender:
                await self._rerender(row, session, cols, rows)
            return {"cols": cols, "rows": rows, "rerendered": rerender}

    def _can_rerender(self, row: dict[str, Any], session: Session) -> bool:
        """A re-render (kill + resume at the new width) only when nothing can be lost: the agent is
        idle, the task is not complete, nobody typed in the last seconds, and the relaunch resolves."""
        idle = self.view.idle
        state = idle.states.get(session.id)
        if not idle.is_idle(session.id) or row["status"] == "complete" or not row["agent_session_id"]:
            return False
        if state is not None and trio.current_time() - state.last_input_at < RERENDER_QUIET:
            return False
        try:
            require_executable(self.backends.get(row["backend"]))
        except ArgusError:
            return False
        return os.path.isdir(row["worktree_path"])

    async def _rerender(self, row: dict[str, Any], session: Session, cols: int, rows: int) -> None:
        """Replace the session at the new width; input typed meanwhile is queued and delivered to
        the new session; the task's status is what it was before."""
        task_id, status = row["id"], row["status"]
        queue: list[bytes] = []
        self.rerender_input[task_id] = queue
        try:
            self.intents.rerendering.add(session.id)
            # Marked in the row first: a crash between the kill and the new spawn is finished later.
            self._mark_rerender(task_id, {"cols": cols, "rows": rows, "status": status})
            await session.terminate(grace=2.0)
            fault_point("rerender.terminated")
            try:
                new = await self.launcher.spawn(self.view.get(task_id), resume=True, cols=cols, rows=rows)
            except Exception as exc:
                # The old agent is gone and the new one did not start: the task needs the user,
                # unless the supervisor is only gone for a moment (then it is finished when it is back).
                if status in ("in_progress", "pending"):
                    self.store.update_task(task_id, status="in_review", ended_at=utcnow())
                self.view.changed(task_id)
                if isinstance(exc, Unavailable):
                    self._spawn_background(lambda: self.finish_rerender(task_id), f"rerender:{task_id}")
                else:
                    self._mark_rerender(task_id, None)
                raise
            self._mark_rerender(task_id, None)
            if status != "in_progress":  # a resize never moves the status
                self.store.update_task(task_id, status=status)
                self.view.changed(task_id)
            while queue:
                await new.write(queue.pop(0))
                self.view.idle.input(new.id)
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

    def recover_rerenders(self) -> None:
        """At daemon start, before the sessions are recovered: a re-render a crash cut short (its
        mark is in the row) is finished in the background (see :meth:`_complete_rerender` for an old
        agent that still runs)."""
        for row in self.store.tasks(archived="all"):
            if "rerender" not in json.loads(row["meta"] or "{}"):
                continue
            if row["session_id"]:
                self.intents.rerendering.add(row["session_id"])  # its exit is the re-render's, not the task's
            self._spawn_background(functools.partial(self.finish_rerender, row["id"]), f"rerender:{row['id']}")

    async def finish_rerender(self, task_id: str) -> None:
        """A re-render cut short by a crash: once a supervisor answers, start the agent again at the
        new size and put the status back (up to ``RESUME_WAIT`` seconds; then the task stays in review)."""
        with trio.move_on_after(RESUME_WAIT):
            while True:
                await trio.sleep(0.2)
                if not getattr(self._sessions(), "connected", True):
                    continue
                try:
                    async with self.locks.hold(task_id):
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
        old = self.view.live_session(row)
        if old is not None:
            # Right after a restart an old agent that was killed may not be known to have exited
            # yet (the supervisor reports the exit after the re-attach); one that still runs after
            # the wait was never killed (the crash came before the kill): the re-render is dropped.
            with trio.move_on_after(OLD_AGENT_WAIT):
                await old.wait()
            if old.alive:
                self.intents.rerendering.discard(old.id)
                self.launcher.watch(old, str(old.meta.get("kind") or "generic"))
                self._mark_rerender(task_id, None)
                return
        if self.view.live_session(self.view.get(task_id)) is None:
            await self.launcher.spawn(row, resume=True, cols=mark.get("cols"), rows=mark.get("rows"))
            log.info("finished the re-render of task %s after a crash", task_id)
        self._mark_rerender(task_id, None)
        status = mark.get("status")
        if isinstance(status, str) and status not in ("pending", self.view.get(task_id)["status"]):
            self.store.update_task(task_id, status=status)
        self.view.changed(task_id)

    async def links(self, task_id: str) -> list[dict[str, str]]:
        """URLs found in the recent output, newest first, de-duplicated."""
        text = strip_ansi((await self.output(task_id, 256 * 1024)).decode("utf-8", "replace"))
        seen: dict[str, None] = {}
        for url in reversed(URL_RE.findall(text)):
            url = url.rstrip(".,;:)]}>")
            seen.setdefault(url, None)
        return [{"label": url, "url": url} for url in seen]
