"""Inter-task messaging: a persistent inbox per task, questions and answers, idle-gated delivery.

Limits (the reference manual's): a body is at most 64 KiB, a recipient holds at most 500 unread
messages, a sender sends at most 50 messages a minute. Reading an inbox never marks anything read;
``ack`` does. ``ask`` sends a question and may wait (at most 120 s) for the first reply, woken by
the reply itself rather than by polling.

When a message lands for a task whose agent is live, a one-line notice is typed into its terminal,
but only while that agent is idle (waiting for input), never mid-turn, and at most once per message
(``delivered_at``). Deliveries run in one background job fed by a memory channel: a new message or
a ``task.idle`` event queues the recipient, and the job re-checks idleness before writing.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Database, Invalid, NotFound, TooLarge, TooMany

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event, Session

    from .service import TaskService

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_UNREAD = 500
RATE_LIMIT = 50
RATE_WINDOW = 60.0
MAX_ACK = 500
MAX_ID = 2**63 - 1
INBOX_DEFAULT = 50
INBOX_MAX = 500
ASK_MAX_WAIT = 120.0
KINDS = ("note", "question", "answer")
QUEUE_SIZE = 1024
PREVIEW = 200
TYPE_PAUSE = 0.1  # between typing the notice and pressing Enter (TUIs treat a burst as a paste)
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

COLUMNS = "id, from_id, to_id, kind, body, in_reply_to, created_at, read_at, delivered_at"


def now_rfc3339() -> str:
    """The current UTC time, RFC3339 with milliseconds."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def parse_since(value: object) -> float | None:
    """An RFC3339 timestamp as epoch seconds (None when empty; Invalid when malformed)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid("since must be an RFC3339 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise Invalid(f"since is not an RFC3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _message_id(value: object) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 19 else MAX_ID + 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"message ids are integers (got {str(value)[:40]!r})")
    if not -MAX_ID <= value <= MAX_ID:
        raise Invalid("message id out of range")  # SQLite integers are 64-bit
    return value


def one_line(text: str, limit: int) -> str:
    """``text`` flattened to one printable line of at most ``limit`` characters."""
    flat = CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Mailbox:
    """Messages in ``task_messages``, the send rate limiter, answer waiters and the delivery queue."""

    def __init__(self, svc: TaskService) -> None:
        self.svc = svc
        self.db: Database = svc.store.db
        self._sent: dict[str, deque[float]] = {}
        self._waiters: dict[int, trio.Event] = {}
        self._queue_send, self._queue_recv = trio.open_memory_channel[str](QUEUE_SIZE)
        # Other idle-gated deliveries sharing this job (review.py): each runs after the messages.
        self.deliverers: list[Callable[[str], Awaitable[int]]] = []

    # -- shapes ----------------------------------------------------------------------------

    def _name(self, task_id: str | None) -> str:
        row = self.svc.store.task(task_id) if task_id else None
        return row["name"] if row else ""

    def to_json(self, row: dict[str, Any], *, body: bool = True) -> dict[str, Any]:
        """A message as tools and REST return it."""
        out = {"id": row["id"], "from_id": row["from_id"], "from_name": self._name(row["from_id"]),
               "to_id": row["to_id"], "to_name": self._name(row["to_id"]), "kind": row["kind"],
               "in_reply_to": row["in_reply_to"], "created_at": row["created_at"],
               "read": row["read_at"] is not None, "read_at": row["read_at"],
               "delivered_at": row["delivered_at"]}
        if body:
            out["body"] = row["body"]
        else:
            out["preview"] = one_line(row["body"], PREVIEW)
        return out

    def get(self, message_id: int) -> dict[str, Any] | None:
        """One message row."""
        return self.db.one(f"SELECT {COLUMNS} FROM task_messages WHERE id = ?", (message_id,))

    def unread_count(self, task_id: str) -> int:
        """Unread messages addressed to ``task_id``."""
        return int(self.db.scalar("SELECT COUNT(*) FROM task_messages WHERE to_id = ? AND read_at IS NULL",
                                  (task_id,)) or 0)

    # -- sending ---------------------------------------------------------------------------

    def _check_rate(self, sender: str) -> deque[float]:
        now = time.monotonic()
        sent = self._sent.setdefault(sender, deque())
        while sent and now - sent[0] >= RATE_WINDOW:
            sent.popleft()
        if len(sent) >= RATE_LIMIT:
            retry = max(1, int(RATE_WINDOW - (now - sent[0])) + 1)
            raise TooMany(f"rate limit: a task may send at most {RATE_LIMIT} messages per minute; "
                          f"retry in {retry} s", retry_after=retry)
        return sent

    def send(self, sender: dict[str, Any], to: Any, body: Any, kind: Any = None,
             in_reply_to: Any = None) -> dict[str, Any]:
        """Send a message from ``sender`` (a task row) to task ``to``."""
        if not isinstance(to, str) or not to:
            raise Invalid("to (the recipient task id) is required")
        if not isinstance(body, str) or not body.strip():
            raise Invalid("body is required")
        size = len(body.encode("utf-8"))
        if size > MAX_BODY:
            raise TooLarge(f"message body is {size} bytes; the limit is {MAX_BODY} bytes (64 KiB)")
        kind = kind or "note"
        if kind not in KINDS:
            raise Invalid(f"kind must be one of {', '.join(KINDS)}")
        reply_to = None
        if in_reply_to not in (None, "", 0):
            reply_to = _message_id(in_reply_to)
            if self.get(reply_to) is None:
                raise NotFound(f"in_reply_to: no message {reply_to}")
        recipient = self.svc.store.task(to)
        if recipient is None:
            raise NotFound(f"no task {to!r} to send to")
        if to == sender["id"]:
            raise Invalid("a task cannot message itself")
        unread = self.unread_count(to)
        if unread >= MAX_UNREAD:
            raise TooMany(f"the inbox of {recipient['name']} ({to}) is full: {unread} unread messages "
                          f"(limit {MAX_UNREAD}); wait until it reads some")
        sent = self._check_rate(sender["id"])
        cur = self.db.execute(
            "INSERT INTO task_messages (from_id, to_id, kind, body, in_reply_to, created_at, ts) "
            "VALUES (?,?,?,?,?,?,?)",
            (sender["id"], to, kind, body, reply_to, now_rfc3339(), time.time()))
        sent.append(time.monotonic())
        row = self.get(int(cur.lastrowid or 0))
        assert row is not None
        self.svc.publish("message.created", {"message": self.to_json(row, body=False)})
        waiter = self._waiters.get(reply_to) if reply_to is not None else None
        if waiter is not None:
            waiter.set()
        question = self.get(reply_to) if waiter is not None and reply_to is not None else None
        if question is None or question["from_id"] != to:
            self.queue(to)  # (a task_ask blocked on this reply returns and acks it: no notice)
        return self.to_json(row)

    # -- reading ---------------------------------------------------------------------------

    def inbox(self, task: dict[str, Any], *, unread_only: Any = True, sender: Any = None, since: Any = None,
              limit: Any = None) -> dict[str, Any]:
        """Messages addressed to ``task``, oldest first (nothing is marked read)."""
        if unread_only is None:
            unread_only = True
        if not isinstance(unread_only, bool):
            raise Invalid("unread_only must be a boolean")
        if limit in (None, ""):
            limit = INBOX_DEFAULT
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise Invalid(f"limit must be an integer from 1 to {INBOX_MAX}")
        limit = min(limit, INBOX_MAX)
        where, params = ["to_id = ?"], [task["id"]]
        if unread_only:
            where.append("read_at IS NULL")
        if sender not in (None, ""):
            if not isinstance(sender, str):
                raise Invalid("sender must be a task id")
            where.append("from_id = ?")
            params.append(sender)
        since_ts = parse_since(since)
        if since_ts is not None:
            where.append("ts > ?")
            params.append(since_ts)
        rows = self.db.query(f"SELECT {COLUMNS} FROM task_messages WHERE {' AND '.join(where)} "
                             f"ORDER BY id LIMIT ?", (*params, limit))
        return {"task_id": task["id"], "messages": [self.to_json(r) for r in rows],
                "unread": self.unread_count(task["id"])}

    def ack(self, task: dict[str, Any], message_ids: Any) -> dict[str, Any]:
        """Mark messages read; ids not addressed to ``task`` are ignored."""
        if not isinstance(message_ids, list):
            raise Invalid("message_ids must be a list of message ids")
        if len(message_ids) > MAX_ACK:
            raise Invalid(f"at most {MAX_ACK} message ids per call")
        ids = [_message_id(i) for i in message_ids]
        acked = 0
        if ids:
            marks = ",".join("?" for _ in ids)
            cur = self.db.execute(
                f"UPDATE task_messages SET read_at = ? WHERE to_id = ? AND read_at IS NULL AND id IN ({marks})",
                (now_rfc3339(), task["id"], *ids))
            acked = cur.rowcount
        if acked:
            self.svc.publish("message.read", {"task_id": task["id"], "message_ids": ids})
        return {"acked": acked, "unread": self.unread_count(task["id"])}

    # -- questions -------------------------------------------------------------------------

    def _reply(self, question_id: int) -> dict[str, Any] | None:
        return self.db.one(f"SELECT {COLUMNS} FROM task_messages WHERE in_reply_to = ? ORDER BY id LIMIT 1",
                           (question_id,))

    async def ask(self, sender: dict[str, Any], to: Any, body: Any, timeout_seconds: Any = 0) -> dict[str, Any]:
        """Send a question; with ``timeout_seconds`` > 0, wait that long for the first reply."""
        if timeout_seconds in (None, ""):
            timeout_seconds = 0
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int | float) \
                or timeout_seconds < 0:
            raise Invalid(f"timeout_seconds must be a number from 0 to {ASK_MAX_WAIT:.0f}")
        if timeout_seconds > ASK_MAX_WAIT:
            raise Invalid(f"timeout_seconds is at most {ASK_MAX_WAIT:.0f}; poll task_inbox for longer waits")
        question = self.send(sender, to, body, "question")
        if not timeout_seconds:
            return {"question": question, "answer": None, "timed_out": False}
        answer = await self.wait_reply(question["id"], float(timeout_seconds))
        if answer is not None and answer["to_id"] == sender["id"]:
            self.ack(sender, [answer["id"]])
            answer = self.get(answer["id"])
        return {"question": question, "answer": self.to_json(answer) if answer else None,
                "timed_out": answer is None}

    async def wait_reply(self, question_id: int, timeout: float) -> dict[str, Any] | None:
        """The first reply to ``question_id``, waiting up to ``timeout`` seconds (no polling)."""
        with trio.move_on_after(timeout):
            while True:
                reply = self._reply(question_id)
                if reply is not None:
                    return reply
                event = self._waiters.get(question_id)
                if event is None or event.is_set():
                    event = self._waiters[question_id] = trio.Event()
                try:
                    await event.wait()
                finally:
                    if self._waiters.get(question_id) is event and event.is_set():
                        self._waiters.pop(question_id, None)
        self._waiters.pop(question_id, None)
        return self._reply(question_id)

    # -- delivery into the recipient's terminal --------------------------------------------

    def queue(self, task_id: str) -> None:
        """Ask the delivery job to look at ``task_id`` (dropped when the queue is full: the next
        idle event retries, since undelivered messages stay marked so)."""
        try:
            self._queue_send.send_nowait(task_id)
        except trio.WouldBlock:
            log.debug("delivery queue full; %s will be retried on its next idle", task_id)

    def on_event(self, event: Event) -> None:
        """``argus_event``: an agent went idle, so deliver what waits for it."""
        if event.type == "task.idle":
            task_id = event.data.get("id")
            if isinstance(task_id, str):
                self.queue(task_id)

    async def delivery_loop(self) -> None:
        """Background job: deliver notices for queued recipients, one at a time."""
        async for task_id in self._queue_recv:
            for deliver in (self.deliver, *self.deliverers):
                try:
                    await deliver(task_id)
                except Exception:
                    log.exception("delivery to %s failed", task_id)

    def idle_session(self, task_id: str) -> Session | None:
        """The live session of ``task_id`` when its agent is idle, else None."""
        row = self.svc.store.task(task_id)
        if row is None:
            return None
        session = self.svc.live_session(row)
        if session is None or not self.svc.idle.is_idle(session.id):
            return None
        return session

    async def deliver(self, task_id: str) -> int:
        """Type one notice line for the undelivered unread messages of an idle agent; returns how many."""
        if self.idle_session(task_id) is None:
            return 0
        rows = self.db.query(f"SELECT {COLUMNS} FROM task_messages WHERE to_id = ? AND read_at IS NULL "
                             f"AND delivered_at IS NULL ORDER BY id", (task_id,))
        if not rows:
            return 0
        marks = ",".join("?" for _ in rows)
        self.db.execute(f"UPDATE task_messages SET delivered_at = ? WHERE id IN ({marks})",
                        (now_rfc3339(), *[r["id"] for r in rows]))
        line = self.notice(rows)
        await self.svc.write_input(task_id, line.encode())
        await trio.sleep(TYPE_PAUSE)
        if self.svc.live_session(self.svc.get(task_id)) is not None:
            await self.svc.write_input(task_id, b"\r")
        self.svc.publish("message.delivered", {"task_id": task_id, "message_ids": [r["id"] for r in rows]})
        return len(rows)

    def notice(self, rows: list[dict[str, Any]]) -> str:
        """The one-line notice for ``rows`` (no newline)."""
        if len(rows) == 1:
            r = rows[0]
            who = self._name(r["from_id"]) or "a deleted task"
            return one_line(f"[argus] {r['kind']} #{r['id']} from {who} ({r['from_id']}): "
                            f"{one_line(r['body'], 160)} (read it with task_inbox, then task_message_ack)", 300)
        senders = ", ".join(dict.fromkeys(self._name(r["from_id"]) or "?" for r in rows))
        return one_line(f"[argus] {len(rows)} new messages from {senders}; "
                        f"read them with task_inbox, then task_message_ack", 300)
