"""The inputs of the kb tools and routes, declared once (pydantic): validation and JSON Schema.

The MCP tools take the manual's parameters; the REST routes take the same models from query
strings or JSON bodies, so both surfaces accept and refuse exactly the same things.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_QUERY = 1000
MAX_CONTENT = 5 * 1024 * 1024


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class SearchInput(_Input):
    """``kb_search``: ranked full-text search with snippets."""

    query: str = Field(min_length=1, max_length=MAX_QUERY,
                       description="Words to find (all of them; any of them when no note has all). "
                                   "A trailing * matches a prefix (argu*).")
    limit: int = Field(10, ge=1, le=100, description="How many results (1-100, default 10).")
    path_prefix: str | None = Field(None, max_length=1024,
                                    description="Only notes whose vault-relative path starts with this (e.g. "
                                                "'Projects/').")
    tags: list[str] = Field(default_factory=list, max_length=20,
                            description="Only notes carrying every one of these tags ('#' optional; a parent tag "
                                        "matches its nested tags).")


class ReadInput(_Input):
    """``kb_read``: one note by path or wiki-link name."""

    path: str = Field(min_length=1, max_length=1024,
                      description="Vault-relative path ('Projects/Argus.md') or a wiki-link name ('Argus', "
                                  "'[[Argus#Goals]]', an alias).")


class ListInput(_Input):
    """``kb_list``: notes under a path prefix, one page at a time."""

    prefix: str = Field("", max_length=1024, description="Vault-relative path prefix ('' for the whole vault).")
    limit: int = Field(100, ge=1, le=1000, description="Page size (1-1000, default 100).")
    offset: int = Field(0, ge=0, description="Notes to skip (use next_offset from the previous page).")


class IngestInput(_Input):
    """``kb_ingest``: create or update a note."""

    path: str = Field(min_length=1, max_length=1024,
                      description="Vault-relative path of the note; '.md' is added when there is no extension.")
    content: str = Field(max_length=MAX_CONTENT, description="The note's Markdown.")
    frontmatter: dict[str, Any] | None = Field(
        None, description="YAML frontmatter keys (title, tags, aliases, ...) merged over any header in content.")


class DeleteInput(_Input):
    """``kb_delete``: remove a note."""

    path: str = Field(min_length=1, max_length=1024, description="Vault-relative path of the note.")


class ReindexInput(_Input):
    """``POST /api/kb/reindex``."""

    full: bool = Field(False, description="Drop the index and read every note again (default: changed files only).")


# -- REST inputs -------------------------------------------------------------------------------


class SearchQuery(_Input):
    """``GET /api/kb/search``: ``q`` (or ``query``), ``limit``, ``path_prefix``, ``tags`` (repeated or ``a,b``)."""

    q: str | None = Field(None, min_length=1, max_length=MAX_QUERY, description="Words to find.")
    query: str | None = Field(None, min_length=1, max_length=MAX_QUERY, description="Same as q.")
    limit: int = Field(10, ge=1, le=100)
    path_prefix: str | None = Field(None, max_length=1024)
    tags: list[str] = Field(default_factory=list, max_length=20)


class NoteQuery(_Input):
    """``GET``/``DELETE /api/kb/note?path=``."""

    path: str = Field(min_length=1, max_length=1024, description="Vault-relative path or wiki-link name.")


# -- answers (REST responses; the MCP tools return the same objects) ------------------------------


class SearchResult(BaseModel):
    """One ranked note."""
    model_config = ConfigDict(defer_build=True)

    path: str
    title: str
    tags: list[str]
    snippet: str
    score: float


class SearchReply(BaseModel):
    """``kb_search``."""
    model_config = ConfigDict(defer_build=True)

    query: str
    results: list[SearchResult]
    count: int


class NoteLink(BaseModel):
    """An outgoing wiki-link and the note it resolves to (``path`` is null when none does)."""
    model_config = ConfigDict(defer_build=True)

    target: str
    path: str | None
    heading: str | None
    display: str | None
    embed: bool


class Backlink(BaseModel):
    """A note linking here."""
    model_config = ConfigDict(defer_build=True)

    path: str
    title: str


class NoteReply(BaseModel):
    """``kb_read``."""
    model_config = ConfigDict(defer_build=True)

    path: str
    title: str
    tags: list[str]
    aliases: list[str]
    frontmatter: dict[str, Any]
    frontmatter_error: str | None
    content: str
    truncated: bool
    size: int
    links: list[NoteLink]
    backlinks: list[Backlink]
    indexed: bool


class ListedNote(BaseModel):
    """One note of a listing."""
    model_config = ConfigDict(defer_build=True)

    path: str
    title: str
    tags: list[str]
    size: int
    modified: str
    error: str | None


class ListReply(BaseModel):
    """``kb_list``."""
    model_config = ConfigDict(defer_build=True)

    prefix: str
    documents: list[ListedNote]
    folders: list[str]
    total: int
    offset: int
    limit: int
    next_offset: int | None


class IngestReply(BaseModel):
    """``kb_ingest``."""
    model_config = ConfigDict(defer_build=True)

    path: str
    created: bool
    title: str | None
    tags: list[str]
    size: int
    frontmatter_error: str | None


class DeleteReply(BaseModel):
    """``kb_delete``."""
    model_config = ConfigDict(defer_build=True)

    path: str
    deleted: bool


class ReindexReply(BaseModel):
    """``POST /api/kb/reindex``."""
    model_config = ConfigDict(defer_build=True)

    queued: bool
    full: bool


class Problem(BaseModel):
    """A file that could not be (fully) indexed."""
    model_config = ConfigDict(defer_build=True)

    path: str
    error: str
    at: str


class StatusReply(BaseModel):
    """``GET /api/kb/status``."""
    model_config = ConfigDict(defer_build=True)

    enabled: bool
    vault_path: str | None
    vault_exists: bool
    documents: int
    last_indexed: str | None
    indexing: bool
    progress: dict[str, Any]
    watcher: str
    error: str | None
    errors: list[Problem]
    error_count: int
    index_path: str
