"""The plugin contract: the only kernel module a plugin imports.

A plugin does ``from argus.kernel.api import hookimpl, Invalid, ...`` and implements the hooks
of ``argus.kernel.hookspecs`` (and those other plugins publish through ``argus_addhooks``). The
``Kernel`` protocol below is everything a plugin may use on the kernel object its hooks receive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from .db import Database
from .errors import (
    ArgusError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    TooMany,
    Unauthorized,
    Unavailable,
)
from .events import Event, EventBus, utcnow
from .http import json_body, principal, sse, sse_message
from .paths import Paths, argus_home, atomic_write
from .plugins import client_plugins
from .registry import Registry
from .settings import Settings
from .stash import Stash, StashKey
from .values import (
    PROJECT,
    BackgroundJob,
    Field,
    FieldType,
    Migration,
    Principal,
    SettingsSection,
    ToolContext,
    ToolHandler,
    hookimpl,
    hookspec,
)

if TYPE_CHECKING:  # pragma: no cover
    from quart import Blueprint

__all__ = [
    "PROJECT", "ArgusError", "BackgroundJob", "Conflict", "Database", "Event", "EventBus", "Field", "FieldType",
    "Forbidden", "HttpAPI", "Invalid", "Kernel", "Migration", "NotFound", "Paths", "Principal", "Registry",
    "Settings", "SettingsSection", "Stash", "StashKey", "TooLarge", "TooMany", "ToolContext", "ToolHandler",
    "Unauthorized", "Unavailable", "argus_home", "atomic_write", "client_plugins", "hookimpl", "hookspec",
    "json_body", "principal", "sse", "sse_message", "utcnow",
]


class HttpAPI(Protocol):
    """``kernel.http``: how a plugin contributes REST routes and declares their access rules."""

    def add_blueprint(self, bp: Blueprint) -> None:
        """Mount a quart blueprint of the plugin's routes (under ``/api/...``)."""

    def add_public_prefix(self, prefix: str) -> None:
        """Serve ``prefix`` without a token (the plugin authenticates those requests itself)."""

    def add_master_only(self, pattern: str, methods: Sequence[str] | None = None) -> None:
        """Refuse device/scope tokens on paths matching the regex ``pattern`` (all methods if None)."""


class Kernel(Protocol):
    """What a plugin may use on the kernel object passed to ``argus_register`` and friends."""

    version: str
    pm: pluggy.PluginManager
    stash: Stash
    mcp_port: int

    @property
    def http(self) -> HttpAPI:
        """REST routes and access rules."""

    @property
    def db(self) -> Database:
        """The SQLite database (``execute``/``query``/``one``/``scalar``/``transaction``)."""

    @property
    def events(self) -> EventBus:
        """The event bus: ``publish(type, data)``, ``subscribe(since)``, ``add_listener(fn)``."""

    @property
    def settings(self) -> Settings:
        """Layered settings: ``get(section, key)``, ``section(name)``, ``raw(name)``."""

    @property
    def registry(self) -> Registry:
        """MCP tools, settings sections and views: ``add_tool(name, fn, description, ...)``."""

    @property
    def paths(self) -> Paths:
        """``home``, ``run``, ``sessions``, ``worktrees``, ``daemon_log`` under ``$ARGUS_HOME``."""

    @property
    def sessions(self) -> Any:
        """The PTY session manager (``spawn``, ``get``, ``forget``) once the daemon runs."""

    def spawn_background(self, fn: Callable[[], Any], name: str = "") -> None:
        """Run an async callable in the kernel's nursery for the daemon's lifetime."""

# The wire vocabulary: declared routes (``kernel.http.add_routes(plugin, [Route(...)])``), the SSE
# parser, the terminal-text helper and the local daemon's address. Imported last because
# ``wire`` uses the kernel's errors.
from .eventstream import SseEvent as SseEvent  # noqa: E402
from .eventstream import SseParser as SseParser  # noqa: E402
from .eventstream import parse_lines as parse_lines  # noqa: E402
from .local import BASE_URL as LOCAL_URL  # noqa: E402, F401
from .local import LocalDaemon as LocalDaemon  # noqa: E402
from .local import read_token as read_token  # noqa: E402
from .text import strip_ansi as strip_ansi  # noqa: E402
from .text import terminal_lines as terminal_lines  # noqa: E402
from .wire import Route as Route  # noqa: E402
