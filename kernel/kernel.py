"""The kernel: the object every plugin receives, and the daemon's main loop.

It owns SQLite, tokens, settings, the event bus, the substrate registry, the session manager and
the listeners; plugins contribute everything else through hooks (see ``hookspecs.py``).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pluggy
import trio

from . import __version__, standby
from .autostart import under_systemd
from .db import Database
from .events import Event, EventBus
from .http import Http
from .listeners import api_binds, path_dispatcher, serve_app, serve_unix, tailscale_ipv4
from .mcp import ASGIApp, LazyApp, build_mcp_app, import_sdk
from .paths import Paths, atomic_write, private_file
from .plugins import PluginInfo, disabled_plugins, load_plugins, refuse_unknown_hooks
from .registry import Registry
from .routes import make_routes
from .settings import ConfigFile, Settings
from .stash import Stash
from .tokens import Tokens
from .values import SupervisorStatus

log = logging.getLogger("argus")

SWEEP_EVERY = 30.0
MCP_BUILD_DELAY = 3.0  # seconds after start-up before the MCP server is built unasked
GC_RESUME_DELAY = 5.0  # seconds after start-up before a collector paused for it runs again


def setup_logging(path: os.PathLike[str] | str, level: int = logging.INFO) -> None:
    """Log to ``path`` (daemon.log); configured before the mcp SDK can call basicConfig."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    private_file(Path(path))
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "hypercorn.access", "mcp", "mcp.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Kernel:
    """The running daemon's shared services, handed to every plugin hook."""

    version = __version__

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or Paths.default()
        self.config = ConfigFile(self.paths.config)
        self.db = Database(self.paths.db)
        # Ids keep increasing across daemon restarts (they start at the start time in µs), so a
        # client's cursor from an earlier life gets a resync instead of a replay with holes.
        self.bus = EventBus(start_id=int(time.time() * 1_000_000))
        self.settings = Settings(self.db, self.config)
        # Environment overrides win over every other layer (tests and service managers use them).
        self.settings.override_from_env("api", "http_port", "ARGUS_API_PORT")
        self.settings.override_from_env("api", "enabled", "ARGUS_API_PORT", lambda _raw: True)
        self.settings.override_from_env("mcp", "http_port", "ARGUS_MCP_PORT")
        self.settings.override_from_env("daemon", "standby", standby.ENV_ENABLED, standby.env_enabled)
        self.stash = Stash()  # per-kernel plugin state (``kernel.stash[KEY]``), never module globals
        #: This kernel is the daemon process (``daemon run`` and a standby taking over set it; a
        #: kernel run in-process by tests is not). Then the objects made at start-up are frozen
        #: out of the garbage collector (they live as long as the daemon, and every full
        #: collection walking them cost the output hot path a fifth of the daemon's time), and
        #: the daemon may keep a warm standby (a process to take over from it).
        self.is_daemon_process = False
        #: Set by the hand-over signal: this stop leaves the warm standby running to take over.
        self.handing_over = False
        early_saved = self._saved_disabled()
        self.pm: pluggy.PluginManager
        infos: list[PluginInfo]
        self.pm, infos = load_plugins(disabled_plugins(self.config.data(), early_saved))
        self.plugin_list = [i.to_json() for i in infos]
        self.registry = Registry(self.bus.publish)
        self.tokens: Tokens  # after migrations
        self.http = Http(self)
        self.sessions: Any = None  # kernel.sessions.SessionManager once run() starts
        self.nursery: trio.Nursery | None = None
        self.mcp_port = 0
        self.mcp_app = LazyApp()  # the MCP server, built in the background once the daemon serves
        self.api_port = 0
        self._api_restart = trio.Event()
        self._stop = trio.Event()
        self.exit_status = 0  # what `argus daemon run` exits with after a requested stop
        self.bus.add_listener(self._dispatch_event)

    @property
    def events(self) -> EventBus:
        """The event bus, as plugins name it (``kernel.events.publish(type, data)``)."""
        return self.bus

    def _saved_disabled(self) -> list[str]:
        try:
            row = self.db.one("SELECT value FROM settings WHERE section='plugins' AND key='disabled'")
        except Exception:  # no table yet on a fresh database
            return []
        try:
            value = json.loads(row["value"]) if row else []
        except (ValueError, TypeError):
            return []
        return value if isinstance(value, list) else []

    def _dispatch_event(self, event: Event) -> None:
        self.pm.hook.argus_event(event=event)

    # -- setup -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Migrations, tokens, settings sections and plugin registration (no I/O loops yet)."""
        migrations = [m for group in self.pm.hook.argus_migrations() for m in (group or [])]
        self.db.migrate(migrations)
        self.tokens = Tokens(self.db, self.paths.token)
        for group in self.pm.hook.argus_settings_sections():
            self.settings.declare(group or [])
        self.http.add_routes("kernel", make_routes(self))
        self.pm.hook.argus_register(kernel=self)
        # Hook objects plugins registered from argus_register are checked like plugins at load.
        for name, reason in refuse_unknown_hooks(self.pm).items():
            self.plugin_list.append({"name": name, "version": "-", "source": "registered by a plugin (refused)",
                                     "module": "", "enabled": False, "reason": reason})

    def supervisor_status(self) -> SupervisorStatus:
        """Whether PTYs run in the supervisor and whether it answers."""
        enabled = bool(self.settings.get("supervisor", "enabled"))
        connected = bool(getattr(self.sessions, "connected", not enabled))
        return {"enabled": enabled, "running": connected}

    def spawn_background(self, fn: Callable[[], Awaitable[None]], name: str = "") -> None:
        """Run ``fn`` in the kernel's nursery for the daemon's lifetime (errors are logged)."""
        assert self.nursery is not None, "the kernel is not running"
        self.nursery.start_soon(self._guarded, fn, name or getattr(fn, "__qualname__", "job"))

    async def _guarded(self, fn: Callable[[], Awaitable[None]], name: str) -> None:
        try:
            await fn()
        except Exception:
            log.exception("background job %s failed", name)

    def request_stop(self, exit_status: int = 0) -> None:
        """Ask the daemon to shut down cleanly; ``argus daemon run`` then exits with ``exit_status``."""
        self.exit_status = exit_status
        self._stop.set()

    # -- the main loop ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until SIGTERM/SIGINT or ``request_stop``; everything lives in one nursery."""
        from .sessions import SessionManager  # imported late: heavy and optional in tests

        self.prepare()
        self.registry.keep_client = True  # made on the first callback (httpx is imported then)
        use_supervisor = bool(self.settings.get("supervisor", "enabled"))
        self.sessions = SessionManager(self.paths, self.bus.publish, use_supervisor=use_supervisor)
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                await nursery.start(self.sessions.run)
                await nursery.start(self._serve_mcp)
                nursery.start_soon(self._sweep_registry)
                for group in self.pm.hook.argus_background(kernel=self):
                    for job in group or []:
                        self.spawn_background(job)
                self.pm.hook.argus_started(kernel=self)
                # The API (unix socket, TCP) serves only now: its first answer after a restart
                # already reflects the recovery argus_started did (e.g. adopted agents running).
                await nursery.start(serve_unix, self.http.app, self.paths.daemon_sock)
                nursery.start_soon(self._serve_api_forever)
                self.bus.publish("daemon.started", {"pid": os.getpid(), "version": self.version})
                log.info("argus daemon %s up (pid %d, home %s)", self.version, os.getpid(), self.paths.home)
                if self.is_daemon_process:
                    gc.freeze()
                task_status.started()
                # Built after the daemon is up: importing the MCP SDK is most of a bare start-up. It
                # waits for the first /mcp request or MCP_BUILD_DELAY, so re-attached sessions and
                # clients reconnecting after a restart are served first.
                nursery.start_soon(partial(self.mcp_app.run, self._build_mcp, delay=MCP_BUILD_DELAY))
                if not gc.isenabled():  # `argus daemon run` paused it for the start-up
                    nursery.start_soon(resume_gc, GC_RESUME_DELAY)
                if self.standby_wanted():
                    nursery.start_soon(partial(standby.keep_standby, self.paths, self._standby_setting,
                                               self._standby_goes_too, delay=standby.start_delay()))
                with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, standby.HANDOVER_SIGNAL) as signals:
                    async with trio.open_nursery() as waiter:
                        async def on_signal() -> None:
                            async for signum in signals:
                                # The hand-over signal (`argus daemon restart`): stop, leaving the
                                # warm standby to take over; without one it is a plain stop.
                                self.handing_over = signum == standby.HANDOVER_SIGNAL
                                if self.handing_over:
                                    standby.mark_handover(self.paths)
                                self._stop.set()
                                return

                        waiter.start_soon(on_signal)
                        await self._stop.wait()
                        waiter.cancel_scope.cancel()
                log.info("argus daemon stopping" + (" (handing over to the standby)" if self.handing_over else ""))
                if hasattr(self.sessions, "save_offsets"):
                    self.sessions.save_offsets()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self.registry.aclose()
            self.db.close()
            try:
                self.paths.daemon_sock.unlink()
            except FileNotFoundError:
                pass

    async def _serve_mcp(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen for MCP at once; ``/mcp`` requests wait for ``_build_mcp`` (started after start-up)."""
        env_port = os.environ.get("ARGUS_MCP_PORT")
        port = int(env_port) if env_port else int(self.settings.get("mcp", "http_port"))
        mcp_app = self.mcp_app
        # Agent hook callbacks ride the always-on MCP listener (the API listener may be off).
        app = path_dispatcher({"/mcp": mcp_app, "/api/agent": self.http.app}, lifespan_app=mcp_app)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve_app, app, [f"127.0.0.1:{port}"])
            self.mcp_port = _port_of(binds, port)
            self._write_runtime()
            task_status.started()

    async def _build_mcp(self) -> ASGIApp:
        """The MCP server app: the SDK imported in a worker thread (the loop keeps serving)."""
        try:
            await trio.to_thread.run_sync(import_sdk)
        except Exception:  # e.g. a rare import deadlock with the loop thread: import here instead
            log.warning("importing the MCP SDK in a worker thread failed; importing it in the loop",
                        exc_info=True)
            import_sdk()
        ts = tailscale_ipv4()
        app = build_mcp_app(self, [ts] if ts else None)
        if self.is_daemon_process:
            gc.freeze()  # the MCP SDK's modules too
        return app

    def _standby_setting(self) -> bool:
        """The live ``daemon.standby`` setting."""
        return bool(self.settings.get("daemon", "standby"))

    def _standby_goes_too(self) -> bool:
        """Whether the daemon's way out takes its standby down: a requested stop that is not a
        hand-over (a crash leaves it to take over)."""
        return self._stop.is_set() and not self.handing_over

    def standby_wanted(self) -> bool:
        """Whether this daemon may keep a warm standby (then while ``daemon.standby`` is on): never
        as a systemd unit's main process, which systemd restarts itself, nor for a kernel run
        in-process by tests."""
        return self.is_daemon_process and not under_systemd()

    def api_enabled(self) -> bool:
        """``api.enabled`` (or ``ARGUS_API_PORT`` set in the environment)."""
        return bool(os.environ.get("ARGUS_API_PORT")) or bool(self.settings.get("api", "enabled"))

    def api_port_setting(self) -> int:
        env_port = os.environ.get("ARGUS_API_PORT")
        return int(env_port) if env_port else int(self.settings.get("api", "http_port"))

    async def _serve_api_forever(self) -> None:
        """Serve TCP while api.enabled; restart when the api settings change."""
        self.bus.add_listener(self._maybe_restart_api)
        while True:
            self._api_restart = trio.Event()
            if self.api_enabled():
                port = self.api_port_setting()
                async with trio.open_nursery() as nursery:
                    try:
                        binds = await nursery.start(serve_app, self.http.app, api_binds(port))
                    except Exception as exc:  # hypercorn wraps the bind error in exception groups
                        cause = _bind_error(exc)
                        if cause is None:
                            raise
                        log.error("cannot listen on API port %d: %s", port, cause)
                        self.api_port = 0
                        await self._api_restart.wait()
                        nursery.cancel_scope.cancel()
                        continue
                    self.api_port = _port_of(binds, port)
                    self._write_runtime()
                    log.info("API listening on %s", ", ".join(binds or []))
                    await self._api_restart.wait()
                    nursery.cancel_scope.cancel()
                self.api_port = 0
            else:
                await self._api_restart.wait()

    async def _sweep_registry(self) -> None:
        """Drop external MCP tools that have been idle for 10 minutes."""
        while True:
            await trio.sleep(SWEEP_EVERY)
            for name in self.registry.sweep():
                log.info("swept idle external tool %s", name)

    def _write_runtime(self) -> None:
        """Record pid and bound ports in ``$ARGUS_HOME/daemon.json`` for clients and tests."""
        info = {"pid": os.getpid(), "version": self.version, "api_port": self.api_port or None,
                "mcp_port": self.mcp_port or None, "socket": str(self.paths.daemon_sock)}
        atomic_write(self.paths.home / "daemon.json", json.dumps(info).encode(), 0o600)

    def _maybe_restart_api(self, event: Event) -> None:
        if event.type == "settings.updated" and event.data.get("section") == "api":
            self._api_restart.set()


async def resume_gc(delay: float) -> None:
    """After ``delay`` (the clients reconnecting after a restart are served first), move every
    object alive so far to the collector's permanent generation and turn the collector back on.

    What start-up built lives as long as the daemon: freezing it spares every later full collection
    a scan of it.
    """
    await trio.sleep(delay)
    gc.freeze()
    gc.enable()
    log.info("garbage collector on (start-up objects frozen)")  # get_freeze_count() walks them all


def _bind_error(exc: BaseException) -> BaseException | None:
    """The OSError (port in use, no permission) or OverflowError (port out of range) behind a
    failed bind, or None when ``exc`` is something else."""
    if isinstance(exc, OSError | OverflowError):
        return exc
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _bind_error(exc.exceptions[0])
    return None


def _port_of(binds: list[str] | None, default: int) -> int:
    for bind in binds or []:
        try:
            return int(bind.rsplit(":", 1)[1].strip("/"))
        except (IndexError, ValueError):
            continue
    return default
