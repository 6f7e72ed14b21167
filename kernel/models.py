"""Wire models of the kernel's own routes (``routes.py``): what goes in and what comes out.

Checks that need state (a scope's prefix, URL schemes, caps, ownership) stay in the registry and
the token store, which in-process callers reach too; these models give the shapes, validated at
the edge and published in ``/api/openapi.json``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    """Input: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class Out(BaseModel):
    """Output: producers may add keys."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class OkReply(Out):
    """``{"ok": true}``."""

    ok: bool


class LogQuery(Wire):
    """``GET /api/logs/{name}``: the last ``bytes`` (at most 1 MiB)."""

    bytes: int = Field(64 * 1024, ge=0)


class EventsQuery(Wire):
    """``GET /api/events/stream``: replay after event ``since`` (or the ``Last-Event-ID`` header)."""

    since: int | None = Field(None, ge=0)


class TokenMint(Wire):
    """``POST /api/tokens``: a device token (scope tokens are minted by the CLI only)."""

    label: str | None = None
    scope: Any = Field(None, description="refused: scope tokens are never minted over HTTP")
    kind: str | None = None


class TokenRow(Out):
    """A token as listed (never its hash or plaintext)."""

    id: str
    kind: Literal["device", "scope"]
    scope: str | None
    label: str
    last4: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class TokenList(Out):
    """``{"tokens": [TokenRow]}``."""

    tokens: list[TokenRow]


class MintedToken(Out):
    """A new device token: the plaintext is shown once."""

    id: str
    label: str
    token: str


class ToolRegistration(Wire):
    """``POST /api/mcp/tools`` with a scope token."""

    name: str = Field(description="must start with '<scope>_'")
    description: str = ""
    input_schema: dict[str, Any] | None = Field(None, description="a JSON Schema object")
    callback_url: str = Field(description="http(s) URL the daemon POSTs calls to")
    auth_header: str | None = Field(None, description="sent as Authorization on callbacks")


class ToolOut(Out):
    """A registered MCP tool."""

    name: str
    description: str
    input_schema: dict[str, Any]
    scope: str
    external: bool
    callback_url: str | None


class ToolReply(Out):
    """``{"tool": ToolOut}``."""

    tool: ToolOut


class ToolList(Out):
    """``{"tools": [ToolOut]}``."""

    tools: list[ToolOut]


class SectionRegistration(Wire):
    """``POST /api/plugins/settings/sections`` with a scope token."""

    title: str
    type: Literal["form", "stream"] = "form"
    callback_url: str | None = None
    auth_header: str | None = None
    fields: list[dict[str, Any]] | None = Field(None, description="[{key, type, label?, default?, choices?}]")


class SectionOut(Out):
    """A registered settings section."""

    scope: str
    title: str
    type: str
    callback_url: str | None
    fields: list[dict[str, Any]]


class SectionReply(Out):
    """``{"section": SectionOut}``."""

    section: SectionOut


class SectionList(Out):
    """``{"sections": [SectionOut]}``."""

    sections: list[SectionOut]


class ViewRegistration(Wire):
    """``POST /api/plugins/views`` (``scope`` only with the master token)."""

    title: str
    hotkey: str
    callback_url: str = Field(description="ws:// or wss:// URL of the view")
    scope: str | None = None


class ViewOut(Out):
    """A registered TUI view."""

    id: str
    scope: str
    title: str
    hotkey: str
    callback_url: str


class ViewReply(Out):
    """``{"view": ViewOut}``."""

    view: ViewOut


class ViewList(Out):
    """``{"views": [ViewOut]}``."""

    views: list[ViewOut]


# -- status, settings, plugins, the document ------------------------------------------------


class SupervisorState(Out):
    """Whether PTYs run in the session supervisor, and whether it answers."""

    enabled: bool
    running: bool


class DiskState(Out):
    """Free space under ``ARGUS_HOME`` (null when it cannot be read); ``full`` under 1 MiB free."""

    free_bytes: int | None
    full: bool | None


class StatusReply(Out):
    """``GET /api/status``: the kernel's part; plugins add keys (tasks: ``sessions``, ``tasks``; kb: ``kb``)."""

    version: str
    supervisor: SupervisorState
    disk: DiskState


class SettingsField(Out):
    """One field of a settings form."""

    key: str
    type: str
    default: Any
    label: str
    help: str
    choices: list[Any] | None = None
    min: float | None = None
    max: float | None = None


class SettingsSchema(Out):
    """One settings section's form."""

    name: str
    title: str
    master_only: bool
    fields: list[SettingsField]


class RuntimePorts(Out):
    """The ports the listeners really bound (null when off)."""

    api_port: int | None
    mcp_port: int | None


class SettingsReply(Out):
    """``GET``/``PUT /api/settings``: every section's values (also at the top level, one key per
    section, open: plugins add sections and read-only facts), the forms' schema, where each value
    comes from and the environment variables that override keys."""

    sections: dict[str, dict[str, Any]]
    schema_: list[SettingsSchema] = Field(alias="schema")
    config_error: str | None = Field(description="why the config file was ignored (null when it was read)")
    sources: dict[str, dict[str, str]] = Field(description="section → key → where the value comes from")
    configured: dict[str, dict[str, Any]] = Field(description="section → the values the config file sets")
    env: dict[str, str] = Field(description="section.key → the environment variable overriding it")
    runtime: RuntimePorts


class PluginInfo(Out):
    """A plugin as loaded (``reason`` only when it was refused)."""

    name: str
    version: str
    source: str
    module: str
    enabled: bool
    reason: str | None = None


class PluginList(Out):
    """``{"plugins": [PluginInfo]}``."""

    plugins: list[PluginInfo]


class DroppedRegistrations(Out):
    """What went with a revoked scope token (empty for a device token)."""

    tools: int = 0
    sections: int = 0
    views: int = 0


class RevokeReply(Out):
    """``DELETE /api/tokens/{id}``."""

    ok: bool
    dropped: DroppedRegistrations


class SubmitReply(Out):
    """``POST .../submit``: what the section's plugin answered."""

    ok: bool
    result: Any = Field(None, description="the plugin's answer, passed through")


class OpenApiDocument(Out):
    """``GET /api/openapi.json``: this OpenAPI 3.1 document."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, dict[str, Any]]
    components: dict[str, Any]
