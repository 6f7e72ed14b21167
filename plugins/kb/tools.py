"""The manual's five knowledge-base MCP tools: ``kb_search``, ``kb_read``, ``kb_list``, ``kb_ingest``, ``kb_delete``.

They are registered only while ``kb.enabled`` is true (``sync`` adds or removes them when the
settings change), so every agent's MCP config offers them exactly when the kb is on. Inputs are
declared by the models in ``models.py``: the registry validates each call against them and hands
the handler the model; failures become MCP tool errors the agent can read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from argus.kernel.api import Kernel, ToolContext

from .models import DeleteInput, IngestInput, ListInput, ReadInput, SearchInput
from .service import KbConfig, KbService

SCOPE = "kb"
NAMES = ("kb_search", "kb_read", "kb_list", "kb_ingest", "kb_delete")


def definitions(kb: KbService) -> list[tuple[str, str, Any, Callable[[Any, ToolContext], Awaitable[Any]]]]:
    """``(name, description, input model, handler)`` for each tool."""

    async def kb_search(a: SearchInput, ctx: ToolContext) -> dict[str, Any]:
        return kb.search(a.query, limit=a.limit, path_prefix=a.path_prefix, tags=a.tags)

    async def kb_read(a: ReadInput, ctx: ToolContext) -> dict[str, Any]:
        return await kb.read(a.path)

    async def kb_list(a: ListInput, ctx: ToolContext) -> dict[str, Any]:
        return kb.list(a.prefix, limit=a.limit, offset=a.offset)

    async def kb_ingest(a: IngestInput, ctx: ToolContext) -> dict[str, Any]:
        return await kb.ingest(a.path, a.content, a.frontmatter)

    async def kb_delete(a: DeleteInput, ctx: ToolContext) -> dict[str, Any]:
        return await kb.delete(a.path)

    return [
        ("kb_search", "Full-text search of the knowledge base (the user's Markdown vault) with ranked results and "
         "snippets. Title and tag matches rank first. Filter by path_prefix and tags. Returns path, title, tags, "
         "snippet (matches in **bold**) and score for each note.", SearchInput, kb_search),
        ("kb_read", "Read a note's full Markdown by vault-relative path or wiki-link name ('Note', '[[Note#Heading]]', "
         "an alias). Returns content, frontmatter, tags, outgoing wiki-links (resolved to paths) and backlinks.",
         ReadInput, kb_read),
        ("kb_list", "List notes of the knowledge base whose path starts with prefix, in path order, one page at a time "
         "(limit, offset; next_offset is null on the last page), with the sub-folders under the prefix.",
         ListInput, kb_list),
        ("kb_ingest", "Add or update a note in the knowledge base: write your learnings back. path is vault-relative "
         "('.md' is added when missing), content is Markdown, frontmatter (title, tags, aliases, ...) is merged over "
         "any header in content. Written atomically and searchable at once.", IngestInput, kb_ingest),
        ("kb_delete", "Remove a note from the knowledge base by vault-relative path.", DeleteInput, kb_delete),
    ]


def sync(kernel: Kernel, kb: KbService, config: KbConfig) -> None:
    """Offer the tools while the kb is enabled and withdraw them when it is not."""
    if config.enabled:
        for name, description, model, handler in definitions(kb):
            kernel.registry.add_tool(SCOPE, name, description, None, handler, input_model=model)
    else:
        for name in NAMES:
            if name in kernel.registry.tools:
                kernel.registry.remove_tool(name)
