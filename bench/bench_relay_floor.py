"""The floor of a relayed keystroke: what one and two bare Python relay processes add to a key's
echo, with none of Argus's work (no HTTP, no WebSocket frames, no framing, no SQLite).

    python bench/bench_relay_floor.py [--samples 300]

The same agent as ``bench_tasks_echo.py`` (the demo agent at its input prompt, echoing each key)
runs on a PTY owned by a "host" process: a trio program that copies bytes from a unix socket to
the PTY and back, as the session-supervisor does. Three paths, one run:

- raw PTY: this process writes the key to a PTY it owns and reads the echo (the baseline);
- one relay: client → unix socket → host → PTY → host → client (the supervisor's hop alone);
- two relays: client → TCP → "front" → unix socket → host → PTY and back (the daemon's and the
  supervisor's hops: Argus's process layout with nothing else in it).

What Argus's terminal WebSocket adds over "two relays" is its own work per key; what "two relays"
adds over the raw PTY is the price of the process layout itself (each hop wakes a process and
a trio loop, and makes a `recv` and a `send`), which no work inside Argus can take away.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio
from common import RawPty, agent_env, free_port, make_repo, print_table, ratio, summary

KEYS = "abcdefghij"
CLEAR_EVERY = 40

HOST = r"""
import os, sys, trio, ptyprocess
path, cwd = sys.argv[1], sys.argv[2]

async def main():
    proc = ptyprocess.PtyProcess.spawn([sys.executable, "-m", "argus.plugins.tasks.demo_agent"], cwd=cwd,
                                       dimensions=(40, 120))
    os.set_blocking(proc.fd, False)
    listener = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await listener.bind(path)
    listener.listen()
    print("ready", flush=True)
    sock, _ = await listener.accept()
    conn = trio.SocketStream(sock)

    async def to_pty():
        while data := await conn.receive_some(65536):
            os.write(proc.fd, data)

    async def from_pty():
        while True:
            try:
                data = os.read(proc.fd, 65536)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(proc.fd)
                continue
            await conn.send_all(data)

    async with trio.open_nursery() as n:
        n.start_soon(to_pty)
        n.start_soon(from_pty)

trio.run(main)
"""

FRONT = r"""
import sys, trio
port, path = int(sys.argv[1]), sys.argv[2]

async def pump(src, dst):
    while data := await src.receive_some(65536):
        await dst.send_all(data)

async def main():
    upstream = await trio.open_unix_socket(path)
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    print("ready", flush=True)
    client = await listeners[0].accept()
    async with trio.open_nursery() as n:
        n.start_soon(pump, client, upstream)
        n.start_soon(pump, upstream, client)

trio.run(main)
"""


class Relay:
    """A helper process running one of the relay programs above."""

    def __init__(self, code: str, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("relay did not start")

    def close(self) -> None:
        """Stop the process and its children."""
        self.proc.kill()
        self.proc.wait()


async def echo_stream(stream: trio.abc.Stream, samples: int) -> list[float]:
    """Round trips of single keys over a byte stream that ends at the agent's PTY."""
    seen = b""

    async def read_until(needle: bytes) -> float:
        nonlocal seen
        with trio.fail_after(30):
            while needle not in seen:
                data = await stream.receive_some(65536)
                if not data:
                    raise EOFError("relay closed")
                seen += data
        return time.perf_counter()

    await read_until(b"> ")
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


async def echo_raw(pty: RawPty, samples: int) -> list[float]:
    """Round trips of single keys written straight to a PTY this process owns."""
    await pty.read_until(b"> ")
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


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="argus-floor-") as tmp:
        repo = make_repo(Path(tmp) / "repo")
        env = {k: v for k, v in agent_env().items() if not k.startswith(("ARGUS_HOOK", "FAKEAGENT_RECORD"))}
        env["FAKEAGENT_BUSY"] = "0.2"
        rows: dict[str, list[float]] = {}
        raw = RawPty([sys.executable, "-m", "argus.plugins.tasks.demo_agent"], str(repo), env)
        try:
            rows["raw PTY"] = await echo_raw(raw, args.samples)
        finally:
            raw.close()
        run_env = dict(os.environ, **env)
        one = Relay(HOST, str(Path(tmp) / "one.sock"), str(repo), env=run_env)
        try:
            stream = await trio.open_unix_socket(str(Path(tmp) / "one.sock"))
            async with stream:
                rows["one relay (unix socket)"] = await echo_stream(stream, args.samples)
        finally:
            one.close()
        host = Relay(HOST, str(Path(tmp) / "two.sock"), str(repo), env=run_env)
        port = free_port()
        front = None
        try:
            front = Relay(FRONT, str(port), str(Path(tmp) / "two.sock"), env=run_env)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            async with stream:
                rows["two relays (TCP + unix socket)"] = await echo_stream(stream, args.samples)
        finally:
            if front is not None:
                front.close()
            host.close()
    print_table("keystroke -> echo round trip: the floor of a relayed path", rows)
    base = summary(rows["raw PTY"])
    print("\nadded over the raw PTY (same agent, same run)")
    for name in ("one relay (unix socket)", "two relays (TCP + unix socket)"):
        s = summary(rows[name])
        print(f"  {name:32} median +{1000 * (s['median'] - base['median']):.2f} ms ({ratio(s['median'], base['median'])})"
              f"   p99 +{1000 * (s['p99'] - base['p99']):.2f} ms")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=300)
    trio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
