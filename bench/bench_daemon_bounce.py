"""Daemon bounce: with N live fake-agent sessions, kill -9 (or stop) the daemon and start it again;
time until every task answers ``GET /api/tasks/{id}`` and echoes a keystroke on its stream, and
count the bytes each session's stream lost or duplicated across the bounce.

    python bench/bench_daemon_bounce.py [--sessions 50,200] [--bounce kill,stop,standby,handover] [--profile]
                                        [--shared-client]

Bounces: ``kill`` (SIGKILL, then ``argus daemon run`` is launched again), ``stop`` (SIGTERM, wait,
launch again), ``standby`` (SIGKILL with the daemon's warm standby ready: nothing is launched, the
standby takes over; times count from the kill), ``handover`` (what ``argus daemon restart`` does with
a standby ready: the daemon is asked to stop and leave the standby to take over; times count from
the request).

Every session's SSE stream is read from offset 0 for the whole run, as a client would (each task by
its own HTTP client, like one browser tab per task; ``--shared-client``: one pool for all): when the
daemon goes away the reader reconnects with ``since=<its offset>``; a chunk that starts past the
reader's offset is a loss, one that starts before it a duplicate. At the end each reader's bytes
are compared with the session's log (what the supervisor read from the PTY). Right before the
bounce every agent is made busy for a moment (``/sleep``), so output is produced while the daemon
is down. Baseline, same run: the same daemon (same home, same database) started with 0 sessions,
from launch to ``GET /api/status``. ``--profile`` writes the new daemon's cProfile to
``$TMPDIR/argus-bounce-<N>-<mode>.prof`` (read it with ``python -m pstats``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
from common import BenchDaemon, create_task, ms, sse

CREATE_PARALLEL = 6
BUSY_BEFORE_BOUNCE = "/sleep 0.6\r"
TAKEOVER = ("standby", "handover")  # bounces a warm standby answers (nothing is launched)
HANDOVER_SIGNAL = signal.SIGUSR1  # argus.kernel.standby.HANDOVER_SIGNAL: `argus daemon restart`
RECONNECT_PAUSE = 0.5  # a reader's pause between reconnections (200 of them must not load the machine)


@dataclass
class Up:
    """Set when the restarted daemon answers (readers then reconnect at once)."""

    event: trio.Event = field(default_factory=trio.Event)


@dataclass
class Reader:
    """One task's stream as a client keeps it across the bounce."""

    task_id: str
    session_id: str
    data: bytearray = field(default_factory=bytearray)
    lost: int = 0
    duplicated: int = 0
    arrived: trio.Event = field(default_factory=trio.Event)
    up: Up = field(default_factory=lambda: Up())

    def feed(self, offset: int, chunk: bytes) -> None:
        """Place a chunk at its offset, counting gaps and overlaps."""
        end = len(self.data)
        if offset > end:
            self.lost += offset - end
            self.data += b"\0" * (offset - end)
        elif offset < end:
            overlap = min(end - offset, len(chunk))
            self.duplicated += overlap
            chunk = chunk[overlap:]
        self.data += chunk
        self.arrived.set()
        self.arrived = trio.Event()

    async def run(self, client: httpx.AsyncClient) -> None:
        """Read the stream forever, reconnecting from the current offset."""
        while True:
            try:
                params = {"since": len(self.data), "session": self.session_id}
                async for msg in sse(client, f"/api/tasks/{self.task_id}/stream", params):
                    if msg.event == "output":
                        self.feed(int(msg.data["offset"]), msg.output())
            except (httpx.HTTPError, OSError):
                pass
            with trio.move_on_after(RECONNECT_PAUSE):  # or at once when the bench sees the daemon up
                await self.up.event.wait()

    async def echo(self, client: httpx.AsyncClient, key: bytes) -> None:
        """Type ``key`` and wait until it shows on the stream."""
        mark = len(self.data)
        resp = await client.post(f"/api/tasks/{self.task_id}/input", content=key,
                                 headers={"Content-Type": "application/octet-stream"})
        resp.raise_for_status()
        while key not in bytes(self.data[mark:]):
            await self.arrived.wait()


