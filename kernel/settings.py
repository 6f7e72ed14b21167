"""Settings layering: plugin-declared defaults < values saved in SQLite < ``config.toml`` < environment.

A few settings can be overridden by an environment variable (``ARGUS_API_PORT`` for the API port,
``ARGUS_MCP_PORT`` for the MCP port); ``sources()`` says, for every value, which layer it came from,
so the REST API, TUI and PWA show the value the daemon really uses and why.

``config.toml`` is re-read live (on the next read after its mtime changes). A malformed file is
logged and ignored until it parses again; unknown keys are ignored. Plugins read values with
``settings.get(section, key)``; the REST API writes with ``settings.save(section, values)``.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .db import Database
from .errors import Invalid, NotFound, TooLarge
from .values import SettingsSection

log = logging.getLogger(__name__)
MAX_VALUE_BYTES = 64 * 1024  # one saved setting, JSON-encoded

MIGRATION_SQL = """
CREATE TABLE IF NOT EXISTS settings (
    section TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (section, key)
);
"""


class ConfigFile:
    """``config.toml``, parsed lazily and re-parsed when its mtime or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, Any] = {}
        self.error: str | None = None

    def data(self) -> dict[str, Any]:
        """The parsed file ({} when missing or malformed)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._data, self.error = None, {}, None
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._data = tomllib.loads(self.path.read_text(encoding="utf-8"))
                self.error = None
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                self._data = {}
                self.error = f"{self.path}: {exc}"
                log.warning("ignoring malformed config file %s", self.error)
        return self._data


class Settings:
    """The layered settings store shared by the kernel and every plugin."""

    def __init__(self, db: Database | None, config: ConfigFile) -> None:
        self.db = db
        self.config = config
        self.sections: dict[str, SettingsSection] = {}
        self.on_change: list[Any] = []
        self.environ: Mapping[str, str] = os.environ
        self.env_overrides: dict[tuple[str, str], tuple[str, Callable[[str], Any]]] = {}

    def override_from_env(self, section: str, key: str, var: str,
                          convert: Callable[[str], Any] | None = None) -> None:
        """Let environment variable ``var`` (when set and non-empty) override ``section.key``.

        ``convert`` turns the variable's text into the value (default: the field's own coercion).
        """
        self.env_overrides[(section, key)] = (var, convert or (lambda raw: raw))

    def declare(self, sections: Iterable[SettingsSection]) -> None:
        """Add sections declared by a plugin (``argus_settings_sections``)."""
        for section in sections:
            if section.name in self.sections:
                raise ValueError(f"settings section {section.name!r} declared twice")
            self.sections[section.name] = section

    def _section(self, name: str) -> SettingsSection:
        try:
            return self.sections[name]
        except KeyError:
            raise NotFound(f"unknown settings section {name!r}") from None

    def _saved(self, name: str) -> dict[str, Any]:
        if self.db is None:
            return {}
        out = {}
        for row in self.db.query("SELECT key, value FROM settings WHERE section = ?", (name,)):
            try:
                out[row["key"]] = json.loads(row["value"])
            except json.JSONDecodeError:
                continue
        return out

    def _resolve(self, name: str) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
        sec = self._section(name)
        saved = self._saved(name)
        file_vals = self.config.data().get(name, {})
        if not isinstance(file_vals, dict):
            file_vals = {}
        out: dict[str, Any] = {}
        sources: dict[str, str] = {}
        configured: dict[str, Any] = {}
        for f in sec.fields:
            value, source = f.default, "default"
            for layer, label in ((saved, "saved"), (file_vals, "config.toml")):
                if f.key in layer:
                    try:
                        value, source = f.coerce(layer[f.key]), label
                    except ValueError as exc:
                        log.warning("ignoring setting %s.%s: %s", name, f.key, exc)
            configured[f.key] = value
            override = self.env_overrides.get((name, f.key))
            raw = self.environ.get(override[0]) if override else None
            if override and raw:
                try:
                    value, source = f.coerce(override[1](raw)), "environment"
                except ValueError as exc:
                    log.warning("ignoring %s for %s.%s: %s", override[0], name, f.key, exc)
            out[f.key] = value
            sources[f.key] = source
        return out, sources, configured

    def section(self, name: str) -> dict[str, Any]:
        """Effective values of one section: defaults < saved < config.toml < environment (typed)."""
        return self._resolve(name)[0]

    def sources(self) -> dict[str, dict[str, str]]:
        """Where each effective value comes from: ``default``, ``saved``, ``config.toml`` or
        ``environment``, per section and key."""
        return {name: self._resolve(name)[1] for name in sorted(self.sections)}

    def configured(self) -> dict[str, dict[str, Any]]:
        """Every section's values without environment overrides (what ``save`` and config.toml set)."""
        return {name: self._resolve(name)[2] for name in sorted(self.sections)}

    def env_vars(self) -> dict[str, str]:
        """``{"section.key": "ENV_VAR"}`` for every setting an environment variable can override."""
        return {f"{s}.{k}": var for (s, k), (var, _) in sorted(self.env_overrides.items())}

    def get(self, section: str, key: str) -> Any:
        """One effective value."""
        values = self.section(section)
        if key not in values:
            raise NotFound(f"unknown setting {section}.{key}")
        return values[key]

    def all(self) -> dict[str, dict[str, Any]]:
        """Every section's effective values."""
        return {name: self.section(name) for name in sorted(self.sections)}

    def masked_by_file(self, section: str) -> list[str]:
        """Keys of ``section`` that config.toml overrides (saved values are masked)."""
        file_vals = self.config.data().get(section, {})
        return sorted(file_vals) if isinstance(file_vals, dict) else []

    def save(self, section: str, values: dict[str, Any]) -> dict[str, Any]:
        """Validate and persist a partial update of one section; return its effective values."""
        sec = self._section(section)
        if not isinstance(values, dict):
            raise Invalid(f"settings section {section!r} must be an object")
        typed: dict[str, Any] = {}
        for key, value in values.items():
            f = sec.field(key)
            if f is None:
                raise Invalid(f"unknown setting {section}.{key}")
            try:
                typed[key] = f.coerce(value)
            except ValueError as exc:
                raise Invalid(str(exc)) from None
            encoded = json.dumps(typed[key], ensure_ascii=False)
            try:
                size = len(encoded.encode("utf-8"))
            except UnicodeEncodeError:
                raise Invalid(f"{section}.{key}: not valid Unicode text") from None
            if size > MAX_VALUE_BYTES:
                raise TooLarge(f"{section}.{key}: the value is {size} bytes; the limit is {MAX_VALUE_BYTES} "
                               f"(64 KiB)")
        self.check(section, typed)
        if self.db is None:
            raise Invalid("settings cannot be saved without a database")
        with self.db.transaction():
            for key, value in typed.items():
                self.db.execute(
                    "INSERT INTO settings (section, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(section, key) DO UPDATE SET value = excluded.value",
                    (section, key, json.dumps(value)),
                )
        return self.section(section)

    def check(self, section: str, values: dict[str, Any]) -> None:
        """Raise ``Invalid`` when the section's own check refuses it with ``values`` applied."""
        sec = self._section(section)
        if sec.check is None:
            return
        merged = dict(self._resolve(section)[2])
        for key, value in values.items():
            f = sec.field(key)
            if f is not None:
                try:
                    merged[key] = f.coerce(value)
                except ValueError:
                    continue
        try:
            sec.check(merged)
        except ValueError as exc:
            raise Invalid(str(exc)) from None

    def schema(self) -> list[dict[str, Any]]:
        """Every section's form schema (for the TUI and PWA)."""
        return [
            {"name": s.name, "title": s.title, "master_only": s.master_only,
             "fields": [f.to_json() for f in s.fields]}
            for s in sorted(self.sections.values(), key=lambda s: s.name)
        ]

    def raw(self, section: str) -> dict[str, Any]:
        """The raw ``[section]`` table of config.toml (maps like ``[projects.<name>]``)."""
        value = self.config.data().get(section, {})
        return value if isinstance(value, dict) else {}
