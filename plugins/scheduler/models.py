"""Wire models of the scheduler's routes and tools (pydantic: types checked, unknown keys refused)."""

from __future__ import annotations

from typing import Any, TypeVar

from argus.kernel.errors import Invalid
from pydantic import BaseModel, ConfigDict, ValidationError


class ScheduleFields(BaseModel):
    """The writable fields of a schedule; every field optional (create checks what it needs)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = None
    project: str | None = None
    prompt: str | None = None
    schedule: str | None = None
    run_once_at: str | None = None
    backend: str | None = None
    enabled: bool | None = None


class ScheduleUpdate(ScheduleFields):
    """``schedule_update``: the id plus the fields to change."""

    id: str


class ScheduleId(BaseModel):
    """A tool argument naming one schedule."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model`` or raise Invalid ``"<field>: <reason>"``."""
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise Invalid(f"{where}: {err.get('msg', 'invalid')}") from None


def schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema for an MCP tool's input."""
    out = model.model_json_schema()
    out.pop("title", None)
    return out
