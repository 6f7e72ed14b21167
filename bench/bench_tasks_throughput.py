"""Output throughput: an agent writing a large volume → bytes received through Argus per second
(the task's SSE stream, or its terminal WebSocket), versus the same program read from a raw PTY
owned by this process, in the same run.

    python bench/bench_tasks_throughput.py [--mb 50] [--rounds 3] [--encoding all|both|base64|text|ws]

The program waits for a line of input, then writes ``--mb`` megabytes of printable lines as fast
as the terminal takes them, then an end marker, and waits. Through Argus the bytes go
PTY → session-supervisor (ring, scrollback log) → daemon (mirror ring) → SSE or WebSocket → this
client. On SSE the client reads the stream with the project's SSE parser (as the TUI does) and
decodes every ``output`` message: base64 ``data`` (the default stream), or ``text``
(``?encoding=text``: UTF-8 output as a JSON string). On the terminal WebSocket
(``/api/tasks/{id}/terminal``) it is a bare RFC 6455 client (``wsclient.py``) counting the bytes
of binary frames; the input that starts the blast goes as a binary frame there, as a
``POST .../input`` on the SSE paths. The clock runs from that input to the end marker. Rounds
alternate between the paths; the best round of each is compared with the raw PTY's.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from argus.kernel.eventstream import SseParser
from common import BenchDaemon, RawPty, agent_env, create_task
from wsclient import BareWebSocket

END = b"@@END-OF-BLAST@@"
READY = b"@@READY@@"

BLAST_CODE = """\
import os, sys, time
size = int(sys.argv[1])
line = b"".join(b"%05d " % i + b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 + b"\\n" for i in range(1000))
os.write(1, b"@@READY@@\\n")
while True:
    sys.stdin.buffer.readline()
    left = size
    while left > 0:
        piece = line[:left]
        view = memoryview(piece)
        while view:
            view = view[os.write(1, view):]
        left -= len(piece)
    os.write(1, b"@@END-OF-BLAST@@\\n")
"""


def blast_argv(size: int) -> list[str]:
    """The program that writes ``size`` bytes per line of input it reads."""
    return [sys.executable, "-u", "-c", BLAST_CODE, str(size)]


class Tail:
    """Counts bytes and finds a marker that may straddle chunk boundaries."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.count = 0
        self._tail = b""

    def add(self, data: bytes) -> bool:
        """Count ``data``; True once the marker was seen."""
        self.count += len(data)
        window = self._tail + data
        self._tail = window[-len(self.marker):]
        return self.marker in window


async def through_argus(client: httpx.AsyncClient, stream_client: httpx.AsyncClient, task_id: str,
                        encoding: str = "base64") -> tuple[float, int]:
    """Trigger one blast and read the task's SSE stream until the end marker: (seconds, bytes)."""
    started = trio.Event()
    result: list[tuple[float, int]] = []
    t0: list[float] = []
    params = {"encoding": encoding} if encoding != "base64" else {}

    async def reader() -> None:
        tail = Tail(END)
        parser = SseParser()
        async with stream_client.stream("GET", f"/api/tasks/{task_id}/stream", params=params) as resp:
            resp.raise_for_status()
            async for piece in resp.aiter_raw():
                for ev in parser.feed(piece):
                    if ev.event == "session":
                        started.set()
                    elif ev.event == "output" and t0:
                        msg = json.loads(ev.data)
                        text = msg.get("text")
                        data = text.encode() if text is not None else base64.b64decode(msg["data"])
                        if tail.add(data):
                            result.append((time.perf_counter() - t0[0], tail.count))
                            return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await started.wait()
        await trio.sleep(0.3)  # the stream's initial tail is through
        t0.append(time.perf_counter())
        resp = await client.post(f"/api/tasks/{task_id}/input", content=b"go\r",
                                 headers={"Content-Type": "application/octet-stream"})
        resp.raise_for_status()
        with trio.fail_after(600):
            while not result:
                await trio.sleep(0.01)
    return result[0]


async def through_websocket(daemon: BenchDaemon, task_id: str) -> tuple[float, int]:
    """Trigger one blast over the task's terminal WebSocket (a bare RFC 6455 client: binary frames,
    no client library's work) and read its binary frames until the end marker: (seconds, bytes)."""
    ws = await BareWebSocket.connect(daemon.api_port, f"/api/tasks/{task_id}/terminal", daemon.headers)
    try:
        with trio.fail_after(30):  # the session frame, then the replayed tail until it is quiet
            while not ws.texts:
                await ws.receive_some()
        while True:
            with trio.move_on_after(0.3) as quiet:
                await ws.receive_some()
            if quiet.cancelled_caught:
                break
        tail = Tail(END)
        t0 = time.perf_counter()
        await ws.send_all(b"go\r")
        with trio.fail_after(600):
            while True:
                data = await ws.receive_some()
                if not data:
                    raise EOFError("the terminal WebSocket closed")
                if tail.add(data):
                    return time.perf_counter() - t0, tail.count
    finally:
        await ws.aclose()


