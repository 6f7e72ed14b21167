"""push plugin: Web Push (VAPID) notifications when an agent goes idle or needs an answer.

VAPID keys are generated on first start (``$ARGUS_HOME/vapid-private.pem``, mode 0600). Routes:
``/api/push/vapid-public-key``, ``subscribe``, ``subscriptions``, ``test``, ``presence``,
``action``. The rules (throttle, presence, scheduled fires) are in ``notifier.py``; see docs/push.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from argus.kernel.api import BackgroundJob, Field, Kernel, Migration, SettingsSection, StashKey, hookimpl

from .keys import VapidKeys
from .notifier import Notifier
from .routes import make_routes
from .sender import Sender
from .store import MIGRATIONS, Subscriptions

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

PUSH = StashKey[Notifier]()


class KernelHooks:
    """The hooks of one kernel's push plugin that receive no kernel (registered as ``push.kernel``),
    so two daemons in one process keep their own notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    @hookimpl
    def argus_task_idle(self, task: dict[str, Any], idle: bool, reason: str) -> None:
        """An agent waiting for input: notify (throttle and presence permitting)."""
        self.notifier.on_idle(task, idle)

    @hookimpl
    def argus_task_status_changed(self, task: dict[str, Any], old: str, new: str) -> None:
        """A task moving from in_progress to in_review: notify."""
        self.notifier.on_status(task, old, new)

    @hookimpl
    def argus_task_deleted(self, task: dict[str, Any]) -> None:
        """Forget a deleted task's throttle and prompt."""
        self.notifier.forget(task.get("id"))

    @hookimpl
    def argus_event(self, event: Event) -> None:
        """Scheduled fires (quick: classification and queueing)."""
        self.notifier.on_event(event)



@hookimpl
def argus_migrations() -> Sequence[Migration]:
    """The ``push_subscriptions`` table."""
    return MIGRATIONS


@hookimpl
def argus_settings_sections() -> Sequence[SettingsSection]:
    """``[push]``: on/off, throttle, presence window, VAPID subject, per-endpoint timeout."""
    return [SettingsSection("push", "Push notifications", [
        Field("enabled", "bool", True, "Enabled", "Notify subscribed devices when an agent needs you"),
        Field("throttle_seconds", "int", 300, "Throttle (s)", "At most one notification per task in this time",
              min=0, max=86400),
        Field("presence_seconds", "int", 60, "Presence window (s)",
              "No notification for a task a client reported looking at within this time", min=0, max=3600),
        Field("subject", "string", "mailto:argus@localhost", "VAPID subject",
              "Contact (mailto: or https:) sent to push services"),
        Field("send_timeout", "int", 10, "Send timeout (s)", "Per push endpoint", min=1, max=120),
    ])]


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Keys, routes and the notifier (in ``kernel.stash[PUSH]``, its hooks on this kernel's manager)."""
    keys = VapidKeys.load_or_create(kernel.paths.home)
    subs = Subscriptions(kernel.db)
    sender = Sender(keys, subs, lambda: kernel.settings.section("push"))
    notifier = Notifier(kernel, sender)
    kernel.stash[PUSH] = notifier
    kernel.pm.register(KernelHooks(notifier), name="push.kernel")
    kernel.http.add_routes("push", make_routes(lambda: keys.public_key, subs, notifier))


@hookimpl
def argus_background(kernel: Kernel) -> Sequence[BackgroundJob]:
    """The delivery loop."""
    notifier = kernel.stash.get(PUSH, None)
    return [notifier.run] if notifier is not None else []
