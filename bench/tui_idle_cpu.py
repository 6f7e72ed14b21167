"""The TUI process's CPU while it lists 50 idle tasks, against the same TUI on an empty list.

A real daemon runs 50 fake agents that go idle at their prompt; the TUI runs headless in this
process on the Tasks tab; CPU is this process's ``time.process_time()`` over a fixed window (the
daemon, supervisor and agents are other processes). Idle tasks do not spin, so the TUI should
repaint only on events and once a minute for elapsed times — no polling.
Run: ``.venv/bin/python bench/tui_idle_cpu.py [TASKS] [SECONDS]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from tui_common import run_headless, running_daemon, until

TASKS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
WINDOW = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0


async def cpu_over_window(tui: Any, seconds: float) -> tuple[float, int, int]:
    """(CPU seconds, renders, HTTP requests) of this process during ``seconds`` of wall time."""
    renders = [0]

    def count(_: Any) -> None:
        renders[0] += 1

    tui.app.after_render += count
    events0 = tui.events_seen
    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    c1, w1 = time.process_time(), time.perf_counter()
    tui.app.after_render -= count
    return (c1 - c0) / (w1 - w0), renders[0], tui.events_seen - events0


def main() -> None:
    with running_daemon() as d:
        async def empty(tui: Any, pipe: Any) -> tuple[float, int, int]:
            await until(lambda: tui.snapshot_loaded.is_set(), what="snapshot")
            await asyncio.sleep(1.0)
            return await cpu_over_window(tui, WINDOW)

        base = run_headless(d.home, empty)
        with d.api() as api:
            t0 = time.monotonic()
            for i in range(TASKS):
                r = api.post("/api/tasks", json={"project": "bench", "prompt": f"idle task {i}",
                                                 "name": f"idle-{i:02d}"})
                r.raise_for_status()
            created = time.monotonic() - t0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                tasks = api.get("/api/tasks").json()["tasks"]
                idle = sum(1 for t in tasks if t.get("idle"))
                if idle == TASKS:
                    break
                time.sleep(0.5)

        async def listed(tui: Any, pipe: Any) -> tuple[float, int, int]:
            await until(lambda: tui.snapshot_loaded.is_set() and len(tui.state.tasks) == TASKS, what="tasks")
            await asyncio.sleep(1.0)
            assert not tui.tasklist.any_spinning() or idle < TASKS
            return await cpu_over_window(tui, WINDOW)

        busy = run_headless(d.home, listed)
    print(f"TUI process CPU on the Tasks tab, {WINDOW:.0f} s window "
          f"({TASKS} tasks created in {created:.1f} s, {idle}/{TASKS} idle)")
    print(f"  empty list     : {base[0] * 100:6.2f} % CPU   {base[1]:4d} repaints   {base[2]:4d} events")
    print(f"  {TASKS} idle tasks : {busy[0] * 100:6.2f} % CPU   {busy[1]:4d} repaints   {busy[2]:4d} events")
    ratio = busy[0] / base[0] if base[0] > 0 else float("inf")
    print(f"  ratio {TASKS} idle / empty: ×{ratio:.2f}")


if __name__ == "__main__":
    main()
