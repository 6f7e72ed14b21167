"""The kernel's own hook implementations: its tables and settings sections.

The kernel is registered as a plugin of itself (as pytest does), so its schema and settings go
through the same hooks every plugin uses.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import settings, tokens
from .values import Field, Migration, SettingsSection, hookimpl

API_PORT = 7743
MCP_PORT = 7742


@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """The kernel's tables: settings and tokens (version 2 adds task tokens)."""
    return [Migration("kernel", 1, settings.MIGRATION_SQL + tokens.MIGRATION_SQL),
            Migration("kernel", 2, tokens.MIGRATION_V2_SQL)]


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """Listener, supervisor and plugin settings (``[update]`` belongs to the ops plugin)."""
    return [
        SettingsSection("api", "Remote API", [
            Field("enabled", "bool", False, "Enabled", "Serve the REST API + PWA on TCP (127.0.0.1 + Tailscale)"),
            Field("http_port", "int", API_PORT, "HTTP port", min=1, max=65535),
            Field("allowed_hosts", "list", [], "Allowed host names",
                  "Extra names clients may use in the Host header (e.g. a Tailscale MagicDNS name); "
                  "the listen address and localhost are always allowed"),
        ]),
        SettingsSection("mcp", "MCP server", [
            Field("http_port", "int", MCP_PORT, "MCP port", "Streamable HTTP on 127.0.0.1", min=1, max=65535),
        ]),
        SettingsSection("supervisor", "Session supervisor", [
            Field("enabled", "bool", True, "Enabled",
                  "Run agent PTYs in the out-of-process supervisor (restart the daemon to apply)"),
        ]),
        SettingsSection("daemon", "Daemon", [
            Field("standby", "bool", True, "Warm standby",
                  "Keep a spare daemon, already loaded, that takes over within a second when the daemon "
                  "dies (crash, kill -9) and on `argus daemon restart`; not under the systemd unit, which "
                  "restarts it itself"),
        ]),
        SettingsSection("plugins", "Plugins", [
            Field("disabled", "list", [], "Disabled plugins", "Plugin names not to load (restart to apply)"),
        ], master_only=True),
    ]
