"""Terminal I/O of a task's agent: its recent output, typing into it, resizing it (with a re-render:
the idle agent is replaced at the new width, resuming its conversation), and the links it printed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import trio
from argus.kernel.api import ArgusError, Conflict, Invalid, strip_ansi, utcnow

from .backends import Backends
from .coordination import EndIntents, TaskLocks
from .launch import require_executable
from .launcher import Launcher
from .store import Store
from .view import TaskView

RERENDER_COLS = 15
RERENDER_QUIET = 3.0  # seconds since a client last typed before a resize may re-render
URL_RE = re.compile(r"https?://[^\s<>\"'`\x1b\x07]+")
CLEAR_LINE = b"\x15"  # ctrl-U: clear the agent's input line before typing into it
TYPE_PAUSE = 0.1  # between typed text and Enter (TUIs treat a burst with its Enter as a paste)


class TerminalIO:
    """Output, input and size of tasks' terminals."""

    def __init__(self, *, store: Store, view: TaskView, backends: Backends, launcher: Launcher,
                 locks: TaskLocks, intents: EndIntents, session_logs: Callable[[], Any]) -> None:
        """``session_logs``: the directory of session output logs (``$ARGUS_HOME/sessions``)."""
        self.store = store
        self.view = view
        self.backends = backends
        self.launcher = launcher
        self.locks = locks
        self.intents = intents
        self._session_logs = session_logs
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

    def _can_rerender(self, row: dict[str, Any], session: Any) -> bool:
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

    async def _rerender(self, row: dict[str, Any], session: Any, cols: int, rows: int) -> None:
        """Replace the session at the new width; input typed meanwhile is queued and delivered to
        the new session; the task's status is what it was before."""
        task_id, status = row["id"], row["status"]
        queue: list[bytes] = []
        self.rerender_input[task_id] = queue
        try:
            self.intents.rerendering.add(session.id)
            await session.terminate(grace=2.0)
            try:
                new = await self.launcher.spawn(self.view.get(task_id), resume=True, cols=cols, rows=rows)
            except Exception:
                # The old agent is gone and the new one did not start: the task needs the user.
                if status in ("in_progress", "pending"):
                    self.store.update_task(task_id, status="in_review", ended_at=utcnow())
                self.view.changed(task_id)
                raise
            if status != "in_progress":  # a resize never moves the status
                self.store.update_task(task_id, status=status)
                self.view.changed(task_id)
            while queue:
                await new.write(queue.pop(0))
                self.view.idle.input(new.id)
        finally:
            self.rerender_input.pop(task_id, None)

    async def links(self, task_id: str) -> list[dict[str, str]]:
        """URLs found in the recent output, newest first, de-duplicated."""
        text = strip_ansi((await self.output(task_id, 256 * 1024)).decode("utf-8", "replace"))
        seen: dict[str, None] = {}
        for url in reversed(URL_RE.findall(text)):
            url = url.rstrip(".,;:)]}>")
            seen.setdefault(url, None)
        return [{"label": url, "url": url} for url in seen]
