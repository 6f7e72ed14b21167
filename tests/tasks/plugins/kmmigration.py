"""kmmigration: a test plugin whose one migration changes existing rows, for the kill matrix.

Its step adds a table and copies every task's id and name into it; killed half-way (``ARGUS_FAULT=
migrate.step``), the step must leave nothing behind and apply whole on the next start.
"""

from __future__ import annotations

from argus.kernel.api import Migration, hookimpl


@hookimpl
def argus_migrations() -> list[Migration]:
    """One step that reads and writes existing data."""
    return [Migration("kmmigration", 1, """
        CREATE TABLE km_names (task_id TEXT PRIMARY KEY, name TEXT NOT NULL);
        INSERT INTO km_names (task_id, name) SELECT id, name FROM tasks;
    """)]
