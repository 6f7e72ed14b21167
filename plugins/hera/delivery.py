"""Idle-gated delivery: the notice of a role's new messages is typed into its agent's terminal.

A message for a role whose agent is busy waits. When the agent goes idle (the tasks plugin's idle
signal) one line is typed in (clear the input line, the text, Enter) naming every unread message
not yet announced; at most one delivery is in flight per role. Reading the inbox first cancels the
pending delivery (read messages are never announced).

Exactly once across a daemon crash: the line is recorded in ``hera_deliveries`` (state
``typing``) before it is typed and marked ``done`` after. At start-up an unfinished record is
resolved by looking for its tag (``[hera dN]``) in the agent's output, which outlives the daemon
in the session supervisor: found → done, not found → forgotten, so its messages go out at the
next idle moment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import strip_ansi

from .models import one_line
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from .tasks import Tasks

log = logging.getLogger(__name__)

QUEUE_SIZE = 4096
LINE_MAX = 300
RECOVERY_BYTES = 512 * 1024


def tag(delivery_id: int) -> str:
    """The marker that identifies one delivery line in a terminal's output."""
    return f"[hera d{delivery_id}]"


def notice(delivery_id: int, rows: list[dict[str, Any]]) -> str:
    """The one line announcing ``rows`` (no newline)."""
    if len(rows) == 1:
        r = rows[0]
        text = (f"{tag(delivery_id)} message #{r['id']} from {r['from_name']}: {one_line(r['subject'], 120)} "
                f"(read it with hera_inbox)")
    else:
        senders = ", ".join(dict.fromkeys(r["from_name"] for r in rows))
        ids = " ".join(f"#{r['id']}" for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        text = f"{tag(delivery_id)} {len(rows)} new messages ({ids}) from {senders} (read them with hera_inbox)"
    return one_line(text, LINE_MAX)


class Delivery:
    """The delivery queue and its worker (run as one of the plugin's background jobs)."""

    def __init__(self, store: Store, tasks: Tasks, publish: Callable[[str, dict[str, Any]], Any],
                 enabled: Callable[[], bool]) -> None:
        self.store = store
        self.tasks = tasks
        self.publish = publish
        self.enabled = enabled
        self.in_flight: set[str] = set()
        self._send, self._recv = trio.open_memory_channel[str](QUEUE_SIZE)

    def queue(self, role_id: str) -> None:
        """Ask the worker to look at ``role_id`` (never blocks; a full queue drops the request, and
        the role's next idle moment retries: undelivered messages stay marked so)."""
        try:
            self._send.send_nowait(role_id)
        except trio.WouldBlock:
            log.debug("hera delivery queue full; %s waits for its next idle", role_id)

    def on_idle(self, task_id: str) -> None:
        """The agent of ``task_id`` is waiting for input: deliver what waits for its role."""
        role = self.store.role_by_task(task_id)
        if role is not None:
            self.queue(role["id"])

    async def run(self) -> None:
        """Background job: resolve unfinished deliveries, then deliver queued roles concurrently."""
        await self.recover()
        async with trio.open_nursery() as nursery:
            async for role_id in self._recv:
                if role_id in self.in_flight or not self.enabled():
                    continue
                self.in_flight.add(role_id)
                nursery.start_soon(self._deliver_guarded, role_id)

    async def _deliver_guarded(self, role_id: str) -> None:
        try:
            await self.deliver(role_id)
        except Exception:
            log.exception("hera delivery to role %s failed", role_id)
        finally:
            self.in_flight.discard(role_id)

    async def deliver(self, role_id: str) -> int:
        """Type one notice for the role's unannounced unread messages if its agent is idle."""
        role = self.store.role(role_id)
        if role is None or not role["task_id"] or not self.tasks.is_idle(role["task_id"]):
            return 0
        rows = self.store.undelivered(role_id)
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        delivery_id = self.store.begin_delivery(role_id, role["task_id"], "", ids)
        line = notice(delivery_id, rows)
        self.store.set_delivery_line(delivery_id, line)
        try:
            await self.tasks.send_text(role["task_id"], line)
        except Exception:
            self.store.drop_delivery(delivery_id)  # nothing reached the terminal: retry at next idle
            raise
        self.store.finish_delivery(delivery_id)
        self.publish("hera.message.delivered", {"role_id": role_id, "task_id": role["task_id"], "message_ids": ids})
        return len(ids)

    async def recover(self) -> None:
        """At start-up: settle deliveries cut by a crash, then queue every role with pending messages."""
        for rec in self.store.unfinished_deliveries():
            typed = False
            try:
                raw = await self.tasks.output(rec["task_id"], RECOVERY_BYTES)
                typed = tag(rec["id"]) in strip_ansi(raw.decode("utf-8", "replace"), redraws=True)
            except Exception:
                log.debug("cannot read the output of %s to settle delivery %s", rec["task_id"], rec["id"])
            if typed:
                self.store.finish_delivery(rec["id"])
            else:
                self.store.drop_delivery(rec["id"])
        self.store.prune_deliveries()
        for role_id in self.store.roles_with_undelivered():
            self.queue(role_id)
