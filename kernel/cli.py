"""The ``argus`` command line. Plugins add subcommands through the ``argus_cli`` hook.

``argus`` with no subcommand opens the TUI (contributed by the ``tui`` plugin as the ``tui``
command); ``--remote URL --token T`` points it at another daemon.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from typing import TYPE_CHECKING

if sys.argv[1:3] in (["daemon", "run"], ["daemon", "standby"]):
    # Start-up allocates hundreds of thousands of long-lived objects (modules, classes, routes):
    # the cyclic collector would scan them again and again (~0.1 s of CPU). ``Kernel.run`` freezes
    # them and turns the collector back on once the daemon serves (issue 10: bounce time).
    gc.disable()

import click
import trio

from . import __version__
from . import daemon as daemon_mod
from .paths import Paths

if TYPE_CHECKING:
    from .tokens import Tokens

DAEMON_COMMANDS = (["daemon", "run"], ["daemon", "standby"])  # processes that load their own plugins


def _paths() -> Paths:
    return Paths.default()


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--remote", metavar="URL", help="Open the TUI against a remote daemon's REST API.")
@click.option("--token", metavar="TOKEN", envvar="ARGUS_TOKEN", help="API token for --remote (or ARGUS_TOKEN).")
@click.version_option(__version__, prog_name="argus")
@click.pass_context
def cli(ctx: click.Context, remote: str | None, token: str | None) -> None:
    """Argus: every agent at a glance."""
    if ctx.invoked_subcommand is not None:
        return
    tui = cli.commands.get("tui")
    if tui is None:
        raise click.ClickException("the tui plugin is not installed or is disabled")
    ctx.invoke(tui, remote=remote, token=token)


# -- daemon ---------------------------------------------------------------------------------

@cli.group()
def daemon() -> None:
    """Run and manage the background daemon."""


@daemon.command("run")
def daemon_run() -> None:
    """Run the daemon in the foreground (what `start` runs detached)."""
    from . import standby
    from .paths import secure_home

    paths = _paths()
    _setup_logging(paths)
    secure_home(paths.home)  # logs when a looser existing home is tightened
    lock = daemon_mod.acquire_daemon_lock(paths)
    standby.forget_takeovers(paths)  # started afresh: a crash loop's count starts again
    _serve(paths, lock)


@daemon.command("standby", hidden=True)
def daemon_standby() -> None:
    """Import everything a daemon needs, then wait to take over when the daemon dies (started by
    the daemon itself; see ``argus.kernel.standby``)."""
    from . import standby
    from .mcp import import_sdk
    from .plugins import load_plugins

    paths = _paths()
    standby.preload(paths, (load_plugins, import_sdk))  # every plugin module; the MCP SDK
    loaded = standby.code_stamp()
    spare = standby.announce(paths)
    if spare is None:  # another standby of this home is ready already
        return
    lock = standby.wait_for_lock(paths, daemon_mod.daemon_lock(paths), spare)
    if lock is None:  # the home went away: nothing to take over
        return
    _setup_logging(paths)
    log = logging.getLogger("argus")
    if standby.code_stamp() != loaded:  # updated since: the new code starts from scratch
        log.info("standby daemon (pid %d): the code changed since it loaded; starting a fresh daemon",
                 os.getpid())
        logging.shutdown()
        os.execv(sys.executable, [sys.executable, "-m", "argus.kernel.cli", "daemon", "run"])  # closes the lock
    handover = standby.record_takeover(paths)
    log.info("standby daemon (pid %d) taking over (%s)", os.getpid(),
             "hand-over" if handover else "the daemon died")
    _serve(paths, lock)


def _setup_logging(paths: Paths) -> None:
    from .kernel import setup_logging

    setup_logging(paths.daemon_log)


def _serve(paths: Paths, lock: int) -> None:
    """Run the kernel while holding ``lock`` (daemon.lock); remove daemon.pid on the way out."""
    from .db import DatabaseUnusable, SchemaTooNew
    from .kernel import Kernel

    try:
        kernel = Kernel(paths)
        kernel.is_daemon_process = True
        trio.run(kernel.run)
        if kernel.exit_status:  # a self-update under systemd: the unit restarts the daemon
            logging.getLogger("argus").info("argus daemon exiting with status %d", kernel.exit_status)
            sys.exit(kernel.exit_status)
    except (SchemaTooNew, DatabaseUnusable) as exc:
        logging.getLogger("argus").error("refusing to start: %s", exc)
        click.echo(f"argus: {exc}", err=True)
        sys.exit(3)
    finally:
        try:
            paths.daemon_pid.unlink()
        except FileNotFoundError:
            pass
        os.close(lock)


@daemon.command("start")
def daemon_start() -> None:
    """Start the daemon in the background (and the supervisor) if not running."""
    paths = _paths()
    pid = daemon_mod.start(paths)
    info = daemon_mod.runtime_info(paths)
    click.echo(f"argus daemon running (pid {pid}); socket {paths.daemon_sock}"
               + (f"; API http://127.0.0.1:{info['api_port']}/" if info.get("api_port") else "")
               + (f"; MCP http://127.0.0.1:{info['mcp_port']}/mcp" if info.get("mcp_port") else ""))


@daemon.command("stop")
def daemon_stop() -> None:
    """Stop the daemon (agents keep running under the supervisor)."""
    click.echo("stopped" if daemon_mod.stop(_paths()) else "not running")


@daemon.command("restart")
def daemon_restart() -> None:
    """Restart the daemon (its warm standby takes over, else stop and start); live sessions are
    re-attached."""
    pid = daemon_mod.restart(_paths())
    click.echo(f"argus daemon restarted (pid {pid})")


@daemon.command("status")
def daemon_status() -> None:
    """Show whether the daemon answers, its pid and ports."""
    from . import autostart

    info = daemon_mod.status(_paths())
    info["autostart"] = autostart.state()
    _echo_json(info)
    sys.exit(0 if info["running"] else 1)


@daemon.command("check")
def daemon_check() -> None:
    """Check that this installation can run the daemon on ARGUS_HOME (plugins load, schema known).

    Prints JSON; exit 0 when a daemon could start (pending migrations are applied at start), 1 when
    a plugin fails to load, 3 when the database was written by a newer Argus. Self-update runs it
    with the freshly installed code before restarting the daemon.
    """
    from .db import migration_plan
    from .plugins import disabled_plugins, load_plugins
    from .settings import ConfigFile

    paths = Paths.default(create=False)
    pm, infos = load_plugins(disabled_plugins(ConfigFile(paths.config).data()))
    migrations = [m for group in pm.hook.argus_migrations() for m in (group or [])]
    plan = migration_plan(paths.db, migrations)
    failed = [i.name for i in infos if "failed to load" in i.source]
    _echo_json({"version": __version__, "plugins": [i.to_json() for i in infos], "failed": failed, **plan})
    sys.exit(3 if plan["too_new"] else 1 if failed else 0)


@daemon.command("install")
def daemon_install() -> None:
    """Auto-start the daemon at login (systemd user unit on Linux, launchd LaunchAgent on macOS)."""
    from . import autostart

    _echo_json(autostart.install(_paths()))


@daemon.command("uninstall")
def daemon_uninstall() -> None:
    """Remove the auto-start unit (or LaunchAgent)."""
    from . import autostart

    _echo_json(autostart.uninstall(_paths()))


# -- session supervisor --------------------------------------------------------------------

@cli.group("session-supervisor")
def session_supervisor() -> None:
    """Manage the long-lived process that owns agent PTYs."""


@session_supervisor.command("start")
def supervisor_start() -> None:
    """Start the supervisor (the daemon auto-starts it when absent)."""
    from .supervisor import start_supervisor

    click.echo(f"session-supervisor running (pid {start_supervisor(_paths())})")


@session_supervisor.command("stop")
def supervisor_stop() -> None:
    """Stop the supervisor. This INTERRUPTS every agent."""
    from .supervisor import stop_supervisor

    click.echo("stopped" if stop_supervisor(_paths()) else "not running")


@session_supervisor.command("status")
def supervisor_status() -> None:
    """Show the supervisor's pid, socket and protocol."""
    from .supervisor import supervisor_status as status

    info = status(_paths())
    _echo_json(info)
    sys.exit(0 if info.get("running") else 1)


