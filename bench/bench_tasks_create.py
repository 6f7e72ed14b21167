"""Task start-up: ``POST /api/tasks`` → the agent's first output byte on the task's SSE stream,
versus doing the same by hand: ``git worktree add -b`` + spawning the agent on a PTY directly.

    python bench/bench_tasks_create.py [--runs 10]

Both sides start the same fake ``claude`` CLI with a prompt in a fresh worktree of the same
repository; runs alternate between the two so that drift affects both alike. Argus's side also
covers the transaction (row, worktree, ``.worktreeinclude``, generated MCP/hook settings), the
session-supervisor round trip, and the HTTP/SSE hops to the client.
"""

from __future__ import annotations

import argparse
import time
import uuid

import trio
from common import BenchDaemon, RawPty, agent_env, git, print_table, ratio, sse, summary


async def through_argus(daemon: BenchDaemon, i: int) -> tuple[float, float]:
    """(POST latency, time to the first output byte on the stream)."""
    async with daemon.client() as client:
        t0 = time.perf_counter()
        resp = await client.post("/api/tasks", json={"project": "bench", "prompt": f"argus run {i}",
                                                     "backend": "claude"})
        created = time.perf_counter()
        resp.raise_for_status()
        task_id = resp.json()["task"]["id"]
        first = None
        with trio.fail_after(30):
            async for msg in sse(client, f"/api/tasks/{task_id}/stream", params={"since": 0}):
                if msg.event == "output" and msg.output():
                    first = msg.at
                    break
        await client.post(f"/api/tasks/{task_id}/stop")
    assert first is not None
    return created - t0, first - t0


async def by_hand(daemon: BenchDaemon, i: int) -> tuple[float, float]:
    """(git worktree add, time to the first output byte read from the PTY)."""
    path = daemon.tmp / "manual" / f"run-{i}"
    t0 = time.perf_counter()
    await trio.to_thread.run_sync(git, daemon.repo, "worktree", "add", "-q", "-b", f"manual/run-{i}", str(path),
                                  "main")
    added = time.perf_counter()
    pty = RawPty(["claude", "--session-id", str(uuid.uuid4()), f"manual run {i}"], str(path), agent_env())
    try:
        with trio.fail_after(30):
            while not await pty.read():
                pass
        first = time.perf_counter()
    finally:
        pty.close()
    return added - t0, first - t0


async def run(args: argparse.Namespace) -> None:
    argus_post: list[float] = []
    argus_first: list[float] = []
    manual_git: list[float] = []
    manual_first: list[float] = []
    with BenchDaemon(env={"FAKEAGENT_BUSY": "0.2"}) as daemon:
        await through_argus(daemon, -1)  # warm-up (imports, first worktree), not counted
        await by_hand(daemon, -1)
        for i in range(args.runs):
            post, first = await through_argus(daemon, i)
            argus_post.append(post)
            argus_first.append(first)
            added, first = await by_hand(daemon, i)
            manual_git.append(added)
            manual_first.append(first)
    print_table("task start-up", {
        "Argus: POST /api/tasks answered": argus_post,
        "Argus: first output byte": argus_first,
        "by hand: git worktree add": manual_git,
        "by hand: first output byte": manual_first,
    }, cols=("median", "p95", "min", "max"))
    a, b = summary(argus_first), summary(manual_first)
    print(f"\nratio Argus / by hand (first byte): median {ratio(a['median'], b['median'])}, "
          f"p95 {ratio(a['p95'], b['p95'])}; added median {1000 * (a['median'] - b['median']):.0f} ms")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
