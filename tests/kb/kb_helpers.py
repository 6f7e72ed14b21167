"""Helpers for the kb tests: a generated vault, a daemon with the kb enabled, the official MCP client."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from argus_testkit import wait_for
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tasks"))
from orch_helpers import events as all_events  # noqa: E402

HUGE_BYTES = 5 * 1024 * 1024  # above the 4 MB indexing cap

NOTES: dict[str, str] = {
    "Projects/Argus.md": (
        "---\ntitle: Argus\ntags: [project, orchestration]\naliases: [The Orchestrator]\n---\n"
        "# Argus\n\nA terminal-native orchestrator for coding agents.\n\n## Goals\n\n"
        "Run many agents side by side; see [[Meeting 2024-01-05]] and [[Ideas/Zettel#Origins|the origins]].\n"
    ),
    "Meetings/Meeting 2024-01-05.md": (
        "---\ntags: meeting\ndate: 2024-01-05\n---\n# Weekly sync\n\n"
        "We talked about argus, argus again, the argus daemon, argus plugins and argus tests.\n"
        "Decision: ship [[Argus]] with a knowledge base. #decision\n"
    ),
    "Ideas/Zettel.md": "# Zettel\n\n## Origins\n\nNiklas Luhmann's slip box. Links to [[The Orchestrator]].\n",
    "Ideas/Deep/Nested/Leaf.md": "# Leaf\n\nA deeply nested leaf that mentions [[Argus]] and #project/research.\n",
    "Unicode/Café Müller.md": "---\ntitle: Café Müller\ntags: [café]\n---\nCrème brûlée, naïve façade, 東京 タワー.\n",
    "Broken.md": "---\ntitle: [unterminated\ntags: oops\n---\n# Broken header\n\nbrokenbodyword survives.\n",
    "Recipes/Pancakes.md": "# Pancakes\n\nFlour, eggs, milk. Not about software at all.\n",
    ".obsidian/workspace.md": "# Workspace\n\nexcludedword in the app's config\n",
    ".trash/Old.md": "# Old\n\nexcludedword in the trash\n",
    "attachments/Scan.md": "# Scan\n\nexcludedword in attachments\n",
}
INDEXED = {p for p in NOTES if not p.startswith((".obsidian/", ".trash/", "attachments/"))} | {"Big/Huge.md"}


def make_vault(root: Path, outside: Path) -> Path:
    """The generated test vault (plus a folder outside it that symlinks point at)."""
    for rel, text in NOTES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    big = root / "Big" / "Huge.md"
    big.parent.mkdir(parents=True, exist_ok=True)
    filler = ("lorem ipsum dolor sit amet " * 40 + "\n").encode()
    with open(big, "wb") as fh:
        fh.write(b"# Huge\n\nhugeneedle at the start\n")
        while fh.tell() < HUGE_BYTES:
            fh.write(filler)
        fh.write(b"\nhugetail at the very end\n")
    (root / "Binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (root / "attachments" / "image.png").write_bytes(b"\x89PNG\x00\x00")
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.md").write_text("# Secret\n\nsecretword outside the vault\n")
    os.symlink(outside / "secret.md", root / "Escape.md")
    os.symlink(outside, root / "LinkDir")
    return root


def enable(client: httpx.Client, vault: Path, *, documents: int | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """``PUT /api/settings {"kb": ...}`` and wait for the first scan and the watcher."""
    resp = client.put("/api/settings", json={"kb": {"enabled": True, "vault_path": str(vault)}})
    assert resp.status_code == 200, resp.text

    def ready() -> dict[str, Any] | None:
        s = client.get("/api/kb/status").json()
        if s["watcher"] == "running" and s["last_indexed"] and not s["indexing"]:
            if documents is None or s["documents"] == documents:
                return s
        return None

    return wait_for(ready, timeout, what="the kb to index the vault")


@asynccontextmanager
async def mcp_session(daemon: Any) -> AsyncIterator[ClientSession]:
    """An initialized official-SDK MCP client session on ``daemon`` (streamable HTTP, master token)."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {daemon.token}"}) as http:
        async with streamable_http_client(daemon.mcp_url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def _payload(result: Any) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    text = "".join(getattr(c, "text", "") for c in result.content)
    try:
        return json.loads(text)
    except ValueError:
        return text


async def call(session: ClientSession, tool: str, args: dict[str, Any] | None = None) -> Any:
    """Call a tool that must succeed; return its JSON payload."""
    result = await session.call_tool(tool, args or {})
    assert not result.is_error, f"{tool} failed: {_payload(result)}"
    return _payload(result)


async def call_error(session: ClientSession, tool: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; return the error text."""
    result = await session.call_tool(tool, args or {})
    assert result.is_error, f"{tool} unexpectedly succeeded: {_payload(result)!r}"
    return "".join(getattr(c, "text", "") for c in result.content)


def events(client: httpx.Client, kind: str) -> list[dict[str, Any]]:
    """The data of every ``kind`` event the daemon still holds (replayed from ``/api/events/stream``
    up to the newest event, however slowly the daemon replays them)."""
    return [e["data"] for e in all_events(client) if e.get("type") == kind]


GATE_ENV = "ARGUS_KB_TEST_GATE"  # test-only: a full scan holds after each batch while this file exists
PROGRESS_NOTES = 1000  # five batches of the indexer: the gate holds the scan at 200/1000


def many_notes(root: Path, count: int = PROGRESS_NOTES) -> Path:
    """A vault of ``count`` small notes in ten folders."""
    for i in range(count):
        path = root / f"Folder {i % 10}" / f"Note {i:04d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Note {i}\n\nprogressword number {i}.\n", encoding="utf-8")
    return root
