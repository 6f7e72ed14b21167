"""The index: ``$ARGUS_HOME/kb.sql``, an SQLite FTS5 table plus rows for notes, tags, aliases and links.

The index is derived data: it can always be rebuilt from the vault, so it lives in its own file
beside ``data.sql`` (a full re-index never contends with the daemon's own connection) and an
unknown schema version or a different vault simply starts it afresh.

Two connections: ``writer`` is used only by the indexer (one batch at a time, from a worker
thread, under the service's lock); ``reader`` answers searches and reads inline, with the file
memory-mapped. WAL lets them run side by side.
"""

from __future__ import annotations

import builtins  # Index has a list() method: annotations after it say builtins.list
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .parse import Note, link_key

SCHEMA_VERSION = 1
# bm25 weights per FTS column: title, tags, aliases, headings, body.
WEIGHTS = (10.0, 6.0, 6.0, 3.0, 1.0)
SNIPPET_TOKENS = 16
BIG = 1500  # matches above which title/tags/aliases matches are ranked first (see Index._search)
CAP = 500  # of those, how many of the most recently changed notes are ranked
HIGHLIGHT = ("**", "**")
TOKENIZER = "porter unicode61 remove_diacritics 2"
MMAP_BYTES = 256 * 1024 * 1024  # searches read the index through the OS page cache, not copies of it

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    stem TEXT NOT NULL,
    title TEXT NOT NULL,
    tags TEXT NOT NULL,
    aliases TEXT NOT NULL,
    frontmatter TEXT NOT NULL,
    headings TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    indexed_at REAL NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS docs_key ON docs(key);
