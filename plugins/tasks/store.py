"""SQL for the tasks plugin: projects, backends and tasks (this plugin owns these tables)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from argus.kernel.api import Conflict, Database, Migration, NotFound, utcnow

STATUSES = ("pending", "in_progress", "in_review", "complete", "limit")

MIGRATIONS = [
    Migration("tasks", 1, """
CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    branch TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    sandbox TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE TABLE backends (
    name TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    prompt_flag TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    project TEXT NOT NULL REFERENCES projects(name) ON UPDATE CASCADE,
    backend TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'in_review', 'complete')),
    archived INTEGER NOT NULL DEFAULT 0,
    pinned INTEGER NOT NULL DEFAULT 0,
    worktree_path TEXT NOT NULL,
    branch TEXT NOT NULL,
    base_branch TEXT NOT NULL,
    session_id TEXT,
    agent_session_id TEXT,
    hook_secret TEXT,
    exit_code INTEGER,
    plan_slug TEXT NOT NULL DEFAULT '',
    result TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (project, slug)
);
CREATE INDEX tasks_status ON tasks(status);
CREATE INDEX tasks_session ON tasks(session_id);
"""),
    # Orchestration (dag.py, messages.py, artifacts.py): dependency edges, the message bus,
    # registered artifacts. Rows go with their task (ON DELETE CASCADE).
    Migration("tasks", 2, """
CREATE TABLE task_edges (
    child_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    parent_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (child_id, parent_id),
    CHECK (child_id <> parent_id)
);
CREATE INDEX task_edges_parent ON task_edges(parent_id);
CREATE TABLE task_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    from_id TEXT REFERENCES tasks(id) ON DELETE SET NULL,
    to_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'note' CHECK (kind IN ('note', 'question', 'answer')),
    body TEXT NOT NULL,
    in_reply_to INTEGER,
    created_at TEXT NOT NULL,
    ts REAL NOT NULL,
    read_at TEXT,
    delivered_at TEXT
);
CREATE INDEX task_messages_inbox ON task_messages(to_id, read_at, id);
CREATE INDEX task_messages_reply ON task_messages(in_reply_to);
CREATE TABLE task_artifacts (
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'text',
    size INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, name)
);
"""),
    # Plugin-facing task fields (argus.plugins.tasks.api): hidden from the main list, the task that
    # created it, and plugin fields stored as JSON (``extra``).
    Migration("tasks", 3, """
ALTER TABLE tasks ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN parent_id TEXT;
ALTER TABLE tasks ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
CREATE INDEX tasks_parent ON tasks(parent_id);
"""),
    # Review in place (review.py): draft comments on a task's diff, and the reviews sent to its agent
    # (the task's review history). A comment joins a review when the review is sent.
    Migration("tasks", 4, """
