"""The sandbox's cost: task start-up and keystroke echo with the agent under bubblewrap versus the
same agent unconfined, in one daemon and one run.

    python bench/bench_sandbox.py [--runs 10] [--samples 200]

Two projects point at the same repository: ``bench`` (sandbox off) and ``boxed`` (sandbox on).
Start-up is ``POST /api/tasks`` → the agent's first output byte on the task's SSE stream (the fake
``claude`` CLI with a prompt), runs alternating between the projects. Echo is one key through
``POST /api/tasks/{id}/input`` → its echo on the SSE stream, on a demo agent waiting at its prompt
in each project. Needs bubblewrap that can run here (``argus sandbox check``).
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx
import trio
from bench_tasks_echo import echo_through_argus
from common import BenchDaemon, print_table, ratio, sse, summary, wait_idle

BOXED = "boxed"


async def start_up(client: httpx.AsyncClient, project: str, i: int) -> float:
    """Seconds from ``POST /api/tasks`` to the first output byte of the agent."""
    t0 = time.perf_counter()
    body = {"project": project, "prompt": f"{project} run {i}", "backend": "claude"}
    resp = await client.post("/api/tasks", json=body)
    if resp.status_code != 201:
        raise RuntimeError(f"create failed: {resp.status_code} {resp.text}")
    task_id = resp.json()["task"]["id"]
    first = None
    with trio.fail_after(30):
        async for msg in sse(client, f"/api/tasks/{task_id}/stream", params={"since": 0}):
            if msg.event == "output" and msg.output():
                first = msg.at
                break
    await client.post(f"/api/tasks/{task_id}/stop")
    assert first is not None
    return first - t0


async def echo_target(client: httpx.AsyncClient, project: str) -> str:
    resp = await client.post("/api/tasks", json={"project": project, "name": f"echo {project}", "backend": "demo"})
    resp.raise_for_status()
    task_id = resp.json()["task"]["id"]
    await wait_idle(client, task_id)
    return task_id


async def run(args: argparse.Namespace) -> None:
    with BenchDaemon(env={"FAKEAGENT_BUSY": "0.2"}) as daemon:
        async with daemon.client() as client, daemon.client() as stream_client:
            resp = await client.post("/api/projects", json={"name": BOXED, "path": str(daemon.repo),
                                                            "sandbox": {"enabled": True}})
            resp.raise_for_status()
            backend = (await client.get("/api/settings")).json()["sandbox"]
            if not backend["available"]:
                sys.exit(f"the sandbox cannot run here: {backend['reason']}")
            await start_up(client, "bench", -1)  # warm-ups, not counted
            await start_up(client, BOXED, -1)
            plain: list[float] = []
            boxed: list[float] = []
            for i in range(args.runs):
                plain.append(await start_up(client, "bench", i))
                boxed.append(await start_up(client, BOXED, i))
            open_id = await echo_target(client, "bench")
            boxed_id = await echo_target(client, BOXED)
            sandboxed = (await client.get(f"/api/tasks/{boxed_id}/sandbox")).json()["current"]
            assert sandboxed["sandboxed"], sandboxed
            echo_plain = await echo_through_argus(client, stream_client, open_id, args.samples)
            echo_boxed = await echo_through_argus(client, stream_client, boxed_id, args.samples)
    print(f"sandbox backend: {backend['backend']}")
    print_table("task start-up (POST /api/tasks -> first output byte)", {
        "unconfined": plain, "sandboxed": boxed}, cols=("median", "p95", "min", "max"))
    print_table("keystroke echo (POST /input -> echo on the stream)", {
        "unconfined": echo_plain, "sandboxed": echo_boxed})
    a, b = summary(boxed), summary(plain)
    print(f"\nstart-up ratio sandboxed / unconfined: median {ratio(a['median'], b['median'])}, "
          f"p95 {ratio(a['p95'], b['p95'])}; added median {1000 * (a['median'] - b['median']):.0f} ms")
    a, b = summary(echo_boxed), summary(echo_plain)
    print(f"echo ratio sandboxed / unconfined: median {ratio(a['median'], b['median'])}, "
          f"p95 {ratio(a['p95'], b['p95'])}")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200)
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
