"""UndoStack: reverse-order rollback on failure (guarded, shielded), nothing on success."""

from __future__ import annotations

import pytest
import trio
from argus.plugins.tasks.undo import UndoStack


class Boom(Exception):
    pass


async def test_undos_run_in_reverse_order_on_failure() -> None:
    ran: list[str] = []

    async def async_undo(name: str) -> None:
        await trio.lowlevel.checkpoint()
        ran.append(name)

    with pytest.raises(Boom):
        async with UndoStack() as undo:
            undo.push(lambda: ran.append("first"), "first")
            undo.push(lambda: async_undo("second"), "second")
            undo.push(lambda: ran.append("third"), "third")
            raise Boom()
    assert ran == ["third", "second", "first"]


async def test_undos_are_discarded_on_success() -> None:
    ran: list[str] = []
    async with UndoStack() as undo:
        undo.push(lambda: ran.append("x"), "x")
    assert ran == []
    assert len(undo) == 0


async def test_commit_discards_undos_even_if_the_block_then_fails() -> None:
    ran: list[str] = []
    with pytest.raises(Boom):
        async with UndoStack() as undo:
            undo.push(lambda: ran.append("kept"), "kept")
            undo.commit()
            undo.push(lambda: ran.append("after"), "after")
            raise Boom()
    assert ran == ["after"]


async def test_failing_undo_does_not_stop_the_others_and_original_error_propagates() -> None:
    ran: list[str] = []

    def bad() -> None:
        raise RuntimeError("undo failed")

    async def bad_async() -> None:
        raise OSError("async undo failed")

    with pytest.raises(Boom):
        async with UndoStack() as undo:
            undo.push(lambda: ran.append("a"), "a")
            undo.push(bad, "bad")
            undo.push(bad_async, "bad async")
            undo.push(lambda: ran.append("b"), "b")
            raise Boom()
    assert ran == ["b", "a"]
    assert [d for d, _ in undo.failures] == ["bad async", "bad"]


async def test_undos_run_when_the_block_is_cancelled() -> None:
    ran: list[str] = []

    async def undo_needing_checkpoints() -> None:
        await trio.sleep(0.01)  # would raise Cancelled if the rollback were not shielded
        ran.append("cleaned")

    with trio.CancelScope() as scope:
        async with UndoStack() as undo:
            undo.push(undo_needing_checkpoints, "cleanup")
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert ran == ["cleaned"]


async def test_a_hanging_undo_times_out_and_the_rest_still_run() -> None:
    ran: list[str] = []
    with pytest.raises(Boom):
        async with UndoStack(timeout=0.05) as undo:
            undo.push(lambda: ran.append("last"), "last")
            undo.push(trio.sleep_forever, "hangs")
            raise Boom()
    assert ran == ["last"]
    assert [d for d, _ in undo.failures] == ["hangs"]


async def test_descriptions_list_pending_undos() -> None:
    async with UndoStack() as undo:
        undo.push(lambda: None, "one")
        undo.push(lambda: None, "two")
        assert undo.descriptions == ["one", "two"]
