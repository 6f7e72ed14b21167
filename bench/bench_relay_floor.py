"""The floor of Argus's process layout: what bare relay processes (and the required web stack)
add to a keystroke's echo and to output throughput, with none of Argus's work, next to Argus's own
terminal WebSocket, in one run, with the same agent.

    python bench/bench_relay_floor.py [--samples 200] [--rounds 3] [--busy N] [--flood-kbps 100]
    python bench/bench_relay_floor.py --throughput [--mb 20] [--rounds 3]

Argus's layout is client → daemon (hypercorn + quart-trio) → session-supervisor (over a unix
socket; it owns the PTYs) → PTY → agent, and back. The paths measured (helper programs in
``relay_programs.py``):

- raw PTY: this process writes to a PTY it owns and reads it (the baseline);
- one relay: client → unix socket → host (owns the PTY) → PTY and back: the supervisor's hop;
- two relays: client → TCP → bare front → unix socket → host → PTY and back: the layout alone;
- hypercorn raw ASGI: the front is hypercorn serving a WebSocket with a raw ASGI app (binary
  frames relayed to the host), the host the same bare one;
- hypercorn + quart-trio: the front is a quart-trio ``@app.websocket`` route on hypercorn;
- Argus terminal WS: ``GET /api/tasks/{id}/terminal`` on a real daemon (``BenchDaemon``).

The WebSocket paths are measured with a bare client (``wsclient.py``: RFC 6455 framing over a
trio TCP stream, so no client library's work is counted) and with trio-websocket (what Argus's
own clients use). Echo mode: the demo agent at its prompt echoing single keys (as
``bench_tasks_echo.py``), the paths taking turns over ``--rounds`` rounds so that a change in the
machine's load falls on all of them; ``--busy N`` runs N flooding programs on the same host
(drained by the same front) or N flooding tasks in the daemon while that path is measured (the
paths then go one after the other, so that only one path's floods run at a time). Throughput mode: the
blast program of ``bench_tasks_throughput.py`` writes ``--mb`` MB; the clock runs from the input
that starts it to the end marker; rounds alternate between the paths.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import trio
from bench_tasks_echo import FLOOD_CODE, start_floods
from bench_tasks_throughput import END, READY, Tail, blast_argv, cpu_seconds
from common import BenchDaemon, RawPty, agent_env, create_task, free_port, print_table, ratio, summary, wait_idle
from relay_programs import DRAIN, FRONT, FRONT_ASGI, HOST
from trio_websocket import WebSocketConnection, open_websocket_url
from wsclient import BareWebSocket

KEYS = "abcdefghij"  # never part of the line-clear redraw ("\r\x1b[K> ")
CLEAR_EVERY = 40
#: ``--paths`` names of the paths (echo mode).
PATH_KINDS = {"raw PTY": "pty", "one": "one", "two": "two", "raw": "asgi", "quart": "quart", "argus": "argus"}
HOST_NUMBERS = itertools.count(1)  # socket names, unique in a run
DEMO = [sys.executable, "-m", "argus.plugins.tasks.demo_agent"]


class ByteStream(Protocol):
    """What the measurements need of a path: bytes in, bytes out."""

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next bytes from the agent's terminal (b"" at the end)."""

    async def send_all(self, data: bytes) -> None:
        """Input for the agent."""


class Helper:
    """A helper process running one of the relay programs."""

    def __init__(self, code: str, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            self.close()
            raise RuntimeError("a relay helper did not start")

    def close(self) -> None:
        """Stop the process and the agents it owns (its process group)."""
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait()


class TrioWsStream:
    """A trio-websocket connection as a byte stream (binary messages; text messages skipped)."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next binary message."""
        while True:
            message = await self.ws.get_message()
            if isinstance(message, bytes):
                return message

    async def send_all(self, data: bytes) -> None:
        """One binary message."""
        await self.ws.send_message(data)


class RawPtyStream:
    """A PTY this process owns, as a byte stream."""

    def __init__(self, pty: RawPty) -> None:
        self.pty = pty

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """What the PTY has (waits for output)."""
        while True:
            try:
                return os.read(self.pty.proc.fd, 65536)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.pty.proc.fd)
            except OSError:
                return b""

    async def send_all(self, data: bytes) -> None:
        """Write to the PTY."""
        os.write(self.pty.proc.fd, data)