CREATE INDEX IF NOT EXISTS docs_stem ON docs(stem);
CREATE TABLE IF NOT EXISTS doc_tags (doc_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (tag, doc_id));
CREATE INDEX IF NOT EXISTS doc_tags_doc ON doc_tags(doc_id);
CREATE TABLE IF NOT EXISTS doc_aliases (doc_id INTEGER NOT NULL, alias TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doc_aliases_alias ON doc_aliases(alias);
CREATE INDEX IF NOT EXISTS doc_aliases_doc ON doc_aliases(doc_id);
CREATE TABLE IF NOT EXISTS links (
    src_id INTEGER NOT NULL, target TEXT NOT NULL, raw TEXT NOT NULL, heading TEXT, display TEXT, embed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS links_src ON links(src_id);
CREATE INDEX IF NOT EXISTS links_target ON links(target);
CREATE INDEX IF NOT EXISTS links_leaf ON links(target COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS problems (path TEXT PRIMARY KEY, error TEXT NOT NULL, at REAL NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    title, tags, aliases, headings, body, tokenize = '{TOKENIZER}'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""

TOKEN = re.compile(r"[\w]+", re.UNICODE)


def fts_terms(text: str) -> list[str]:
    """A user's words as safe FTS5 terms: each word quoted (no syntax errors, no column filters).

    A trailing ``*`` on a word keeps prefix matching (``argu*``). A repeated word (any case) is
    kept once: it would add nothing but work.
    """
    terms: list[str] = []
    for m in re.finditer(r"[\w]+\*?", text):
        word = m.group(0)
        prefix = word.endswith("*")
        word = word.rstrip("*")
        term = f'"{word}"*' if prefix else f'"{word}"'
        if word and term.casefold() not in (t.casefold() for t in terms):
            terms.append(term)
    return terms


def fts_query(text: str, *, any_term: bool = False) -> str | None:
    """A user's words as a safe FTS5 query (see ``fts_terms``), ANDed unless ``any_term``.

    None when the text has no word at all.
    """
    terms = fts_terms(text)
    return (" OR " if any_term else " ").join(terms) if terms else None


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the index file (WAL, usable from the worker thread)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Index:
    """The kb.sql file: schema, writes (indexer) and reads (search, read, list)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: sqlite3.Connection = connect(path)
        if self.writer.execute("PRAGMA user_version").fetchone()[0] not in (0, SCHEMA_VERSION):
            self._drop_all()
        self.writer.executescript(SCHEMA)
        self.reader = _searcher(connect(path))

    @classmethod
    def reader_only(cls, path: Path) -> Index:
        """An index opened for reading only (benchmarks, tools outside the daemon)."""
        self = cls.__new__(cls)
        self.path = path
        self.reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.reader.row_factory = sqlite3.Row
        self.reader = _searcher(self.reader)
        self.writer = self.reader
        return self

    def close(self) -> None:
        """Close both connections."""
        self.reader.close()
        if self.writer is not self.reader:
            self.writer.close()

    def _drop_all(self) -> None:
        for (name,) in self.writer.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'docs_fts_%'").fetchall():
            self.writer.execute(f'DROP TABLE IF EXISTS "{name}"')
        self.writer.execute("PRAGMA user_version = 0")

    # -- meta --------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A stored value (``vault``, ``last_indexed``)."""
        row = self.reader.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a value (writer side)."""
        self.writer.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def reset_for(self, vault: str) -> bool:
        """Empty the index when it was built for another vault; return True when it did."""
        current = self.writer.execute("SELECT value FROM meta WHERE key = 'vault'").fetchone()
        if current is not None and current[0] == vault:
            return False
        self.writer.execute("BEGIN IMMEDIATE")
        try:
            for table in ("docs", "doc_tags", "doc_aliases", "links", "problems", "docs_fts", "meta"):
                self.writer.execute(f"DELETE FROM {table}")
            self.set_meta("vault", vault)
        except BaseException:
            self.writer.execute("ROLLBACK")
            raise
        self.writer.execute("COMMIT")
        return current is not None

    # -- writes (indexer thread) -------------------------------------------------------------

    def stamps(self) -> dict[str, tuple[int, int, str]]:
        """``path -> (mtime_ns, size, hash)`` for every indexed note."""
        return {r[0]: (r[1], r[2], r[3]) for r in
                self.writer.execute("SELECT path, mtime_ns, size, hash FROM docs").fetchall()}

    def stamp(self, rel: str) -> tuple[int, int, str] | None:
        """One note's ``(mtime_ns, size, hash)``."""
        row = self.writer.execute("SELECT mtime_ns, size, hash FROM docs WHERE path = ?", (rel,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def touch(self, rel: str, mtime_ns: int, size: int) -> None:
        """Record a new mtime/size for a note whose content hash did not change."""
        self.writer.execute("UPDATE docs SET mtime_ns = ?, size = ? WHERE path = ?", (mtime_ns, size, rel))

    def upsert(self, rel: str, note: Note, mtime_ns: int, size: int, digest: str, body: str) -> None:
        """Insert or replace one note's rows (call inside a transaction); a changed note gets a new id."""
        row = self.writer.execute("SELECT id FROM docs WHERE path = ?", (rel,)).fetchone()
        key = link_key(rel)
        stem = key.rsplit("/", 1)[-1]
        values = (key, stem, note.title, json.dumps(note.tags), json.dumps(note.aliases),
                  json.dumps(note.frontmatter, ensure_ascii=False), json.dumps(note.headings, ensure_ascii=False),
                  mtime_ns, size, digest, time.time(), note.error)
        if row is not None:
            # A changed note gets a new, highest id: ids order notes by their last change, which
            # searches for words in most notes use (Index._search).
            self._drop_rows(row[0])
            self.writer.execute("DELETE FROM docs WHERE id = ?", (row[0],))
        doc_id = self.writer.execute(
            "INSERT INTO docs (path, key, stem, title, tags, aliases, frontmatter, headings, mtime_ns, size, "
            "hash, indexed_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (rel, *values)).lastrowid
        if note.tags:
            self.writer.executemany("INSERT OR IGNORE INTO doc_tags (doc_id, tag) VALUES (?, ?)",
                                    [(doc_id, t) for t in note.tags])
        if note.aliases:
            self.writer.executemany("INSERT INTO doc_aliases (doc_id, alias) VALUES (?, ?)",
                                    [(doc_id, link_key(a)) for a in note.aliases])
        if note.links:
            self.writer.executemany(
                "INSERT INTO links (src_id, target, raw, heading, display, embed) VALUES (?, ?, ?, ?, ?, ?)",
                [(doc_id, ln.target, ln.raw, ln.heading, ln.display, int(ln.embed)) for ln in note.links])
        self.writer.execute(
            "INSERT INTO docs_fts (rowid, title, tags, aliases, headings, body) VALUES (?, ?, ?, ?, ?, ?)",
            (doc_id, note.title, " ".join(t.replace("/", " ") for t in note.tags), " ".join(note.aliases),
             "\n".join(note.headings), body))
        if note.error:
            self.set_problem(rel, note.error)
        else:
            self.clear_problem(rel)

    def _drop_rows(self, doc_id: int) -> None:
        for table, col in (("doc_tags", "doc_id"), ("doc_aliases", "doc_id"), ("links", "src_id")):
            self.writer.execute(f"DELETE FROM {table} WHERE {col} = ?", (doc_id,))
        self.writer.execute("DELETE FROM docs_fts WHERE rowid = ?", (doc_id,))

    def remove(self, rels: Iterable[str]) -> int:
        """Drop notes from the index (call inside a transaction); return how many were there."""
        n = 0
        for rel in rels:
            row = self.writer.execute("SELECT id FROM docs WHERE path = ?", (rel,)).fetchone()
            self.clear_problem(rel)
            if row is None:
                continue
            self._drop_rows(row[0])
            self.writer.execute("DELETE FROM docs WHERE id = ?", (row[0],))
            n += 1
        return n

    def paths_under(self, folder: str) -> list[str]:
        """Indexed notes inside ``folder`` (writer side, for folder deletes and renames)."""
        return [r[0] for r in self.writer.execute(
            "SELECT path FROM docs WHERE path >= ? AND path < ?", _range(folder.rstrip("/") + "/")).fetchall()]

    def set_problem(self, rel: str, error: str) -> None:
        """Record why a file could not be (fully) indexed."""
        self.writer.execute("INSERT INTO problems (path, error, at) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE "
                            "SET error = excluded.error, at = excluded.at", (rel, error, time.time()))

    def clear_problem(self, rel: str) -> None:
        """Forget a file's problem (it indexed cleanly or is gone)."""
        self.writer.execute("DELETE FROM problems WHERE path = ?", (rel,))

    # -- reads (inline) ----------------------------------------------------------------------

    def count(self) -> int:
        """How many notes are indexed."""
        return int(self.reader.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def problems(self, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """Files with problems (newest first, at most ``limit``) and how many there are."""
        rows = self.reader.execute("SELECT path, error, at FROM problems ORDER BY at DESC, path LIMIT ?",
                                   (limit,)).fetchall()
        total = self.reader.execute("SELECT COUNT(*) FROM problems").fetchone()[0]
        return [dict(r) for r in rows], int(total)

    def search(self, query: str, *, limit: int, path_prefix: str | None, tags: Sequence[str],
               any_term: bool = False) -> list[dict[str, Any]]:
        """Ranked matches: every word must match; when none does (or with ``any_term``), any word may."""
        terms = fts_terms(query)
        if not terms:
            return []
        for any_word in ((True,) if any_term else (False, True)):
            match = (" OR " if any_word else " ").join(terms)
            rows = self._search(match, limit=limit, path_prefix=path_prefix, tags=tags)
            if rows or len(terms) == 1:
                if not rows:
                    return []
                around = self._snippet_match(terms, any_word)
                return [self._result(r, match, around) for r in rows]
        return []

    def _snippet_match(self, terms: list[str], any_word: bool) -> str | None:
        """The query without its words in more than BIG notes, for snippets; None to keep it all.

        Such a word tells notes apart little (BM25 gives it almost no weight) and occurs all over a
        note, where FTS5's snippet() costs time in the square of the occurrences: the window is
        chosen around, and highlights, the query's other words.
        """
        if len(terms) < 2:
            return None
        rare = [t for t in terms if self._matches(t, BIG + 1) <= BIG]
        if not rare or len(rare) == len(terms):
            return None
        return (" OR " if any_word else " ").join(rare)

    def _search(self, match: str, *, limit: int, path_prefix: str | None, tags: Sequence[str]) -> list[sqlite3.Row]:
        """The best rows for ``match``, without snippets; words in more than BIG notes rank fewer notes."""
        rows: list[sqlite3.Row] = []
        if self._matches(match, BIG + 1, path_prefix, tags) > BIG:
            # Words in most notes: BM25 costs a few microseconds per matching note, so ranking
            # thousands of them is the whole cost of a search. Rank the notes that have the words in
            # the title, tags or aliases (with these weights they come first anyway), and of those
            # only the CAP (at least a page) most recently changed: ids grow with every change.
            head = "{title tags aliases} : (" + match + ")"
            cap = max(CAP, limit)
            rows = self._rank(head, limit, path_prefix, tags, self._nth_newest(head, cap, path_prefix, tags))
            if len(rows) < limit:
                # Fewer than a page: rank those few together with the cap most recently changed
                # matches, on the whole text (one BM25, so the scores compare).
                ids = [r["id"] for r in rows]
                rows = self._rank(match, limit, path_prefix, tags, self._nth_newest(match, cap, path_prefix, tags))
                seen = {r["id"] for r in rows}
                for doc_id in ids:
                    if doc_id not in seen:
                        rows.extend(self._rank(match, 1, path_prefix, tags, None, doc_id))
                rows = sorted(rows, key=lambda r: -r["score"])[:limit]
        else:
            rows = self._rank(match, limit, path_prefix, tags)
        return rows

    def _result(self, r: sqlite3.Row, match: str, snippet_match: str | None = None) -> dict[str, Any]:
        """One search result: the row plus a snippet around the match (body first).

        ``snippet_match`` (some of the query's words) chooses and highlights the snippet; the whole
        ``match`` is used when the note has none of them.
        """
        snippet = None
        for expr in ((snippet_match, match) if snippet_match else (match,)):
            # Snippets for the page only (in the select list, SQLite would make one per matching row).
            body = self.reader.execute(f"SELECT snippet(docs_fts, 4, ?, ?, '…', {SNIPPET_TOKENS}) FROM docs_fts "
                                       "WHERE docs_fts MATCH ? AND rowid = ?", (*HIGHLIGHT, expr, r["id"])).fetchone()
            if body is None:  # an OR query: this note has none of the snippet words
                continue
            snippet = body[0] if HIGHLIGHT[0] in (body[0] or "") else None
            if snippet is None:  # the words are in the title, tags or headings only
                best = self.reader.execute(f"SELECT snippet(docs_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}) "
                                           "FROM docs_fts WHERE docs_fts MATCH ? AND rowid = ?",
                                           (*HIGHLIGHT, expr, r["id"])).fetchone()
                snippet = best[0] if best else ""
            break
        return {"path": r["path"], "title": r["title"], "tags": json.loads(r["tags"]),
                "snippet": snippet or "", "score": round(float(r["score"]), 6)}

    def _filters(self, path_prefix: str | None, tags: Sequence[str]) -> tuple[list[str], list[Any]]:
        """SQL conditions on ``docs d`` (and their parameters) for a path prefix and tags."""
        where: list[str] = []
        params: list[Any] = []
        if path_prefix:
            where.append("d.path >= ? AND d.path < ?")
            params.extend(_range(path_prefix))
        for tag in tags:
            where.append("EXISTS (SELECT 1 FROM doc_tags t WHERE t.doc_id = d.id AND (t.tag = ? OR t.tag LIKE ?))")
            params.extend([tag, _like_prefix(tag + "/")])
        return where, params

    def _matches(self, match: str, most: int, path_prefix: str | None = None, tags: Sequence[str] = ()) -> int:
        """How many notes match (filters applied), counting no further than ``most`` (no scoring)."""
        where, params = self._filters(path_prefix, tags)
        if not where:
            return int(self.reader.execute("SELECT COUNT(*) FROM (SELECT 1 FROM docs_fts WHERE docs_fts MATCH ? "
                                           "LIMIT ?)", (match, most)).fetchone()[0])
        return int(self.reader.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM docs_fts JOIN docs d ON d.id = docs_fts.rowid "
            f"WHERE docs_fts MATCH ? AND {' AND '.join(where)} LIMIT ?)", [match, *params, most]).fetchone()[0])

    def _nth_newest(self, match: str, n: int, path_prefix: str | None, tags: Sequence[str]) -> int | None:
        """The id of the ``n``-th newest note matching (filters applied), None when fewer match.

        FTS5 walks matches in id order without scoring them, so this reads at most ``n`` rows.
        """
        where, params = self._filters(path_prefix, tags)
        if not where:
            row = self.reader.execute("SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? ORDER BY rowid DESC "
                                      "LIMIT 1 OFFSET ?", (match, n - 1)).fetchone()
        else:
            row = self.reader.execute(
                f"SELECT docs_fts.rowid FROM docs_fts JOIN docs d ON d.id = docs_fts.rowid WHERE docs_fts MATCH ? "
                f"AND {' AND '.join(where)} ORDER BY docs_fts.rowid DESC LIMIT 1 OFFSET ?",
                [match, *params, n - 1]).fetchone()
        return int(row[0]) if row else None

    def _rank(self, match: str, limit: int, path_prefix: str | None, tags: Sequence[str],
              min_id: int | None = None, only_id: int | None = None) -> list[sqlite3.Row]:
        """The best ``limit`` notes for an FTS5 ``match`` (BM25, weighted columns), filters applied.

        ``min_id`` ranks only the notes with that id or a newer one; ``only_id`` scores one note.
        """
        weights = ", ".join(str(w) for w in WEIGHTS)
        where, params = self._filters(path_prefix, tags)
        ids = ""
        id_params: list[int] = []
        if min_id is not None:
            ids += " AND docs_fts.rowid >= ?"
            id_params.append(min_id)
        if only_id is not None:
            ids += " AND docs_fts.rowid = ?"
            id_params.append(only_id)
        if not where:  # rank on the FTS table alone, join the page only
            return self.reader.execute(
                f"SELECT d.id, d.path, d.title, d.tags, -r.rank AS score FROM (SELECT rowid, bm25(docs_fts, {weights}) "
                f"AS rank FROM docs_fts WHERE docs_fts MATCH ?{ids} ORDER BY rank LIMIT ?) r "
                f"JOIN docs d ON d.id = r.rowid ORDER BY r.rank", (match, *id_params, limit)).fetchall()
        return self.reader.execute(
            f"SELECT d.id, d.path, d.title, d.tags, -bm25(docs_fts, {weights}) AS score "
            f"FROM docs_fts JOIN docs d ON d.id = docs_fts.rowid WHERE docs_fts MATCH ?{ids} AND {' AND '.join(where)} "
            f"ORDER BY bm25(docs_fts, {weights}) LIMIT ?", [match, *id_params, *params, limit]).fetchall()

    def doc(self, rel: str) -> dict[str, Any] | None:
        """One indexed note's row."""
        row = self.reader.execute("SELECT * FROM docs WHERE path = ?", (rel,)).fetchone()
        return dict(row) if row else None

    def resolve_link(self, target: str) -> str | None:
        """The vault path a wiki-link target points at (path, then file name, then alias)."""
        key = link_key(target)
        if not key:
            return None
        row = self.reader.execute("SELECT path FROM docs WHERE key = ? ORDER BY length(path), path LIMIT 1",
                                  (key,)).fetchone()
        if row is None and "/" not in key:
            row = self.reader.execute("SELECT path FROM docs WHERE stem = ? ORDER BY length(path), path LIMIT 1",
                                      (key,)).fetchone()
        if row is None and "/" in key:  # a partial path: ``folder/Note`` for ``a/folder/Note.md``
            row = self.reader.execute(
                "SELECT path FROM docs WHERE key LIKE ? ESCAPE '\\' ORDER BY length(path), path LIMIT 1",
                ("%/" + _like_escape(key),)).fetchone()
        if row is None:
            row = self.reader.execute(
                "SELECT d.path FROM doc_aliases a JOIN docs d ON d.id = a.doc_id WHERE a.alias = ? "
                "ORDER BY length(d.path), d.path LIMIT 1", (key,)).fetchone()
        return row[0] if row else None

    def outgoing(self, doc_id: int) -> list[dict[str, Any]]:
        """A note's wiki-links in order, each with the path it resolves to (or None)."""
        rows = self.reader.execute("SELECT target, raw, heading, display, embed FROM links WHERE src_id = ? "
                                   "ORDER BY rowid", (doc_id,)).fetchall()
        cache: dict[str, str | None] = {}
        out = []
        for r in rows:
            if r["target"] not in cache:
                cache[r["target"]] = self.resolve_link(r["target"])
            out.append({"target": r["raw"], "path": cache[r["target"]], "heading": r["heading"],
                        "display": r["display"], "embed": bool(r["embed"])})
        return out

    def backlinks(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """Notes whose wiki-links resolve to ``doc`` (by path, partial path, file name or alias)."""
        keys = {doc["key"], doc["stem"]}
        keys.update(r[0] for r in self.reader.execute("SELECT alias FROM doc_aliases WHERE doc_id = ?",
                                                      (doc["id"],)).fetchall())
        parts = doc["key"].split("/")
        keys.update("/".join(parts[i:]) for i in range(1, len(parts)))
        marks = ", ".join("?" for _ in keys)
        rows = self.reader.execute(
            f"SELECT DISTINCT l.target, d.path, d.title FROM links l JOIN docs d ON d.id = l.src_id "
            f"WHERE l.target IN ({marks}) AND l.src_id != ? ORDER BY d.path", (*keys, doc["id"])).fetchall()
        seen: set[str] = set()
        out = []
        resolved: dict[str, str | None] = {}
        for r in rows:
            if r["target"] not in resolved:
                resolved[r["target"]] = self.resolve_link(r["target"])
            if resolved[r["target"]] != doc["path"] or r["path"] in seen:
                continue
            seen.add(r["path"])
            out.append({"path": r["path"], "title": r["title"]})
        return out

    def list(self, prefix: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Notes under ``prefix`` in path order, one page, and the total."""
        bounds = _range(prefix)
        total = self.reader.execute("SELECT COUNT(*) FROM docs WHERE path >= ? AND path < ?", bounds).fetchone()[0]
        rows = self.reader.execute(
            "SELECT path, title, tags, size, mtime_ns, error FROM docs WHERE path >= ? AND path < ? "
            "ORDER BY path LIMIT ? OFFSET ?", (*bounds, limit, offset)).fetchall()
        return [dict(r) for r in rows], int(total)

    def folders(self, prefix: str) -> builtins.list[str]:
        """Immediate sub-folders (with notes in them) of folder ``prefix`` (``""`` for the vault root)."""
        base = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        out: set[str] = set()
        for (path,) in self.reader.execute("SELECT path FROM docs WHERE path >= ? AND path < ?", _range(base)):
            rest = path[len(base):]
            if "/" in rest:
                out.add(base + rest.split("/", 1)[0])
        return sorted(out)

    def like_scan(self, words: Sequence[str], limit: int) -> builtins.list[str]:
        """The bench's baseline: a naive ``LIKE '%word%'`` scan over the stored text."""
        where = " AND ".join("body LIKE ?" for _ in words) or "1"
        rows = self.reader.execute(f"SELECT rowid FROM docs_fts WHERE {where} LIMIT ?",
                                   [*(f"%{w}%" for w in words), limit]).fetchall()
        return [str(r[0]) for r in rows]


def _searcher(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Set up the connection searches use: the index memory-mapped."""
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return conn


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(prefix: str) -> str:
    return _like_escape(prefix) + "%"


def _range(prefix: str) -> tuple[str, str]:
    """``(low, high)`` such that ``low <= path < high`` holds exactly for paths starting with ``prefix``."""
    return prefix, prefix + "\U0010ffff"
