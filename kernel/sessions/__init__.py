"""Agent sessions as the rest of Argus sees them: the only session API plugins and the kernel use.

- :mod:`.manager`: :class:`SessionManager`, which hands out sessions and publishes their events;
- :mod:`.session`: :class:`Session` and the interface of the hosts behind it;
- :mod:`.supervised`: :class:`SupervisorHost` (default), sessions in the session-supervisor;
- :mod:`.link`: the daemon's connection to the supervisor;
- :mod:`.inprocess`: :class:`InProcessHost` (``supervisor.enabled = false``).
"""

from __future__ import annotations

from ..supervisor.output import Chunk, SubscriberLagged, Subscription
from ..supervisor.ptyhost import ExitInfo
from .inprocess import InProcessHost
from .manager import SessionManager
from .session import Session
from .supervised import SupervisorHost

__all__ = ["Chunk", "ExitInfo", "InProcessHost", "Session", "SessionManager", "SubscriberLagged",
           "Subscription", "SupervisorHost"]
