"""Keeping the TUI's :class:`AppState` current: the snapshot, the event stream, debounced re-fetches.

State is loaded once (``refresh("all")``) and then follows ``/api/events/stream``; an event either
carries what changed (``task.*``) or names the part of the snapshot to fetch again. Nothing polls.
Events that arrive while the snapshot loads are buffered and applied after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .client import ApiError, SseEvent, task_path
from .host import UiHost
from .state import as_dict, as_list

log = logging.getLogger("argus.tui")

# What the first snapshot (and a resync) fetches. ``ops`` (Settings → Status: auto-start, usage) is
# in it so the Settings rows are complete before the tab is first shown, not added under the cursor.
ALL_PARTS = {"tasks", "projects", "backends", "settings", "status", "registry", "hera", "schedules", "ops"}


class Sync:
    """The TUI's link to the daemon's state. ``on_event(msg)`` is called for every applied event and
    ``on_loaded()`` after each snapshot; ``loaders`` fetch the parts views own (``dag``, ``hera``);
    ``status_error()`` says whether the status line shows an error (a reconnect then says so)."""

    def __init__(self, host: UiHost, *, on_event: Callable[[dict[str, Any]], None],
                 on_loaded: Callable[[], None], status_error: Callable[[], bool],
                 loaders: dict[str, Callable[[], Awaitable[None]]]) -> None:
        self.host = host
        self.on_event = on_event
        self.on_loaded = on_loaded
        self.status_error = status_error
        self.loaders = loaders
        self.connection_error = ""
        self.snapshot_loaded = asyncio.Event()
        self.events_seen = 0
        self._pending: set[str] = set()
        self._refresh_task: asyncio.Task[Any] | None = None
        self._loading = False
        self._buffered: list[dict[str, Any]] = []

    # ---- the event stream ---------------------------------------------------------------

    async def follow(self) -> None:
        """Follow ``/api/events/stream`` forever, reconnecting with backoff (from the last id seen)."""
        host = self.host
        backoff = 0.3
        while True:
            try:
                params = {"since": host.state.last_event_id}
                async for ev in host.client.sse("/api/events/stream", params, on_open=self._on_connected):
                    backoff = 0.3
                    self._on_sse(ev)
            except ApiError as exc:
                host.state.connected = False
                self.connection_error = ("token rejected (401)" if exc.unauthorized
                                         else "daemon unreachable" if exc.unreachable else f"error {exc.status}")
                if exc.unauthorized:
                    host.set_status(f"The daemon rejected the token (401: {exc.message}). Check --token / "
                                    "ARGUS_TOKEN, or the revoked device token.", error=True)
                elif exc.unreachable:
                    host.set_status(f"Daemon unreachable at {host.client.describe()}: {exc.message} — retrying",
                                    error=True)
                else:
                    host.set_status(f"event stream: {exc}", error=True)
                host.invalidate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0 if self.connection_error.startswith("token") else 5.0)

    def _on_connected(self) -> None:
        host = self.host
        was_error = self.status_error() and self.connection_error != ""
        host.state.connected = True
        self.connection_error = ""
        if was_error:
            host.set_status(f"connected to {host.client.describe()}")
        if host.state.last_event_id is None or not self.snapshot_loaded.is_set():
            host.spawn(self.load_snapshot(), name="snapshot")
        host.invalidate()

    def _on_sse(self, ev: SseEvent) -> None:
        state = self.host.state
        msg = ev.json()
        if ev.event == "resync" or (isinstance(msg, dict) and msg.get("type") == "resync"):
            if ev.id:
                state.last_event_id = ev.id
            self.host.spawn(self.load_snapshot(), name="resync")
            return
        if not isinstance(msg, dict):
            return
        if ev.id:
            state.last_event_id = ev.id
        msg.setdefault("type", ev.event)
        self.events_seen += 1
        if self._loading:
            self._buffered.append(msg)
        else:
            self.apply(msg)

    def apply(self, msg: dict[str, Any]) -> None:
        """Apply one event to the state, schedule the re-fetches it asks for, tell the app."""
        try:
            needs = self.host.state.apply_event(msg)
        except Exception:
            log.exception("bad event %r", msg)
            return
        for part in needs:
            self.request_refresh(part)
        self.on_event(msg)

    async def load_snapshot(self) -> None:
        """Fetch everything; events that arrive meanwhile are applied after it."""
        self._loading = True
        try:
            await self.refresh("all")
        finally:
            buffered, self._buffered = self._buffered, []
            self._loading = False
            for msg in buffered:
                self.apply(msg)
            self.snapshot_loaded.set()
            self.on_loaded()
            self.host.invalidate()

    # ---- re-fetching ----------------------------------------------------------------------

    def request_refresh(self, part: str) -> None:
        """Re-fetch ``part`` soon (requests within 100 ms are merged)."""
        self._pending.add(part)
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = self.host.spawn(self._debounced_refresh(), name="refresh")

    async def _debounced_refresh(self) -> None:
        await asyncio.sleep(0.1)
        parts, self._pending = self._pending, set()
        await self.refresh(*parts)

    async def refresh(self, *parts: str) -> None:
        """Fetch the named parts of the snapshot (``all``, ``tasks``, ``task:<id>``, ``projects``...)."""
        want = set(parts)
        if "all" in want:
            want |= ALL_PARTS
        if want & {"backends", "settings"}:
            want.add("task_options")  # a plugin's create-time options follow its settings (kb on/off)
        jobs: list[Awaitable[Any]] = []
        for part in sorted(want):
            if part.startswith("task:"):
                if "tasks" not in want:
                    jobs.append(self._task(part[5:]))
            elif part in self.loaders:
                jobs.append(self.loaders[part]())
            elif part in _FETCHERS:
                jobs.append(_FETCHERS[part](self))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for r in results:
            if isinstance(r, ApiError):
                self.host.set_status(str(r), error=True)
            elif isinstance(r, Exception):
                log.error("refresh failed: %r", r)
        self.host.invalidate()

    async def get(self, path: str, **params: Any) -> Any:
        """GET ``path``; a route the daemon does not serve (404/405) is None."""
        try:
            return await self.host.client.get(path, **params)
        except ApiError as exc:
            if exc.status in (404, 405):
                return None
            raise

    async def _task(self, task_id: str) -> None:
        body = as_dict(await self.get(task_path(task_id)))
        self.host.state.upsert_task(body.get("task") if isinstance(body.get("task"), dict) else body)

    async def _tasks(self) -> None:
        self.host.state.set_tasks(as_dict(await self.get("/api/tasks", archived="all")).get("tasks"))

    async def _projects(self) -> None:
        self.host.state.projects = [p for p in as_list(as_dict(await self.get("/api/projects/full")).get("projects"))
                                    if isinstance(p, dict)]

    async def _backends(self) -> None:
        body = as_dict(await self.get("/api/backends"))
        self.host.state.backends = [b for b in as_list(body.get("backends")) if isinstance(b, dict)]
        self.host.state.backends_default = str(body.get("default") or "")

    async def _task_options(self) -> None:
        self.host.state.task_options = [o for o in as_list(as_dict(await self.get("/api/task-options")).get("options"))
                                        if isinstance(o, dict)]

    async def _settings(self) -> None:
        self.host.state.settings = as_dict(await self.get("/api/settings"))
        applied = getattr(self.host, "settings_loaded", None)
        if callable(applied):
            applied()  # the TUI applies [keybindings]

    async def _status(self) -> None:
        self.host.state.status = as_dict(await self.get("/api/status"))

    async def _registry(self) -> None:
        st = self.host.state
        st.views = [v for v in as_list(as_dict(await self.get("/api/plugins/views")).get("views"))
                    if isinstance(v, dict)]
        st.plugin_sections = [s for s in as_list(as_dict(
            await self.get("/api/plugins/settings/sections")).get("sections")) if isinstance(s, dict)]

    async def _schedules(self) -> None:
        body = await self.get("/api/schedules")
        self.host.state.schedules = None if body is None else [
            s for s in as_list(as_dict(body).get("schedules")) if isinstance(s, dict)]


_FETCHERS: dict[str, Callable[[Sync], Awaitable[None]]] = {
    "tasks": Sync._tasks,
    "projects": Sync._projects,
    "backends": Sync._backends,
    "task_options": Sync._task_options,
    "settings": Sync._settings,
    "status": Sync._status,
    "registry": Sync._registry,
    "schedules": Sync._schedules,
}
