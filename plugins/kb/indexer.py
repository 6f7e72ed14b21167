"""Bringing index rows up to date with files: the blocking part, run in a worker thread.

A file is read only when its mtime or size changed, and re-parsed only when its content hash
changed too. Binary files are reported and left out; very large notes are indexed up to a cap.
Each call runs in one transaction on the index's writer connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .parse import parse_note
from .store import Index
from .vault import FileStat, Vault

MAX_INDEX_BYTES = 4 * 1024 * 1024
BINARY_SNIFF = 8192


@dataclass
class BatchResult:
    """What one batch did."""

    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: int = 0


def digest(data: bytes) -> str:
    """The content hash stored per note."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _stem(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def index_one(index: Index, vault: Vault, fs: FileStat, result: BatchResult) -> None:
    """Bring one file's rows up to date (inside the caller's transaction)."""
    old = index.stamp(fs.rel)
    if old is not None and old[0] == fs.mtime_ns and old[1] == fs.size:
        result.unchanged += 1
        return
    try:
        with open(vault.root / fs.rel, "rb") as fh:
            data = fh.read(MAX_INDEX_BYTES + 1)
    except OSError as exc:
        index.remove([fs.rel])
        index.set_problem(fs.rel, f"unreadable: {exc.strerror or exc}")
        result.errors += 1
        return
    truncated = len(data) > MAX_INDEX_BYTES
    data = data[:MAX_INDEX_BYTES]
    if b"\x00" in data[:BINARY_SNIFF]:
        result.removed += index.remove([fs.rel])
        index.set_problem(fs.rel, "binary file: not indexed")
        result.errors += 1
        return
    hashed = digest(data)
    if old is not None and old[2] == hashed:
        index.touch(fs.rel, fs.mtime_ns, fs.size)
        result.unchanged += 1
        return
    text = data.decode("utf-8", errors="replace")
    note = parse_note(text, _stem(fs.rel))
    problems = [p for p in (note.error,
                            "not valid UTF-8: undecodable bytes replaced" if "\ufffd" in text else None,
                            f"larger than {MAX_INDEX_BYTES // (1024 * 1024)} MB: only the start is indexed"
                            if truncated else None) if p]
    note.error = "; ".join(problems) or None
    index.upsert(fs.rel, note, fs.mtime_ns, fs.size, hashed, note.body)
    result.indexed += 1
    if note.error:
        result.errors += 1


def index_files(index: Index, vault: Vault, files: Iterable[FileStat]) -> BatchResult:
    """Index a batch of files in one transaction."""
    result = BatchResult()
    with _transaction(index):
        for fs in files:
            index_one(index, vault, fs, result)
    return result


def sync_paths(index: Index, vault: Vault, rels: Iterable[str], folders: Iterable[str] = ()) -> BatchResult:
    """Re-check named notes (index the ones present, drop the gone) and every note in ``folders``."""
    result = BatchResult()
    with _transaction(index):
        for rel in rels:
            fs = vault.stat(rel) if vault.globs.wanted(rel) else None
            if fs is None:
                result.removed += index.remove([rel])
            else:
                index_one(index, vault, fs, result)
        for folder in folders:
            present = set()
            for fs in vault.walk(folder):
                present.add(fs.rel)
                index_one(index, vault, fs, result)
            gone = [p for p in index.paths_under(folder) if p not in present]
            result.removed += index.remove(gone)
    return result


def remove_paths(index: Index, rels: Iterable[str]) -> int:
    """Drop notes from the index in one transaction."""
    with _transaction(index):
        return index.remove(rels)


class _transaction:
    def __init__(self, index: Index) -> None:
        self.conn = index.writer

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
