"""One running hera: its store, service, delivery worker, tools and routes, wired to a kernel.

``[hera] enabled`` is read live: while false no ``hera_*`` tool is served, the REST routes answer
404 (except ``GET /api/hera``, which reports it), deliveries stop and the task hooks contribute
nothing. Turning it back on (``PUT /api/settings/hera`` or an edit of config.toml) serves the
tools again without a restart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Conflict, Kernel, StashKey

from . import tools
from .delivery import Delivery
from .routes import make_routes
from .service import Hera
from .store import Store
from .tasks import Tasks, tasks_of

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

log = logging.getLogger(__name__)

SETTINGS_RECHECK = 2.0  # config.toml has no change event: re-read it this often (a stat call)
STARTS_QUEUE = 256


class HeraPlugin:
    """Hera bound to one kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.store = Store(kernel.db)
        self.tasks = Tasks(tasks_of(kernel))
        self.delivery = Delivery(self.store, self.tasks, self.publish, self.enabled)
        self._starts_send, self._starts_recv = trio.open_memory_channel[str](STARTS_QUEUE)
        self.hera = Hera(self.store, self.tasks, self.publish, on_message=self.delivery.queue,
                         on_ready=self.start_later)
        self.serving = False

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        """Put a ``hera.*`` event on the kernel bus."""
        self.kernel.events.publish(type_, data)

    def enabled(self) -> bool:
        """``[hera] enabled`` (live)."""
        try:
            return bool(self.kernel.settings.get("hera", "enabled"))
        except Exception:
            return True

    def register(self) -> None:
        """Mount the routes; serve the tools if enabled."""
        self.kernel.http.add_routes("hera", make_routes(self.hera, self.enabled, self.reattach))
        self.sync()

    def sync(self) -> None:
        """Serve or withdraw the tools to match the setting; announce a change."""
        on = self.enabled()
        if on == self.serving:
            return
        if on:
            tools.register(self.kernel, self.hera)
        else:
            tools.unregister(self.kernel)
        self.serving = on
        self.publish("hera.enabled", {"enabled": on})
        if on:
            for role_id in self.store.roles_with_undelivered():
                self.delivery.queue(role_id)

    async def watch_settings(self) -> None:
        """Background job: follow config.toml edits of ``[hera] enabled``."""
        while True:
            await trio.sleep(SETTINGS_RECHECK)
            self.sync()

    def on_event(self, event: Event) -> None:
        """Kernel events hera reacts to: a change of the ``[hera]`` settings (quick, synchronous)."""
        if event.type == "settings.updated" and event.data.get("section") == "hera":
            self.sync()

    def start_later(self, task_id: str) -> None:
        """A held worker's dependencies are done: start it (from the starter job)."""
        try:
            self._starts_send.send_nowait(task_id)
        except trio.WouldBlock:
            log.warning("hera start queue full; start %s by resuming it", task_id)

    async def starter(self) -> None:
        """Background job: start workers whose dependencies are done."""
        async for task_id in self._starts_recv:
            try:
                await self.tasks.start_pending(task_id)
            except Exception:
                log.exception("starting held worker %s failed", task_id)

    async def reattach(self, role_id: str) -> dict[str, Any]:
        """Resume the role's agent if its session is dead (the rail's Enter)."""
        role = self.hera.role(role_id)
        task_id = role["task_id"]
        if not task_id or not self.tasks.exists(task_id):
            raise Conflict(f"role {role['name']!r} has no task to re-attach (it was deleted)")
        resumed = False
        if not self.tasks.is_live(task_id):
            await self.tasks.resume(task_id)
            resumed = True
        return {"role": self.hera.role_json(self.hera.role(role_id)), "resumed": resumed,
                "task": self.tasks.get(task_id)}


HERA = StashKey[HeraPlugin]()
