"""The kb plugin's hook implementations: the ``[kb]`` settings, routes, tools and the indexing job.

The service lives in ``kernel.stash[KB]`` (per kernel, no module state); settings changes reach it
through a bus listener added at registration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from argus.kernel.api import BackgroundJob, Event, Field, Kernel, SettingsSection, StashKey, hookimpl
from argus.plugins.tasks.api import TaskOption

from . import context, tools
from .routes import routes
from .service import SECTION, KbService
from .vault import DEFAULT_EXCLUDE, DEFAULT_INCLUDE

if TYPE_CHECKING:  # pragma: no cover
    import click

KB = StashKey[KbService]()
MAX_CONTEXT_NOTES = 50


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
        Field("context_notes", "int", context.DEFAULT_NOTES, "Notes attached to a task",
              "How many of the best-matching notes a task created with kb_context gets in .context/kb-notes.md"),
    ])]


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Mount ``/api/kb``; offer the tools when the kb is enabled and follow ``[kb]`` changes live."""
    kb = KbService(kernel)
    kernel.stash[KB] = kb
    kb.on_config.append(lambda config: tools.sync(kernel, kb, config))
    kb.settings_changed()
    kernel.http.add_routes("kb", routes(kb))
    kernel.pm.register(context.TaskContextHooks(kb, lambda: _context_notes(kernel)), name="kb.tasks")

    def on_event(event: Event) -> None:
        if event.type == "settings.updated" and event.data.get("section") == SECTION:
            kb.settings_changed()

    kernel.events.add_listener(on_event)


def _context_notes(kernel: Kernel) -> int:
    try:
        value = int(kernel.settings.get(SECTION, "context_notes"))
    except (TypeError, ValueError):
        value = context.DEFAULT_NOTES
    return max(1, min(value, MAX_CONTEXT_NOTES))


@hookimpl(optionalhook=True)
def argus_task_options(kernel: Kernel) -> Sequence[TaskOption]:
    """``kb_context``: attach the notes matching a new task's prompt (a hook of the tasks plugin)."""

    def unavailable() -> str | None:
        kb = kernel.stash.get(KB, None)
        return "the kb plugin is not loaded" if kb is None else kb.unavailable()

    return [context.option(unavailable)]


@hookimpl
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """The indexing job: a full scan, then the live watcher, re-started when ``[kb]`` changes."""
    kb = kernel.stash.get(KB, None)
    return [kb.run] if kb is not None else []


@hookimpl
def argus_status(kernel: Kernel) -> dict[str, Any] | None:
    """``{"kb": {enabled, documents, watcher, indexing}}`` in ``GET /api/status``."""
    kb = kernel.stash.get(KB, None)
    if kb is None:
        return None
    s = kb.status()
    return {"kb": {"enabled": s["enabled"], "documents": s["documents"], "watcher": s["watcher"],
                   "indexing": s["indexing"]}}


@hookimpl
def argus_cli(cli: click.Group) -> None:
    """``argus kb status|search|reindex`` against the local daemon."""
    from .cli import register

    register(cli)


@hookimpl(optionalhook=True)
def argus_tui_tabs() -> Sequence[dict[str, Any]]:
    """The TUI's *Notes* tab (key 4): search as you type, read, attach a note to a task (TUI process).

    A hook of the tui plugin (optional: the kb loads without the tui plugin).
    """
    from .tui_tab import tab_spec  # prompt_toolkit is loaded by the TUI only

    return [tab_spec()]
