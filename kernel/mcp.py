"""The MCP server (official ``mcp`` SDK, streamable HTTP at ``/mcp``) backed by the registry.

``list_tools`` and ``call_tool`` read the substrate registry on every request, so tools that
built-in or external plugins register appear without a restart. Tool failures (``ArgusError``)
become results with ``is_error`` so the calling agent can read and correct them.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings

from .errors import ArgusError
from .values import Principal, ToolContext

if TYPE_CHECKING:  # pragma: no cover
    from starlette.applications import Starlette

    from .kernel import Kernel

log = logging.getLogger(__name__)


def _result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, default=str)


def build_mcp_app(kernel: Kernel, extra_hosts: list[str] | None = None) -> Starlette:
    """A fresh streamable-HTTP ASGI app (the SDK's app can be run only once)."""

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        tools = [
            types.Tool(name=t.name, description=t.description, input_schema=t.input_schema)
            for t in sorted(kernel.registry.tools.values(), key=lambda t: t.name)
        ]
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        context = ToolContext(Principal("agent"), {"transport": "mcp"})
        try:
            value = await kernel.registry.call_tool(params.name, args, context)
        except ArgusError as exc:
            return types.CallToolResult(content=[types.TextContent(text=exc.message)], is_error=True)
        except Exception as exc:  # a bug in a tool: report it, keep the server up
            log.exception("tool %s crashed", params.name)
            return types.CallToolResult(content=[types.TextContent(text=f"internal error: {exc}")],
                                        is_error=True)
        structured = value if isinstance(value, dict) else None
        return types.CallToolResult(content=[types.TextContent(text=_result_text(value))],
                                    structured_content=structured)

    server: Server[Any] = Server("argus", version=kernel.version,
                                 instructions="Argus: orchestrate coding agents (tasks, messages, DAG).",
                                 on_list_tools=on_list_tools, on_call_tool=on_call_tool)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"] + [f"{h}:*" for h in (extra_hosts or [])]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"http://{h}" for h in hosts],
    )
    return server.streamable_http_app(streamable_http_path="/mcp", transport_security=security,
                                      stateless_http=False)
