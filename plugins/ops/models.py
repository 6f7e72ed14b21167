"""Wire models of the ops routes: request bodies (validated by the kernel) and replies (documented
in ``/api/openapi.json``, checked under ``ARGUS_CHECK_RESPONSES=1``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Wire(BaseModel):
    """Input: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class Out(BaseModel):
    """Output: producers may add keys."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class SourcePathBody(Wire):
    """``PUT /api/source-path``: an absolute path to a git checkout of Argus ("" clears it)."""

    source_path: str = Field(max_length=4096)


class UpdateBody(Wire):
    """``POST /api/update``: ``dry_run`` lists the commits that would be pulled and changes nothing."""

    dry_run: bool = False


class SourcePathReply(Out):
    """The source path, whether it is usable, why not, and whether config.toml sets it."""

    source_path: str
    valid: bool
    detail: str
    from_config_file: bool


class Commit(Out):
    """A commit a pull would bring."""

    sha: str
    subject: str


class DryRunReply(Out):
    """What an update would pull and the reinstall command it would run."""

    dry_run: bool
    source_path: str
    upstream: str
    commits: list[Commit]
    install_command: list[str] | None


class UpdateRunOut(Out):
    """One update attempt: ``running``, ``restarting``, ``failed`` or ``done``, with its steps."""

    id: str
    status: str
    steps: list[dict[str, Any]]
    commits: list[dict[str, Any]]
    error: dict[str, Any] | None


class UpdateStarted(Out):
    """``202``: the update was queued; progress follows as ``update.*`` events."""

    update: UpdateRunOut


class UpdateReply(RootModel[DryRunReply | UpdateStarted]):
    """``POST /api/update``: the commits a pull would bring (``dry_run``, 200), or the queued update (202)."""
    model_config = ConfigDict(defer_build=True)


class UpdateStatus(Out):
    """``GET /api/update``: the source, the install mode, the running daemon, the last update."""

    source_path: str
    source: dict[str, Any]
    install: dict[str, Any]
    running: dict[str, Any]
    update: UpdateRunOut | None


class CheckOut(Out):
    """One doctor check."""

    name: str
    status: str
    detail: str
    fix: str


class DoctorReport(Out):
    """``GET /api/doctor``: ``ok`` is false when any check is ``fail``."""

    ok: bool
    where: str
    checks: list[CheckOut]


class Usage(Out):
    """Tokens (and cost, only when the CLI reports it) of a task, project or day."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None
    source: str


class UsageSummary(Out):
    """Totals per task id, per project and per day (``YYYY-MM-DD``)."""

    tasks: dict[str, Usage]
    projects: dict[str, Usage]
    days: dict[str, Usage]


class TaskUsage(Out):
    """One task's usage (null when its CLI reported nothing)."""

    task_id: str
    usage: Usage | None


class AutostartBody(Wire):
    """``PUT /api/autostart``: true installs the login service (systemd user unit / LaunchAgent),
    false removes it."""

    enabled: bool = Field(strict=True)


class AutostartState(Out):
    """Whether the daemon starts at login, and why it cannot when the service manager is unusable."""

    system: str = Field(description="systemd or launchd")
    installed: bool = Field(description="the unit (or plist) file exists")
    enabled: bool = Field(False, description="systemd: enabled for the user's login")
    active: bool = Field(False, description="systemd: the unit is running now")
    loaded: bool = Field(False, description="launchd: the LaunchAgent is loaded")
    available: bool = Field(description="the service manager answers (a systemd user session, launchctl)")
    reason: str = Field("", description="why it is unavailable")
    hint: str = Field("", description="what to do about it (e.g. loginctl enable-linger)")
    unit: str = Field("", description="systemd: the unit file's path")
    plist: str = Field("", description="launchd: the plist's path")
    result: dict[str, Any] | None = Field(None, description="PUT: what installing or removing did")
