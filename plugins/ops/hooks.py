"""The ops plugin's hook implementations: settings, routes, background jobs, ``argus doctor``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click
from argus.kernel.api import BackgroundJob, Field, Kernel, Migration, SettingsSection, hookimpl

from .compat import ops_state


class OpsState:
    """Per-kernel state: the updater, the namer and the usage tracker."""

    def __init__(self, kernel: Kernel) -> None:
        from .naming import Namer
        from .update import Updater
        from .usage import UsageTracker

        self.updater = Updater(kernel)
        self.namer = Namer(kernel)
        self.usage = UsageTracker(kernel)


@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """``ops_usage``: tokens and cost per task and day."""
    from .usage import MIGRATIONS

    return MIGRATIONS


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """``[update]`` (self-update, master only) and ``[autoname]``."""
    return [
        SettingsSection("update", "Argus update", [
            Field("source_path", "string", "", "Source path", "Local clone of Argus used by self-update"),
            Field("install_command", "string", "", "Install command",
                  "Overrides the reinstall command ({source} is the source path); empty: the environment's "
                  "pip, uv tool or pipx"),
        ], master_only=True),
        SettingsSection("autoname", "Auto-naming", [
            Field("enabled", "bool", True, "Enabled",
                  "Name tasks created without a name by asking the agent CLI (print mode) for a kebab-case name"),
            Field("timeout", "int", 3, "Timeout (s)", "Keep the prompt's slug when no answer comes in time",
                  min=1, max=60),
            Field("model", "string", "", "Model", "Model for the naming call (empty: haiku for Claude Code)"),
        ]),
    ]


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Mount ``/api/source-path``, ``/api/update``, ``/api/autostart``, ``/api/doctor``, ``/api/usage``;
    listen for created tasks."""
    from . import autostart
    from .routes import make_routes

    state = ops_state(kernel, lambda: OpsState(kernel))
    kernel.http.add_master_only(r"^/api/source-path/?$")
    kernel.http.add_master_only(r"^/api/update/?$")
    kernel.http.add_master_only(r"^/api/autostart/?$")
    kernel.http.add_routes("ops", make_routes(kernel, state.updater, state.usage))
    kernel.http.add_routes("ops", autostart.make_routes(kernel))
    kernel.events.add_listener(state.namer.on_event)
    kernel.events.add_listener(state.usage.on_event)
    kernel.pm.register(state.usage, name=f"ops-usage-{id(kernel)}")  # its argus_task_fields, per kernel


@hookimpl
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """The update worker and the naming worker."""
    state = ops_state(kernel)
    return [state.updater.worker, state.namer.worker, state.usage.worker]


@hookimpl
def argus_cli(cli: click.Group) -> None:
    """``argus doctor [--json]`` and ``argus completion SHELL``."""

    @cli.command("completion")
    @click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
    def completion_cmd(shell: str) -> None:
        """Print the shell completion script (e.g. eval "$(argus completion bash)" in ~/.bashrc)."""
        from click.shell_completion import get_completion_class

        cls = get_completion_class(shell)
        assert cls is not None
        click.echo(cls(cli, {}, "argus", "_ARGUS_COMPLETE").source())

    @cli.command("doctor")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    def doctor_cmd(as_json: bool) -> None:
        """Check the installation; explain each problem with a fix (exit 1 when something is broken)."""
        from .doctor import run_local

        report = run_local()
        if as_json:
            click.echo(json.dumps(report, indent=2))
        else:
            marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
            for c in report["checks"]:
                click.echo(f"[{marks.get(c['status'], c['status'])}] {c['name']}: {c['detail']}")
                if c["fix"] and c["status"] in ("warn", "fail"):
                    click.echo(f"       fix: {c['fix']}")
            where = report.get("where") == "daemon"
            click.echo("(checked by the running daemon)" if where else "(daemon not running: local checks only)")
        sys.exit(0 if report["ok"] else 1)