Opener = Callable[[], AbstractAsyncContextManager[ByteStream]]


class Floor:
    """The helper processes of the floor paths (started on demand, stopped by :meth:`close`)."""

    def __init__(self, tmp: Path, repo: Path, argv: list[str], busy: int = 0, flood_kbps: int = 100) -> None:
        self.tmp, self.repo, self.argv, self.busy = tmp, repo, argv, busy
        self.flood = FLOOD_CODE.format(lines=max(1, flood_kbps * 1024 // 50 // 64))  # as bench_tasks_echo's
        self.env = {k: v for k, v in agent_env().items() if not k.startswith(("ARGUS_HOOK", "FAKEAGENT_RECORD"))}
        self.env["FAKEAGENT_BUSY"] = "0.2"
        self.helpers: list[Helper] = []

    def host(self, drained: bool = False) -> str:
        """Start a host owning a new agent (and the busy floods, drained by a DRAIN helper if
        ``drained``, else by the front the caller starts); its socket path."""
        path = str(self.tmp / f"host{next(HOST_NUMBERS)}.sock")
        self.helpers.append(Helper(HOST, path, str(self.repo), json.dumps(self.argv), str(self.busy), self.flood,
                                   env=self.env))
        if self.busy and drained:
            self.helpers.append(Helper(DRAIN, path + ".busy", env=self.env))
        return path

    def start(self, kind: str, trio_websocket: bool = True) -> dict[str, Opener]:
        """Start the helpers of one kind of path ("one", "two", "raw" or "quart"); openers of its
        client connections by row name."""
        if kind == "one":
            path = self.host(drained=True)
            return {"one relay (unix socket)": lambda: unix_stream(path)}
        port = free_port()
        if kind == "two":
            self.helpers.append(Helper(FRONT, str(port), self.host(), str(self.busy), env=self.env))
            return {"two relays (TCP + unix socket)": lambda: tcp_stream(port)}
        label = {"raw": "hypercorn raw ASGI", "quart": "hypercorn + quart-trio"}[kind]
        self.helpers.append(Helper(FRONT_ASGI, str(port), self.host(), str(self.busy), kind, env=self.env))
        openers: dict[str, Opener] = {f"{label}, bare WS client": lambda: bare_ws(port, "/t")}
        if trio_websocket:
            openers[f"{label}, trio-websocket"] = lambda: trio_ws(f"ws://127.0.0.1:{port}/t", [])
        return openers

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[ByteStream]:
        """The agent on a PTY this process owns (with the busy floods on a drained host meanwhile)."""
        if self.busy:
            self.host(drained=True)
        pty = RawPty(self.argv, str(self.repo), self.env)
        try:
            yield RawPtyStream(pty)
        finally:
            pty.close()

    def close(self) -> None:
        """Stop every helper and its agents."""
        for helper in self.helpers:
            helper.close()
        self.helpers.clear()


async def wait_port(port: int) -> None:
    """Wait until something listens on ``port`` (a helper may still be starting)."""
    with trio.fail_after(15):
        while True:
            try:
                probe = await trio.open_tcp_stream("127.0.0.1", port)
                await probe.aclose()
                return
            except OSError:
                await trio.sleep(0.05)


@asynccontextmanager
async def unix_stream(path: str) -> AsyncIterator[ByteStream]:
    """A unix socket connection."""
    async with await trio.open_unix_socket(path) as stream:
        yield stream


@asynccontextmanager
async def tcp_stream(port: int) -> AsyncIterator[ByteStream]:
    """A TCP connection to 127.0.0.1 (TCP_NODELAY, as a WebSocket client's)."""
    with trio.fail_after(15):  # no probe first: the bare front would relay to it (and lose the bytes)
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                break
            except OSError:
                await trio.sleep(0.05)
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    async with stream:
        yield stream


@asynccontextmanager
async def bare_ws(port: int, path: str, headers: dict[str, str] | None = None) -> AsyncIterator[ByteStream]:
    """A bare WebSocket (``wsclient.BareWebSocket``) to ``path`` on ``port``."""
    ws = await BareWebSocket.connect(port, path, headers)
    try:
        yield ws
    finally:
        await ws.aclose()


@asynccontextmanager
async def trio_ws(url: str, headers: list[tuple[bytes, bytes]]) -> AsyncIterator[ByteStream]:
    """A trio-websocket connection (a roomy queue, as Argus's clients use it)."""
    await wait_port(int(url.split(":")[2].split("/")[0]))
    async with open_websocket_url(url, extra_headers=headers, message_queue_size=100_000) as ws:
        yield TrioWsStream(ws)


# ---------------------------------------------------------------------------------------------
# the measurements


async def receive_until(stream: ByteStream, needle: bytes, seen: bytes = b"") -> bytes:
    """Read until ``needle`` is in ``seen`` + what arrives; everything seen so far."""
    with trio.fail_after(30):
        while needle not in seen:
            data = await stream.receive_some(65536)
            if not data:
                raise EOFError("the path closed")
            seen += data
    return seen


async def settle(stream: ByteStream, needle: bytes, quiet: float = 0.3) -> None:
    """Read until ``needle`` has been seen, then until the stream has been quiet for ``quiet`` s
    (a replayed tail and the prompt's redraws are through)."""
    await receive_until(stream, needle)
    while True:
        with trio.move_on_after(quiet) as scope:
            await stream.receive_some(65536)
        if scope.cancelled_caught:
            return


async def echo(stream: ByteStream, samples: int) -> list[float]:
    """Round trips of single keys (typing pace, not a burst); the line is cleared every so often."""
    await stream.send_all(b"\x15")
    await settle(stream, b"> ")
    seen = b""

    async def read_until(needle: bytes) -> float:
        nonlocal seen
        seen = await receive_until(stream, needle, seen)
        return time.perf_counter()

    results: list[float] = []
    for i in range(samples):
        if i and i % CLEAR_EVERY == 0:
            seen = b""
            await stream.send_all(b"\x15")
            await read_until(b"> ")
        await trio.sleep(random.uniform(0.005, 0.02))
        seen = b""
        key = KEYS[i % len(KEYS)].encode()
        t0 = time.perf_counter()
        await stream.send_all(key)
        results.append(await read_until(key) - t0)
    await stream.send_all(b"\x15")
    return results


async def blast(stream: ByteStream) -> tuple[float, int]:
    """Trigger one blast and read until its end marker: (seconds, bytes)."""
    tail = Tail(END)
    t0 = time.perf_counter()
    await stream.send_all(b"go\r")
    with trio.fail_after(600):
        while True:
            data = await stream.receive_some(262144)
            if not data:
                raise EOFError("the path closed")
            if tail.add(data):
                return time.perf_counter() - t0, tail.count


def progress(what: str) -> None:
    """A progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


async def argus_openers(daemon: BenchDaemon, client: Any, backend: str,
                        trio_websocket: bool = True) -> dict[str, Opener]:
    """Create a task on ``backend`` in the daemon; openers of its terminal WebSocket by row name."""
    task = await create_task(client, name="floor target", backend=backend)
    if backend == "demo":
        await wait_idle(client, task["id"])
    path = f"/api/tasks/{task['id']}/terminal"
    openers: dict[str, Opener] = {"Argus terminal WS, bare WS client": lambda: bare_ws(daemon.api_port, path,
                                                                                       daemon.headers)}
    if trio_websocket:
        url = daemon.url.replace("http://", "ws://", 1) + path
        headers = [(k.encode(), v.encode()) for k, v in daemon.headers.items()]
        openers["Argus terminal WS, trio-websocket"] = lambda: trio_ws(url, headers)
    return openers


async def echo_sequential(args: argparse.Namespace, daemon: BenchDaemon, client: Any, tmp: Path,
                          rows: dict[str, list[float]]) -> None:
    """Every path one after the other, each path's helpers (and floods) running only while it is
    measured; Argus last, with its floods started in the daemon (``--busy``)."""
    trio_websocket = not args.no_trio_websocket
    for kind in [k for k in ("raw PTY", "one", "two", "raw", "quart") if PATH_KINDS[k] in args.paths]:
        floor = Floor(tmp, daemon.repo, DEMO, args.busy, args.flood_kbps)
        try:
            if kind == "raw PTY":
                progress(kind)
                async with floor.raw() as stream:
                    rows[kind] = await echo(stream, args.samples)
                continue
            for name, opener in floor.start(kind, trio_websocket).items():
                progress(name)
                async with opener() as stream:
                    rows[name] = await echo(stream, args.samples)
        finally:
            floor.close()
    openers = await argus_openers(daemon, client, "demo", trio_websocket) if "argus" in args.paths else {}
    if args.busy and openers:
        progress(f"starting {args.busy} busy tasks in the daemon")
        await start_floods(client, args.busy, args.flood_kbps)
    for name, opener in openers.items():
        progress(name)
        async with opener() as stream:
            rows[name] = await echo(stream, args.samples)


async def echo_interleaved(args: argparse.Namespace, daemon: BenchDaemon, client: Any, tmp: Path,
                           rows: dict[str, list[float]]) -> None:
    """Every path's helpers started at once (idle agents), then ``--rounds`` rounds in which each
    path types its share of the keys in turn (a new connection per round): a change in the
    machine's load falls on every path alike."""
    trio_websocket = not args.no_trio_websocket
    floor = Floor(tmp, daemon.repo, DEMO)
    try:
        openers: dict[str, Opener] = {}
        for kind in [k for k in ("one", "two", "raw", "quart") if PATH_KINDS[k] in args.paths]:
            openers.update(floor.start(kind, trio_websocket))
        if "argus" in args.paths:
            openers.update(await argus_openers(daemon, client, "demo", trio_websocket))
        per_round = -(-args.samples // args.rounds)
        async with floor.raw() as raw:
            rows["raw PTY"] = []
            rows.update({name: [] for name in openers})
            for round_ in range(args.rounds):
                progress(f"round {round_ + 1} of {args.rounds}")
                rows["raw PTY"] += await echo(raw, per_round)
                for name, opener in openers.items():
                    async with opener() as stream:
                        rows[name] += await echo(stream, per_round)
    finally:
        floor.close()


async def run_echo(args: argparse.Namespace) -> None:
    """Echo mode: without ``--busy`` the paths take turns (:func:`echo_interleaved`), with it they
    are measured one after the other (:func:`echo_sequential`: one path's floods at a time)."""
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="argus-floor-") as tmp, \
            BenchDaemon(env={"FAKEAGENT_BUSY": "0.2"}) as daemon:
        async with daemon.client() as client:
            measure = echo_sequential if args.busy else echo_interleaved
            await measure(args, daemon, client, Path(tmp), rows)
            await client.post("/api/sessions/stop-all")
    load = f"{args.busy} busy" if args.busy else "idle"
    print_table(f"keystroke -> echo round trip, {load} (the same demo agent on every path)", rows)
    base = summary(rows["raw PTY"])
    print(f"\nadded over the raw PTY (same run, {load})")
    for name, samples in rows.items():
        if name != "raw PTY":
            s = summary(samples)
            print(f"  {name:40} median +{1000 * (s['median'] - base['median']):5.2f} ms "
                  f"({ratio(s['median'], base['median'])})   p99 +{1000 * (s['p99'] - base['p99']):5.2f} ms")
    if args.busy:
        print(f"  busy = {args.busy} programs printing ~{args.flood_kbps} KB/s each on the same host, drained by "
              "the same front (floor paths), or tasks in the same daemon (Argus)")


async def run_throughput(args: argparse.Namespace) -> None:
    """Throughput mode: every path started once, rounds alternating between them."""
    size = int(args.mb * 1024 * 1024)
    argv = blast_argv(size)
    rows: dict[str, list[tuple[float, int]]] = {}
    cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="argus-floor-") as tmp, BenchDaemon() as daemon:
        floor = Floor(Path(tmp), daemon.repo, argv)
        try:
            async with daemon.client() as client, AsyncExitStack() as stack:
                streams: dict[str, ByteStream] = {}
                pty = stack.enter_context(closing_pty(RawPty(argv, str(daemon.repo), floor.env)))
                streams["raw PTY"] = RawPtyStream(pty)
                openers: dict[str, Opener] = {}
                relays: dict[str, list[int]] = {"raw PTY": []}  # the relay processes of each path
                for kind in ("one", "two", "raw", "quart"):
                    first = len(floor.helpers)
                    started = floor.start(kind, trio_websocket=False)
                    openers.update(started)
                    relays.update({name: [h.proc.pid for h in floor.helpers[first:]] for name in started})
                command = " ".join(shlex.quote(a) for a in argv)
                (await client.post("/api/backends", json={"name": "blast", "command": command})).raise_for_status()
                started = await argus_openers(daemon, client, "blast", trio_websocket=False)
                openers.update(started)
                supervisor_pid = int((daemon.home / "supervisor.pid").read_text().strip())
                assert daemon.proc is not None
                relays.update({name: [supervisor_pid, daemon.proc.pid] for name in started})
                for name, opener in openers.items():
                    streams[name] = await stack.enter_async_context(opener())
                for name, stream in streams.items():
                    progress(f"waiting for {name}")
                    await settle(stream, READY)
                    rows[name] = []
                cpu.update({name: [0.0, 0.0] for name in streams})  # relay processes, this client
                for round_ in range(args.rounds):
                    for name, stream in streams.items():
                        progress(f"round {round_ + 1}: {name}")
                        before = (sum(cpu_seconds(pid) for pid in relays[name]), time.process_time())
                        rows[name].append(await blast(stream))
                        cpu[name][0] += sum(cpu_seconds(pid) for pid in relays[name]) - before[0]
                        cpu[name][1] += time.process_time() - before[1]
                await client.post("/api/sessions/stop-all")
        finally:
            floor.close()
    print(f"\noutput throughput: {args.mb:g} MB written by the blast program, {args.rounds} rounds (alternating)")
    rates = {name: [n / s / 1e6 for s, n in results] for name, results in rows.items()}
    best = {name: max(r) for name, r in rates.items()}
    middle = {name: statistics.median(r) for name, r in rates.items()}
    print(f"  {'':40} {'best MB/s':>10} {'x raw':>6} {'median':>7} {'x raw':>6}   all rounds")
    for name, r in rates.items():
        print(f"  {name:40} {best[name]:10.1f} {best[name] / best['raw PTY']:6.2f} {middle[name]:7.1f} "
              f"{middle[name] / middle['raw PTY']:6.2f}   " + "  ".join(f"{x:.1f}" for x in r))
    print("\nCPU seconds per 10 MB delivered, all rounds (relays: the host and front processes, or Argus's "
          "supervisor and daemon; client: this process; the agent's own CPU is not counted)")
    for name, results in rows.items():
        per = 10e6 / sum(n for _s, n in results)
        print(f"  {name:40} relays {cpu[name][0] * per:5.2f}   client {cpu[name][1] * per:5.2f}")


class closing_pty:  # noqa: N801 - used like contextlib.closing
    """``with closing_pty(pty):`` closes the raw PTY on exit."""

    def __init__(self, pty: RawPty) -> None:
        self.pty = pty

    def __enter__(self) -> RawPty:
        return self.pty

    def __exit__(self, *exc: object) -> None:
        self.pty.close()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200, help="keys per path (echo mode)")
    parser.add_argument("--busy", type=int, default=0, help="flooding programs beside each path (echo mode)")
    parser.add_argument("--flood-kbps", type=int, default=100, help="output rate of each flooding program")
    parser.add_argument("--no-trio-websocket", action="store_true", help="bare WS client rows only (echo mode)")
    parser.add_argument("--throughput", action="store_true", help="measure output throughput instead of echo")
    parser.add_argument("--mb", type=float, default=20.0, help="megabytes per blast (throughput mode)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="blasts per path (throughput mode); turns the keys are split into (echo mode, idle)")
    parser.add_argument("--paths", default=",".join(PATH_KINDS.values()),
                        help="comma-separated paths to measure (echo mode; default all): "
                             + ", ".join(PATH_KINDS.values()))
    args = parser.parse_args()
    args.paths = set(args.paths.split(","))
    if not args.paths <= set(PATH_KINDS.values()) or "pty" not in args.paths:
        parser.error(f"--paths: some of {', '.join(PATH_KINDS.values())}, always with pty (the baseline)")
    trio.run(run_throughput if args.throughput else run_echo, args)


if __name__ == "__main__":
    main()
