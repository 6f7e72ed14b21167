"""The few kernel names this plugin uses, imported in one place.

# TODO(contract): once ``argus.kernel.api`` re-exports the errors and ``kernel.registry.add_tool``
# takes ``(name, fn, description=..., input_model=...)``, import from there and drop this module.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Field, SettingsSection, ToolContext, hookimpl
from argus.kernel.errors import ArgusError, Conflict, Invalid, NotFound, TooLarge

SCOPE = "kb"

__all__ = ["ArgusError", "Conflict", "Field", "Invalid", "NotFound", "SCOPE", "SettingsSection", "ToolContext",
           "TooLarge", "add_tool", "hookimpl", "model_schema", "remove_tool", "validate"]


def add_tool(kernel: Any, name: str, description: str, schema: dict[str, Any], handler: Any) -> None:
    """Register an in-process MCP tool under the plugin's scope."""
    kernel.registry.add_tool(SCOPE, name, description, schema, handler)


def remove_tool(kernel: Any, name: str) -> None:
    """Unregister one of this plugin's tools (no error when it is not registered)."""
    if name in kernel.registry.tools:
        kernel.registry.remove_tool(name)


def validate(model: Any, data: Any, *, strict: bool = True) -> Any:
    """``data`` as a ``model`` instance, or ``Invalid("<field>: <reason>; ...")``.

    # TODO(contract): the kernel's own validation helper replaces this once it lands.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_url=False)[:5]:
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {msg}" if loc else msg)
        raise Invalid("; ".join(parts)) from None


def model_schema(model: Any) -> dict[str, Any]:
    """The JSON Schema of a pydantic model, as MCP clients are given it."""
    schema = model.model_json_schema()
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema
