"""Request bodies of the ops routes, validated by pydantic into ``Invalid("<field>: <reason>")``."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .compat import Invalid

M = TypeVar("M", bound=BaseModel)


class SourcePathBody(BaseModel):
    """``PUT /api/source-path``: an absolute path to a git checkout of Argus ("" clears it)."""

    model_config = ConfigDict(extra="forbid")
    source_path: str = Field(max_length=4096)


class UpdateBody(BaseModel):
    """``POST /api/update``: ``dry_run`` lists the commits that would be pulled and changes nothing."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


def parse(model: type[M], body: dict[str, Any]) -> M:
    """Validate ``body`` as ``model`` or raise Invalid naming the first bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise Invalid(f"{where}: {err.get('msg', 'invalid')}") from None
