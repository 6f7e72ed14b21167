"""The plugin contract: the only kernel module a plugin imports.

A plugin does ``from argus.kernel.api import hookimpl, Invalid, ...`` and implements the hooks
of ``argus.kernel.hookspecs`` (and those other plugins publish through ``argus_addhooks``). The
``Kernel`` protocol below is everything a plugin may use on the kernel object its hooks receive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
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
from .pidlock import pid_alive
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
    ModelToolHandler,
    Principal,
    SettingsSection,
    SupervisorStatus,
    ToolContext,
    ToolHandler,
    hookimpl,
    hookspec,
)
from .wire import Route

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel
    from quart import Blueprint

    from .supervisor.output import Chunk, Subscription
    from .supervisor.ptyhost import ExitInfo

__all__ = [
    "PROJECT", "ArgusError", "BackgroundJob", "Conflict", "Database", "Event", "EventBus", "Field", "FieldType",
    "Forbidden", "HttpAPI", "Invalid", "Kernel", "Migration", "ModelToolHandler", "NotFound", "Paths",
    "Principal", "Registry",
    "Settings", "SettingsSection", "Stash", "StashKey", "TooLarge", "TooMany", "ToolContext", "ToolHandler",
    "Unauthorized", "Unavailable", "argus_home", "atomic_write", "client_plugins", "fault_point", "hookimpl",
    "hookspec",
    "json_body", "pid_alive", "principal", "sse", "sse_message", "utcnow",
    # the wire: declared routes, the SSE parser, terminal text, the local daemon
    "LOCAL_URL", "LocalDaemon", "Route", "migration_plan", "tailscale_ipv4",
    # auto-start at login (the systemd user unit / LaunchAgent of ``argus daemon install``)
    "autostart_set_enabled", "autostart_state", "RESTART_STATUS", "under_systemd",
    "SseEvent", "SseParser", "parse_lines", "read_token", "strip_ansi",
    "terminal_lines",
    # what plugins see of the kernel's sessions and tokens (protocols below)
    "Session", "SessionManager", "SupervisorStatus", "TokenService",
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


class Session(Protocol):
    """One agent process on a PTY (``kernel.sessions.get(id)``): what a plugin may use of it.

    Offsets are absolute byte counts of the session's output; ``exit`` is None while it runs.
    """

    @property
    def id(self) -> str:
        """The session id (also the name of its output log)."""

    @property
    def pid(self) -> int:
        """The agent's process id."""

    @property
    def argv(self) -> list[str]:
        """The command line it was spawned with."""

    @property
    def cwd(self) -> str:
        """Its working directory."""

    @property
    def meta(self) -> dict[str, Any]:
        """What the spawner attached (the tasks plugin: ``task_id``, ``kind``, ...)."""

    @property
    def started_at(self) -> float:
        """Wall-clock start time (seconds since the epoch)."""

    @property
    def rows(self) -> int:
        """Current terminal height."""

    @property
    def cols(self) -> int:
        """Current terminal width."""

    @property
    def start_cols(self) -> int:
        """The width it was spawned with."""

    @property
    def exit(self) -> ExitInfo | None:
        """How it ended (``code``, ``signal``, ``end_offset``), None while it runs."""

    @property
    def end_offset(self) -> int:
        """Absolute count of bytes produced so far."""

    @property
    def alive(self) -> bool:
        """True until the exit is known."""

    @property
    def last_output_at(self) -> float:
        """``trio.current_time()`` of the last output (0.0 if none yet)."""

    def to_json(self) -> dict[str, Any]:
        """The session as a JSON-able dict."""

    async def write(self, data: bytes) -> None:
        """Send input bytes to the PTY (Conflict once it exited)."""

    async def resize(self, rows: int, cols: int) -> None:
        """Set the terminal size (publishes ``session.resized``)."""

    async def signal(self, sig: int) -> None:
        """Send signal ``sig`` to the process."""

    async def terminate(self, grace: float = 3.0) -> ExitInfo:
        """SIGHUP, SIGTERM, then SIGKILL the process group ``grace`` seconds apart; the exit."""

    def tail(self, nbytes: int) -> tuple[int, bytes]:
        """The last ``nbytes`` of output held in memory, as ``(start offset, bytes)``."""

    async def read_range(self, start: int, end: int | None = None) -> Chunk:
        """Output ``[start, end)`` from memory, else the log file (a later ``offset`` shows a gap)."""

    def subscribe(self, since: int | None = None) -> AbstractAsyncContextManager[Subscription]:
        """``async with session.subscribe(since) as chunks: async for chunk in chunks: ...``."""

    async def wait(self) -> ExitInfo:
        """Wait for the exit (all output is delivered to subscribers first)."""


class SessionManager(Protocol):
    """``kernel.sessions``: the daemon's PTY sessions (set once the daemon runs)."""

    @property
    def connected(self) -> bool:
        """Whether sessions can be driven now (the supervisor link is up)."""

    async def spawn(self, argv: list[str], cwd: str, env: dict[str, str], *, rows: int = 40,
                    cols: int = 120, meta: dict[str, Any] | None = None,
                    session_id: str | None = None) -> Session:
        """Start ``argv`` in ``cwd`` on a new PTY (``env`` is the child's whole environment)."""

    def get(self, session_id: str) -> Session | None:
        """The session with this id, if the daemon knows it."""

    def all(self) -> Sequence[Session]:
        """Every known session (running and exited-but-not-forgotten)."""

    async def forget(self, session_id: str) -> None:
        """Drop an exited session's record (its log stays); Conflict if it still runs."""


class TokenService(Protocol):
    """``kernel.tokens``: checking presented tokens and the per-launch task tokens."""

    def authenticate(self, presented: str | None) -> Principal:
        """The principal of a presented token (Unauthorized if none matches)."""

    def mint_task(self, task_id: str) -> str:
        """A fresh token for this task's next launch (older ones of that task are dropped)."""

    def revoke_task(self, task_id: str) -> int:
        """Drop this task's tokens; how many there were."""


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
    def sessions(self) -> SessionManager:
        """The PTY session manager (``spawn``, ``get``, ``forget``) once the daemon runs."""

    @property
    def tokens(self) -> TokenService:
        """Tokens: ``authenticate(token) -> Principal``; per-launch task tokens with
        ``mint_task(task_id) -> str`` (older ones of that task dropped) and ``revoke_task(task_id)``."""

    @property
    def api_port(self) -> int:
        """The port the REST API listens on (0 while it is not listening)."""

    def spawn_background(self, fn: Callable[[], Awaitable[None]], name: str = "") -> None:
        """Run an async callable in the kernel's nursery for the daemon's lifetime."""

    def supervisor_status(self) -> SupervisorStatus:
        """Whether PTYs run in the supervisor (``enabled``) and whether it answers (``running``)."""

    def request_stop(self, exit_status: int = 0) -> None:
        """Shut the daemon down cleanly; ``argus daemon run`` then exits with ``exit_status``
        (``RESTART_STATUS`` asks the systemd unit to start it again)."""


if TYPE_CHECKING:  # pragma: no cover
    from . import kernel as _kernel
    from . import sessions as _sessions
    from . import tokens as _tokens

    def _conforms(kernel: _kernel.Kernel, manager: _sessions.SessionManager, session: _sessions.Session,
                  tokens: _tokens.Tokens) -> tuple[Kernel, SessionManager, Session, TokenService]:
        """mypy checks here that the kernel's own objects keep the contract above."""
        return kernel, manager, session, tokens
