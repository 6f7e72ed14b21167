"""REST mirrors of the kb tools, plus status and re-index (``/api/kb/*``, master or device token).

``GET /api/kb/search?q=``, ``GET /api/kb/note?path=``, ``GET /api/kb/list?prefix=``,
``POST /api/kb/note`` (ingest), ``DELETE /api/kb/note?path=``, ``POST /api/kb/reindex``,
``GET /api/kb/status``. Query strings and bodies are validated by the same models as the tools.
"""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, request

from .compat import Conflict, Invalid, validate
from .models import DeleteInput, IngestInput, ListInput, ReadInput, ReindexInput, SearchInput
from .service import KbService


async def _body() -> dict[str, Any]:
    raw = await request.get_data()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise Invalid("the JSON body must be an object")
    return body


def _query(*names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in request.args.items(multi=True):
        if key not in names:
            raise Invalid(f"{key}: unknown query parameter")
        if key == "tags":
            out.setdefault("tags", []).extend(t for t in value.split(",") if t.strip())
        elif key in out:
            raise Invalid(f"{key}: given more than once")
        else:
            out[key] = value
    return out


def make_blueprint(kb: KbService) -> Blueprint:
    """The ``/api/kb`` routes."""
    bp = Blueprint("kb", __name__)

    @bp.get("/api/kb/status")
    async def status() -> dict[str, Any]:
        return kb.status()

    @bp.get("/api/kb/search")
    async def search() -> dict[str, Any]:
        args = _query("q", "query", "limit", "path_prefix", "tags")
        if "q" in args:
            if "query" in args:
                raise Invalid("q: give q or query, not both")
            args["query"] = args.pop("q")
        if "query" not in args:
            raise Invalid("q: a search query is required")
        a = validate(SearchInput, args, strict=False)
        return kb.search(a.query, limit=a.limit, path_prefix=a.path_prefix, tags=a.tags)

    @bp.get("/api/kb/note")
    async def read() -> dict[str, Any]:
        return await kb.read(validate(ReadInput, _query("path"), strict=False).path)

    @bp.post("/api/kb/note")
    async def ingest() -> tuple[dict[str, Any], int]:
        a = validate(IngestInput, await _body())
        out = await kb.ingest(a.path, a.content, a.frontmatter)
        return out, 201 if out["created"] else 200

    @bp.delete("/api/kb/note")
    async def delete() -> dict[str, Any]:
        return await kb.delete(validate(DeleteInput, _query("path"), strict=False).path)

    @bp.get("/api/kb/list")
    async def listing() -> dict[str, Any]:
        a = validate(ListInput, _query("prefix", "limit", "offset"), strict=False)
        return kb.list(a.prefix, limit=a.limit, offset=a.offset)

    @bp.post("/api/kb/reindex")
    async def reindex() -> tuple[dict[str, Any], int]:
        a = validate(ReindexInput, await _body())
        if not kb.config.enabled:
            raise Conflict("the knowledge base is disabled (set kb.enabled = true)")
        if not kb.request_reindex(a.full):
            raise Conflict(kb.error or "the knowledge base is not indexing a vault yet")
        return {"queued": True, "full": a.full}, 202

    return bp
