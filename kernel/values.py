"""The small value types hooks return and the hook markers (re-exported by ``argus.kernel.api``).

Kernel modules import these from here; plugins import them from ``argus.kernel.api`` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import pluggy

PROJECT = "argus"
hookimpl = pluggy.HookimplMarker(PROJECT)
hookspec = pluggy.HookspecMarker(PROJECT)

FieldType = Literal["bool", "int", "string", "enum", "list"]


@dataclass(frozen=True)
class Migration:
    """One schema step owned by one plugin. ``sql`` is a script run in a transaction."""

    plugin: str
    version: int
    sql: str


@dataclass(frozen=True)
class Field:
    """A typed setting: how it is validated, shown in forms, and what it defaults to."""

    key: str
    type: FieldType
    default: Any
    label: str = ""
    help: str = ""
    choices: Sequence[str] = ()
    min: int | None = None
    max: int | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this field's type, or raise ``ValueError``."""
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError(f"{self.key}: expected a boolean")
        if self.type == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{self.key}: expected an integer")
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{self.key}: expected an integer") from None
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise ValueError(f"{self.key}: must be between {self.min} and {self.max}")
            return number
        if self.type == "enum":
            if value not in self.choices:
                raise ValueError(f"{self.key}: must be one of {', '.join(self.choices)}")
            return value
        if self.type == "list":
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            raise ValueError(f"{self.key}: expected a list of strings")
        if not isinstance(value, str):
            raise ValueError(f"{self.key}: expected a string")
        return value

    def to_json(self) -> dict[str, Any]:
        """The field as the settings form schema (REST and TUI/PWA forms)."""
        out: dict[str, Any] = {"key": self.key, "type": self.type, "default": self.default,
                               "label": self.label or self.key, "help": self.help}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        return out


@dataclass(frozen=True)
class SettingsSection:
    """A named group of typed settings declared by a plugin (``[name]`` in config.toml)."""

    name: str
    title: str
    fields: Sequence[Field]
    master_only: bool = False
    # Checks the section's values as a whole (after an update); raises ValueError to refuse them.
    check: Callable[[dict[str, Any]], None] | None = None

    def field(self, key: str) -> Field | None:
        """The field called ``key``, or None."""
        return next((f for f in self.fields if f.key == key), None)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the master token, a device token, a scope token, a task token (the per-launch
    token of one task's agent, ``task_id`` set), or ``agent`` (a public path, no token)."""

    kind: Literal["master", "device", "scope", "task", "agent"]
    scope: str | None = None
    token_id: str | None = None
    label: str = ""
    task_id: str | None = None

    @property
    def is_master(self) -> bool:
        return self.kind == "master"


ToolHandler = Callable[[dict[str, Any], "ToolContext"], Awaitable[Any]]
class SupervisorStatus(TypedDict):
    """``kernel.supervisor_status()``: whether PTYs run in the supervisor and whether it answers."""

    enabled: bool
    running: bool


#: The handler of a tool registered with ``input_model``: it receives the validated model instance
#: (of that tool's own model class, hence ``Any`` here) instead of a dict.
ModelToolHandler = Callable[[Any, "ToolContext"], Awaitable[Any]]


@dataclass
class ToolContext:
    """What a tool invocation knows about its caller."""

    principal: Principal
    meta: dict[str, Any] = field(default_factory=dict)


BackgroundJob = Callable[[], Awaitable[None]]
