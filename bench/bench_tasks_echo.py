"""Keystroke → echo round trip through Argus, two ways: ``POST /api/tasks/{id}/input`` + the SSE
output stream, and the terminal WebSocket (``/api/tasks/{id}/terminal``: the key as a binary
frame, the echo as a binary frame), versus the same agent on a raw PTY owned by this process,
with 0 and with N busy sessions (agents flooding output) running in the same daemon.

    python bench/bench_tasks_echo.py [--samples 300] [--busy 20] [--flood-kbps 100]

The agent is the demo agent at its input prompt: it echoes each key itself (cbreak mode), so
both paths measure the same program; the difference is Argus's path (HTTP request → daemon →
supervisor frame → PTY → agent → supervisor → daemon → SSE or WebSocket).
"""

from __future__ import annotations

import argparse
import random
import shlex
import sys
import time
from pathlib import Path

import httpx
import trio
from common import BenchDaemon, RawPty, agent_env, create_task, print_table, ratio, sse, summary, wait_idle
from trio_websocket import open_websocket_url

KEYS = "abcdefghij"  # never part of the line-clear redraw ("\r\x1b[K> ")
CLEAR_EVERY = 40

FLOOD_CODE = """\
import itertools, sys, time
w = sys.stdout.buffer
chunk = (b"flood " + b"x" * 57 + b"\\n") * {lines}
for _ in itertools.count():
    w.write(chunk)
    w.flush()
    time.sleep(0.02)
"""


async def echo_through_argus(client: httpx.AsyncClient, stream_client: httpx.AsyncClient, task_id: str,
                             samples: int) -> list[float]:
    """Round trips of single keys: POST /input, wait for the key on the task's SSE stream."""
    send, receive = trio.open_memory_channel[tuple[float, bytes]](10_000)
    results: list[float] = []

    async def reader() -> None:
        async for msg in sse(stream_client, f"/api/tasks/{task_id}/stream"):
            if msg.event == "output":
                await send.send((msg.at, msg.output()))

    async def drain() -> None:
        while True:
            try:
                receive.receive_nowait()
            except trio.WouldBlock:
                return

    async def wait_for(needle: bytes) -> float:
        seen = b""
        with trio.fail_after(30):
            while True:
                at, data = await receive.receive()
                seen += data
                if needle in seen:
                    return at

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.sleep(0.5)  # let the stream deliver its initial tail
        await drain()
        for i in range(samples):
            if i and i % CLEAR_EVERY == 0:
                await client.post(f"/api/tasks/{task_id}/input", content=b"\x15")
                await wait_for(b"> ")
            await trio.sleep(random.uniform(0.005, 0.02))  # typing, not a pipelined burst
            await drain()
            key = KEYS[i % len(KEYS)].encode()
            t0 = time.perf_counter()
            resp = await client.post(f"/api/tasks/{task_id}/input", content=key,
                                     headers={"Content-Type": "application/octet-stream"})
            resp.raise_for_status()
            results.append(await wait_for(key) - t0)
        nursery.cancel_scope.cancel()
    await client.post(f"/api/tasks/{task_id}/input", content=b"\x15")
    return results


async def echo_through_websocket(daemon: BenchDaemon, task_id: str, samples: int) -> list[float]:
    """Round trips of single keys over the terminal WebSocket: a binary frame out, the echo back."""
    results: list[float] = []
    url = daemon.url.replace("http://", "ws://", 1) + f"/api/tasks/{task_id}/terminal"
    headers = [(k.encode(), v.encode()) for k, v in daemon.headers.items()]
    # A roomy queue: trio-websocket's reader stops reading the socket while its queue is full, and
    # then the close handshake (behind unread output frames) would never be seen.
    async with open_websocket_url(url, extra_headers=headers, message_queue_size=100_000) as ws:
        seen = b""

        async def wait_for(needle: bytes) -> float:
            nonlocal seen
            with trio.fail_after(30):
                while True:
                    frame = await ws.get_message()
                    if isinstance(frame, bytes):
                        at = time.perf_counter()
                        seen += frame
                        if needle in seen:
                            return at

        with trio.move_on_after(0.5):  # the initial tail
            while True:
                await ws.get_message()
        for i in range(samples):
            if i and i % CLEAR_EVERY == 0:
                seen = b""
                await ws.send_message(b"\x15")
                await wait_for(b"> ")
            await trio.sleep(random.uniform(0.005, 0.02))  # typing, not a pipelined burst
            seen = b""
            key = KEYS[i % len(KEYS)].encode()
            t0 = time.perf_counter()
            await ws.send_message(key)
            results.append(await wait_for(key) - t0)
        await ws.send_message(b"\x15")
    return results


