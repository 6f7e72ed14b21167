"""The substrate registry: MCP tools, settings sections and views, each owned by a scope.

Built-in plugins register in-process tools (an async callable); external plugins register over
HTTP with a scope token and a ``callback_url``. Both land here, so MCP ``list_tools`` and the UIs
see one registry. Revoking a scope drops everything it registered.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import BaseModel

from .errors import ArgusError, Conflict, Forbidden, Invalid, NotFound, TooMany, Unavailable
from .validation import check_schema, compile_schema, model_schema, validate, validate_schema
from .values import Field, ModelToolHandler, ToolContext, ToolHandler

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    from jsonschema.protocols import Validator

log = logging.getLogger(__name__)

MAX_TOOLS_PER_SCOPE = 100
EXTERNAL_IDLE_SECONDS = 600.0
TOOL_CALL_TIMEOUT = 30.0
SECTION_SUBMIT_TIMEOUT = 10.0
TOOL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ToolError(ArgusError):
    """A tool ran and reported failure; becomes an MCP result with ``isError``."""


@dataclass
class Tool:
    """One MCP tool, in-process (``handler``) or external (``callback_url``)."""

    name: str
    description: str
    declared_schema: dict[str, Any] | None  # None: generated from ``input_model`` when first asked
    scope: str
    handler: ToolHandler | ModelToolHandler | None = None
    callback_url: str | None = None
    auth_header: str | None = None
    touched: float = field(default_factory=time.monotonic)
    input_model: type[BaseModel] | None = None
    _validator: Validator | None = field(default=None, repr=False, compare=False)

    @property
    def external(self) -> bool:
        """True for a tool served by a callback URL rather than an in-process handler."""
        return self.handler is None

    @property
    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema served to MCP clients. A model's schema is generated on first use
        (not at registration: generating them all was a noticeable part of the daemon's start-up)."""
        if self.declared_schema is None:
            self.declared_schema = (model_schema(self.input_model) if self.input_model is not None
                                    else {"type": "object", "properties": {}})
        return self.declared_schema

    def validate(self, args: Any) -> Any:
        """The arguments checked against the tool's input: a model instance when the tool was
        declared with ``input_model``, else the dict itself (checked against its JSON Schema)."""
        if not isinstance(args, dict):
            raise Invalid("tool arguments must be an object")
        if self.input_model is not None:
            return validate(self.input_model, args)
        if self._validator is None:
            self._validator = compile_schema(self.input_schema)
        validate_schema(self._validator, args)
        return args

    def to_json(self) -> dict[str, Any]:
        """The tool as listed over REST."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema,
                "scope": self.scope, "external": self.external, "callback_url": self.callback_url}


@dataclass
class Section:
    """A settings form or stream section contributed by a scope."""

    scope: str
    title: str
    type: str
    callback_url: str | None
    fields: list[dict[str, Any]]
    auth_header: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "title": self.title, "type": self.type,
                "callback_url": self.callback_url, "fields": self.fields}


@dataclass
class View:
    """A full-screen TUI pane served by a plugin over WebSocket."""

    id: str
    scope: str
    title: str
    hotkey: str
    callback_url: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "scope": self.scope, "title": self.title, "hotkey": self.hotkey,
                "callback_url": self.callback_url}


def _check_url(url: object, schemes: tuple[str, ...]) -> str:
    if not isinstance(url, str) or not url:
        raise Invalid("callback_url is required")
    parsed = urlparse(url)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise Invalid(f"callback_url must be a {'/'.join(schemes)} URL")
    return url


def parse_fields(raw: object) -> list[dict[str, Any]]:
    """Validate form fields ``[{key, type: bool|int|string|enum, label?, default?, choices?}]``."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("fields must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            raise Invalid("each field needs a string 'key'")
        ftype = item.get("type", "string")
        if ftype not in ("bool", "int", "string", "enum"):
            raise Invalid(f"field {item['key']}: type must be bool, int, string or enum")
        choices = item.get("choices") or item.get("options") or []
        if not isinstance(choices, list):
            raise Invalid(f"field {item['key']}: choices must be a list")
        if ftype == "enum" and not choices:
            raise Invalid(f"field {item['key']}: an enum needs choices")
        f = Field(item["key"], ftype, item.get("default"), str(item.get("label", "")),
                  str(item.get("help", "")), tuple(str(c) for c in choices))
        out.append(f.to_json())
    return out


