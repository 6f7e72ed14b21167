"""The kernel's own REST routes: status, settings, logs, events, tokens, and the substrate."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio
from quart import Response, request

from . import models as m
from .errors import Forbidden, Invalid, NotFound
from .http import disk_status, json_body, principal, sse, sse_message
from .tokens import require_owner
from .wire import Route

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

KEEPALIVE_SECONDS = 30.0
LOG_MAX = 1024 * 1024


def _scope_of_caller() -> str:
    p = principal()
    if p.kind == "scope" and p.scope:
        return p.scope
    raise Forbidden("registering requires a scope token (argus token mint --scope NAME)")


def make_routes(kernel: Kernel) -> list[Route]:
    """The kernel's routes bound to ``kernel``, declared with their models (``models.py``)."""

    # -- status, settings, logs -------------------------------------------------------------

    async def status() -> dict[str, Any]:
        """Version, supervisor state and disk; plugins add their parts (tasks: session and task counts)."""
        out: dict[str, Any] = {"version": kernel.version, "supervisor": kernel.supervisor_status(),
                               "disk": disk_status(kernel.paths.home)}
        for part in kernel.pm.hook.argus_status(kernel=kernel):
            if part:
                for key, value in part.items():
                    if isinstance(value, dict) and isinstance(out.get(key), dict):
                        out[key].update(value)
                    else:
                        out[key] = value
        return out

    def settings_payload() -> dict[str, Any]:
        values = kernel.settings.all()
        for part in kernel.pm.hook.argus_settings_info(kernel=kernel):
            for name, facts in (part or {}).items():
                if isinstance(facts, dict):
                    values.setdefault(name, {}).update(facts)
        return {**values, "sections": values, "schema": kernel.settings.schema(),
                "config_error": kernel.settings.config.error,
                # Where each value comes from, which environment variables override which keys,
                # and what the listeners really bound (an ephemeral port, a busy one).
                "sources": kernel.settings.sources(), "configured": kernel.settings.configured(),
                "env": kernel.settings.env_vars(),
                "runtime": {"api_port": kernel.api_port or None, "mcp_port": kernel.mcp_port or None}}

    async def get_settings() -> dict[str, Any]:
        """Every settings section's values and the forms' schema."""
        return settings_payload()

    async def put_settings() -> dict[str, Any]:
        """Save settings ``{section: {key: value}}`` (all validated before any is saved)."""
        body = await json_body()
        # Validate everything first so a partial failure saves nothing.
        for name, values in body.items():
            section = kernel.settings.sections.get(name)
            if section is None:
                raise Invalid(f"unknown settings section {name!r}")
            if section.master_only and not principal().is_master:
                raise Forbidden(f"the {name} section requires the master token")
            if not isinstance(values, dict):
                raise Invalid(f"settings section {name!r} must be an object")
            for key in values:
                if section.field(key) is None:
                    raise Invalid(f"unknown setting {name}.{key}")
                try:
                    section.field(key).coerce(values[key])  # type: ignore[union-attr]
                except ValueError as exc:
                    raise Invalid(str(exc)) from None
            kernel.settings.check(name, values)
        for name, values in body.items():
            kernel.settings.save(name, values)
            kernel.bus.publish("settings.updated", {"section": name, "keys": sorted(values)})
        return settings_payload()

    async def logs(name: str, query: m.LogQuery) -> Response:
        """The tail of the ``ux`` or ``daemon`` log."""
        paths = {"ux": kernel.paths.ux_log, "daemon": kernel.paths.daemon_log}
        if name not in paths:
            raise NotFound("log must be 'ux' or 'daemon'")
        nbytes = min(query.bytes, LOG_MAX)
        data = b""
        try:
            with open(paths[name], "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                fh.seek(max(0, size - nbytes))
                data = fh.read(nbytes)
        except FileNotFoundError:
            pass
        return Response(data, mimetype="text/plain; charset=utf-8")

    # -- events -----------------------------------------------------------------------------

    async def events_stream(query: m.EventsQuery) -> Response:
        """SSE: every bus event after ``since`` (a ``resync`` when it fell out of the ring)."""
        since: int | None = query.since
        raw = request.headers.get("Last-Event-ID") if since is None else None
        if raw not in (None, ""):
            try:
                since = int(raw)
            except ValueError:
                raise Invalid("since must be an integer event id") from None
            if since < 0:
                raise Invalid("since must be >= 0")

        async def gen() -> AsyncIterator[str]:
            async with kernel.bus.subscribe(since) as sub:
                yield ": connected\n\n"
                if sub.resync:
                    yield sse_message({"id": kernel.bus.last_id, "type": "resync", "data": {}},
                                      event="resync", id=kernel.bus.last_id)
                for event in sub.replay:
                    yield sse_message(event.to_json(), event=event.type, id=event.id)
                while True:
                    with trio.move_on_after(KEEPALIVE_SECONDS) as scope:
                        try:
                            event = await sub.live.receive()
                        except trio.EndOfChannel:
                            # Dropped for being too slow: tell the client to re-snapshot.
                            yield sse_message({"id": kernel.bus.last_id, "type": "resync", "data": {}},
                                              event="resync", id=kernel.bus.last_id)
                            return
                    if scope.cancelled_caught:
                        yield ": keepalive\n\n"
                        continue
                    yield sse_message(event.to_json(), event=event.type, id=event.id)

        return sse(gen())

    # -- tokens (master only via the policy) -------------------------------------------------

    async def list_tokens() -> dict[str, Any]:
        """Device and scope tokens (never their hashes)."""
        return {"tokens": kernel.tokens.list()}

    async def mint_token(body: m.TokenMint) -> tuple[dict[str, Any], int]:
        """Mint a device token (shown once)."""
        if body.scope is not None or body.kind == "scope":
            raise Forbidden("scope tokens are minted with 'argus token mint --scope NAME', never over HTTP")
        label = body.label
        if label is None:
            raise Invalid("label is required")
        minted = kernel.tokens.mint_device(label)
        kernel.bus.publish("token.created", {"id": minted["id"], "label": minted["label"]})
        return {"id": minted["id"], "label": minted["label"], "token": minted["token"]}, 201

    async def revoke_token(token_id: str) -> dict[str, Any]:
        """Revoke a token; a scope token's registrations go with it."""
        row = kernel.tokens.revoke(token_id)
        dropped = kernel.registry.drop_scope(row["scope"]) if row["kind"] == "scope" else {}
        kernel.bus.publish("token.revoked", {"id": token_id})
        return {"ok": True, "dropped": dropped}

    # -- substrate: MCP tools --------------------------------------------------------------

    async def list_tools() -> dict[str, Any]:
        """MCP tools (a scope token sees its own)."""
        p = principal()
        tools = [t.to_json() for t in kernel.registry.tools.values()
                 if p.kind != "scope" or t.scope == p.scope]
        return {"tools": tools}

    async def register_tool(body: m.ToolRegistration) -> tuple[dict[str, Any], int]:
        """Register (or refresh) an external MCP tool under the caller's scope."""
        scope = _scope_of_caller()
        tool = kernel.registry.add_tool(
            scope, body.name, body.description, body.input_schema,
            callback_url=body.callback_url, auth_header=body.auth_header, external=True)
        return {"tool": tool.to_json()}, 201

    async def unregister_tool(name: str) -> dict[str, Any]:
        """Remove a tool (its scope or the master token)."""
        tool = kernel.registry.get_tool(name)
        require_owner(principal(), tool.scope)
        if not tool.external and not principal().is_master:
            raise Forbidden(f"tool {name!r} is provided by an in-process plugin")
        kernel.registry.remove_tool(name)
        return {"ok": True}

    # -- substrate: settings sections -----------------------------------------------------

    async def list_sections() -> dict[str, Any]:
        """Settings sections plugins registered."""
        return {"sections": [s.to_json() for s in kernel.registry.sections.values()]}

    async def register_section(body: m.SectionRegistration) -> tuple[dict[str, Any], int]:
        """Register a settings form or stream under the caller's scope."""
        scope = _scope_of_caller()
        section = kernel.registry.add_section(scope, body.model_dump(exclude_unset=True))
        return {"section": section.to_json()}, 201

    async def submit_section(scope: str, title: str) -> dict[str, Any]:
        """Validate values against the section's form and hand them to the plugin."""
        result = await kernel.registry.submit_section(scope, title, await json_body())
        return {"ok": True, "result": result}

    async def unregister_section(scope: str, title: str) -> dict[str, Any]:
        """Remove a section (its scope or the master token)."""
        kernel.registry.get_section(scope, title)
        require_owner(principal(), scope)
        kernel.registry.remove_section(scope, title)
        return {"ok": True}

    # -- substrate: views ------------------------------------------------------------------

    async def list_views() -> dict[str, Any]:
        """TUI views (master token or a scope's own)."""
        p = principal()
        if p.kind == "device":
            raise Forbidden("views are listed with the master token or a scope token")
        views = [v.to_json() for v in kernel.registry.views.values()
                 if p.kind != "scope" or v.scope == p.scope]
        return {"views": views}

    async def register_view(body: m.ViewRegistration) -> tuple[dict[str, Any], int]:
        """Register a full-screen TUI view served over WebSocket."""
        scope = (body.scope or "master") if principal().is_master else _scope_of_caller()
        view = kernel.registry.add_view(scope, body.model_dump(exclude={"scope"}))
        return {"view": view.to_json()}, 201

    async def unregister_view(view_id: str) -> dict[str, Any]:
        """Remove a view (its scope or the master token)."""
        view = kernel.registry.views.get(view_id)
        if view is None:
            raise NotFound(f"no view {view_id!r}")
        require_owner(principal(), view.scope)
        kernel.registry.remove_view(view_id)
        return {"ok": True}

    # -- plugins ---------------------------------------------------------------------------

    async def plugins() -> dict[str, Any]:
        """Loaded plugins with their version and source."""
        return {"plugins": kernel.plugin_list}

    sections = "/api/plugins/settings/sections"
    return [
        Route("GET", "/api/status", status),
        Route("GET", "/api/settings", get_settings),
        Route("PUT", "/api/settings", put_settings),
        Route("GET", "/api/logs/{name}", logs, query=m.LogQuery, produces="text/plain"),
        Route("GET", "/api/events/stream", events_stream, query=m.EventsQuery, produces="text/event-stream"),
        Route("GET", "/api/tokens", list_tokens, response=m.TokenList, master_only=True),
        Route("POST", "/api/tokens", mint_token, body=m.TokenMint, response=m.MintedToken, status=201,
              master_only=True),
        Route("DELETE", "/api/tokens/{token_id}", revoke_token, master_only=True),
        Route("GET", "/api/mcp/tools", list_tools, response=m.ToolList),
        Route("POST", "/api/mcp/tools", register_tool, body=m.ToolRegistration, response=m.ToolReply, status=201),
        Route("DELETE", "/api/mcp/tools/{name}", unregister_tool, response=m.OkReply),
        Route("GET", sections, list_sections, response=m.SectionList),
        Route("POST", sections, register_section, body=m.SectionRegistration, response=m.SectionReply,
              status=201),
        Route("POST", f"{sections}/{{scope}}/{{title}}/submit", submit_section),
        Route("DELETE", f"{sections}/{{scope}}/{{title}}", unregister_section, response=m.OkReply),
        Route("GET", "/api/plugins/views", list_views, response=m.ViewList),
        Route("POST", "/api/plugins/views", register_view, body=m.ViewRegistration, response=m.ViewReply,
              status=201),
        Route("DELETE", "/api/plugins/views/{view_id}", unregister_view, response=m.OkReply),
        Route("GET", "/api/plugins", plugins),
    ]
