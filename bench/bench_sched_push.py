"""Scheduler and Web Push latencies.

    python bench/bench_sched_push.py [--runs 10] [--schedules 50]

1. **Idle → push**: typing into an agent until its turn ends; the time from ``POST /input`` to the
   ``task.idle`` event on the SSE stream (the baseline: what every client sees) and to the encrypted
   push request arriving at a loopback fake push service.
2. **Schedule due → first byte**: with ``--schedules`` schedules defined, a one-shot fires at a
   whole second; the time from its due time to the new task's first output byte on its stream.
   Baseline: ``POST /api/tasks`` → first output byte, measured in the same run.
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trio
from common import BenchDaemon, create_task, print_table, ratio, sse, summary, wait_idle
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


class PushService:
    """A loopback push service recording when each request arrived (``time.perf_counter()``)."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.arrivals.append(time.perf_counter())
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/push/bench"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def subscription(endpoint: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return {"label": "bench", "endpoint": endpoint, "keys": {"p256dh": b64(key), "auth": b64(os.urandom(16))}}


class Events:
    """Arrival times of bus events on one SSE connection."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, dict[str, Any]]] = []

    async def follow(self, daemon: BenchDaemon, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with daemon.client() as client:
            started = False
            async for msg in sse(client, "/api/events/stream", params={"since": 0}):  # replays daemon.started
                if not started:
                    task_status.started()
                    started = True
                if isinstance(msg.data, dict) and "type" in msg.data:
                    self.seen.append((msg.at, msg.data["type"], msg.data.get("data") or {}))

    async def first(self, type_: str, after: float, pred: Any = lambda d: True, timeout: float = 30.0) -> tuple[
            float, dict[str, Any]]:
        with trio.fail_after(timeout):
            while True:
                for at, t, data in self.seen:
                    if t == type_ and at >= after and pred(data):
                        return at, data
                await trio.sleep(0.002)


async def idle_to_push(daemon: BenchDaemon, events: Events, push: PushService, runs: int) -> dict[str, list[float]]:
    async with daemon.client() as c:
        (await c.put("/api/settings", json={"push": {"throttle_seconds": 0}})).raise_for_status()
        (await c.post("/api/push/subscribe", json=subscription(push.endpoint))).raise_for_status()
        task = await create_task(c, prompt="wait", backend="claude")
        await wait_idle(c, task["id"])
        with trio.fail_after(30):
            while not push.arrivals:  # the first idle's push
                await trio.sleep(0.01)
        to_idle, to_push, gap = [], [], []
        for i in range(runs + 1):
            before = len(push.arrivals)
            t0 = time.perf_counter()
            (await c.post(f"/api/tasks/{task['id']}/input", json={"data": f"run {i}\r"})).raise_for_status()
            idle_at, _ = await events.first("task.idle", t0, lambda d: d.get("id") == task["id"])
            with trio.fail_after(30):
                while len(push.arrivals) == before:
                    await trio.sleep(0.002)
            pushed = push.arrivals[before]
            if i == 0:
                continue  # warm-up
            to_idle.append(idle_at - t0)
            to_push.append(pushed - t0)
            gap.append(pushed - idle_at)
        await c.post(f"/api/tasks/{task['id']}/stop")
    return {"input → task.idle on SSE (baseline)": to_idle, "input → push at the push service": to_push,
            "task.idle on SSE → push received": gap}


async def first_byte(c: Any, task_id: str) -> float:
    with trio.fail_after(30):
        async for msg in sse(c, f"/api/tasks/{task_id}/stream", params={"since": 0}):
            if msg.event == "output" and msg.output():
                return msg.at
    raise RuntimeError("stream ended")


async def due_to_first_byte(daemon: BenchDaemon, events: Events, runs: int, schedules: int) -> dict[str, list[float]]:
    async with daemon.client() as c:
        for i in range(schedules - 1):
            (await c.post("/api/schedules", json={"name": f"filler-{i}", "project": "bench", "prompt": "p",
                                                  "schedule": "@yearly"})).raise_for_status()
        fired, direct = [], []
        for i in range(runs):
            due = math.ceil(time.time()) + 2
            offset = time.time() - time.perf_counter()
            when = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            s = (await c.post("/api/schedules", json={"name": f"shot-{i}", "project": "bench", "prompt": f"run {i}",
                                                      "backend": "claude", "run_once_at": when})).json()["schedule"]
            _, data = await events.first("schedule.fired", 0, lambda d, sid=s["id"]: d.get("id") == sid)
            first = await first_byte(c, data["task_id"])
            fired.append(first - (due - offset))
            await c.post(f"/api/tasks/{data['task_id']}/stop")
            await c.delete(f"/api/schedules/{s['id']}")
            t0 = time.perf_counter()
            task = await create_task(c, prompt=f"direct {i}", backend="claude")
            direct.append(await first_byte(c, task["id"]) - t0)
            await c.post(f"/api/tasks/{task['id']}/stop")
    return {"POST /api/tasks → first byte (baseline)": direct,
            f"schedule due → first byte ({schedules} schedules)": fired}


async def run(args: argparse.Namespace) -> None:
    push = PushService()
    try:
        with BenchDaemon(env={"FAKEAGENT_BUSY": "0.2"}) as daemon:
            events = Events()
            async with trio.open_nursery() as nursery:
                await nursery.start(events.follow, daemon)
                idle = await idle_to_push(daemon, events, push, args.runs)
                sched = await due_to_first_byte(daemon, events, args.runs, args.schedules)
                nursery.cancel_scope.cancel()
    finally:
        push.close()
    print_table("idle → push", idle)
    base, pushed = (summary(v)["median"] for v in list(idle.values())[:2])
    print(f"push vs SSE event (median): {ratio(pushed, base)}")
    print_table("schedule due → task's first output byte", sched)
    base, fired = (summary(v)["median"] for v in sched.values())
    print(f"scheduled vs direct creation (median): {ratio(fired, base)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--schedules", type=int, default=50)
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
