"""The helper processes of ``bench_relay_floor.py``: Argus's process layout with none of Argus in it.

Each is a small trio program run with ``python -c``; it prints ``ready`` once it can be reached.

- ``HOST`` (the session-supervisor's place): owns the agent's PTY and copies bytes between it and
  whoever is connected to its unix socket (one connection at a time, one after another). It
  reads the PTY as the supervisor does: what is ready now, up to 256 KiB, as one chunk (a PTY
  hands out a few KiB per read). With
  ``busy`` > 0 it also runs that many flooding programs on PTYs of their own and copies their
  output, as it comes, to a second socket (``PATH.busy``), as the supervisor sends every session's
  output to the daemon.
- ``FRONT`` (the daemon's place, bare): TCP ↔ the host's unix socket, one client after another.
- ``FRONT_ASGI`` (the daemon's place on the required stack): hypercorn serving a WebSocket route
  ``/t`` that relays binary frames to and from the host, either as a raw ASGI app (``raw``) or a
  quart-trio ``@app.websocket`` route (``quart``). hypercorn is configured as Argus's daemon
  configures it (keep-alive 75 s, WebSocket ping every 20 s, no access log).
- ``DRAIN``: reads the host's busy socket and drops the bytes (the busy output's consumer where no
  front does it).

Every front given ``busy`` drains the host's busy socket itself, so the flood's bytes cost the
front the same reads as the daemon pays for its busy sessions.
"""

from __future__ import annotations

HOST = r"""
import json, os, sys, trio, ptyprocess
path, cwd, argv, busy, flood = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def spawn(cmd):
    proc = ptyprocess.PtyProcess.spawn(cmd, cwd=cwd, dimensions=(40, 120))
    os.set_blocking(proc.fd, False)
    return proc

def burst(fd):
    parts, size = [], 0
    while size < 262144:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            if not parts:
                raise
            break
        except OSError:
            data = b""
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)

async def read_pty(fd):
    while True:
        try:
            return burst(fd)
        except BlockingIOError:
            await trio.lowlevel.wait_readable(fd)

async def listen(where):
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(where)
    sock.listen()
    return sock

async def serve_agent(listener, fd):
    while True:
        sock, _ = await listener.accept()
        async with trio.SocketStream(sock) as conn, trio.open_nursery() as n:
            async def from_pty():
                try:
                    while data := await read_pty(fd):
                        await conn.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # the client left: the next one gets what the agent prints next
            n.start_soon(from_pty)
            try:
                while data := await conn.receive_some(262144):
                    os.write(fd, data)
            except trio.BrokenResourceError:
                pass
            n.cancel_scope.cancel()

async def serve_busy(listener, fds):
    sock, _ = await listener.accept()
    conn = trio.SocketStream(sock)
    lock = trio.Lock()
    async def copy(fd):
        while data := await read_pty(fd):
            async with lock:
                await conn.send_all(data)
    async with trio.open_nursery() as n:
        for fd in fds:
            n.start_soon(copy, fd)

async def main():
    agent = spawn(argv)
    floods = [spawn([sys.executable, "-u", "-c", flood]) for _ in range(busy)]
    listener = await listen(path)
    busy_listener = await listen(path + ".busy") if busy else None
    print("ready", flush=True)
    async with trio.open_nursery() as n:
        n.start_soon(serve_agent, listener, agent.fd)
        if busy_listener is not None:
            n.start_soon(serve_busy, busy_listener, [p.fd for p in floods])

trio.run(main)
"""

FRONT = r"""
import sys, trio
port, path, busy = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

async def pump(src, dst):
    try:
        while data := await src.receive_some(262144):
            await dst.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass

async def drain(where):
    stream = await trio.open_unix_socket(where)
    while await stream.receive_some(262144):
        pass

async def main():
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    async with trio.open_nursery() as n:
        if busy:
            n.start_soon(drain, path + ".busy")
        print("ready", flush=True)
        while True:
            client = await listeners[0].accept()
            upstream = await trio.open_unix_socket(path)
            async with client, upstream, trio.open_nursery() as inner:
                inner.start_soon(pump, upstream, client)
                await pump(client, upstream)
                inner.cancel_scope.cancel()

trio.run(main)
"""

FRONT_ASGI = r"""
import logging, sys, trio
from hypercorn.config import Config
from hypercorn.trio import serve
port, path, busy, mode = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]

async def raw_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    async with await trio.open_unix_socket(path) as up, trio.open_nursery() as n:
        async def down():
            while data := await up.receive_some(262144):
                await send({"type": "websocket.send", "bytes": data})
        n.start_soon(down)
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                break
            await up.send_all(message.get("bytes") or message["text"].encode())
        n.cancel_scope.cancel()

def quart_app():
    from quart import websocket
    from quart_trio import QuartTrio
    app = QuartTrio("floor")

    @app.websocket("/t")
    async def t():
        async with await trio.open_unix_socket(path) as up, trio.open_nursery() as n:
            async def down():
                while data := await up.receive_some(262144):
                    await websocket.send(data)
            n.start_soon(down)
            while True:
                data = await websocket.receive()
                await up.send_all(data if isinstance(data, bytes) else data.encode())
    return app

async def drain(where):
    stream = await trio.open_unix_socket(where)
    while await stream.receive_some(262144):
        pass

async def main():
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("floor")
    config.keep_alive_timeout = 75
    config.websocket_ping_interval = 20.0
    app = raw_app if mode == "raw" else quart_app()
    async with trio.open_nursery() as n:
        if busy:
            n.start_soon(drain, path + ".busy")
        print("ready", flush=True)
        await serve(app, config)

trio.run(main)
"""

DRAIN = r"""
import sys, trio

async def main():
    stream = await trio.open_unix_socket(sys.argv[1])
    print("ready", flush=True)
    while await stream.receive_some(262144):
        pass

trio.run(main)
"""
