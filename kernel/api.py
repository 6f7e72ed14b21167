"""The plugin contract: the only kernel module a plugin imports.

A plugin does ``from argus.kernel.api import hookimpl, Invalid, ...`` and implements the hooks
of ``argus.kernel.hookspecs`` (and those other plugins publish through ``argus_addhooks``). The
``Kernel`` protocol below is everything a plugin may use on the kernel object its hooks receive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from .autostart import RESTART_STATUS, under_systemd
from .autostart import set_enabled as autostart_set_enabled
from .autostart import state as autostart_state
from .db import Database, migration_plan
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
from .eventstream import SseEvent, SseParser, parse_lines
from .faults import fault_point
from .http import json_body, principal, sse, sse_message
from .listeners import tailscale_ipv4
from .local import BASE_URL as LOCAL_URL
from .local import LocalDaemon, read_token
from .paths import Paths, argus_home, atomic_write
from .plugins import client_plugins
from .registry import Registry
from .settings import Settings
from .stash import Stash, StashKey
from .text import strip_ansi, terminal_lines
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
from .wire import Route

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel
    from quart import Blueprint

__all__ = [
    "PROJECT", "ArgusError", "BackgroundJob", "Conflict", "Database", "Event", "EventBus", "Field", "FieldType",
    "Forbidden", "HttpAPI", "Invalid", "Kernel", "Migration", "NotFound", "Paths", "Principal", "Registry",
    "Settings", "SettingsSection", "Stash", "StashKey", "TooLarge", "TooMany", "ToolContext", "ToolHandler",
    "Unauthorized", "Unavailable", "argus_home", "atomic_write", "client_plugins", "fault_point", "hookimpl",
    "hookspec",
    "json_body", "principal", "sse", "sse_message", "utcnow",
    # the wire: declared routes, the SSE parser, terminal text, the local daemon
    "LOCAL_URL", "LocalDaemon", "Route", "migration_plan", "tailscale_ipv4",
    # auto-start at login (the systemd user unit / LaunchAgent of ``argus daemon install``)
    "autostart_set_enabled", "autostart_state", "RESTART_STATUS", "under_systemd",
    "SseEvent", "SseParser", "parse_lines", "read_token", "strip_ansi",
    "terminal_lines",
]


class HttpAPI(Protocol):
    """``kernel.http``: how a plugin contributes REST routes and declares their access rules."""

    def add_blueprint(self, bp: Blueprint) -> None:
        """Mount a quart blueprint of the plugin's routes (under ``/api/...``)."""

    def add_routes(self, plugin: str, routes: list[Route]) -> None:
        """Mount declared routes (``Route(method, path, handler, body=, query=, response=)``):
        validated from their models, listed in ``/api/openapi.json``."""

    def add_schema_fields(self, model: type[BaseModel], fields: Mapping[str, type[BaseModel]]) -> None:
        """Document extra keys of a response model: ``/api/openapi.json`` lists each key of
        ``fields`` as an optional, nullable property of ``model``'s schema, described by its model
        (how the tasks plugin documents the namespaced fields other plugins add to the Task JSON)."""

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

    @property
    def tokens(self) -> Any:
        """Tokens: ``authenticate(token) -> Principal``; per-launch task tokens with
        ``mint_task(task_id) -> str`` (older ones of that task dropped) and ``revoke_task(task_id)``."""

    def spawn_background(self, fn: Callable[[], Any], name: str = "") -> None:
        """Run an async callable in the kernel's nursery for the daemon's lifetime."""

    def request_stop(self, exit_status: int = 0) -> None:
        """Shut the daemon down cleanly; ``argus daemon run`` then exits with ``exit_status``
        (``RESTART_STATUS`` asks the systemd unit to start it again)."""
