"""``GET/PUT /api/autostart`` (master only): the Settings row "Auto-start at login".

The kernel writes the service (``argus daemon install|uninstall``: a systemd user unit on Linux,
a LaunchAgent on macOS); these routes show its state and toggle it for the daemon's own
``ARGUS_HOME``. ``systemctl``/``launchctl`` are blocking calls: they run in a worker thread.
"""

from __future__ import annotations

from typing import Any

import trio
from argus.kernel.api import Kernel, Route, autostart_set_enabled, autostart_state

from . import models as m


def make_routes(kernel: Kernel) -> list[Route]:
    """The auto-start routes of ``kernel``."""

    async def get_autostart() -> dict[str, Any]:
        """Whether the daemon starts at login (installed, enabled/loaded), or why it cannot."""
        return await trio.to_thread.run_sync(autostart_state)

    async def put_autostart(body: m.AutostartBody) -> dict[str, Any]:
        """Install (``enabled: true``) or remove the login service of this ARGUS_HOME."""
        out = await trio.to_thread.run_sync(autostart_set_enabled, kernel.paths, body.enabled)
        kernel.events.publish("autostart.updated", {"enabled": body.enabled, "installed": out.get("installed")})
        return out

    return [
        Route("GET", "/api/autostart", get_autostart, response=m.AutostartState, master_only=True,
              tags=("ops",)),
        Route("PUT", "/api/autostart", put_autostart, body=m.AutostartBody, response=m.AutostartState,
              master_only=True, summary="Install or remove the daemon's login service", tags=("ops",)),
    ]