async def echo_raw(pty: RawPty, samples: int) -> list[float]:
    """Round trips of single keys written straight to the PTY master."""
    results: list[float] = []
    for i in range(samples):
        if i and i % CLEAR_EVERY == 0:
            pty.buffer = b""
            pty.write(b"\x15")
            await pty.read_until(b"> ")
        await trio.sleep(random.uniform(0.005, 0.02))
        pty.buffer = b""
        key = KEYS[i % len(KEYS)].encode()
        t0 = time.perf_counter()
        pty.write(key)
        with trio.fail_after(30):
            while key not in pty.buffer:
                await pty.read()
        results.append(time.perf_counter() - t0)
    pty.write(b"\x15")
    return results


async def start_floods(client: httpx.AsyncClient, count: int, kbps: int) -> list[str]:
    """``count`` tasks whose agent prints about ``kbps`` KB/s without pause."""
    lines = max(1, kbps * 1024 // 50 // 64)  # 50 writes a second, 64-byte lines
    command = f"{shlex.quote(sys.executable)} -u -c {shlex.quote(FLOOD_CODE.format(lines=lines))}"
    resp = await client.post("/api/backends", json={"name": "flood", "command": command})
    resp.raise_for_status()
    ids = [(await create_task(client, name=f"flood {i}", backend="flood"))["id"] for i in range(count)]
    with trio.fail_after(60):  # every flood is producing
        for task_id in ids:
            while not (await client.get(f"/api/tasks/{task_id}/output", params={"bytes": 64})).content:
                await trio.sleep(0.05)
    return ids


def progress(what: str) -> None:
    """A progress line on stderr (a long run shows where it is)."""
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> None:
    with BenchDaemon(env={"FAKEAGENT_BUSY": "0.2"}, profile=args.profile) as daemon:
        async with daemon.client() as client, daemon.client() as stream_client:
            task = await create_task(client, name="echo target", backend="demo")
            await wait_idle(client, task["id"])
            raw = RawPty([sys.executable, "-m", "argus.plugins.tasks.demo_agent"], str(daemon.repo),
                         {k: v for k, v in agent_env().items() if not k.startswith(("ARGUS_HOOK", "FAKEAGENT_RECORD"))})
            try:
                await raw.read_until(b"? for shortcuts")
                await raw.read_until(b"> ")
                rows: dict[str, list[float]] = {}
                progress("raw PTY, 0 busy")
                rows["raw PTY, 0 busy"] = await echo_raw(raw, args.samples)
                progress("POST+SSE, 0 busy")
                rows["Argus POST+SSE, 0 busy"] = await echo_through_argus(client, stream_client, task["id"],
                                                                          args.samples)
                progress("WebSocket, 0 busy")
                rows["Argus WebSocket, 0 busy"] = await echo_through_websocket(daemon, task["id"], args.samples)
                if args.busy:
                    progress(f"starting {args.busy} busy sessions")
                    await start_floods(client, args.busy, args.flood_kbps)
                    label = f"{args.busy} busy"
                    progress(f"raw PTY, {label}")
                    rows[f"raw PTY, {label}"] = await echo_raw(raw, args.samples)
                    progress(f"POST+SSE, {label}")
                    rows[f"Argus POST+SSE, {label}"] = await echo_through_argus(client, stream_client, task["id"],
                                                                                args.samples)
                    progress(f"WebSocket, {label}")
                    rows[f"Argus WebSocket, {label}"] = await echo_through_websocket(daemon, task["id"],
                                                                                     args.samples)
                    await client.post("/api/sessions/stop-all")
            finally:
                raw.close()
    print_table("keystroke -> echo round trip", rows)
    print("\nratio Argus / raw PTY (same agent, same load)")
    for load in ["0 busy"] + ([f"{args.busy} busy"] if args.busy else []):
        b = summary(rows[f"raw PTY, {load}"])
        for path in ("POST+SSE", "WebSocket"):
            a = summary(rows[f"Argus {path}, {load}"])
            print(f"  {path:9} {load:8}  median {ratio(a['median'], b['median'])}   p99 {ratio(a['p99'], b['p99'])}   "
                  f"(added median {1000 * (a['median'] - b['median']):.1f} ms, "
                  f"p99 {1000 * (a['p99'] - b['p99']):.1f} ms)")
    if args.busy:
        print(f"  busy = {args.busy} agents printing ~{args.flood_kbps} KB/s each through the same daemon")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--busy", type=int, default=20, help="busy (flooding) sessions for the second run")
    parser.add_argument("--flood-kbps", type=int, default=100, help="output rate of each busy session")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="run the daemon under cProfile and write its stats to FILE")
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
