"""One running hera: its store, service, delivery worker, tools and routes, wired to a kernel.

``[hera] enabled`` is read live: while false no ``hera_*`` tool is served, the REST routes answer
404 (except ``GET /api/hera``, which reports it), deliveries stop and the task hooks contribute
nothing. Turning it back on (``PUT /api/settings/hera`` or an edit of config.toml) serves the
tools again without a restart.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from . import compat, tools
from .compat import Conflict
from .delivery import Delivery
from .routes import make_blueprint
from .service import Hera
from .store import Store

log = logging.getLogger(__name__)

SETTINGS_RECHECK = 2.0  # config.toml has no change event: re-read it this often (a stat call)


class HeraPlugin:
    """Hera bound to one kernel."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.store = Store(kernel.db)
        self.tasks = compat.tasks_of(kernel)
        self.delivery = Delivery(self.store, self.tasks, self.publish, self.enabled)
        self.hera = Hera(self.store, self.tasks, self.publish, on_message=self.delivery.queue)
        self.serving = False

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        """Put a ``hera.*`` event on the kernel bus."""
        self.kernel.bus.publish(type_, data)

    def enabled(self) -> bool:
        """``[hera] enabled`` (live)."""
        try:
            return bool(self.kernel.settings.get("hera", "enabled"))
        except Exception:
            return True

    def register(self) -> None:
        """Mount the routes; serve the tools if enabled."""
        self.kernel.http.add_blueprint(make_blueprint(self.hera, self.enabled, self.reattach))
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

    def on_event(self, event: Any) -> None:
        """Kernel events hera reacts to (quick, synchronous)."""
        if event.type == "settings.updated" and event.data.get("section") == "hera":
            self.sync()
            return
        if not self.serving:
            return
        if event.type == "task.idle":
            task_id = event.data.get("id")
            if isinstance(task_id, str):
                self.delivery.on_idle(task_id)
        elif event.type == "task.deleted":
            task_id = event.data.get("id")
            if isinstance(task_id, str):
                self.hera.task_deleted({"id": task_id})

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
