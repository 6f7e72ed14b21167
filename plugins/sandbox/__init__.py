"""sandbox plugin: agents confined to their worktree (bubblewrap on Linux, sandbox-exec on macOS).

One policy model per launch (``policy.py``) rendered as a ``bwrap`` argv (``bwrap.py``) or an SBPL
profile (``sbpl.py``), applied through the tasks plugin's ``argus_session_command`` hook
(``service.py``). Settings: the master-only ``[sandbox]`` section and each project's ``sandbox``
object (``config.py``). See docs/sandbox.md.
"""

from .hooks import (
    argus_cli,
    argus_migrations,
    argus_register,
    argus_settings_sections,
    argus_task_field_models,
)

__all__ = ["argus_cli", "argus_migrations", "argus_register", "argus_settings_sections", "argus_task_field_models"]
