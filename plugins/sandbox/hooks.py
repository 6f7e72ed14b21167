"""The sandbox plugin's module-level hooks: schema, settings section, registration, CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from argus.kernel.api import Kernel, Migration, SettingsSection, hookimpl

from . import detect
from .config import SANDBOX_SECTION
from .routes import make_routes
from .service import MIGRATIONS, Sandbox

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel


@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """The ``sandbox_launches`` table (how each task's last launch was confined)."""
    return MIGRATIONS


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """The master-only ``[sandbox]`` section."""
    return [SANDBOX_SECTION]


@hookimpl(optionalhook=True)
def argus_task_field_models() -> Mapping[str, type[BaseModel]]:
    """The ``sandbox`` key of the Task JSON (a hook of the tasks plugin)."""
    from .routes import SandboxTaskField

    return {"sandbox": SandboxTaskField}


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Register this daemon's ``Sandbox`` (its launch/settings/event hooks) and its REST route."""
    sandbox = Sandbox(kernel)
    kernel.pm.register(sandbox, name="sandbox.runtime")
    kernel.http.add_routes("sandbox", make_routes(sandbox))


@hookimpl
def argus_cli(cli: click.Group) -> None:
    """``argus sandbox check``: can this host sandbox agents, and with what."""
    import click

    @cli.group("sandbox")
    def sandbox_group() -> None:
        """Agent sandbox (bubblewrap on Linux, sandbox-exec on macOS)."""

    @sandbox_group.command("check")
    @click.option("--bwrap", default="bwrap", show_default=True, help="The bubblewrap executable to probe.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def check(bwrap: str, as_json: bool) -> None:
        """Probe the sandbox backend; exit 1 when agents cannot be sandboxed here."""
        found = detect.detect(bwrap)
        if as_json:
            click.echo(json.dumps(found.to_json()))
        elif found.available:
            click.echo(f"sandbox available: {found.to_json()['backend']} ({found.executable})")
        else:
            click.echo(f"sandbox unavailable: {found.reason}")
        raise SystemExit(0 if found.available else 1)