async def through_raw(pty: RawPty) -> tuple[float, int]:
    """Trigger one blast on the raw PTY and read it until the end marker: (seconds, bytes)."""
    tail = Tail(END)
    fd = pty.proc.fd
    t0 = time.perf_counter()
    pty.write(b"go\r")
    with trio.fail_after(600):
        while True:
            try:
                data = os.read(fd, 65536)  # what RawPty.read does, without keeping every byte
            except BlockingIOError:
                await trio.lowlevel.wait_readable(fd)
                continue
            if not data:
                raise EOFError("the blast program exited")
            if tail.add(data):
                return time.perf_counter() - t0, tail.count


#: Row names of the paths through Argus (``--encoding`` values).
PATH_NAMES = {"base64": "SSE base64", "text": "SSE text", "ws": "WebSocket"}

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds ``pid`` has used so far (0 if it is gone or unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds each process of a path used during the rounds measured with :meth:`measure`."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.used = {name: 0.0 for name in pids}

    async def measure(self, coro: Any) -> Any:
        """Await ``coro``, adding each process's CPU time meanwhile (``client``: this process)."""
        before = {name: self._now(name) for name in self.pids}
        result = await coro
        for name in self.pids:
            self.used[name] += self._now(name) - before[name]
        return result

    def _now(self, name: str) -> float:
        return time.process_time() if name == "client" else cpu_seconds(self.pids[name])


async def run(args: argparse.Namespace) -> None:
    size = int(args.mb * 1024 * 1024)
    argv = blast_argv(size)
    with BenchDaemon(profile=args.profile) as daemon:
        async with daemon.client() as client, daemon.client() as stream_client:
            command = " ".join(shlex.quote(a) for a in argv)
            (await client.post("/api/backends", json={"name": "blast", "command": command})).raise_for_status()
            task = await create_task(client, name="blast", backend="blast")
            with trio.fail_after(60):
                while READY not in (await client.get(f"/api/tasks/{task['id']}/output",
                                                     params={"bytes": 4096})).content:
                    await trio.sleep(0.05)
            raw = RawPty(argv, str(daemon.repo), agent_env())
            try:
                await raw.read_until(READY)
                encodings = {"all": ["base64", "text", "ws"], "both": ["base64", "text"]}.get(args.encoding,
                                                                                             [args.encoding])
                rows: dict[str, list[tuple[float, int]]] = {"raw PTY": []}
                rows.update({PATH_NAMES[e]: [] for e in encodings})
                agent_pid = (await client.get(f"/api/tasks/{task['id']}")).json()["task"]["pid"]
                supervisor_pid = int((daemon.home / "supervisor.pid").read_text().strip())
                meters = {"raw PTY": CpuMeter({"agent": raw.proc.pid, "client": None})}
                meters.update({name: CpuMeter({"agent": agent_pid, "supervisor": supervisor_pid,
                                               "daemon": daemon.proc.pid if daemon.proc else None,
                                               "client": None}) for name in rows if name != "raw PTY"})
                raw.buffer = b""
                for _ in range(args.rounds):
                    rows["raw PTY"].append(await meters["raw PTY"].measure(through_raw(raw)))
                    for encoding in encodings:
                        name = PATH_NAMES[encoding]
                        path = (through_websocket(daemon, task["id"]) if encoding == "ws"
                                else through_argus(client, stream_client, task["id"], encoding))
                        rows[name].append(await meters[name].measure(path))
            finally:
                raw.close()
                await client.post("/api/sessions/stop-all")
    print(f"\noutput throughput: {args.mb:g} MB written by the agent, {args.rounds} rounds each (alternating)")
    best: dict[str, float] = {}
    for name, results in rows.items():
        rates = [n / s / 1e6 for s, n in results]
        best[name] = max(rates)
        print(f"  {name:11} best {max(rates):8.1f} MB/s   all " + "  ".join(f"{r:.1f}" for r in rates)
              + f"   ({results[0][1]} bytes on the terminal per round)")
    print("\nCPU seconds per 10 MB delivered (all rounds; client: this process, reading and decoding)")
    for name, results in rows.items():
        per = 10e6 / sum(n for _s, n in results)
        used = meters[name].used
        print(f"  {name:11} total {sum(used.values()) * per:5.2f}   "
              + "  ".join(f"{proc} {sec * per:.2f}" for proc, sec in used.items()))
    print()
    for name in rows:
        if name != "raw PTY":
            print(f"ratio Argus {name} / raw PTY (best rounds): {best[name] / best['raw PTY']:.2f}x")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="megabytes the agent writes per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--encoding", choices=("all", "both", "base64", "text", "ws"), default="all",
                        help="the path(s) to measure: SSE base64, SSE text, the terminal WebSocket's binary frames "
                             "(ws); both = the two SSE encodings; each round runs every one")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="run the daemon under cProfile and write its stats to FILE")
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
