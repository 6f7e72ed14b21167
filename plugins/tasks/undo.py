"""A small transaction helper: register how to undo each step, roll back everything on failure.

async with UndoStack() as undo:
    await make_worktree(...)
    undo.push(remove_worktree_fn, "remove worktree")
    await start_agent(...)          # raises -> the worktree is removed, the error re-raised
# normal exit: the undos are discarded (the steps are kept)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

import trio

log = logging.getLogger(__name__)

UndoFn = Callable[[], Awaitable[object] | object]


@dataclass(frozen=True)
class _Undo:
    fn: UndoFn
    description: str


class UndoStack:
    """Undo actions run in reverse order when the ``async with`` body raises, then the error propagates.

    Each undo is guarded: one that raises (or takes longer than ``timeout`` seconds) is logged and
    the others still run. Undos run shielded from cancellation, so a cancelled operation is still
    cleaned up. Leaving the block normally, or calling :meth:`commit`, discards them.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._undos: list[_Undo] = []
        self._timeout = timeout
        self.failures: list[tuple[str, BaseException]] = []

    def push(self, fn: UndoFn, description: str = "") -> None:
        """Register ``fn`` (sync, or async returning an awaitable) to run if the transaction fails."""
        self._undos.append(_Undo(fn, description or getattr(fn, "__name__", repr(fn))))

    def commit(self) -> None:
        """Keep everything done so far: forget the registered undos."""
        self._undos.clear()

    @property
    def descriptions(self) -> list[str]:
        """Descriptions of the pending undos, oldest first."""
        return [u.description for u in self._undos]

    def __len__(self) -> int:
        return len(self._undos)

    async def rollback(self) -> None:
        """Run the pending undos newest first (each guarded and shielded), then forget them."""
        undos, self._undos = self._undos, []
        for undo in reversed(undos):
            with trio.CancelScope(shield=True, deadline=trio.current_time() + self._timeout) as scope:
                try:
                    result = undo.fn()
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:  # a failing undo must not stop the others
                    log.warning("undo %r failed: %s", undo.description, exc, exc_info=True)
                    self.failures.append((undo.description, exc))
            if scope.cancelled_caught:
                log.warning("undo %r timed out after %ss", undo.description, self._timeout)
                self.failures.append((undo.description, TimeoutError(undo.description)))

    async def __aenter__(self) -> UndoStack:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None:
            self.commit()
        else:
            await self.rollback()
        return False
