"""Hera delivery: latency from the recipient's idle prompt to the notice typed into its PTY, and
messages lost / announced twice over a daemon crash.

    python bench/bench_hera_delivery.py [--turns 15] [--busy-agents 20] [--messages 1000]

Latency: the recipient (a demo agent) runs a short turn; a hera message is sent while it is busy;
the delay is from the arrival of its fresh prompt on the task's SSE stream to the arrival of the
typed ``[hera d…]`` line on the same stream. Measured with the recipient alone and with N other
agents busy (spinning on ``/sleep``). The baseline is the tasks plugin's inter-task message notice
(``task_message_send``, the same idle gate) in alternate turns of the same run.

Durability: ``--messages`` messages from 20 sender roles to 4 recipient roles (limits: 50/min per
sender, 500 unread per recipient), the daemon killed -9 halfway, the rest sent after the restart.
Every acknowledged message must be in its recipient's inbox exactly once, announced by exactly one
typed line (target: 0 lost, 0 duplicated).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio
from common import BenchDaemon, create_task, print_table, ratio, sse, summary, wait_idle
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

PROMPT_END = b"? for shortcuts\r\n> "
TAG = re.compile(rb"\[hera d(\d+)\]")


@asynccontextmanager
async def mcp_session(daemon: BenchDaemon) -> AsyncIterator[ClientSession]:
    """An official-SDK MCP session with the master token (``/mcp`` requires a token)."""
    async with create_mcp_http_client(headers=daemon.headers) as http, \
            streamable_http_client(f"http://127.0.0.1:{daemon.mcp_port}/mcp", http_client=http) as (r, w), \
            ClientSession(r, w) as session:
        await session.initialize()
        yield session


async def tool(session: ClientSession, name: str, args: dict[str, Any]) -> Any:
    """Call an MCP tool; its JSON result (raises on a tool error)."""
    result = await session.call_tool(name, args)
    text = "".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        raise RuntimeError(f"{name}: {text}")
    return result.structured_content if result.structured_content is not None else json.loads(text)


class Stream:
    """One task's output stream: arrival times of fresh prompts and of notice lines."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.tail = b""
        self.prompts: list[float] = []
        self.notices: list[tuple[float, bytes]] = []
        self.changed = trio.Event()

    async def read(self, client: httpx.AsyncClient) -> None:
        async for msg in sse(client, f"/api/tasks/{self.task_id}/stream"):
            data = msg.output()
            if not data:
                continue
            before = self.tail
            self.tail = (self.tail + data)[-8192:]
            if self.tail.endswith(PROMPT_END):
                self.prompts.append(msg.at)
            for marker in (b"[hera d", b"[argus] note #"):
                if self.tail.count(marker) > before.count(marker) or (marker in data):
                    self.notices.append((msg.at, marker))
            self.changed.set()
            self.changed = trio.Event()

    async def wait(self, predicate: Any, timeout: float = 60.0) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await self.changed.wait()


async def latency(daemon: BenchDaemon, turns: int, busy_agents: int) -> tuple[list[float], list[float]]:
    """(hera, task-message baseline) delays over ``turns`` turns each, with ``busy_agents`` spinning."""
    async with daemon.client() as client, daemon.client() as streams:
        rcpt = await create_task(client, name=f"rcpt-{busy_agents}", backend="demo", prompt="wait")
        peer = await create_task(client, name=f"peer-{busy_agents}", backend="demo", prompt="wait")
        spinners = [await create_task(client, name=f"busy-{busy_agents}-{i}", backend="demo", prompt="wait")
                    for i in range(busy_agents)]
        for t in [rcpt, peer, *spinners]:
            await wait_idle(client, t["id"])
        for t in spinners:
            await client.post(f"/api/tasks/{t['id']}/input", json={"data": "/sleep 3600\r"})
        hera_d: list[float] = []
        base_d: list[float] = []
        async with mcp_session(daemon) as s:
            made = await tool(s, "hera_new_orchestrator", {"cwd": rcpt["worktree_path"]})
            await tool(s, "hera_join", {"cwd": peer["worktree_path"], "role_name": "peer", "kind": "worker",
                                        "orchestrator": made["orchestrator"]["id"]})
            stream = Stream(rcpt["id"])
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stream.read, streams)
                await trio.sleep(0.5)
                for i in range(2 * turns):
                    use_hera = i % 2 == 0
                    prompts, notices = len(stream.prompts), len(stream.notices)
                    await client.post(f"/api/tasks/{rcpt['id']}/input", json={"data": "/sleep 0.4\r"})
                    await trio.sleep(0.1)  # mid-turn: the message must wait
                    if use_hera:
                        await tool(s, "hera_send", {"cwd": peer["worktree_path"], "body": f"turn {i}"})
                    else:
                        await tool(s, "task_message_send", {"cwd": peer["worktree_path"], "to": rcpt["id"],
                                                            "body": f"turn {i}"})
                    marker = b"[hera d" if use_hera else b"[argus] note #"

                    def arrived(p: int = prompts, n: int = notices, k: bytes = marker) -> list[float]:
                        return [at for at, m in stream.notices[n:] if m == k] if len(stream.prompts) > p else []

                    await stream.wait(arrived)
                    delay = arrived()[0] - stream.prompts[prompts]
                    (hera_d if use_hera else base_d).append(delay)
                    await wait_idle(client, rcpt["id"])  # the notice's own turn ended
                    await trio.sleep(0.2)
                nursery.cancel_scope.cancel()
        for t in [rcpt, peer, *spinners]:
            await client.post(f"/api/tasks/{t['id']}/stop")
    return hera_d, base_d


