"""Helpers for the hera tests: the orchestration helpers (official MCP client, demo-agent tasks,
polling under trio) plus hera-specific shortcuts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tasks"))

from argus_testkit import wait_for_async
from orch_helpers import (  # noqa: E402
    FAST_AGENT,
    call,
    call_error,
    create_task,
    events,
    mcp_session,
    output,
    task,
)

__all__ = ["FAST_AGENT", "busy", "call", "call_error", "create_task", "events", "interrupt",
           "mcp_session", "output", "task", "typed_lines"]


async def busy(client: Any, task_id: str) -> None:
    """Put a demo agent mid-turn until interrupted (``/sleep 600``) and wait until it shows it."""
    await wait_for_async(lambda: task(client, task_id)["idle"], what=f"{task_id} waiting for input")
    client.post(f"/api/tasks/{task_id}/input", json={"data": "/sleep 600\r"})
    await wait_for_async(lambda: "esc to interrupt" in output(client, task_id).split("/sleep 600")[-1]
                          and not task(client, task_id)["idle"], what=f"{task_id} busy")


def interrupt(client: Any, task_id: str) -> None:
    """End the demo agent's turn (ESC): it shows its prompt again and goes idle."""
    client.post(f"/api/tasks/{task_id}/input", json={"data": "\x1b"})


def typed_lines(client: Any, task_id: str) -> list[str]:
    """The hera notices the demo agent received (it echoes each submitted line as ``you said: ...``)."""
    return [ln.split("you said: ", 1)[1] for ln in output(client, task_id).splitlines()
            if "you said: [hera d" in ln]
