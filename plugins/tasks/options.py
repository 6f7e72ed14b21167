"""Create-time options plugins offer on new tasks, and what plugins contribute before an agent starts.

Plugins declare options with the ``argus_task_options`` hook (e.g. the kb's ``kb_context``).
:class:`TaskOptions` collects them once, when the tasks plugin registers: it extends the input
models of ``POST /api/tasks`` and ``task_create`` with one optional field per option (so the
wire validates and documents them), checks the values given at creation (unknown names, wrong
types, an option that is unavailable now → ``Invalid``), lists them for the forms
(``GET /api/task-options``), and runs the ``argus_task_prepare`` hook for a new task: the text
plugins return is appended to the prompt and their files are written into ``.context/``.
"""

from __future__ import annotations

import keyword
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Invalid, Kernel, Route
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from . import models as m
from .api import TaskContext, TaskOption

if TYPE_CHECKING:  # pragma: no cover
    from pluggy import HookRelay

log = logging.getLogger(__name__)

TYPES: dict[type, str] = {bool: "bool", int: "int", str: "string"}
CONTEXT_DIR = ".context"


def _reserved() -> set[str]:
    """Names an option may not take: the fields of the create inputs."""
    return {*m.TaskCreate.model_fields, *m.TaskCreateArgs.model_fields, "files", "options", "extra"}


class TaskOptions:
    """The create-time options of one kernel's plugins."""

    def __init__(self, declared: Iterable[TaskOption] = ()) -> None:
        self.options: dict[str, TaskOption] = {}
        reserved = _reserved()
        for option in declared:
            name = getattr(option, "name", None)
            if not isinstance(option, TaskOption) or not isinstance(name, str):
                log.warning("tasks: ignoring a task option that is not a TaskOption: %r", option)
            elif not name.isidentifier() or keyword.iskeyword(name) or name in reserved:
                log.warning("tasks: ignoring task option %r: not an identifier, or a core field's name", name)
            elif option.type not in TYPES:
                log.warning("tasks: ignoring task option %r: its type must be bool, int or str", name)
            elif name in self.options:
                log.warning("tasks: ignoring task option %r: an earlier plugin declared it", name)
            else:
                self.options[name] = option

    @classmethod
    def collect(cls, kernel: Kernel) -> TaskOptions:
        """Ask every plugin (``argus_task_options``) once."""
        return cls(option for answer in kernel.pm.hook.argus_task_options(kernel=kernel) for option in answer or ())

    # -- the wire --------------------------------------------------------------------------

    def extend(self, model: type[BaseModel]) -> type[BaseModel]:
        """``model`` plus one optional field per option (the same model when there is none)."""
        if not self.options:
            return model
        fields: dict[str, Any] = {
            o.name: (o.type | None, Field(None, description=f"{o.title}: {o.description}".rstrip(": ")))
            for o in self.options.values()}
        return create_model(model.__name__, __base__=model, __doc__=model.__doc__,
                            __module__=model.__module__, **fields)

    def pick(self, values: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
        """The options given in a validated input (absent and null ones left out)."""
        data = values.model_dump() if isinstance(values, BaseModel) else values
        return {name: data[name] for name in self.options if data.get(name) is not None}

    def check(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate options given at creation; ``Invalid`` names the option and the reason."""
        if given is None:
            return {}
        if not isinstance(given, Mapping):
            raise Invalid("options must be an object")
        out: dict[str, Any] = {}
        for name, value in given.items():
            option = self.options.get(name)
            if option is None:
                known = ", ".join(sorted(self.options)) or "none"
                raise Invalid(f"{name}: no such task option (known: {known})")
            if value is None:
                continue
            try:
                value = TypeAdapter(option.type).validate_python(value, strict=True)
            except ValidationError:
                raise Invalid(f"{name}: must be of type {TYPES[option.type]}") from None
            if value != option.default:
                reason = option.unavailable()
                if reason:
                    raise Invalid(f"{name}: {reason}")
            out[name] = value
        return out

    def describe(self) -> list[dict[str, Any]]:
        """Every option with whether it can be used now (``GET /api/task-options``)."""
        out = []
        for o in self.options.values():
            reason = o.unavailable()
            out.append({"name": o.name, "title": o.title, "description": o.description, "type": TYPES[o.type],
                        "default": o.default, "available": not reason, "reason": reason or None})
        return out

    def routes(self) -> list[Route]:
        """``GET /api/task-options``."""

        async def task_options() -> dict[str, Any]:
            """The create-time options plugins offer, and whether each can be used now."""
            return {"options": self.describe()}

        return [Route("GET", "/api/task-options", task_options, response=m.TaskOptionList)]

    # -- creation --------------------------------------------------------------------------

    def prepare(self, hook: HookRelay, task: dict[str, Any], worktree: str,
                options: dict[str, Any]) -> tuple[str, list[str]]:
        """Run ``argus_task_prepare``: write the plugins' files into ``.context/`` and return the
        text to append to the prompt and the files written (worktree-relative)."""
        texts: list[str] = []
        written: list[str] = []
        for answer in hook.argus_task_prepare(task=task, worktree=worktree, options=dict(options)):
            if answer is None:
                continue
            if not isinstance(answer, TaskContext):
                raise TypeError(f"argus_task_prepare returned {type(answer).__name__}, not a TaskContext")
            if answer.prompt.strip():
                texts.append(answer.prompt.strip())
            for name, data in answer.files.items():
                written.append(write_context_file(worktree, name, data))
        return "\n\n".join(texts), written


def write_context_file(worktree: str, name: str, data: bytes) -> str:
    """Write one plugin file into ``<worktree>/.context/`` (replacing it); return its relative path."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", "..") or "\\" in name:
        raise Invalid(f"a task context file needs a plain file name, not {name!r}")
    folder = Path(worktree) / CONTEXT_DIR
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return f"{CONTEXT_DIR}/{name}"
