"""Live changes in the vault: the Rust ``notify`` watcher (through watchfiles) driven from trio.

watchfiles' own ``awatch`` is built on anyio's asyncio backend, so this module talks to its
``RustNotify`` object directly, the same way ``awatch`` does: each blocking ``watch()`` call runs
in ``trio.to_thread`` and returns a batch of changes after a short quiet period. Cancelling the
caller sets the stop event, which the Rust side checks every ``STEP_MS``, so the thread ends
promptly and nothing outlives the daemon. inotify (kqueue/FSEvents elsewhere) reports changes;
the tree is never polled.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

DEBOUNCE_MS = 400  # a burst of changes is grouped for at most this long
STEP_MS = 30  # a batch is returned after this much quiet (and the stop event is checked this often)

ADDED, MODIFIED, DELETED = 1, 2, 3


@dataclass
class Changes:
    """One batch of raw changes sorted into what the indexer must do."""

    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)


def sort_changes(raw: set[tuple[int, str]], rel_of: Callable[[str], str | None],
                 wanted: Callable[[str], bool], dir_excluded: Callable[[str], bool]) -> Changes:
    """Vault-relative notes to re-check, folders to walk, and deleted paths that may be folders."""
    out = Changes()
    for kind, path in raw:
        rel = rel_of(path)
        if rel is None:
            continue
        parts = rel.split("/")
        if any(dir_excluded("/".join(parts[:i])) for i in range(1, len(parts))):
            continue
        if kind != DELETED and os.path.isdir(path) and not os.path.islink(path):
            if not dir_excluded(rel):
                out.folders.add(rel)
            continue
        if wanted(rel):
            out.files.add(rel)
        elif kind == DELETED:
            out.gone.add(rel)  # maybe a folder (renamed away or deleted): drop the notes under it
    return out


async def _stop_when_cancelled(stop: threading.Event) -> None:
    try:
        await trio.sleep_forever()
    finally:
        stop.set()


async def watch(root: str, on_changes: Callable[[set[tuple[int, str]]], Awaitable[None]],
                *, on_ready: Callable[[], None] | None = None,
                task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Watch ``root`` recursively until cancelled, awaiting ``on_changes(batch)`` for each batch.

    ``task_status.started()`` (and ``on_ready()``) are called once the OS watches are in place: a
    file written after that is reported. Changes that arrive while ``on_changes`` runs are kept by the watcher and
    come in the next batch.
    """
    from watchfiles._rust_notify import RustNotify  # imported when a vault is watched, not at start-up

    notify = await trio.to_thread.run_sync(lambda: RustNotify([root], False, False, 300, True, True))
    stop = threading.Event()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_when_cancelled, stop)
            if on_ready is not None:
                on_ready()
            task_status.started()
            while True:
                raw = await trio.to_thread.run_sync(notify.watch, DEBOUNCE_MS, STEP_MS, 0, stop)
                if raw == "stop":
                    break
                if isinstance(raw, set) and raw:
                    await on_changes(raw)
            nursery.cancel_scope.cancel()
    finally:
        stop.set()
        notify.close()
