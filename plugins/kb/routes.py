"""REST mirrors of the kb tools, plus status and re-index (``/api/kb/*``, master or device token).

Declared with the models of ``models.py``: the kernel validates query strings and bodies (400
``{"error": "<field>: <reason>"}``) and documents the routes in ``/api/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Conflict, Invalid, Route

from .models import (
    DeleteReply,
    IngestInput,
    IngestReply,
    ListInput,
    ListReply,
    NoteQuery,
    NoteReply,
    ReindexInput,
    ReindexReply,
    SearchQuery,
    SearchReply,
    StatusReply,
)
from .service import KbService


def routes(kb: KbService) -> list[Route]:
    """The ``/api/kb`` routes."""

    async def status() -> dict[str, Any]:
        """The index: documents, last indexed, indexing progress, watcher state, files with problems."""
        return kb.status()

    async def search(query: SearchQuery) -> dict[str, Any]:
        """Ranked full-text search with snippets (``kb_search``)."""
        if query.q and query.query:
            raise Invalid("q: give q or query, not both")
        text = query.q or query.query
        if not text:
            raise Invalid("q: a search query is required")
        tags = [t for tag in query.tags for t in tag.split(",") if t.strip()]
        return kb.search(text, limit=query.limit, path_prefix=query.path_prefix, tags=tags)

    async def read(query: NoteQuery) -> dict[str, Any]:
        """One note by path or wiki-link name, with links and backlinks (``kb_read``)."""
        return await kb.read(query.path)

    async def ingest(body: IngestInput) -> tuple[dict[str, Any], int]:
        """Create (201) or update (200) a note, atomically, indexed before the answer (``kb_ingest``)."""
        out = await kb.ingest(body.path, body.content, body.frontmatter)
        return out, 201 if out["created"] else 200

    async def delete(query: NoteQuery) -> dict[str, Any]:
        """Remove a note from the vault and the index (``kb_delete``)."""
        return await kb.delete(query.path)

    async def listing(query: ListInput) -> dict[str, Any]:
        """Notes under a path prefix, one page, and the sub-folders (``kb_list``)."""
        return kb.list(query.prefix, limit=query.limit, offset=query.offset)

    async def reindex(body: ReindexInput) -> tuple[dict[str, Any], int]:
        """Scan the vault now for changed files (``full``: drop the index and read every note)."""
        if not kb.config.enabled:
            raise Conflict("the knowledge base is disabled (set kb.enabled = true)")
        if not kb.request_reindex(body.full):
            raise Conflict(kb.error or "the knowledge base is not indexing a vault yet")
        return {"queued": True, "full": body.full}, 202

    tags = ("kb",)
    return [
        Route("GET", "/api/kb/status", status, response=StatusReply, tags=tags),
        Route("GET", "/api/kb/search", search, query=SearchQuery, response=SearchReply, tags=tags),
        Route("GET", "/api/kb/note", read, query=NoteQuery, response=NoteReply, tags=tags),
        Route("POST", "/api/kb/note", ingest, body=IngestInput, response=IngestReply, status=201, tags=tags),
        Route("DELETE", "/api/kb/note", delete, query=NoteQuery, response=DeleteReply, tags=tags),
        Route("GET", "/api/kb/list", listing, query=ListInput, response=ListReply, tags=tags),
        Route("POST", "/api/kb/reindex", reindex, body=ReindexInput, body_required=False, response=ReindexReply,
              status=202, tags=tags),
    ]
