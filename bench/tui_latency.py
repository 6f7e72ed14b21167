"""Keystroke-to-screen latency in the agent view: a silent agent vs one printing 5 MB/s.

A real daemon runs ``bench/tui_flood_agent.py`` as a task's agent; the TUI runs headless in this
process with the agent view open. Each sample types one key (pipe input, as a terminal would
send it) and stops the clock at the first frame the TUI paints (``after_render``) whose terminal
shows the agent's new ``typed=N`` counter. Run: ``.venv/bin/python bench/tui_latency.py [N]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from tui_common import ROOT, percentile, run_headless, running_daemon, until

SAMPLES = int(sys.argv[1]) if len(sys.argv) > 1 else 40
RATE = 5_000_000


async def measure(tui: Any, pipe: Any, start_count: int, n: int) -> list[float]:
    """``n`` latencies (seconds), typing one key per sample once the previous one showed up."""
    term = tui.agent.terminal
    out: list[float] = []
    shown: dict[int, float] = {}
    counter = [start_count]

    def on_render(_: Any) -> None:
        want = counter[0]
        if want not in shown and f"typed={want:05d}" in term.text():
            shown[want] = time.perf_counter()

    tui.app.after_render += on_render
    try:
        for _ in range(n):
            counter[0] += 1
            want = counter[0]
            t0 = time.perf_counter()
            pipe.send_text("k")
            await until(lambda w=want: w in shown, 30, f"typed={want}")
            out.append(shown[want] - t0)
            await asyncio.sleep(0.05)
    finally:
        tui.app.after_render -= on_render
    return out


def main() -> None:
    agent = f"{sys.executable} {ROOT / 'bench' / 'tui_flood_agent.py'} {RATE}"
    with running_daemon() as d:
        with d.api() as api:
            api.post("/api/backends", json={"name": "flood", "command": agent}).raise_for_status()
            task = api.post("/api/tasks", json={"project": "bench", "backend": "flood",
                                                "prompt": "bench"}).json()["task"]

        async def scenario(tui: Any, pipe: Any) -> dict[str, Any]:
            await until(lambda: tui.snapshot_loaded.is_set(), what="snapshot")
            await until(lambda: task["id"] in tui.state.tasks, what="task listed")
            tui.open_task(task["id"])
            await until(lambda: tui.agent.terminal and "typed=00000" in tui.agent.terminal.text(), what="agent")
            silent = await measure(tui, pipe, 0, SAMPLES)
            term = tui.agent.terminal
            pipe.send_text("\x06")  # ctrl+f: start the flood
            await asyncio.sleep(1.0)
            b0, t0 = term.fed_bytes + term.dropped_bytes + term.backlog, time.perf_counter()
            flood = await measure(tui, pipe, SAMPLES, SAMPLES)
            b1, t1 = term.fed_bytes + term.dropped_bytes + term.backlog, time.perf_counter()
            pipe.send_text("\x06")
            return {"silent": silent, "flood": flood, "rate": (b1 - b0) / (t1 - t0),
                    "fed": term.fed_bytes, "dropped": term.dropped_bytes, "skips": term.skipped_ahead}

        r = run_headless(d.home, scenario)
    s_med, s_p95 = percentile(r["silent"], 0.5) * 1000, percentile(r["silent"], 0.95) * 1000
    f_med, f_p95 = percentile(r["flood"], 0.5) * 1000, percentile(r["flood"], 0.95) * 1000
    print(f"agent view keystroke→screen latency, {SAMPLES} samples each")
    print(f"  silent agent : median {s_med:7.1f} ms   p95 {s_p95:7.1f} ms")
    print(f"  5 MB/s flood : median {f_med:7.1f} ms   p95 {f_p95:7.1f} ms   "
          f"(output reaching the TUI: {r['rate'] / 1e6:.2f} MB/s; pyte fed {r['fed'] / 1e6:.1f} MB, "
          f"dropped {r['dropped'] / 1e6:.1f} MB as stale, skipped ahead {r['skips']}×)")
    print(f"  ratio flood/silent: median ×{f_med / s_med:.2f}   p95 ×{f_p95 / s_p95:.2f}")


if __name__ == "__main__":
    main()
