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
    model_config = ConfigDict(extra="forbid")


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