# -- tokens --------------------------------------------------------------------------------

@cli.group()
def token() -> None:
    """Mint, list and revoke API tokens (local access to ARGUS_HOME required)."""


def _tokens() -> Tokens:
    from .core import argus_migrations
    from .db import Database, DatabaseUnusable
    from .tokens import Tokens

    paths = _paths()
    try:
        db = Database(paths.db)
    except DatabaseUnusable as exc:
        raise click.ClickException(str(exc)) from None
    db.migrate(argus_migrations())
    return Tokens(db, paths.token)


@token.command("mint")
@click.option("--scope", "scope", metavar="NAME", help="Mint a scope token for an external plugin.")
@click.option("--label", default="", help="A label to recognise the token by.")
def token_mint(scope: str | None, label: str) -> None:
    """Mint a token and print it once (scope tokens are never minted over HTTP)."""
    from .errors import Invalid

    tokens = _tokens()
    try:
        minted = tokens.mint_scope(scope, label) if scope else tokens.mint_device(label or "cli")
    except Invalid as exc:
        raise click.ClickException(exc.message) from None
    click.echo(minted["token"])


@token.command("list")
def token_list() -> None:
    """List tokens (last 4 characters only)."""
    _echo_json(_tokens().list())


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token; a scope token's registrations are dropped by the running daemon."""
    paths = _paths()
    if daemon_mod.ping(paths) is not None:
        with daemon_mod.local_client(paths) as client:
            resp = client.delete(f"/api/tokens/{token_id}")
            if resp.status_code >= 400:
                raise click.ClickException(resp.json().get("error", resp.text))
    else:
        from .errors import NotFound

        try:
            _tokens().revoke(token_id)
        except NotFound as exc:
            raise click.ClickException(exc.message) from None
    click.echo("revoked")


# -- plugins -------------------------------------------------------------------------------

@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List plugins: name, version, source."""
    from .plugins import client_plugins

    _, infos = client_plugins()
    if as_json:
        _echo_json([i.to_json() for i in infos])
        return
    for i in infos:
        state = "" if i.enabled else "  (disabled)"
        click.echo(f"{i.name:<12} {i.version:<10} {i.source}{state}")
        if i.reason:
            click.echo(f"{'':<12} {i.reason}")


def _register_plugin_commands() -> None:
    from .plugins import client_plugins

    try:  # reading the config must not create ARGUS_HOME (`argus --help` writes nothing)
        pm, _ = client_plugins()
    except Exception as exc:  # never let a broken plugin break the CLI
        click.echo(f"argus: plugins failed to load: {exc}", err=True)
        return
    pm.hook.argus_cli(cli=cli)


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:3] not in DAEMON_COMMANDS:  # the daemon loads its plugins itself (saved settings honoured)
        _register_plugin_commands()
    cli(prog_name="argus")


if __name__ == "__main__":
    main()
