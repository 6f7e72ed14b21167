"""Daemon start-up stays light: the MCP SDK, pywebpush, httpx, PyYAML, croniter and watchfiles (and
on a restart cryptography) are not imported before it serves, and no pydantic model is built
(``defer_build``: each is built on first use).

Importing the MCP SDK was most of a bare daemon's start-up (issue 10: bounce time). The kernel now
builds the MCP server after start-up (``LazyApp``), the push plugin imports pywebpush on its first
send, and the registry makes its httpx client on the first external tool callback. A subprocess
runs what ``argus daemon run`` runs before it listens (the CLI module, the kernel with every plugin,
``prepare()``, the session manager) and reports ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import trio
import trio.testing
from argus.kernel.mcp import LazyApp

HEAVY = ("mcp", "mcp_types", "pywebpush", "py_vapid", "aiohttp",
         "httpx", "rich",  # httpx (which imports rich): on the first external tool callback
         "yaml",  # the kb plugin's note front matter: on the first note read
         "croniter", "dateutil",  # the scheduler's cron expressions: on the first one checked
         "watchfiles")  # the kb plugin's vault watcher: when a vault is watched

START_UP = """
import json, sys
import argus.kernel.cli
import argus.kernel.sessions
from argus.kernel.kernel import Kernel
from argus.kernel.paths import Paths

kernel = Kernel(Paths.default())
kernel.prepare()
loaded = sorted({name.split(".")[0] for name in sys.modules})
from pydantic import BaseModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

built = sorted({f"{m.__module__}.{m.__qualname__}" for m in subclasses(BaseModel)
                if m.__module__.startswith("argus.") and m.__dict__.get("__pydantic_complete__")
                and "[" not in m.__qualname__})  # a parametrized RootModel[...] is built when named
print(json.dumps({"loaded": loaded, "plugins": [p["name"] for p in kernel.plugin_list if p["enabled"]],
                  "built": built}))
"""


def test_daemon_start_up_does_not_import_heavy_modules(argus_home: Path) -> None:
    """Nothing before the listeners imports the MCP SDK or the Web Push sender."""
    out = subprocess.run([sys.executable, "-c", START_UP], capture_output=True, text=True, timeout=300,
                         check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"tasks", "push", "hera", "kb"} <= set(report["plugins"])  # the real plugin set was loaded
    assert [m for m in HEAVY if m in report["loaded"]] == []


def test_a_restart_does_not_import_cryptography(argus_home: Path) -> None:
    """The push plugin makes its VAPID key on the first start; a restart (a daemon bounce) reads it
    on first use, so ``cryptography`` is not imported before the daemon serves."""
    for _ in range(2):  # the first start writes the key file
        out = subprocess.run([sys.executable, "-c", START_UP], capture_output=True, text=True, timeout=300,
                             check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert (argus_home / "vapid-private.pem").exists()
    assert [m for m in (*HEAVY, "cryptography") if m in report["loaded"]] == []


def test_daemon_start_up_builds_no_pydantic_model(argus_home: Path) -> None:
    """Every model base sets ``defer_build``: building ~250 validators at start-up cost ~0.1 s of
    CPU, while a restarted daemon's first requests need only a few of them."""
    out = subprocess.run([sys.executable, "-c", START_UP], capture_output=True, text=True, timeout=300,
                         check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["built"] == []


async def _call(app: LazyApp, path: str = "/mcp") -> tuple[int, bytes]:
    """One HTTP request through ``app`` (ASGI, in-process): status and body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "POST", "path": path, "headers": []}, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


async def test_lazy_app_holds_requests_until_built_and_runs_the_lifespan() -> None:
    """A request that arrives first waits; the real app's lifespan runs before it is let through."""
    lifespan: list[str] = []
    answered: list[int] = []
    release = trio.Event()

    async def real(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            lifespan.append("started")
            await send({"type": "lifespan.startup.complete"})
            await trio.sleep_forever()
        assert lifespan == ["started"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"real"})

    async def build() -> Any:
        await release.wait()
        return real

    app = LazyApp()

    async def request() -> None:
        answered.append((await _call(app))[0])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(request)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(app.run, build)
        await trio.testing.wait_all_tasks_blocked()
        assert answered == [] and not app.ready  # held while the app is being built
        release.set()
        while not answered:
            await trio.sleep(0.01)
        assert answered == [200] and app.ready
        assert await _call(app) == (200, b"real")
        nursery.cancel_scope.cancel()


async def test_lazy_app_answers_503_json_when_the_build_fails() -> None:
    """A failed build is logged; requests get a JSON error instead of hanging."""

    async def build() -> Any:
        raise ImportError("no SDK")

    app = LazyApp()
    async with trio.open_nursery() as nursery:
        await nursery.start(app.run, build)
        status, body = await _call(app)
        assert status == 503 and "error" in json.loads(body)
        nursery.cancel_scope.cancel()


async def test_lazy_app_waits_for_its_delay_or_the_first_request() -> None:
    """With a delay, nothing is built until a request arrives; that request then gets the real app."""
    built: list[str] = []

    async def real(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await trio.sleep_forever()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"real"})

    async def build() -> Any:
        built.append("built")
        return real

    app = LazyApp()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(app.run, build, delay=3600))
        await trio.testing.wait_all_tasks_blocked()
        assert built == [] and not app.ready
        assert await _call(app) == (200, b"real")
        assert built == ["built"]
        nursery.cancel_scope.cancel()
