"""The agent CLI kinds that ship with Argus, one module each, registered through the
``argus_agent_kinds`` hook exactly as a third-party plugin registers its own (see
docs/examples/agent_kind.py): each module is a plugin with one ``@hookimpl``, registered on the
kernel's plugin manager as ``tasks.kinds.<name>``. Unregister one and its kind is gone.

``generic`` (:mod:`.generic`) is not a registration: it is the fallback for commands no kind claims.
"""

from __future__ import annotations

from types import ModuleType

import pluggy

from ..api import AgentKind
from . import claude, codex, demo, opencode, pi
from .generic import GENERIC

BUILTIN: tuple[ModuleType, ...] = (claude, codex, opencode, pi, demo)

__all__ = ["BUILTIN", "GENERIC", "builtin_kinds", "register"]


def builtin_kinds() -> list[AgentKind]:
    """The built-in kinds (their backends are seeded into a new database)."""
    return [kind for module in BUILTIN for kind in module.argus_agent_kinds()]


def register(pm: pluggy.PluginManager) -> None:
    """Register the built-in kinds as plugins of ``pm`` (``tasks.kinds.claude``, ...)."""
    for module in BUILTIN:
        name = f"tasks.kinds.{module.__name__.rsplit('.', 1)[-1]}"
        if pm.get_plugin(name) is None:
            pm.register(module, name=name)
