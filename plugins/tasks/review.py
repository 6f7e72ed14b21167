"""Review in place: draft comments on a task's diff, sent to its agent as one review.

A comment names a changed file and a line or range (``line``..``end_line``, 1-based, in the
worktree's current file) and carries the quoted lines (given by the client, or read from the
worktree when omitted) and the reviewer's text. Comments accumulate as the task's draft review.
Sending the review turns the drafts into one structured message (for each comment: ``file:line``,
the quoted lines, the comment), stores it in ``task_reviews`` (the task's review history) and
types it into the agent as one bracketed paste followed by Enter, but only while the agent is
idle: the same idle-gated delivery job as inter-task messages (``messages.py``) looks at the task
whenever it goes idle, so a review sent mid-turn waits until the turn ends.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Database, Invalid, NotFound, TooMany

from .messages import now_rfc3339

if TYPE_CHECKING:  # pragma: no cover
    from .messages import Mailbox
    from .service import TaskService

log = logging.getLogger(__name__)

MAX_DRAFTS = 200
MAX_BODY = 16 * 1024
MAX_QUOTE_LINES = 200
MAX_QUOTE = 32 * 1024
MAX_SUMMARY = 16 * 1024
CLEAR_LINE = b"\x15"
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
TYPE_PAUSE = 0.1

COMMENT_COLUMNS = "id, task_id, review_id, path, line, end_line, quote, body, created_at"
REVIEW_COLUMNS = "id, task_id, summary, message, created_at, delivered_at"


def clean_path(path: str) -> str:
    """A worktree-relative POSIX path, refusing absolute paths and ``..``."""
    raw = path.strip().replace("\\", "/")
    if not raw:
        raise Invalid("path is required")
    if raw.startswith("/") or "\x00" in raw:
        raise Invalid("path must be relative to the task's worktree")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        raise Invalid("path must stay inside the task's worktree")
    return "/".join(parts)


def render_message(comments: list[dict[str, Any]], summary: str = "") -> str:
    """The review as the agent reads it: a header, the summary, then each comment."""
    count = len(comments)
    out = [f"Code review of your changes ({count} comment{'s' if count != 1 else ''}). "
           "Please address each comment:"]
    if summary.strip():
        out += ["", summary.strip()]
    for c in comments:
        where = f"{c['path']}:{c['line']}" + (f"-{c['end_line']}" if c["end_line"] != c["line"] else "")
        out += ["", where]
        out += [f"> {q}" for q in c["quote"].splitlines()] if c["quote"] else []
        out += [c["body"].strip()]
    return "\n".join(out)


class Reviews:
    """Draft comments and sent reviews of tasks; delivery into idle agents."""

    def __init__(self, svc: TaskService, mail: Mailbox) -> None:
        self.svc = svc
        self.db: Database = svc.store.db
        self.mail = mail  # its delivery job also delivers reviews (one queue, one writer)

    # -- shapes ----------------------------------------------------------------------------

    @staticmethod
    def comment_json(row: dict[str, Any]) -> dict[str, Any]:
        """A comment as REST and MCP return it."""
        return {k: row[k] for k in ("id", "task_id", "review_id", "path", "line", "end_line", "quote",
                                    "body", "created_at")}

    def review_json(self, row: dict[str, Any]) -> dict[str, Any]:
        """A sent review with its comments."""
        comments = self.db.query(f"SELECT {COMMENT_COLUMNS} FROM task_review_comments WHERE review_id = ? "
                                 f"ORDER BY id", (row["id"],))
        return {"id": row["id"], "task_id": row["task_id"], "summary": row["summary"],
                "message": row["message"], "created_at": row["created_at"],
                "delivered_at": row["delivered_at"], "delivered": row["delivered_at"] is not None,
                "comments": [self.comment_json(c) for c in comments]}

    # -- drafts ----------------------------------------------------------------------------

    def drafts(self, task_id: str) -> list[dict[str, Any]]:
        """The task's draft comments, oldest first."""
        self.svc.get(task_id)
        rows = self.db.query(f"SELECT {COMMENT_COLUMNS} FROM task_review_comments WHERE task_id = ? "
                             f"AND review_id IS NULL ORDER BY id", (task_id,))
        return [self.comment_json(r) for r in rows]

    def _quote_from_worktree(self, row: dict[str, Any], path: str, line: int, end_line: int) -> str:
        root = Path(row["worktree_path"]).resolve()
        file = (root / path).resolve()
        if not file.is_relative_to(root):
            raise Invalid("path must stay inside the task's worktree")
        if not file.is_file():
            raise Invalid(f"{path} is not a file in the task's worktree; pass quote for removed lines")
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise Invalid(f"cannot read {path}: {exc.strerror or exc}") from None
        if line > len(lines):
            raise Invalid(f"{path} has {len(lines)} lines; line {line} is past its end")
        return "\n".join(lines[line - 1:end_line])

    def add(self, task_id: str, path: str, line: int, end_line: int | None, body: str,
            quote: str | None = None) -> dict[str, Any]:
        """Add a draft comment on ``path`` lines ``line``..``end_line``."""
        row = self.svc.get(task_id)
        path = clean_path(path)
        end = line if end_line is None else end_line
        if line < 1 or end < line:
            raise Invalid("line must be ≥ 1 and end_line ≥ line")
        if end - line + 1 > MAX_QUOTE_LINES:
            raise Invalid(f"a comment covers at most {MAX_QUOTE_LINES} lines")
        if not body.strip():
            raise Invalid("body (the comment) is required")
        if len(body.encode()) > MAX_BODY:
            raise Invalid(f"a comment is at most {MAX_BODY // 1024} KiB")
        if quote is None:
            quote = self._quote_from_worktree(row, path, line, end)
        if len(quote.encode()) > MAX_QUOTE:
            raise Invalid(f"quote is at most {MAX_QUOTE // 1024} KiB")
        count = self.db.scalar("SELECT COUNT(*) FROM task_review_comments WHERE task_id = ? AND review_id IS NULL",
                               (task_id,))
        if int(count or 0) >= MAX_DRAFTS:
            raise TooMany(f"a draft review holds at most {MAX_DRAFTS} comments; send it first")
        cur = self.db.execute(
            "INSERT INTO task_review_comments (task_id, path, line, end_line, quote, body, created_at) "
            "VALUES (?,?,?,?,?,?,?)", (task_id, path, line, end, quote, body.strip(), now_rfc3339()))
        comment = self.db.one(f"SELECT {COMMENT_COLUMNS} FROM task_review_comments WHERE id = ?",
                              (cur.lastrowid,))
        assert comment is not None
        out = self.comment_json(comment)
        self.svc.publish("review.comment", {"task_id": task_id, "comment": out})
        return out

    def edit(self, task_id: str, comment_id: int, body: str) -> dict[str, Any]:
        """Replace the text of a draft comment (sent comments belong to the history and stay)."""
        self.svc.get(task_id)
        if not body.strip():
            raise Invalid("body (the comment) is required")
        if len(body.encode()) > MAX_BODY:
            raise Invalid(f"a comment is at most {MAX_BODY // 1024} KiB")
        cur = self.db.execute("UPDATE task_review_comments SET body = ? WHERE id = ? AND task_id = ? "
                              "AND review_id IS NULL", (body.strip(), comment_id, task_id))
        if not cur.rowcount:
            raise NotFound(f"no draft comment {comment_id} on task {task_id}")
        comment = self.db.one(f"SELECT {COMMENT_COLUMNS} FROM task_review_comments WHERE id = ?", (comment_id,))
        assert comment is not None
        out = self.comment_json(comment)
        self.svc.publish("review.comment_updated", {"task_id": task_id, "comment": out})
        return out

    def remove(self, task_id: str, comment_id: int) -> None:
        """Delete a draft comment (sent comments belong to the history and stay)."""
        self.svc.get(task_id)
        cur = self.db.execute("DELETE FROM task_review_comments WHERE id = ? AND task_id = ? AND review_id IS NULL",
                              (comment_id, task_id))
        if not cur.rowcount:
            raise NotFound(f"no draft comment {comment_id} on task {task_id}")
        self.svc.publish("review.comment_deleted", {"task_id": task_id, "comment_id": comment_id})

    # -- sending ---------------------------------------------------------------------------

    def send(self, task_id: str, summary: str = "") -> dict[str, Any]:
        """Turn the drafts into a review, record it, and queue it for the agent's next idle moment."""
        self.svc.get(task_id)
        if len(summary.encode()) > MAX_SUMMARY:
            raise Invalid(f"summary is at most {MAX_SUMMARY // 1024} KiB")
        with self.db.transaction():
            drafts = self.db.query(f"SELECT {COMMENT_COLUMNS} FROM task_review_comments WHERE task_id = ? "
                                   f"AND review_id IS NULL ORDER BY path, line, id", (task_id,))
            if not drafts:
                raise Invalid("the draft review has no comments; add some first")
            message = render_message(drafts, summary)
            cur = self.db.execute("INSERT INTO task_reviews (task_id, summary, message, created_at) "
                                  "VALUES (?,?,?,?)", (task_id, summary.strip(), message, now_rfc3339()))
            review_id = int(cur.lastrowid or 0)
            marks = ",".join("?" for _ in drafts)
            self.db.execute(f"UPDATE task_review_comments SET review_id = ? WHERE id IN ({marks})",
                            (review_id, *[d["id"] for d in drafts]))
        review = self.get(review_id)
        self.svc.publish("review.sent", {"task_id": task_id, "review_id": review_id,
                                         "comments": len(drafts)})
        self.mail.queue(task_id)
        return review

    def get(self, review_id: int) -> dict[str, Any]:
        """One sent review."""
        row = self.db.one(f"SELECT {REVIEW_COLUMNS} FROM task_reviews WHERE id = ?", (review_id,))
        if row is None:
            raise NotFound(f"no review {review_id}")
        return self.review_json(row)

    def history(self, task_id: str) -> list[dict[str, Any]]:
        """The reviews sent to a task, newest first."""
        self.svc.get(task_id)
        rows = self.db.query(f"SELECT {REVIEW_COLUMNS} FROM task_reviews WHERE task_id = ? ORDER BY id DESC",
                             (task_id,))
        return [self.review_json(r) for r in rows]

    async def deliver(self, task_id: str) -> int:
        """Type the oldest undelivered review into an idle agent; returns how many were typed (0 or 1).

        One review per idle moment: typing it starts a turn, and the next review waits for the
        agent to be idle again."""
        if self.mail.idle_session(task_id) is None:
            return 0
        row = self.db.one(f"SELECT {REVIEW_COLUMNS} FROM task_reviews WHERE task_id = ? AND delivered_at IS NULL "
                          f"ORDER BY id LIMIT 1", (task_id,))
        if row is None:
            return 0
        self.db.execute("UPDATE task_reviews SET delivered_at = ? WHERE id = ?", (now_rfc3339(), row["id"]))
        text = row["message"].replace("\r\n", "\n").encode()
        await self.svc.write_input(task_id, CLEAR_LINE + PASTE_START + text + PASTE_END)
        await trio.sleep(TYPE_PAUSE)
        if self.svc.live_session(self.svc.get(task_id)) is not None:
            await self.svc.write_input(task_id, b"\r")
        self.svc.publish("review.delivered", {"task_id": task_id, "review_id": row["id"]})
        return 1
