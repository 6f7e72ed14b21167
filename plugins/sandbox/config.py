"""The ``[sandbox]`` settings section and the per-project ``sandbox`` object, read into one view.

Global (``[sandbox]``, master token only over REST): ``enabled``, ``deny_read``, ``extra_write``,
``allow_apple_events``, ``network``, ``allow_ssh_keys``, ``bwrap``. The manual's lowercased
spellings (``denyread``, ``extrawrite``, ``allowappleevents``) are accepted in config.toml as
aliases. Per project: ``{"enabled": true|false|null, "deny_read": [], "extra_write": [],
"allow_apple_events": [], "network": true|false|null}``, ``null`` meaning inherit the global value;
list entries are appended to the global lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from argus.kernel.api import Field, Settings, SettingsSection

SECTION = "sandbox"
LIST_KEYS = ("deny_read", "extra_write", "allow_apple_events")
ALIASES = {"denyread": "deny_read", "extrawrite": "extra_write", "allowappleevents": "allow_apple_events"}

SANDBOX_SECTION = SettingsSection(SECTION, "Sandbox", [
    Field("enabled", "bool", False, "Enabled",
          "Confine every agent (bubblewrap on Linux, sandbox-exec on macOS); projects may override"),
    Field("deny_read", "list", [], "Deny Read",
          "Extra paths agents may not read, on top of ~/.gnupg ~/.aws ~/.kube ~/.config/gcloud "
          "and ~/.ssh private keys"),
    Field("extra_write", "list", [], "Extra Write",
          "Extra writable paths (the worktree, the repo's .git, /tmp and the agent's own state always are)"),
    Field("allow_apple_events", "list", [], "AppleEvents",
          "macOS bundle ids agents may send AppleEvents to (e.g. com.apple.iChat)"),
    Field("network", "bool", True, "Network",
          "Let sandboxed agents use the network (they call their model API); projects may turn it off"),
    Field("allow_ssh_keys", "bool", False, "SSH keys",
          "Let sandboxed agents read ~/.ssh private keys and the ssh-agent socket"),
    Field("bwrap", "string", "bwrap", "bwrap executable", "Linux: the bubblewrap executable (name or path)"),
], master_only=True)


@dataclass(frozen=True)
class Effective:
    """The sandbox settings that apply to one project's launches."""

    enabled: bool
    enabled_from: str            # "project" or "global"
    deny_read: tuple[str, ...]
    extra_write: tuple[str, ...]
    apple_events: tuple[str, ...]
    network: bool
    allow_ssh_keys: bool
    bwrap: str


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def project_sandbox(value: object) -> dict[str, Any]:
    """A project's ``sandbox`` object normalised (aliases folded, unknown keys dropped)."""
    raw = value if isinstance(value, dict) else {}
    out: dict[str, Any] = {"enabled": None, "network": None, **{k: [] for k in LIST_KEYS}}
    for key, item in raw.items():
        key = ALIASES.get(key, key)
        if key in ("enabled", "network"):
            out[key] = item if isinstance(item, bool) else None
        elif key in LIST_KEYS:
            out[key] = [*out[key], *_strings(item)]
    return out


def global_values(settings: Settings) -> dict[str, Any]:
    """The effective ``[sandbox]`` section, with config.toml's alias spellings honoured."""
    values = dict(settings.section(SECTION))
    raw = settings.raw(SECTION)
    for alias, key in ALIASES.items():
        if alias in raw and key not in raw:
            values[key] = _strings(raw[alias])
    return values


def effective(settings: Settings, project: dict[str, Any] | None) -> Effective:
    """Global settings overlaid with the project's ``sandbox`` object."""
    g = global_values(settings)
    p = project_sandbox((project or {}).get("sandbox"))
    enabled = p["enabled"] if p["enabled"] is not None else bool(g["enabled"])
    return Effective(
        enabled=enabled, enabled_from="project" if p["enabled"] is not None else "global",
        deny_read=(*g["deny_read"], *p["deny_read"]), extra_write=(*g["extra_write"], *p["extra_write"]),
        apple_events=(*g["allow_apple_events"], *p["allow_apple_events"]),
        network=p["network"] if p["network"] is not None else bool(g["network"]),
        allow_ssh_keys=bool(g["allow_ssh_keys"]), bwrap=str(g["bwrap"] or "bwrap"),
    )