CREATE TABLE task_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    summary TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX task_reviews_task ON task_reviews(task_id, id);
CREATE TABLE task_review_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    review_id INTEGER REFERENCES task_reviews(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    quote TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX task_review_comments_task ON task_review_comments(task_id, review_id, id);
"""),
    # A backend may name its agent kind (one a plugin provides, ``argus_agent_kinds``); '' means
    # the kind follows from the command's executable.
    Migration("tasks", 5, """
ALTER TABLE backends ADD COLUMN kind TEXT NOT NULL DEFAULT '';
"""),
    # Usage limits (limit_resume.py): the ``limit`` status (the agent hit its usage limit) and the
    # planned resume of such a task. SQLite cannot ALTER a CHECK constraint; widening it changes no
    # stored row, so the table's recorded SQL is edited in place (SQLite's documented procedure
    # for constraint changes that leave the stored content valid; rebuilding the table instead
    # would fire the ON DELETE CASCADE of every table referencing tasks).
    Migration("tasks", 6, """
PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = replace(sql, '''in_review'', ''complete'')',
                                            '''in_review'', ''complete'', ''limit'')')
 WHERE type = 'table' AND name = 'tasks';
PRAGMA writable_schema = RESET;
CREATE TABLE task_limit_resumes (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    resets_at TEXT NOT NULL,
    resume_at TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX task_limit_resumes_due ON task_limit_resumes(resume_at);
"""),
]

# The seeded backends: name → (command, prompt_flag, model).
TASK_COLUMNS = (
    "id", "slug", "name", "project", "backend", "model", "prompt", "status", "archived", "pinned",
    "worktree_path", "branch", "base_branch", "session_id", "agent_session_id", "hook_secret",
    "exit_code", "plan_slug", "result", "meta", "created_at", "started_at", "ended_at", "updated_at",
    "hidden", "parent_id", "extra",
)

StatusListener = Callable[[str, str, str], None]


class Store:
    """Row access for projects, backends and tasks."""

    def __init__(self, db: Database, on_status: StatusListener | None = None,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.on_status = on_status  # (task_id, old, new) after any status change
        self.on_change = on_change  # (task_id) after any write to a task row (caches drop it)

    def _changed(self, task_id: str) -> None:
        if self.on_change is not None:
            self.on_change(task_id)

    # -- backends --------------------------------------------------------------------------

    def seed_backends(self, seeds: Iterable[tuple[str, str, str, str]]) -> None:
        """Insert the seeded backends (name, command, prompt_flag, model) that are missing (never
        overwrites user edits)."""
        for name, command, flag, model in seeds:
            self.db.execute(
                "INSERT OR IGNORE INTO backends (name, command, prompt_flag, model, created_at) VALUES (?,?,?,?,?)",
                (name, command, flag, model, utcnow()),
            )

    def backends(self) -> list[dict[str, Any]]:
        return self.db.query("SELECT name, command, prompt_flag, model, kind FROM backends ORDER BY name")

    def backend(self, name: str) -> dict[str, Any] | None:
        return self.db.one("SELECT name, command, prompt_flag, model, kind FROM backends WHERE name = ?", (name,))

    def put_backend(self, name: str, command: str, prompt_flag: str, model: str, kind: str = "") -> None:
        self.db.execute(
            "INSERT INTO backends (name, command, prompt_flag, model, kind, created_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET command=excluded.command, prompt_flag=excluded.prompt_flag, "
            "model=excluded.model, kind=excluded.kind",
            (name, command, prompt_flag, model, kind, utcnow()),
        )

    def delete_backend(self, name: str) -> None:
        if self.db.execute("DELETE FROM backends WHERE name = ?", (name,)).rowcount == 0:
            raise NotFound(f"no backend {name!r}")

    # -- projects --------------------------------------------------------------------------

    def projects(self) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT name, path, branch, backend, sandbox FROM projects ORDER BY name")
        for r in rows:
            r["sandbox"] = json.loads(r["sandbox"] or "{}")
        return rows

    def project(self, name: str) -> dict[str, Any] | None:
        row = self.db.one("SELECT name, path, branch, backend, sandbox FROM projects WHERE name = ?", (name,))
        if row:
            row["sandbox"] = json.loads(row["sandbox"] or "{}")
        return row

    def insert_project(self, name: str, path: str, branch: str, backend: str, sandbox: dict[str, Any]) -> None:
        if self.db.one("SELECT 1 FROM projects WHERE name = ?", (name,)):
            raise Conflict(f"project {name!r} already exists")
        self.db.execute(
            "INSERT INTO projects (name, path, branch, backend, sandbox, created_at) VALUES (?,?,?,?,?,?)",
            (name, path, branch, backend, json.dumps(sandbox), utcnow()),
        )

    def update_project(self, name: str, fields: dict[str, Any]) -> None:
        sets, params = [], []
        for key, value in fields.items():
            sets.append(f"{key} = ?")
            params.append(json.dumps(value) if key == "sandbox" else value)
        if sets:
            self.db.execute(f"UPDATE projects SET {', '.join(sets)} WHERE name = ?", (*params, name))

    def delete_project(self, name: str) -> None:
        if self.db.scalar("SELECT COUNT(*) FROM tasks WHERE project = ?", (name,)):
            raise Conflict(f"project {name!r} still has tasks; delete or prune them first")
        if self.db.execute("DELETE FROM projects WHERE name = ?", (name,)).rowcount == 0:
            raise NotFound(f"no project {name!r}")

    # -- tasks -----------------------------------------------------------------------------

    def task(self, task_id: str) -> dict[str, Any] | None:
        return self.db.one(f"SELECT {', '.join(TASK_COLUMNS)} FROM tasks WHERE id = ?", (task_id,))

    def task_by_session(self, session_id: str) -> dict[str, Any] | None:
        return self.db.one(f"SELECT {', '.join(TASK_COLUMNS)} FROM tasks WHERE session_id = ?", (session_id,))

    def tasks(self, *, status: str | None = None, project: str | None = None,
              archived: str = "0") -> list[dict[str, Any]]:
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if project:
            where.append("project = ?")
            params.append(project)
        if archived == "0":
            where.append("archived = 0")
        elif archived == "1":
            where.append("archived = 1")
        sql = f"SELECT {', '.join(TASK_COLUMNS)} FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.db.query(sql + " ORDER BY created_at, id", params)

    def slug_taken(self, project: str, slug: str) -> bool:
        return self.db.one("SELECT 1 FROM tasks WHERE project = ? AND slug = ?", (project, slug)) is not None

    def insert_task(self, row: dict[str, Any]) -> None:
        now = utcnow()
        row = {"created_at": now, "updated_at": now, **row}
        cols = [c for c in TASK_COLUMNS if c in row]
        self.db.execute(
            f"INSERT INTO tasks ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols],
        )
        self._changed(row["id"])

    def update_task(self, task_id: str, **fields: Any) -> None:
        """Update columns of one task; a status change is reported to ``on_status`` afterwards."""
        if not fields:
            return
        old = None
        if "status" in fields and self.on_status is not None:
            old = self.db.scalar("SELECT status FROM tasks WHERE id = ?", (task_id,))
        fields["updated_at"] = utcnow()
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE tasks SET {sets} WHERE id = ?", (*fields.values(), task_id))
        self._changed(task_id)
        if old is not None and old != fields["status"] and self.on_status is not None:
            self.on_status(task_id, old, fields["status"])

    def delete_task(self, task_id: str) -> None:
        self.db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        self._changed(task_id)

    def counts_by_status(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for r in self.db.query("SELECT status, COUNT(*) AS n FROM tasks WHERE archived = 0 GROUP BY status"):
            out[r["status"]] = r["n"]
        return out
