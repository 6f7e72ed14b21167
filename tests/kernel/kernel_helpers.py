"""Helpers shared by the kernel tests: the CLI as a subprocess, scope tokens, SSE parsing, and an
in-process kernel (no sessions, built-in plugins disabled) for unit-level tests on real sockets.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio
from argus.kernel.eventstream import SseEvent, parse_lines
from argus_testkit import wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for an ``argus`` subprocess bound to ``home``."""
    env = {**os.environ, "ARGUS_HOME": str(home), **extra}
    for var in ("ARGUS_TOKEN", "ARGUS_API_PORT"):
        if var not in extra:
            env.pop(var, None)
    return env


def argus(home: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``argus ARGS`` (``python -m argus.kernel.cli``) with ``ARGUS_HOME=home``."""
    return subprocess.run([sys.executable, "-m", "argus.kernel.cli", *args], env=env or cli_env(home),
                          capture_output=True, text=True, timeout=timeout)


def mint_scope(home: Path, client: httpx.Client, scope: str) -> dict[str, str]:
    """Mint a scope token with the CLI; return ``{"token", "id", "scope"}`` (id from GET /api/tokens)."""
    out = argus(home, "token", "mint", "--scope", scope)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith(f"scope:{scope}:"), token
    rows = client.get("/api/tokens").json()["tokens"]
    row = next(r for r in rows if r["scope"] == scope and r["last4"] == token[-4:] and not r["revoked_at"])
    return {"token": token, "id": row["id"], "scope": scope}


def mint_device(client: httpx.Client, label: str = "phone") -> dict[str, str]:
    """Mint a device token over HTTP with the master token."""
    resp = client.post("/api/tokens", json={"label": label})
    assert resp.status_code == 201, resp.text
    return resp.json()


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


SSEMessage = SseEvent


def parse_sse(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Parse SSE lines (without newlines) into events with the kernel's one parser; a comment-only
    block is an event with ``event == ""`` so keepalives are observable."""
    return parse_lines(lines, comments=True)


def builtin_plugin_names() -> list[str]:
    """Every plugin name in the ``argus`` entry-point group."""
    return sorted({ep.name for ep in md.entry_points(group="argus")})


def write_config(home: Path, text: str) -> None:
    """Replace config.toml (a new size or mtime is what triggers the live re-read)."""
    (home / "config.toml").write_text(text)


@dataclass
class LiveKernel:
    """What ``serve_kernel`` yields: the kernel and the URLs of its REST app and MCP server."""

    kernel: Any
    url: str
    mcp_url: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.kernel.tokens.master)


@asynccontextmanager
async def serve_kernel(home: Path) -> AsyncIterator[LiveKernel]:
    """An in-process kernel (built-in plugins disabled, no sessions) whose REST app and MCP server
    are served by hypercorn on ephemeral 127.0.0.1 ports."""
    from argus.kernel.kernel import Kernel
    from argus.kernel.listeners import serve_app
    from argus.kernel.mcp import build_mcp_app
    from argus.kernel.paths import Paths

    disabled = ", ".join(f'"{n}"' for n in builtin_plugin_names())
    write_config(home, f"[plugins]\ndisabled = [{disabled}]\n")
    kernel = Kernel(Paths(home))
    kernel.prepare()
    kernel.registry.http = httpx.AsyncClient()
    try:
        async with trio.open_nursery() as nursery:
            api = await nursery.start(serve_app, kernel.http.app, ["127.0.0.1:0"])
            mcp = await nursery.start(serve_app, build_mcp_app(kernel), ["127.0.0.1:0"])
            try:
                yield LiveKernel(kernel, _url(api), _url(mcp) + "/mcp")
            finally:
                nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await kernel.registry.http.aclose()
        kernel.db.close()


def _url(binds: list[str]) -> str:
    return "http://127.0.0.1:" + binds[0].rsplit(":", 1)[1]


@asynccontextmanager
async def mcp_session(url: str, token: str | None = None) -> AsyncIterator[Any]:
    """An initialized official-SDK ``ClientSession`` over streamable HTTP, sending ``token`` (by
    default the master token of ``$ARGUS_HOME``: ``/mcp`` requires one)."""
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    token = token or (Path(os.environ["ARGUS_HOME"]) / "api-token").read_text().strip()
    async with create_mcp_http_client(headers=bearer(token)) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                session.init_result = await session.initialize()
                yield session


@contextmanager
def external_process(argv: list[str], env: dict[str, str], out: Path, ready: str,
                     timeout: float = 20.0) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run an external plugin process; wait for a stdout line starting with ``ready`` and yield
    ``(proc, rest_of_that_line)``. The process is killed afterwards, whatever happens."""
    with open(out, "wb") as fh:
        proc = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def line() -> str | None:
            if proc.poll() is not None:
                raise AssertionError(f"{argv} exited with {proc.returncode}: {out.read_text()}")
            for text in out.read_text().splitlines():
                if text.startswith(ready + " "):
                    return text[len(ready) + 1:]
            return None

        yield proc, wait_for(line, timeout, what=f"{ready!r} from {argv}")
    finally:
        proc.kill()
        proc.wait(10)
