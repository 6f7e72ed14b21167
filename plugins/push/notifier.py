"""When to notify, and what: the rules between task events and the sender.

Event hooks are synchronous and quick: they only classify the event, apply the throttle and the
presence rule, and queue a job on a memory channel. The background job reads the agent's screen
(for the excerpt and the prompt buttons) and fans the payload out, off the event path.

Rules:
- a task turning idle (``argus_task_idle``) or moving from in_progress to in_review
  (``argus_task_status_changed``) notifies;
- at most one notification per task per ``push.throttle_seconds`` (default 5 minutes);
- none while a client reported presence on that task in the last ``push.presence_seconds``
  (default 60): an open TUI/PWA looking at the task suppresses the buzz on every device;
- a schedule's regular (cron/interval/one-shot) fire notifies; run-now does not.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import ArgusError, Conflict, Invalid, Kernel
from argus.plugins.tasks.api import tasks_of

from .screen import Prompt, excerpt
from .sender import Outcome, Sender

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

log = logging.getLogger(__name__)

SCREEN_BYTES = 16 * 1024
QUEUE = 256


@dataclass
class Job:
    """A notification to build and send."""

    kind: str  # "idle" | "review" | "scheduled" | "test"
    task_id: str | None = None
    data: dict[str, Any] | None = None


class Notifier:
    """Throttle, presence and the send queue of one kernel."""

    def __init__(self, kernel: Kernel, sender: Sender) -> None:
        self.kernel = kernel
        self.sender = sender
        self._send, self._recv = trio.open_memory_channel[Job](QUEUE)
        self.last_sent: dict[str, float] = {}           # task id → monotonic time of the last push
        self.presence: dict[str, tuple[str | None, float]] = {}  # client → (task id, monotonic)
        self.prompts: dict[str, Prompt] = {}           # task id → the prompt its last push offered

    def options(self) -> dict[str, Any]:
        """The ``push`` settings section."""
        return self.kernel.settings.section("push")

    # -- presence --------------------------------------------------------------------------

    def report_presence(self, client: str, task_id: str | None) -> None:
        """A client says which task it shows (None: none, or the app is hidden)."""
        self.presence[client] = (task_id, time.monotonic())

    def watching(self) -> list[dict[str, Any]]:
        """Clients that reported a task within the presence window: ``{client, task_id, age}``."""
        window = float(self.options()["presence_seconds"])
        now = time.monotonic()
        return [{"client": client, "task_id": tid, "age": round(now - at, 1)}
                for client, (tid, at) in sorted(self.presence.items()) if tid and now - at <= window]

    def watched(self, task_id: str) -> bool:
        """Whether a client reported looking at ``task_id`` recently."""
        window = float(self.options()["presence_seconds"])
        now = time.monotonic()
        return any(tid == task_id and now - at <= window for tid, at in self.presence.values())

    # -- events (synchronous) --------------------------------------------------------------

    def on_idle(self, task: dict[str, Any], idle: bool) -> None:
        """``argus_task_idle``: a task that starts waiting for input notifies."""
        if idle:
            self._task_job("idle", task.get("id"))

    def on_status(self, task: dict[str, Any], old: str, new: str) -> None:
        """``argus_task_status_changed``: in_progress → in_review notifies."""
        if old == "in_progress" and new == "in_review":
            self._task_job("review", task.get("id"))

    def forget(self, task_id: Any) -> None:
        """``argus_task_deleted``: drop what is kept per task."""
        for table in (self.last_sent, self.prompts):
            table.pop(task_id, None)

    def on_event(self, event: Event) -> None:
        """``schedule.fired``: a regular fire notifies, run-now does not (and says so)."""
        if event.type != "schedule.fired":
            return
        if event.data.get("manual"):
            self.kernel.events.publish("push.skipped", {"task_id": event.data.get("task_id"), "kind": "scheduled",
                                                        "reason": "run-now"})
        elif self.options()["enabled"]:
            self._queue(Job("scheduled", event.data.get("task_id"), dict(event.data)))

    def _task_job(self, kind: str, task_id: Any) -> None:
        if not isinstance(task_id, str) or not self.options()["enabled"]:
            return
        now = time.monotonic()
        last = self.last_sent.get(task_id)
        if last is not None and now - last < float(self.options()["throttle_seconds"]):
            self.kernel.events.publish("push.skipped", {"task_id": task_id, "kind": kind, "reason": "throttled"})
            return
        if self.watched(task_id):
            self.kernel.events.publish("push.skipped", {"task_id": task_id, "kind": kind, "reason": "presence"})
            return
        self.last_sent[task_id] = now
        self._queue(Job(kind, task_id))

    def _queue(self, job: Job) -> None:
        try:
            self._send.send_nowait(job)
        except trio.WouldBlock:
            log.warning("push queue full: dropped a %s notification", job.kind)

    # -- building and sending (background) -------------------------------------------------

    async def payload(self, job: Job) -> dict[str, Any] | None:
        """The notification JSON the service worker shows, or None when the task is gone."""
        if job.kind == "scheduled":
            data = job.data or {}
            tid = data.get("task_id")
            return {"title": f"Scheduled: {data.get('name', '')}",
                    "body": f"Started {data.get('task_name') or tid} in {data.get('project', '')}",
                    "tag": f"schedule-{data.get('id')}", "task_id": tid,
                    "url": f"/task/{tid}" if tid else "/", "kind": "scheduled"}
        assert job.task_id is not None
        tasks = tasks_of(self.kernel)
        try:
            task = tasks.get(job.task_id)
            raw = await tasks.output(job.task_id, SCREEN_BYTES)
        except ArgusError:
            return None
        body, prompt = excerpt(raw)
        out: dict[str, Any] = {
            "title": f"{task['name']} · {task['project']}",
            "body": body or ("Waiting for you" if job.kind == "idle" else "Ready for review"),
            "tag": f"task-{task['id']}", "task_id": task["id"], "url": f"/task/{task['id']}",
            "kind": job.kind, "renotify": True,
        }
        if prompt is not None:
            self.prompts[task["id"]] = prompt
            out["prompt"] = {"id": prompt.id, "text": prompt.text}
            out["actions"] = [{"action": "approve", "title": "Approve"}, {"action": "deny", "title": "Deny"}]
        return out

    async def deliver(self, job: Job) -> Outcome | None:
        """Build and send one job."""
        try:
            payload = await self.payload(job)
        except Exception:
            log.exception("building a push payload failed")
            return None
        if payload is None:
            return None
        outcome = await self.sender.send_all(payload)
        self.kernel.events.publish("push.sent", {"task_id": payload.get("task_id"), "kind": job.kind,
                                              **outcome.to_json()})
        return outcome

    async def run(self) -> None:
        """The background job: deliver queued notifications, each in its own task."""
        async with trio.open_nursery() as nursery:
            async for job in self._recv:
                nursery.start_soon(self.deliver, job)

    # -- the "needs you" inbox ---------------------------------------------------------------

    async def inbox(self) -> list[dict[str, Any]]:
        """Every task waiting for input, with the same excerpt and prompt buttons as its notification."""
        tasks = tasks_of(self.kernel)
        out = []
        for task in tasks.list(status="in_progress", archived=False):
            if not task.get("idle"):
                continue
            try:
                body, prompt = excerpt(await tasks.output(task["id"], SCREEN_BYTES))
            except ArgusError:
                continue
            item: dict[str, Any] = {"id": task["id"], "name": task["name"], "project": task["project"],
                                    "body": body, "url": f"/task/{task['id']}", "prompt": None}
            if prompt is not None:
                item["prompt"] = {"id": prompt.id, "text": prompt.text}
            out.append(item)
        return out

    # -- actions ---------------------------------------------------------------------------

    async def act(self, task_id: str, action: str, prompt_id: str) -> dict[str, Any]:
        """Answer the prompt a notification showed, if it is still the one on screen."""
        if action not in ("approve", "deny"):
            raise Invalid("action must be approve or deny")
        tasks = tasks_of(self.kernel)
        tasks.get(task_id)
        _, prompt = excerpt(await tasks.output(task_id, SCREEN_BYTES))
        if prompt is None or prompt.id != prompt_id or action not in prompt.keys:
            raise Conflict("stale: that prompt is no longer on the agent's screen; nothing was sent",
                           stale=True)
        await tasks.write_input(task_id, prompt.keys[action].encode())
        return {"ok": True, "action": action, "sent": prompt.keys[action]}
