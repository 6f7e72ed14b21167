"""The kernel's hooks: what every Argus plugin can implement.

Plugins publish further hooks of their own through ``argus_addhooks`` (the tasks plugin's are in
``argus.plugins.tasks.hookspecs``, the TUI's in ``argus.plugins.tui.hookspecs``). Hooks are
synchronous pluggy calls. Anything long-running is returned from
``argus_background`` and run by the kernel inside its own nursery, so its lifetime is the
daemon's. Built-in plugins (``argus.plugins.*``) and third-party packages implement these the
same way and are loaded through the same ``argus`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from .values import BackgroundJob, Migration, SettingsSection, hookspec

if TYPE_CHECKING:  # pragma: no cover
    import click

    from .api import Kernel
    from .events import Event


@hookspec(historic=True)
def argus_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Publish this plugin's own hookspecs: ``pluginmanager.add_hookspecs(my_hookspecs_module)``.

    Called when the plugin is registered, before any other hook (pytest's ``pytest_addhooks``).
    After every plugin is registered the kernel runs ``pm.check_pending()``: a plugin that
    implements a hook nobody published (misspelled, or its publisher is not loaded) is refused.
    """


@hookspec
def argus_migrations() -> Sequence[Migration]:
    """Return this plugin's schema migrations.

    Called once at daemon start, before anything touches the database. Each plugin owns its
    tables; migrations are applied in ``version`` order per plugin and recorded in
    ``schema_migrations``. A database whose recorded version is newer than any migration the
    code knows makes the daemon refuse to start.
    """


@hookspec
def argus_settings_sections() -> Sequence[SettingsSection]:
    """Return the settings sections this plugin declares (typed fields with defaults).

    The values are layered: these defaults < values saved in SQLite (``PUT /api/settings``)
    < ``$ARGUS_HOME/config.toml``. Read them with ``kernel.settings.get(section, key)``.
    """


@hookspec
def argus_register(kernel: Kernel) -> None:
    """Register this plugin's surface with the running kernel.

    Called once after migrations, before listeners start. Use ``kernel.http.add_blueprint``
    for REST routes, ``kernel.registry.add_tool`` for MCP tools (under the plugin's own
    scope), ``kernel.registry.add_section`` / ``add_view`` for UI contributions, and keep a
    reference to ``kernel`` for later use.
    """


@hookspec
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """Return async callables the kernel runs in its nursery for the daemon's lifetime.

    Examples: the idle detector, the scheduler loop, a KB watcher. Each job must be
    cancellation-safe; the kernel cancels them all at shutdown. An exception in one is
    logged and the job is not restarted.
    """


@hookspec
def argus_started(kernel: Kernel) -> None:
    """Called once when sessions are re-attached, the MCP listener is up and background jobs
    are started, before the API (unix socket and TCP) serves: its first request sees what this
    hook set up.

    Use it for recovery work that needs sessions (re-attaching to live sessions, moving
    orphaned in-progress tasks to in_review). It must not wait on the API.
    """


@hookspec
def argus_event(event: Event) -> None:
    """Called synchronously for every event published on the kernel bus.

    Must be quick and must not block; start work in a background job fed by a channel if
    reacting takes time.
    """


@hookspec
def argus_cli(cli: click.Group) -> None:
    """Add subcommands to the ``argus`` command line (``argus kb reindex``, ...)."""


@hookspec
def argus_settings_info(kernel: Kernel) -> dict[str, dict[str, Any]] | None:
    """Read-only facts merged into ``GET /api/settings`` sections (not settings themselves).

    Return ``{section: {key: value}}``, e.g. the sandbox plugin's ``{"sandbox": {"available":
    true, "backend": "bubblewrap 0.8.0"}}``. Called on every read of the settings; keep it quick.
    """


@hookspec
def argus_status(kernel: Kernel) -> dict[str, Any] | None:
    """Contribute to ``GET /api/status`` (e.g. ``{"sessions": {...}, "tasks": {...}}``).

    Dicts returned by several plugins are merged key by key.
    """
