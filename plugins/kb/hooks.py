"""The kb plugin's hook implementations: the ``[kb]`` settings, routes, tools and the indexing job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import tools
from .compat import Field, SettingsSection, hookimpl
from .routes import make_blueprint
from .service import SECTION, KbService
from .vault import DEFAULT_EXCLUDE, DEFAULT_INCLUDE

_kb: KbService | None = None  # TODO(contract): keep it in kernel.stash once the contract lands


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """``[kb]``: enabled, the vault (``vault_path`` or the manual's ``metis_vault_path``), include/exclude globs."""
    return [SettingsSection(SECTION, "Knowledge base", [
        Field("enabled", "bool", False, "Enabled",
              "Index the vault and offer the kb_* MCP tools to every agent"),
        Field("vault_path", "string", "", "Vault path", "Folder of Markdown notes (an Obsidian vault) to index"),
        Field("metis_vault_path", "string", "", "Vault path (manual's name)",
              "Alias of vault_path, used when vault_path is empty"),
        Field("include", "list", list(DEFAULT_INCLUDE), "Include",
              "Globs of files to index ('*.md' matches at any depth; 'a/*.md' is anchored at the vault root)"),
        Field("exclude", "list", list(DEFAULT_EXCLUDE), "Exclude",
              "Globs left out; a trailing '/' names a folder ('.obsidian/', '.trash/', 'attachments/')"),
    ])]


@hookimpl
def argus_register(kernel: Any) -> None:
    """Mount ``/api/kb``; offer the tools when the kb is enabled (and follow the setting)."""
    global _kb
    _kb = KbService(kernel)
    _kb.on_config.append(lambda config: tools.sync(kernel, _kb, config))
    _kb.settings_changed()
    kernel.http.add_blueprint(make_blueprint(_kb))


@hookimpl
def argus_background(kernel: Any) -> Sequence[Any]:
    """The indexing job: a full scan, then the live watcher, re-started when ``[kb]`` changes."""
    return [_kb.run] if _kb is not None else []


@hookimpl
def argus_event(event: Any) -> None:
    """Apply ``PUT /api/settings {"kb": ...}`` at once (enable, disable, another vault)."""
    if _kb is not None and event.type == "settings.updated" and event.data.get("section") == SECTION:
        _kb.settings_changed()


@hookimpl
def argus_tui_tabs() -> Sequence[dict[str, Any]]:
    """The TUI's *Notes* tab (key 4): search as you type, read, attach a note to a task (TUI process)."""
    from .tui_tab import tab_spec  # prompt_toolkit is loaded by the TUI only

    return [tab_spec()]


@hookimpl
def argus_status(kernel: Any) -> dict[str, Any] | None:
    """``{"kb": {enabled, documents, watcher}}`` in ``GET /api/status``."""
    if _kb is None:
        return None
    s = _kb.status()
    return {"kb": {"enabled": s["enabled"], "documents": s["documents"], "watcher": s["watcher"],
                   "indexing": s["indexing"]}}