class Registry:
    """Tools, sections and views by scope, with change notification."""

    def __init__(self, publish: Callable[[str, dict[str, Any]], Any]) -> None:
        self.publish = publish
        self.tools: dict[str, Tool] = {}
        self.sections: dict[tuple[str, str], Section] = {}
        self.views: dict[str, View] = {}
        self.http: httpx.AsyncClient | None = None
        self.keep_client = False  # the daemon: one client, made on first use, closed by ``aclose``
        self.on_tools_changed: list[Callable[[], None]] = []

    def _client(self) -> httpx.AsyncClient:
        """The client for callbacks: the shared one (made on first use when ``keep_client``) or a
        new one the caller closes. httpx is imported here, not at start-up (it costs ~0.1 s of CPU)."""
        import httpx

        if self.http is None and self.keep_client:
            self.http = httpx.AsyncClient()
        return self.http or httpx.AsyncClient()

    async def aclose(self) -> None:
        """Close the shared client, if one was made."""
        if self.http is not None:
            await self.http.aclose()

    def _tools_changed(self) -> None:
        for fn in self.on_tools_changed:
            fn()

    # -- tools -----------------------------------------------------------------------------

    def add_tool(self, scope: str, name: str, description: str, input_schema: dict[str, Any] | None,
                 handler: ToolHandler | ModelToolHandler | None = None, *, callback_url: str | None = None,
                 auth_header: str | None = None, external: bool = False,
                 input_model: type[BaseModel] | None = None) -> Tool:
        """Register (or refresh) a tool. External tools must be named ``<scope>_...``.

        With ``input_model`` (a pydantic model) the schema served to MCP clients is generated
        from it, every call is validated against it, and the handler receives the model instance
        instead of a dict. Without it, calls are validated against ``input_schema``.
        """
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise Invalid("tool name must be 1-128 characters of letters, digits, _ . -")
        if not isinstance(description, str):
            raise Invalid("description must be a string")
        if input_model is not None:
            input_schema = None  # generated from the model on first use (``Tool.input_schema``)
        else:
            if input_schema is None:
                input_schema = {"type": "object", "properties": {}}
            if not isinstance(input_schema, dict):
                raise Invalid("input_schema must be a JSON Schema object")
            check_schema(input_schema)  # pydantic's generated schemas are valid (checking costs ~15 ms each)
        existing = self.tools.get(name)
        if external:
            if not name.startswith(f"{scope}_"):
                # Outside its own prefix is another scope's namespace: cross-scope access is 403.
                raise Forbidden(f"tool name must start with '{scope}_'")
            _check_url(callback_url, ("http", "https"))
            if auth_header is not None and not isinstance(auth_header, str):
                raise Invalid("auth_header must be a string")
        if existing and existing.scope != scope:
            raise Forbidden(f"tool {name!r} is already registered by another scope")
        if existing and external and not existing.external:
            raise Conflict(f"tool {name!r} is provided by an in-process plugin")
        if not existing and sum(1 for t in self.tools.values() if t.scope == scope) >= MAX_TOOLS_PER_SCOPE:
            raise TooMany(f"scope {scope!r} already has {MAX_TOOLS_PER_SCOPE} tools")
        tool = Tool(name, description, input_schema, scope, handler, callback_url, auth_header,
                    input_model=input_model)
        self.tools[name] = tool
        if not existing:
            self.publish("registry.tool.added", {"name": name, "scope": scope})
            self._tools_changed()
        return tool

    def remove_tool(self, name: str) -> Tool:
        """Unregister a tool (the caller checked ownership)."""
        tool = self.tools.pop(name, None)
        if tool is None:
            raise NotFound(f"no tool {name!r}")
        self.publish("registry.tool.removed", {"name": name, "scope": tool.scope})
        self._tools_changed()
        return tool

    def get_tool(self, name: str) -> Tool:
        """The tool called ``name`` or NotFound."""
        tool = self.tools.get(name)
        if tool is None:
            raise NotFound(f"unknown tool {name!r}")
        return tool

    def sweep(self, now: float | None = None) -> list[str]:
        """Drop external tools idle for more than 10 minutes; return their names."""
        now = time.monotonic() if now is None else now
        stale = [t.name for t in self.tools.values()
                 if t.external and now - t.touched > EXTERNAL_IDLE_SECONDS]
        for name in stale:
            self.remove_tool(name)
        return stale

    async def call_tool(self, name: str, args: dict[str, Any], ctx: ToolContext) -> Any:
        """Invoke a tool; in-process handlers return data, external ones are POSTed to."""
        tool = self.get_tool(name)
        checked = tool.validate(args)
        if tool.handler is not None:
            return await tool.handler(checked, ctx)
        return await self._call_external(tool, args, ctx)

    async def _call_external(self, tool: Tool, args: dict[str, Any], ctx: ToolContext) -> Any:
        assert tool.callback_url
        headers = {"Content-Type": "application/json"}
        if tool.auth_header:
            headers["Authorization"] = tool.auth_header
        body = {"tool": tool.name, "input": args,
                "context": {"caller": ctx.principal.kind, **ctx.meta}}
        import httpx

        client = self._client()
        try:
            resp = await client.post(tool.callback_url, json=body, headers=headers, timeout=TOOL_CALL_TIMEOUT)
        except httpx.TimeoutException:
            raise ToolError(f"plugin tool {tool.name} timed out after {TOOL_CALL_TIMEOUT:.0f}s") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"plugin tool {tool.name} is unreachable: {exc}") from None
        finally:
            if client is not self.http:
                await client.aclose()
        tool.touched = time.monotonic()
        try:
            payload = resp.json()
        except (json.JSONDecodeError, ValueError):
            payload = resp.text
        if resp.status_code >= 400:
            detail = payload.get("error") if isinstance(payload, dict) else payload
            raise ToolError(f"plugin tool {tool.name} failed ({resp.status_code}): {detail}")
        if isinstance(payload, dict) and payload.get("error"):
            raise ToolError(str(payload["error"]))
        if isinstance(payload, dict) and "result" in payload:
            return payload["result"]
        return payload

    # -- settings sections -----------------------------------------------------------------

    def add_section(self, scope: str, body: dict[str, Any]) -> Section:
        """Register a settings section ``{title, type: form|stream, callback_url, fields?}``."""
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or "/" in title:
            raise Invalid("title is required (no '/')")
        stype = body.get("type", "form")
        if stype not in ("form", "stream"):
            raise Invalid("type must be 'form' or 'stream'")
        url = body.get("callback_url")
        if stype == "form" or url is not None:
            url = _check_url(url, ("http", "https", "ws", "wss"))
        if body.get("auth_header") is not None and not isinstance(body.get("auth_header"), str):
            raise Invalid("auth_header must be a string")
        section = Section(scope, title.strip(), stype, url, parse_fields(body.get("fields")),
                          body.get("auth_header"))
        self.sections[(scope, section.title)] = section
        self.publish("registry.section.added", {"scope": scope, "title": section.title})
        return section

    def get_section(self, scope: str, title: str) -> Section:
        """The section or NotFound."""
        try:
            return self.sections[(scope, title)]
        except KeyError:
            raise NotFound(f"no settings section {scope}/{title}") from None

    def remove_section(self, scope: str, title: str) -> None:
        """Unregister a section."""
        self.get_section(scope, title)
        del self.sections[(scope, title)]
        self.publish("registry.section.removed", {"scope": scope, "title": title})

    async def submit_section(self, scope: str, title: str, values: Any) -> Any:
        """Validate values against the form and POST them to the plugin (10 s timeout)."""
        section = self.get_section(scope, title)
        if not isinstance(values, dict):
            raise Invalid("submit body must be an object of {key: value}")
        known = {f["key"]: f for f in section.fields}
        typed = {}
        for key, value in values.items():
            if known and key not in known:
                raise Invalid(f"unknown field {key!r}")
            if key in known:
                spec = known[key]
                f = Field(key, spec["type"], spec.get("default"), choices=tuple(spec.get("choices", ())))
                try:
                    value = f.coerce(value)
                except ValueError as exc:
                    raise Invalid(str(exc)) from None
            typed[key] = value
        if not section.callback_url:
            raise Invalid("this section has no callback to submit to")
        headers = {"Authorization": section.auth_header} if section.auth_header else {}
        import httpx

        client = self._client()
        try:
            resp = await client.post(section.callback_url, json=typed, headers=headers,
                                     timeout=SECTION_SUBMIT_TIMEOUT)
        except httpx.HTTPError as exc:
            raise Unavailable(f"plugin {scope} did not accept the settings: {exc}") from None
        finally:
            if client is not self.http:
                await client.aclose()
        if resp.status_code >= 400:
            raise Invalid(f"plugin {scope} rejected the settings ({resp.status_code}): {resp.text[:500]}")
        try:
            return resp.json()
        except ValueError:
            return {"ok": True}

    # -- views -----------------------------------------------------------------------------

    def add_view(self, scope: str, body: dict[str, Any]) -> View:
        """Register a view ``{title, hotkey, callback_url (ws://)}``."""
        title, hotkey = body.get("title"), body.get("hotkey")
        if not isinstance(title, str) or not title.strip():
            raise Invalid("title is required")
        if not isinstance(hotkey, str) or not hotkey.strip():
            raise Invalid("hotkey is required")
        url = _check_url(body.get("callback_url"), ("ws", "wss"))
        for view in self.views.values():
            if view.hotkey == hotkey and view.scope != scope:
                raise Invalid(f"hotkey {hotkey!r} is taken by scope {view.scope!r}")
        view = View(uuid.uuid4().hex[:12], scope, title.strip(), hotkey, url)
        self.views[view.id] = view
        self.publish("registry.view.added", view.to_json())
        return view

    def remove_view(self, view_id: str) -> View:
        """Unregister a view."""
        view = self.views.pop(view_id, None)
        if view is None:
            raise NotFound(f"no view {view_id!r}")
        self.publish("registry.view.removed", {"id": view_id, "scope": view.scope})
        return view

    # -- scopes ----------------------------------------------------------------------------

    def drop_scope(self, scope: str) -> dict[str, int]:
        """Remove every tool, section and view registered under ``scope``."""
        tools = [n for n, t in self.tools.items() if t.scope == scope]
        for name in tools:
            self.remove_tool(name)
        sections = [k for k in self.sections if k[0] == scope]
        for key in sections:
            self.remove_section(*key)
        views = [v for v, view in self.views.items() if view.scope == scope]
        for view_id in views:
            self.remove_view(view_id)
        return {"tools": len(tools), "sections": len(sections), "views": len(views)}
