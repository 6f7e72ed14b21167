"""The knowledge base's behaviour: settings, indexing runs, the live watcher, and the tool verbs.

One ``KbService`` per daemon. Its background job follows the ``[kb]`` settings: while the kb is
enabled and points at a vault it runs a *generation* (an incremental full scan, then the watcher
until the settings change); changing the settings cancels that generation and starts another.
All writes to the index go through one ``trio.Lock`` and a worker thread, batch by batch, so
searches and reads (inline, on the reader connection) stay fast while a big vault indexes.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
from argus.kernel.api import Conflict, Invalid, Kernel, NotFound, TooLarge

from . import indexer, watcher
from .parse import WIKI_LINK, compose, normalize_tag, parse_note
from .store import Index
from .vault import NOTE_SUFFIXES, Globs, Vault

log = logging.getLogger(__name__)

SECTION = "kb"
BATCH = 200
PROGRESS_EVERY = 0.25  # seconds between kb.index.progress events during a scan
# Test-only: while the file this variable names exists, a full scan holds after each batch (its
# progress published), so a test sees "indexing 200/1000" on screen without racing the scan.
# Never set it outside tests.
TEST_GATE_ENV = "ARGUS_KB_TEST_GATE"
SETTINGS_CHECK = 2.0  # config.toml edits are noticed within this (PUT /api/settings at once)
MAX_READ_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class KbConfig:
    """The effective ``[kb]`` settings."""

    enabled: bool = False
    vault: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> KbConfig:
        """Read a settings section (``vault_path`` wins over the manual's ``metis_vault_path``)."""
        vault = (values.get("vault_path") or values.get("metis_vault_path") or "").strip()
        return cls(bool(values.get("enabled")), os.path.expanduser(vault) if vault else "",
                   tuple(values.get("include") or ()), tuple(values.get("exclude") or ()))


@dataclass
class Progress:
    """A scan's counters, as sent in ``kb.index.progress`` and shown by ``GET /api/kb/status``."""

    seen: int = 0
    total: int | None = None
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: int = 0
    done: bool = True
    started: float = field(default_factory=time.time)
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The event payload."""
        return {"seen": self.seen, "total": self.total, "indexed": self.indexed, "unchanged": self.unchanged,
                "removed": self.removed, "errors": self.errors, "done": self.done,
                "elapsed": round(self.elapsed, 3)}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class KbService:
    """The knowledge base of one daemon."""

    def __init__(self, kernel: Kernel, index_path: Path | None = None) -> None:
        self.kernel = kernel
        self.index_path = index_path or Path(kernel.paths.home) / "kb.sql"
        self.index: Index | None = None
        self.config = KbConfig()
        self.vault: Vault | None = None
        self.lock = trio.Lock()
        self.progress = Progress()
        self.watcher_state = "stopped"
        self.error: str | None = None
        self.on_config: list[Any] = []  # callables(config) run when the effective settings change
        self._changed = trio.Event()
        self._rescan: trio.MemorySendChannel[bool] | None = None
        self._last_progress = 0.0
        self._vault_missing = False

    # -- settings ----------------------------------------------------------------------------

    def read_config(self) -> KbConfig:
        """The effective settings now."""
        return KbConfig.from_settings(self.kernel.settings.section(SECTION))

    def settings_changed(self) -> None:
        """``PUT /api/settings`` touched ``[kb]``: apply it now (called from a synchronous hook)."""
        self._apply(self.read_config())
        self._changed.set()

    def _apply(self, config: KbConfig) -> bool:
        if config == self.config:
            return False
        self.config = config
        for fn in self.on_config:
            fn(config)
        return True

    def open_index(self) -> Index:
        """The index, opened on first use."""
        if self.index is None:
            self.index = Index(self.index_path)
        return self.index

    def close(self) -> None:
        """Close the index file."""
        if self.index is not None:
            self.index.close()
            self.index = None

    # -- the background job ------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the settings for the daemon's lifetime: one generation per effective configuration."""
        try:
            async with trio.open_nursery() as nursery:
                scope: trio.CancelScope | None = None
                running: KbConfig | None = None
                while True:
                    self._apply(self.read_config())
                    config = self.config
                    if config == running and self._vault_missing and os.path.isdir(config.vault):
                        running = None  # the vault folder appeared: index it now
                    if config != running:
                        if scope is not None:
                            scope.cancel()
                            scope = None
                        running = config
                        if config.enabled and config.vault:
                            scope = await nursery.start(self._generation, config)
                        else:
                            self.vault = Vault(config.vault, self._globs(config)) if config.vault else None
                            self.error = None if not config.enabled else "no vault: set kb.vault_path"
                            self.watcher_state = "stopped"
                    with trio.move_on_after(SETTINGS_CHECK):
                        await self._changed.wait()
                    self._changed = trio.Event()
        finally:
            self.watcher_state = "stopped"
            self.close()

    @staticmethod
    def _globs(config: KbConfig) -> Globs:
        return Globs(config.include, config.exclude)

    async def _generation(self, config: KbConfig, *,
                          task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED) -> None:
        """Index ``config.vault`` and keep it indexed until cancelled.

        A failure (an unreadable index file, a full disk) is logged and reported by ``status``;
        it ends this generation only, and changing the settings starts a new one.
        """
        with trio.CancelScope() as scope:
            task_status.started(scope)
            vault = Vault(config.vault, self._globs(config))
            self.vault = vault
            self.error = None
            self._vault_missing = not vault.exists()
            if self._vault_missing:
                self.error = f"vault not found: {vault.root}"
                self.watcher_state = "stopped"
                log.warning("kb: %s", self.error)
                return
            send, receive = trio.open_memory_channel[bool](8)
            try:
                index = self.open_index()
                async with self.lock:
                    if await trio.to_thread.run_sync(index.reset_for, vault.real):
                        log.info("kb: the vault changed; index emptied for %s", vault.real)
                self._rescan = send
                async with trio.open_nursery() as nursery:
                    self.watcher_state = "starting"
                    await nursery.start(self._watch, vault)
                    await self.full_scan(vault)
                    async for full in receive:
                        await self.full_scan(vault, rebuild=full)
            except Exception as exc:
                log.exception("kb: indexing %s failed", vault.root)
                self.error = f"indexing failed: {exc}"
                self.progress.done = True
            finally:
                if self._rescan is send:  # a newer generation may already be running
                    self._rescan = None
                    self.watcher_state = "stopped"

    async def _watch(self, vault: Vault, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the watcher; a watcher failure is reported by ``status`` and leaves indexing running."""
        started = False

        class _Status:
            def started(self, value: Any = None) -> None:
                nonlocal started
                started = True
                task_status.started()

        try:
            self.watcher_state = "starting"
            await watcher.watch(str(vault.root), self._on_changes_for(vault), task_status=_Status(),
                                on_ready=lambda: setattr(self, "watcher_state", "running"))
        except Exception as exc:
            log.warning("kb: the watcher of %s failed: %s", vault.root, exc)
            self.watcher_state = f"error: {exc}"
            if not started:
                task_status.started()

    def _on_changes_for(self, vault: Vault) -> Callable[[set[tuple[int, str]]], Awaitable[None]]:
        async def on_changes(raw: set[tuple[int, str]]) -> None:
            changes = watcher.sort_changes(raw, vault.rel_of, vault.globs.wanted, vault.globs.dir_excluded)
            if not (changes.files or changes.folders or changes.gone):
                return
            index = self.open_index()

            def work() -> indexer.BatchResult:
                result = indexer.sync_paths(index, vault, sorted(changes.files), sorted(changes.folders))
                folders_gone = [p for p in changes.gone if not os.path.exists(vault.root / p)]
                under = [rel for folder in folders_gone for rel in index.paths_under(folder)]
                if under:
                    result.removed += indexer.remove_paths(index, under)
                return result

            try:
                async with self.lock:
                    result = await trio.to_thread.run_sync(work)
            except (OSError, sqlite3.Error) as exc:  # keep watching; the next change or scan retries
                log.warning("kb: could not index changes in %s: %s", vault.root, exc)
                return
            if result.indexed or result.removed:
                self._publish("kb.index.updated", {"indexed": result.indexed, "removed": result.removed,
                                                   "errors": result.errors})
        return on_changes

    async def full_scan(self, vault: Vault, *, rebuild: bool = False) -> Progress:
        """Walk the vault and bring the index up to date (changed files only unless ``rebuild``)."""
        index = self.open_index()
        progress = Progress(done=False)
        self.progress = progress
        self._progress(force=True)
        if rebuild:
            async with self.lock:
                await trio.to_thread.run_sync(_clear, index, vault.real)
        # Oldest first: a first index gives notes ids in the order they were last changed.
        files = await trio.to_thread.run_sync(lambda: sorted(vault.walk(), key=lambda f: f.mtime_ns))
        progress.total = len(files)
        seen = {f.rel for f in files}
        for start in range(0, len(files), BATCH):
            batch = files[start:start + BATCH]
            async with self.lock:
                result = await trio.to_thread.run_sync(indexer.index_files, index, vault, batch)
            progress.seen += len(batch)
            progress.indexed += result.indexed
            progress.unchanged += result.unchanged
            progress.removed += result.removed
            progress.errors += result.errors
            self._progress()
            await self._test_gate()

        def sweep() -> int:
            stale = [p for p in index.stamps() if p not in seen]
            stale += [p for p in _problem_paths(index) if p not in seen and p not in stale]
            return indexer.remove_paths(index, stale)

        async with self.lock:
            progress.removed += await trio.to_thread.run_sync(sweep)
            now = time.time()
            await trio.to_thread.run_sync(index.set_meta, "last_indexed", str(now))
        progress.done = True
        self._progress(force=True)
        log.info("kb: indexed %s (%d files: %d read, %d unchanged, %d removed, %d problems) in %.2fs",
                 vault.root, progress.seen, progress.indexed, progress.unchanged, progress.removed,
                 progress.errors, progress.elapsed)
        return progress

    async def _test_gate(self) -> None:
        """Test-only (``ARGUS_KB_TEST_GATE``): publish the progress and hold while the gate file exists."""
        gate = os.environ.get(TEST_GATE_ENV)
        if not gate or not os.path.exists(gate):
            return
        self._progress(force=True)
        while os.path.exists(gate):
            await trio.sleep(0.05)

    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        self.progress.elapsed = time.time() - self.progress.started
        if force or now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self._publish("kb.index.progress", self.progress.to_json())

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        self.kernel.events.publish(kind, data)

    def request_reindex(self, full: bool = False) -> bool:
        """Queue a scan of the current vault; False when the kb is not indexing anything."""
        if self._rescan is None:
            return False
        try:
            self._rescan.send_nowait(full)
        except trio.WouldBlock:
            pass  # scans are already queued
        return True

    # -- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What ``GET /api/kb/status`` reports."""
        config = self.config
        out: dict[str, Any] = {"enabled": config.enabled, "vault_path": config.vault or None,
                               "vault_exists": bool(config.vault) and os.path.isdir(config.vault),
                               "documents": 0, "last_indexed": None, "indexing": not self.progress.done,
                               "progress": self.progress.to_json(), "watcher": self.watcher_state,
                               "error": self.error, "errors": [], "error_count": 0,
                               "index_path": str(self.index_path)}
        if self.index is None and self.index_path.exists():
            self.open_index()
        if self.index is not None:
            out["documents"] = self.index.count()
            last = self.index.meta("last_indexed")
            out["last_indexed"] = _iso(float(last)) if last else None
            out["errors"], out["error_count"] = self.index.problems()
            for item in out["errors"]:
                item["at"] = _iso(item["at"])
        return out

    # -- the verbs (MCP tools and REST) --------------------------------------------------------

    def unavailable(self) -> str | None:
        """Why the verbs cannot answer now (disabled, no vault, a missing vault folder), or None."""
        if not self.config.enabled:
            return "the knowledge base is disabled (set kb.enabled = true)"
        if self.vault is None or not self.config.vault:
            return "no vault configured (set kb.vault_path)"
        if not self.vault.exists():
            return f"the vault folder does not exist: {self.vault.root}"
        return None

    def _ready(self) -> tuple[Vault, Index]:
        reason = self.unavailable()
        if reason is not None:
            raise Conflict(reason)
        assert self.vault is not None
        return self.vault, self.open_index()

    def search(self, query: str, *, limit: int = 10, path_prefix: str | None = None,
               tags: list[str] | None = None) -> dict[str, Any]:
        """Ranked notes with snippets."""
        _, index = self._ready()
        prefix = clean_prefix(path_prefix or "")
        wanted_tags = [t for t in (normalize_tag(t) for t in tags or []) if t]
        results = index.search(query, limit=limit, path_prefix=prefix or None, tags=wanted_tags)
        return {"query": query, "results": results, "count": len(results)}

    def related(self, text: str, *, limit: int) -> list[dict[str, Any]]:
        """The notes that best match free text (a task's prompt): any of its words, BM25-ranked."""
        _, index = self._ready()
        return index.search(text, limit=limit, path_prefix=None, tags=[], any_term=True)

    async def read(self, name: str) -> dict[str, Any]:
        """One note: Markdown, frontmatter, tags, outgoing links and backlinks."""
        vault, index = self._ready()
        rel = self._find(vault, index, name)
        full = vault.resolve(rel, must_exist=True)

        def load() -> tuple[bytes, bool]:
            with open(full, "rb") as fh:
                data = fh.read(MAX_READ_BYTES + 1)
            return data[:MAX_READ_BYTES], len(data) > MAX_READ_BYTES

        try:
            data, truncated = await trio.to_thread.run_sync(load)
        except FileNotFoundError:
            raise NotFound(f"no note {rel!r} in the vault") from None
        if b"\x00" in data[:8192]:
            raise Invalid(f"{rel!r} is a binary file, not a note")
        text = data.decode("utf-8", errors="replace")
        stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        note = parse_note(text, stem)
        doc = index.doc(rel)
        links = index.outgoing(doc["id"]) if doc else []
        backlinks = index.backlinks(doc) if doc else []
        return {"path": rel, "title": note.title, "tags": note.tags, "aliases": note.aliases,
                "frontmatter": note.frontmatter, "frontmatter_error": note.error, "content": text,
                "truncated": truncated, "size": full.stat().st_size, "links": links, "backlinks": backlinks,
                "indexed": doc is not None}

    def _find(self, vault: Vault, index: Index, name: str) -> str:
        """A path or wiki-link name as the vault path of an existing note."""
        raw = name.strip()
        m = WIKI_LINK.fullmatch(raw)
        if m:
            raw = m.group(1).strip()
        elif "#" in raw and not os.path.exists(vault.root / raw.replace("\\", "/").lstrip("/")):
            raw = raw.split("#", 1)[0].strip()
        rel = vault.clean(raw)
        candidates = [rel] if rel.lower().endswith(NOTE_SUFFIXES) else [rel + ".md", rel]
        for cand in candidates:
            if index.doc(cand) is not None:
                return cand
        target = index.resolve_link(rel)
        if target is not None:
            return target
        for cand in candidates:
            if vault.globs.wanted(cand) and vault.stat(cand) is not None:
                return cand
        raise NotFound(f"no note {name!r} in the vault (by path, file name or alias)")

    def list(self, prefix: str = "", *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Notes under a path prefix (one page) and the sub-folders of that prefix."""
        _, index = self._ready()
        prefix = clean_prefix(prefix)
        rows, total = index.list(prefix, limit=limit, offset=offset)
        if not prefix or prefix.endswith("/"):
            folder = prefix
        elif (self.vault.root / prefix).is_dir() if self.vault else False:
            folder = prefix + "/"
        else:
            folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        folders = [f for f in index.folders(folder) if (f + "/").startswith(prefix)] if not offset else []
        docs = [{"path": r["path"], "title": r["title"], "tags": _json_list(r["tags"]), "size": r["size"],
                 "modified": _iso(r["mtime_ns"] / 1e9), "error": r["error"]} for r in rows]
        next_offset = offset + len(rows) if offset + len(rows) < total else None
        return {"prefix": prefix, "documents": docs, "folders": folders,
                "total": total, "offset": offset, "limit": limit, "next_offset": next_offset}

    async def ingest(self, path: str, content: str, frontmatter: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create or update a note atomically and index it before returning."""
        vault, index = self._ready()
        rel = vault.clean(path)
        if not rel.lower().endswith(NOTE_SUFFIXES):
            rel += ".md"
        if not vault.globs.wanted(rel):
            raise Invalid(f"path: {rel!r} is excluded from the knowledge base (kb.include/kb.exclude)")
        try:
            text = compose(content, frontmatter)
        except ValueError as exc:
            raise Invalid(f"content: {exc}") from None
        data = text.encode("utf-8")
        if len(data) > indexer.MAX_INDEX_BYTES:
            raise TooLarge(f"content: a note is limited to {indexer.MAX_INDEX_BYTES // (1024 * 1024)} MB")
        vault.resolve(rel)  # confinement before any folder is created

        def work() -> bool:
            created = vault.write_atomic(rel, data)
            indexer.sync_paths(index, vault, [rel])
            return created

        if (vault.root / rel).is_dir():
            raise Conflict(f"path: {rel!r} is a folder")
        async with self.lock:
            try:
                created = await trio.to_thread.run_sync(work)
            except OSError as exc:  # a file where a folder should be, a name too long, no space left
                raise Conflict(f"path: cannot write {rel!r}: {exc.strerror or exc}") from None
        doc = index.doc(rel)
        self._publish("kb.note.saved", {"path": rel, "created": created})
        return {"path": rel, "created": created, "title": doc["title"] if doc else None,
                "tags": _json_list(doc["tags"]) if doc else [], "size": len(data),
                "frontmatter_error": doc["error"] if doc else None}

    async def delete(self, path: str) -> dict[str, Any]:
        """Remove a note from the vault and the index."""
        vault, index = self._ready()
        rel = vault.clean(path)
        if not rel.lower().endswith(NOTE_SUFFIXES):
            rel += ".md"
        if not vault.globs.wanted(rel):
            raise Invalid(f"path: {rel!r} is not a note of the knowledge base")
        full = vault.resolve(rel, must_exist=True)

        def work() -> None:
            os.unlink(full)
            indexer.remove_paths(index, [rel])

        async with self.lock:
            try:
                await trio.to_thread.run_sync(work)
            except FileNotFoundError:
                raise NotFound(f"no note {rel!r} in the vault") from None
            except OSError as exc:
                raise Conflict(f"path: cannot delete {rel!r}: {exc.strerror or exc}") from None
        self._publish("kb.note.deleted", {"path": rel})
        return {"path": rel, "deleted": True}


def clean_prefix(prefix: str) -> str:
    """A path prefix from a caller, kept inside the vault (``Invalid`` otherwise); ``""`` is the vault."""
    if not prefix or not prefix.strip() or prefix.strip() in ("/", "."):
        return ""
    trailing = prefix.rstrip().endswith(("/", "\\"))
    rel = Vault.clean(prefix)
    return rel + "/" if trailing else rel


def _json_list(value: str | None) -> list[str]:
    try:
        out = json.loads(value or "[]")
    except ValueError:
        return []
    return out if isinstance(out, list) else []


def _problem_paths(index: Index) -> list[str]:
    return [r[0] for r in index.writer.execute("SELECT path FROM problems").fetchall()]


def _clear(index: Index, vault_real: str) -> None:
    index.writer.execute("DELETE FROM meta WHERE key = 'vault'")
    index.reset_for(vault_real)