def restart(daemon: BenchDaemon) -> None:
    """kill -9 the daemon and start it again (agents keep running in the supervisor)."""
    assert daemon.proc is not None
    daemon.proc.kill()
    daemon.proc.wait(10)
    try:
        daemon.start()
    except httpx.HTTPStatusError:  # the project is registered already
        pass


async def durability(daemon: BenchDaemon, total: int) -> dict[str, int]:
    """Send ``total`` messages across a daemon crash; count lost and duplicated."""
    async with daemon.client() as client:
        gate = await create_task(client, name="gate", backend="demo", prompt="wait")
        rcpts = [await create_task(client, name=f"r{i}", backend="demo", prompt="wait") for i in range(4)]
        senders = [await create_task(client, name=f"s{i}", backend="demo", prompt="x", depends_on=[gate["id"]])
                   for i in range(20)]
        for t in rcpts:
            await wait_idle(client, t["id"])
    acked: dict[int, str] = {}

    async def send_range(lo: int, hi: int) -> None:
        async with mcp_session(daemon) as s:
            for k in range(lo, hi):
                sender = senders[k % len(senders)]
                out = await tool(s, "hera_send", {"cwd": sender["worktree_path"], "to": f"r{k % 4}",
                                                  "subject": f"m{k}", "body": f"message {k}"})
                acked[out["message"]["id"]] = f"r{k % 4}"

    async with mcp_session(daemon) as s:
        made = await tool(s, "hera_new_orchestrator", {"cwd": gate["worktree_path"], "name": "bench"})
        for i, t in enumerate(rcpts):
            await tool(s, "hera_join", {"cwd": t["worktree_path"], "role_name": f"r{i}", "kind": "worker",
                                        "orchestrator": made["orchestrator"]["id"]})
        for i, t in enumerate(senders):
            await tool(s, "hera_join", {"cwd": t["worktree_path"], "role_name": f"s{i}", "kind": "worker",
                                        "orchestrator": made["orchestrator"]["id"]})
    half = total // 2
    await send_range(0, half)
    restart(daemon)
    await send_range(half, total)
    # every recipient goes idle again and gets its notices; then count
    async with daemon.client() as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pending = 0
            for t in rcpts:
                role = next(r for o in (await client.get("/api/hera")).json()["orchestrators"] for r in o["roles"]
                            if r["task_id"] == t["id"])
                msgs = (await client.get(f"/api/hera/roles/{role['id']}/messages",
                                         params={"limit": 500})).json()["messages"]
                pending += sum(1 for m in msgs if m["delivery"] == "pending" and m["to_role"] == role["id"])
            if not pending:
                break
            await trio.sleep(0.5)
        typed: list[int] = []
        for t in rcpts:
            out = (await client.get(f"/api/tasks/{t['id']}/output", params={"bytes": 4_000_000})).content
            typed += [int(x) for x in TAG.findall(b"\n".join(ln for ln in out.split(b"\n") if b"you said:" in ln))]
        seen: dict[int, int] = {}
        delivered = 0
        for t in rcpts:
            role = next(r for o in (await client.get("/api/hera")).json()["orchestrators"] for r in o["roles"]
                        if r["task_id"] == t["id"])
            msgs = (await client.get(f"/api/hera/roles/{role['id']}/messages", params={"limit": 500})).json()
            for m in msgs["messages"]:
                if m["to_role"] == role["id"]:
                    seen[m["id"]] = seen.get(m["id"], 0) + 1
                    delivered += m["delivery"] == "delivered"
    lost = sum(1 for mid in acked if mid not in seen)
    dup_store = sum(n - 1 for n in seen.values() if n > 1)
    dup_typed = len(typed) - len(set(typed))
    return {"acknowledged": len(acked), "lost": lost, "duplicated": dup_store + dup_typed,
            "announced": delivered, "notice lines": len(set(typed))}


async def run(args: argparse.Namespace) -> None:
    with BenchDaemon(env={"FAKEAGENT_BUSY": "0.1"}) as daemon:
        alone_h, alone_b = await latency(daemon, args.turns, 0)
        busy_h, busy_b = await latency(daemon, args.turns, args.busy_agents)
        counts = await durability(daemon, args.messages) if args.messages else {}
    print_table("recipient's prompt shown -> notice typed (arrival on its SSE stream)", {
        "hera, recipient alone": alone_h, "task message (baseline), alone": alone_b,
        f"hera, {args.busy_agents} busy agents": busy_h, f"task message (baseline), {args.busy_agents} busy": busy_b,
    }, cols=("median", "p95", "min", "max"))
    for label, h, b in (("alone", alone_h, alone_b), (f"{args.busy_agents} busy", busy_h, busy_b)):
        sh, sb = summary(h), summary(b)
        print(f"  ratio hera / baseline ({label}): median {ratio(sh['median'], sb['median'])}, "
              f"p95 {ratio(sh['p95'], sb['p95'])}")
    if counts:
        print(f"\n{args.messages} messages across a daemon kill -9: "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=15, help="turns per method and load")
    parser.add_argument("--busy-agents", type=int, default=20, help="agents kept busy during the loaded run")
    parser.add_argument("--messages", type=int, default=1000, help="messages in the durability run (0: skip)")
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
