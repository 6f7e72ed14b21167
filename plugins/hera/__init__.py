"""hera plugin: native multi-agent coordination (coordinator, workers, role-addressed messages).

A coordinator task creates an orchestrator (``hera_new_orchestrator``), spawns hidden worker tasks
(``hera_spawn_worker``) and trades messages with them over an idle-gated bus: a message waits while
its recipient's agent is busy and is announced in its terminal as one typed line once it is idle.
See docs/hera.md. The hook implementations live in ``hooks.py``; this module re-exports them so
the ``argus`` entry point (``argus.plugins.hera``) registers them. The per-kernel hooks (events and
the tasks plugin's hooks) are registered by ``argus_register`` on each kernel's plugin manager.
"""

from .hooks import (  # noqa: F401 - registered by pluggy from this module
    argus_background,
    argus_migrations,
    argus_register,
    argus_settings_sections,
    argus_task_field_models,
)