def launch(d: BenchDaemon, profile: Path | None) -> subprocess.Popen[bytes]:
    """Start ``argus daemon run`` on the bench home (no project registration: it exists)."""
    env = dict(d.env)
    if profile is not None:
        argv = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "argus.kernel.cli", "daemon", "run"]
    else:
        argv = [sys.executable, "-m", "argus.kernel.cli", "daemon", "run"]
    log = open(d.home / "daemon.out", "ab")
    try:
        return subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    finally:
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process ``pid`` has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def answers(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Poll ``path`` until the daemon answers 200."""
    while True:
        try:
            resp = await client.get(path)
            if resp.status_code == 200:
                return resp
        except (httpx.HTTPError, OSError):
            pass
        await trio.sleep(0.01)


async def ready(client: httpx.AsyncClient, reader: Reader, key: bytes, t0: float, out: dict[str, float]) -> None:
    """Time until the task answers with its agent running, then until a key echoes."""
    first = True
    while not (await answers(client, f"/api/tasks/{reader.task_id}")).json()["task"]["running"]:
        if first:  # the daemon answered, but said the live agent was not running
            out["not_running"] = 1.0
            first = False
        await trio.sleep(0.01)
    out["answer"] = time.perf_counter() - t0
    await reader.echo(client, key)
    out["echo"] = time.perf_counter() - t0


def bounce(d: BenchDaemon, mode: str) -> None:
    """Kill -9 or stop (SIGTERM, wait) the running daemon."""
    assert d.proc is not None
    if mode in ("kill", "standby"):
        d.proc.kill()
    elif mode == "handover":
        d.proc.send_signal(HANDOVER_SIGNAL)
    else:
        d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(60)


async def one_case(n: int, mode: str, profile: bool, shared: bool = False) -> dict[str, Any]:
    """Bounce a daemon with ``n`` sessions; the measures. Each task has its own client (its stream,
    its requests), as 50 browser tabs would; ``shared``: one client (one connection pool) for all."""
    env = {"FAKEAGENT_BUSY": "0.1", "FAKEAGENT_NO_EDIT": "1"}
    if mode in TAKEOVER:
        env["ARGUS_DAEMON_STANDBY"] = "1"  # default delay: the next standby starts after the burst
    with BenchDaemon(env) as d:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with AsyncExitStack() as clients, d.client(limits=limits) as client:
            tasks: list[dict[str, Any]] = []
            gate = trio.Semaphore(CREATE_PARALLEL)

            async def make(i: int) -> None:
                async with gate:
                    tasks.append(await create_task(client, name=f"s{i}", prompt="", backend="demo"))

            async with trio.open_nursery() as nursery:
                for i in range(n):
                    nursery.start_soon(make, i)
            up = Up()
            readers = [Reader(t["id"], t["session_id"], up=up) for t in tasks]
            # One shared pool costs the bench itself a CPU in the reconnect burst (httpcore walks
            # every connection of the pool for every request: ~O(connections x requests)).
            own = [client if shared else await clients.enter_async_context(d.client()) for _ in readers]
            with trio.fail_after(120 + n):  # every agent at its prompt
                while True:
                    listed = (await client.get("/api/tasks")).json()["tasks"]
                    if all(t["running"] and t["idle"] for t in listed):
                        break
                    await trio.sleep(0.2)
            async with trio.open_nursery() as nursery:
                for r, c in zip(readers, own, strict=True):
                    nursery.start_soon(r.run, c)
                with trio.fail_after(60):
                    while any(b"> " not in r.data for r in readers):
                        await trio.sleep(0.05)
                for r in readers:
                    await client.post(f"/api/tasks/{r.task_id}/input", content=BUSY_BEFORE_BOUNCE.encode(),
                                      headers={"Content-Type": "application/octet-stream"})
                if mode in TAKEOVER:
                    with trio.fail_after(60):  # the standby has imported everything
                        while not (d.home / "standby.pid").exists():
                            await trio.sleep(0.05)
                await trio.sleep(0.2)
                # The standby's CPU so far (its imports) is not the take-over's: subtract it.
                preloaded = cpu_seconds(int((d.home / "standby.pid").read_text())) if mode in TAKEOVER else 0.0
                t_down = time.perf_counter()
                await trio.to_thread.run_sync(bounce, d, mode)
                down = time.perf_counter() - t_down
                prof = Path(tempfile.gettempdir()) / f"argus-bounce-{n}-{mode}.prof" if profile else None
                if mode in TAKEOVER:  # the standby takes over by itself: count from the kill / request
                    t0 = t_down
                    d.proc = None
                else:
                    t0 = time.perf_counter()
                    d.proc = launch(d, prof)
                await answers(client, "/api/status")
                status_at = time.perf_counter() - t0
                pid = d.proc.pid if d.proc is not None else int((d.home / "daemon.pid").read_text())
                cpu_status = cpu_seconds(pid) - preloaded
                bench_status = cpu_seconds(os.getpid())
                up.event.set()
                per: list[dict[str, float]] = [{} for _ in readers]
                with trio.fail_after(120):
                    async with trio.open_nursery() as inner:
                        for r, c, out in zip(readers, own, per, strict=True):
                            inner.start_soon(ready, c, r, b"q", t0, out)
                cpu_echo = cpu_seconds(pid) - preloaded
                bench_burst = cpu_seconds(os.getpid()) - bench_status
                await trio.sleep(1.5)  # the busy phases end; let the streams catch up
                nursery.cancel_scope.cancel()
            lost = dup = mismatched = 0
            for r in readers:
                log = (d.home / "sessions" / f"{r.session_id}.log").read_bytes()
                lost += r.lost + max(0, len(log) - len(r.data))
                dup += r.duplicated
                common = min(len(log), len(r.data))
                mismatched += sum(1 for a, b in zip(log[:common], r.data[:common], strict=True) if a != b)
            attached = re.findall(r"re-attached \d+ session\(s\) in (\d+) ms", (d.home / "daemon.log").read_text())
            reattach = float(attached[-1]) / 1000 if attached else 0.0  # the restart's (the last) line
            if prof is not None and d.proc is not None:
                bounce(d, "stop")  # cProfile writes its file at a clean exit
            return {"n": n, "mode": mode, "down": down, "status": status_at, "reattach": reattach,
                    "cpu_status": cpu_status, "cpu_echo": cpu_echo if readers else cpu_status,
                    "answer": max((p["answer"] for p in per), default=status_at),
                    "echo": max((p["echo"] for p in per), default=status_at),
                    "bench": bench_burst if readers else 0.0,
                    "stale": sum(1 for p in per if p.get("not_running")),
                    "lost": lost, "dup": dup, "mismatched": mismatched}


async def baseline(mode: str) -> dict[str, Any]:
    """The same bounce with no session: launch → ``/api/status``."""
    return await one_case(0, mode, False)


async def main_async(args: argparse.Namespace) -> None:
    counts = [int(x) for x in args.sessions.split(",") if x.strip()]
    modes = [m.strip() for m in args.bounce.split(",") if m.strip()]
    rows = []
    for mode in modes:
        base = await baseline(mode)
        rows.append(base)
        for n in counts:
            rows.append(await one_case(n, mode, args.profile, args.shared_client))
            rows[-1]["base"] = base["status"]
    print(f"\nload average (1, 5, 15 min) at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"\n{'sessions':>8} {'bounce':>6} {'down':>8} {'attach':>8} {'status':>8} {'answer':>8} {'echo':>8} "
          f"{'vs 0':>7} {'cpu st':>8} {'cpu echo':>8} {'bench':>8} {'stale':>5} {'lost B':>7} {'dup B':>6} "
          f"{'diff B':>6}")
    for r in rows:
        vs = f"{r['echo'] / r['base']:.2f}x" if r.get("base") else "base"
        print(f"{r['n']:>8} {r['mode']:>6} {ms(r['down']):>8} {ms(r['reattach']):>8} {ms(r['status']):>8} "
              f"{ms(r['answer']):>8} {ms(r['echo']):>8} {vs:>7} {ms(r['cpu_status']):>8} {ms(r['cpu_echo']):>8} "
              f"{ms(r['bench']):>8} "
              f"{r.get('stale', 0):>5} {r['lost']:>7} {r['dup']:>6} {r['mismatched']:>6}")
    print("\ndown: the kill or stop; attach: the daemon's re-attach of every session (its log line);"
          " status: launch → GET /api/status; answer: launch → every task answers"
          " with its agent running; echo: launch → every task echoed a key; vs 0: echo / the 0-session"
          " daemon's status time (same run); cpu st / cpu echo: CPU time (user + system) the new daemon"
          " process had used when it answered /api/status / when every task had echoed (a figure a loaded"
          " machine moves less than the wall-clock ones); bench: CPU time the bench process (the clients) used from"
          " status to the last echo; stale: tasks whose first answer after the restart said"
          " their (live) agent was not running; standby / handover rows: the warm standby takes over"
          " (nothing is launched), times count from the kill / the hand-over request, CPU from the"
          " take-over (its imports excluded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="50,200", help="comma-separated session counts")
    parser.add_argument("--bounce", default="kill,stop,standby,handover",
                        help="kill (SIGKILL), stop (SIGTERM), standby (SIGKILL, the warm standby takes over),"
                             " handover (the daemon hands over to its standby, as `argus daemon restart`)")
    parser.add_argument("--profile", action="store_true", help="cProfile the restarted daemon")
    parser.add_argument("--shared-client", action="store_true",
                        help="one HTTP client (connection pool) for every task, as before the fifth pass")
    trio.run(main_async, parser.parse_args())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
