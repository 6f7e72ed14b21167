"""Input validation from one declaration: pydantic models and JSON Schemas, one error wording.

Every failure becomes ``Invalid("<field>: <reason>")`` (several joined with ``"; "``), which the
kernel maps to HTTP 400 ``{"error": ...}`` and to MCP tool errors. Models validate REST bodies,
query strings and MCP tool arguments; plain JSON Schemas (external plugins' tools) are checked
with ``jsonschema``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import Invalid

if TYPE_CHECKING:  # pragma: no cover
    from jsonschema.protocols import Validator

M = TypeVar("M", bound=BaseModel)

MAX_REPORTED = 5  # errors quoted in one message; the rest are counted
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _loc(parts: Iterable[object]) -> str:
    return ".".join(str(p) for p in parts)


def format_errors(exc: ValidationError) -> str:
    """``field: reason`` for each error of ``exc`` (at most five), joined with ``; ``.

    A missing field reads ``field is required``.
    """
    out: list[str] = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_REPORTED]:
        msg = str(err.get("msg", "invalid"))
        for prefix in _PREFIXES:
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        loc = _loc(err.get("loc", ()))
        if err.get("type") == "missing" and loc:
            out.append(f"{loc} is required")
        else:
            out.append(f"{loc}: {msg}" if loc else msg)
    if len(errors) > MAX_REPORTED:
        out.append(f"and {len(errors) - MAX_REPORTED} more")
    return "; ".join(out)


def validate(model: type[M], data: Any, *, strict: bool = True) -> M:
    """``data`` as a ``model`` instance, or ``Invalid`` quoting each bad field.

    ``strict`` is for JSON input (no ``"5"`` for an integer); query strings and form fields
    are text and validate in lax mode.
    """
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise Invalid(format_errors(exc)) from None


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``model`` as served to MCP clients (an object schema)."""
    schema = model.model_json_schema()
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


# -- plain JSON Schemas (external tools) ------------------------------------------------------------


def _validator(schema: dict[str, Any]) -> Validator:
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    return cls(schema)


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ``Invalid`` when ``schema`` is not a valid JSON Schema."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = _loc(exc.absolute_path)
        detail = f"{where}: {exc.message}" if where else exc.message
        raise Invalid(f"input_schema is not a valid JSON Schema: {detail}") from None


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A reusable validator for ``schema`` (pass it to :func:`validate_schema`)."""
    return _validator(schema)


def validate_schema(validator: Validator, data: Any) -> None:
    """Raise ``Invalid`` (``field: reason``) when ``data`` breaks the compiled schema."""
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    out = []
    for err in errors[:MAX_REPORTED]:
        loc = _loc(err.absolute_path)
        if err.validator == "required" and isinstance(err.validator_value, list):
            instance = err.instance if isinstance(err.instance, dict) else {}
            missing = [k for k in err.validator_value if k not in instance]
            name = missing[0] if missing else err.message
            out.append(f"{loc + '.' if loc else ''}{name} is required")
        else:
            out.append(f"{loc}: {err.message}" if loc else err.message)
    if len(errors) > MAX_REPORTED:
        out.append(f"and {len(errors) - MAX_REPORTED} more")
    raise Invalid("; ".join(out))
