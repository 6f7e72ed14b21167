"""The kernel's own REST routes: status, settings, logs, events, tokens, and the substrate."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint, Response, request

from .errors import Forbidden, Invalid, NotFound
from .http import json_body, principal, sse, sse_message
from .tokens import require_owner

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

KEEPALIVE_SECONDS = 30.0
LOG_DEFAULT = 64 * 1024
LOG_MAX = 1024 * 1024


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None
    if value < lo:
        raise Invalid(f"{name} must be >= {lo}")
    return min(value, hi)


def _scope_of_caller() -> str:
    p = principal()
    if p.kind == "scope" and p.scope:
        return p.scope
    raise Forbidden("registering requires a scope token (argus token mint --scope NAME)")


def make_blueprint(kernel: Kernel) -> Blueprint:
    """Build the kernel blueprint bound to ``kernel``."""
    bp = Blueprint("kernel", __name__)

    # -- status, settings, logs -------------------------------------------------------------

    @bp.get("/api/status")
    async def status() -> dict[str, Any]:
        out: dict[str, Any] = {"version": kernel.version, "sessions": {"running": 0, "idle": 0},
                               "tasks": {}, "supervisor": kernel.supervisor_status()}
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
                "config_error": kernel.settings.config.error}

    @bp.get("/api/settings")
    async def get_settings() -> dict[str, Any]:
        return settings_payload()

    @bp.put("/api/settings")
    async def put_settings() -> dict[str, Any]:
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
        for name, values in body.items():
            kernel.settings.save(name, values)
            kernel.bus.publish("settings.updated", {"section": name, "keys": sorted(values)})
        return settings_payload()

    @bp.get("/api/logs/<name>")
    async def logs(name: str) -> Response:
        paths = {"ux": kernel.paths.ux_log, "daemon": kernel.paths.daemon_log}
        if name not in paths:
            raise NotFound("log must be 'ux' or 'daemon'")
        nbytes = _int_arg("bytes", LOG_DEFAULT, 0, LOG_MAX)
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

    @bp.get("/api/events/stream")
    async def events_stream() -> Response:
        raw = request.args.get("since") or request.headers.get("Last-Event-ID")
        since: int | None = None
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

    @bp.get("/api/tokens")
    async def list_tokens() -> dict[str, Any]:
        return {"tokens": kernel.tokens.list()}

    @bp.post("/api/tokens")
    async def mint_token() -> tuple[dict[str, Any], int]:
        body = await json_body()
        if body.get("scope") is not None or body.get("kind") == "scope":
            raise Forbidden("scope tokens are minted with 'argus token mint --scope NAME', never over HTTP")
        label = body.get("label")
        if not isinstance(label, str):
            raise Invalid("label must be a string")
        minted = kernel.tokens.mint_device(label)
        kernel.bus.publish("token.created", {"id": minted["id"], "label": minted["label"]})
        return {"id": minted["id"], "label": minted["label"], "token": minted["token"]}, 201

    @bp.delete("/api/tokens/<token_id>")
    async def revoke_token(token_id: str) -> dict[str, Any]:
        row = kernel.tokens.revoke(token_id)
        dropped = kernel.registry.drop_scope(row["scope"]) if row["kind"] == "scope" else {}
        kernel.bus.publish("token.revoked", {"id": token_id})
        return {"ok": True, "dropped": dropped}

    # -- substrate: MCP tools --------------------------------------------------------------

    @bp.get("/api/mcp/tools")
    async def list_tools() -> dict[str, Any]:
        p = principal()
        tools = [t.to_json() for t in kernel.registry.tools.values()
                 if p.kind != "scope" or t.scope == p.scope]
        return {"tools": tools}

    @bp.post("/api/mcp/tools")
    async def register_tool() -> tuple[dict[str, Any], int]:
        scope = _scope_of_caller()
        body = await json_body()
        tool = kernel.registry.add_tool(
            scope, body.get("name"), body.get("description", ""), body.get("input_schema"),  # type: ignore[arg-type]
            callback_url=body.get("callback_url"), auth_header=body.get("auth_header"), external=True)
        return {"tool": tool.to_json()}, 201

    @bp.delete("/api/mcp/tools/<name>")
    async def unregister_tool(name: str) -> dict[str, Any]:
        tool = kernel.registry.get_tool(name)
        require_owner(principal(), tool.scope)
        if not tool.external and not principal().is_master:
            raise Forbidden(f"tool {name!r} is provided by an in-process plugin")
        kernel.registry.remove_tool(name)
        return {"ok": True}

    # -- substrate: settings sections -----------------------------------------------------

    @bp.get("/api/plugins/settings/sections")
    async def list_sections() -> dict[str, Any]:
        return {"sections": [s.to_json() for s in kernel.registry.sections.values()]}

    @bp.post("/api/plugins/settings/sections")
    async def register_section() -> tuple[dict[str, Any], int]:
        scope = _scope_of_caller()
        section = kernel.registry.add_section(scope, await json_body())
        return {"section": section.to_json()}, 201

    @bp.post("/api/plugins/settings/sections/<scope>/<title>/submit")
    async def submit_section(scope: str, title: str) -> dict[str, Any]:
        result = await kernel.registry.submit_section(scope, title, await json_body())
        return {"ok": True, "result": result}

    @bp.delete("/api/plugins/settings/sections/<scope>/<title>")
    async def unregister_section(scope: str, title: str) -> dict[str, Any]:
        kernel.registry.get_section(scope, title)
        require_owner(principal(), scope)
        kernel.registry.remove_section(scope, title)
        return {"ok": True}

    # -- substrate: views ------------------------------------------------------------------

    @bp.get("/api/plugins/views")
    async def list_views() -> dict[str, Any]:
        p = principal()
        if p.kind == "device":
            raise Forbidden("views are listed with the master token or a scope token")
        views = [v.to_json() for v in kernel.registry.views.values()
                 if p.kind != "scope" or v.scope == p.scope]
        return {"views": views}

    @bp.post("/api/plugins/views")
    async def register_view() -> tuple[dict[str, Any], int]:
        p = principal()
        if p.is_master:
            body = await json_body()
            scope = body.get("scope") or "master"
            if not isinstance(scope, str):
                raise Invalid("scope must be a string")
        else:
            scope = _scope_of_caller()
            body = await json_body()
        view = kernel.registry.add_view(scope, body)
        return {"view": view.to_json()}, 201

    @bp.delete("/api/plugins/views/<view_id>")
    async def unregister_view(view_id: str) -> dict[str, Any]:
        view = kernel.registry.views.get(view_id)
        if view is None:
            raise NotFound(f"no view {view_id!r}")
        require_owner(principal(), view.scope)
        kernel.registry.remove_view(view_id)
        return {"ok": True}

    # -- plugins ---------------------------------------------------------------------------

    @bp.get("/api/plugins")
    async def plugins() -> dict[str, Any]:
        return {"plugins": kernel.plugin_list}

    return bp
