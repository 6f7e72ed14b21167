"""``argus kb status|search|reindex``: check and drive the knowledge base of the local daemon.

Talks to the running daemon over its unix socket with the master token (``LocalDaemon``), so it
verifies exactly what agents see. ``--json`` prints the API's answer as it is.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import httpx
from argus.kernel.api import LocalDaemon, argus_home


def _call(method: str, path: str, **kw: Any) -> Any:
    daemon = LocalDaemon(argus_home(create=False))
    if not daemon.answers():
        raise click.ClickException("the daemon is not running (start it with: argus daemon start)")
    with daemon.client(timeout=30) as client:
        try:
            resp = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"the daemon did not answer: {exc}") from None
    try:
        body = resp.json()
    except ValueError:
        body = {"error": resp.text}
    if resp.status_code >= 400:
        raise click.ClickException(str(body.get("error") if isinstance(body, dict) else body))
    return body


def register(cli: click.Group) -> None:
    """Add the ``kb`` command group to ``argus``."""

    @cli.group("kb")
    def kb() -> None:
        """The knowledge base: status, search, re-index."""

    @kb.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
    def status(as_json: bool) -> None:
        """Whether the kb is on, its vault, documents, watcher and files with problems."""
        s = _call("GET", "/api/kb/status")
        if as_json:
            click.echo(json.dumps(s, indent=2))
            return
        click.echo(f"enabled:      {'yes' if s['enabled'] else 'no'}")
        click.echo(f"vault:        {s['vault_path'] or '(not set: kb.vault_path)'}"
                   f"{'' if s['vault_exists'] or not s['vault_path'] else '  (missing)'}")
        click.echo(f"documents:    {s['documents']}  (last indexed {s['last_indexed'] or 'never'})")
        p = s["progress"]
        if s["indexing"]:
            click.echo(f"indexing:     {p['seen']}/{p['total'] or '?'} files")
        click.echo(f"watcher:      {s['watcher']}")
        if s["error"]:
            click.echo(f"error:        {s['error']}")
        for item in s["errors"]:
            click.echo(f"problem:      {item['path']}: {item['error']}")
        if s["error_count"] > len(s["errors"]):
            click.echo(f"              ... and {s['error_count'] - len(s['errors'])} more")

    @kb.command("search")
    @click.argument("query", nargs=-1, required=True)
    @click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
    def search(query: tuple[str, ...], limit: int, as_json: bool) -> None:
        """Search the notes as an agent's kb_search would."""
        out = _call("GET", "/api/kb/search", params={"q": " ".join(query), "limit": limit})
        if as_json:
            click.echo(json.dumps(out, indent=2))
            return
        if not out["results"]:
            click.echo("no note matches", err=True)
            sys.exit(1)
        for r in out["results"]:
            click.echo(f"{r['path']}  ({r['title']})")
            click.echo("    " + " ".join(r["snippet"].split()))

    @kb.command("reindex")
    @click.option("--full", is_flag=True, help="Drop the index and read every note again.")
    def reindex(full: bool) -> None:
        """Scan the vault for changed files now (the watcher normally does this by itself)."""
        _call("POST", "/api/kb/reindex", json={"full": full})
        click.echo("re-index queued: follow it with `argus kb status`")
