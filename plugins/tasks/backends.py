"""Backends and agent kinds.

A backend is a templated command: stored in SQLite (seeded with the backends of the built-in
kinds), overlaid by ``[backends.<name>]`` of config.toml, and one listed per agent kind under its
name. Its agent kind says how that CLI is launched, resumed, watched for idleness and given Argus's
MCP server: the kinds are what plugins register through ``argus_agent_kinds`` (the built-in ones
included, ``kinds/``). A backend names its kind, or takes the kind whose ``executables`` claim its
command, else ``generic``. A kind that claims executables (all the built-in ones do) follows from
the command and cannot be named.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus.kernel.api import Conflict, Invalid, NotFound

from .api import AgentKind
from .kinds import GENERIC
from .launch import agent_path, executable_of, parse_command, screen_rules
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from pluggy import HookRelay

log = logging.getLogger(__name__)

BACKEND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Backends:
    """The agent kinds registry and backend CRUD."""

    def __init__(self, store: Store, hook: HookRelay, config: Callable[[], dict[str, Any]],
                 default: Callable[[], str], publish: Callable[[str, dict[str, Any]], None]) -> None:
        """``hook``: the plugin manager's hook relay (``argus_agent_kinds``); ``config``: the
        ``[backends]`` table of config.toml; ``default``: the ``defaults.backend`` setting."""
        self.store = store
        self.hook = hook
        self._config = config
        self._default = default
        self.publish = publish

    # -- agent kinds -----------------------------------------------------------------------

    def agent_kinds(self) -> dict[str, AgentKind]:
        """The registered agent kinds (``argus_agent_kinds``), by name, in hook order (the
        built-in ones first); an invalid one or a taken name is skipped, with a warning."""
        kinds: dict[str, AgentKind] = {}
        for answer in self.hook.argus_agent_kinds():
            for kind in answer or ():
                problem = None
                if not isinstance(kind, AgentKind):
                    problem = "not an AgentKind"
                elif not BACKEND_NAME.match(kind.name) or kind.name == GENERIC.name or kind.name in kinds:
                    problem = "its name is invalid, generic or taken"
                else:
                    try:
                        screen_rules(kind)
                    except re.error as exc:
                        problem = f"invalid idle pattern: {exc}"
                if problem:
                    log.warning("agent kind %r ignored: %s", getattr(kind, "name", kind), problem)
                    continue
                kinds[kind.name] = kind
        return kinds

    def kind_named(self, name: str) -> AgentKind:
        """The kind a backend's ``kind`` names (``generic`` included); Invalid when no loaded
        plugin provides it (any more)."""
        if name == GENERIC.name:
            return GENERIC
        found = self.agent_kinds().get(name)
        if found is None:
            raise Invalid(f"agent kind {name!r} is not provided by any loaded plugin")
        return found

    def kind_of(self, backend: dict[str, Any]) -> AgentKind:
        """The agent kind of a backend (as :meth:`all` resolves it)."""
        return self.kind_named(str(backend["kind"]))

    @staticmethod
    def _claimed(command: str, kinds: dict[str, AgentKind]) -> str:
        exe = executable_of(command)
        return next((k.name for k in kinds.values() if exe and exe in k.executables), GENERIC.name)

    # -- backends --------------------------------------------------------------------------

    def all(self) -> list[dict[str, Any]]:
        """DB backends overlaid with ``[backends.<name>]`` from config.toml, plus a backend per
        agent kind not otherwise defined; flags the default."""
        kinds = self.agent_kinds()
        rows = {k.name: {"name": k.name, "command": k.command or k.name, "prompt_flag": k.prompt_flag, "model": "",
                         "kind": k.name, "source": "plugin"} for k in kinds.values()}
        rows.update({b["name"]: b for b in self.store.backends()})
        for name, entry in self._config().items():
            if isinstance(entry, dict):
                rows[name] = {"name": name, "command": str(entry.get("command", "")),
                              "prompt_flag": str(entry.get("prompt_flag", "")),
                              "model": str(entry.get("model", "")), "kind": str(entry.get("kind", "")),
                              "source": "config"}
        default = self.default()
        out = []
        for row in sorted(rows.values(), key=lambda r: str(r["name"])):
            b: dict[str, Any] = dict(row)
            b["default"] = b["name"] == default
            named = b.get("kind") or ""
            # A kind that claims executables follows from the command: naming it changes nothing.
            by_command = not named or named == GENERIC.name or (named in kinds and bool(kinds[named].executables))
            b["kind"] = self._claimed(b["command"], kinds) if by_command else named
            exe = (b["command"].split() or [""])[0]
            b["available"] = bool(exe and shutil.which(exe, path=agent_path()))
            out.append(b)
        return out

    def get(self, name: str) -> dict[str, Any]:
        """One backend or Invalid (it is always named by the caller)."""
        for b in self.all():
            if b["name"] == name:
                return b
        raise Invalid(f"unknown backend {name!r}")

    def default(self) -> str:
        """The ``defaults.backend`` setting."""
        return self._default()

    def save(self, name: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Create or update a backend (master token enforced by the kernel policy)."""
        if not isinstance(name, str) or not BACKEND_NAME.match(name):
            raise Invalid("backend name must be 1-64 characters: letters, digits, '.', '_' or '-'")
        existing = self.store.backend(name)
        if create and existing:
            raise Conflict(f"backend {name!r} already exists")
        if not create and existing is None:
            raise NotFound(f"no backend {name!r}")
        base = existing or {"command": "", "prompt_flag": "", "model": "", "kind": ""}
        values = {k: body.get(k, base[k]) for k in ("command", "prompt_flag", "model", "kind")}
        for key, value in values.items():
            if not isinstance(value, str):
                raise Invalid(f"{key} must be a string")
        if values["kind"]:
            kinds = {n: k for n, k in self.agent_kinds().items() if not k.executables}
            if values["kind"] not in kinds:
                raise Invalid(f"unknown agent kind {values['kind']!r}; plugins provide: "
                              f"{', '.join(sorted(kinds)) or 'none'} (kinds that claim an executable, like the "
                              f"built-in ones, follow from the command)")
            if not values["command"]:
                kind = kinds[values["kind"]]
                values["command"] = kind.command or kind.name
        parse_command(values["command"])
        self.store.put_backend(name, values["command"], values["prompt_flag"], values["model"], values["kind"])
        self.publish("backend.updated" if existing else "backend.created", {"name": name})
        return self.get(name)

    def delete(self, name: str) -> None:
        """Delete a stored backend (not the default one)."""
        if name == self.default():
            raise Conflict(f"backend {name!r} is the default; choose another default first")
        self.store.delete_backend(name)
        self.publish("backend.deleted", {"name": name})
