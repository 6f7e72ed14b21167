"""The MCP server (official ``mcp`` SDK, streamable HTTP at ``/mcp``) backed by the registry.

``list_tools`` and ``call_tool`` read the substrate registry on every request, so tools that
built-in or external plugins register appear without a restart. Tool failures (``ArgusError``)
become results with ``is_error`` so the calling agent can read and correct them.

Every HTTP request to ``/mcp`` carries a token in its headers (``Authorization: Bearer`` or
``X-Argus-Auth``; never ``?token=``): the master token, a device or scope token, or the per-launch
token of a task's agent. Without a valid one the answer is 401 before the SDK sees the request.
Tools receive the caller as ``ToolContext.principal``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings

from .errors import ArgusError, Unauthorized
from .http import reject_surrogates
from .tokens import extract_token
from .values import Principal, ToolContext

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

log = logging.getLogger(__name__)

PRINCIPAL_KEY = "argus.principal"  # where the authenticated caller rides in the ASGI scope
#: An ASGI ``receive`` callable (each message a dict such as ``{"type": "http.request", ...}``).
Receive = Callable[[], Awaitable[dict[str, Any]]]
#: An ASGI ``send`` callable.
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]  # Any: starlette types its own callables


def _result_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, default=str)


def _caller(ctx: ServerRequestContext[Any]) -> Principal | None:
    """The principal the auth wrapper stored for the HTTP request that carried this message."""
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None)
    principal = scope.get(PRINCIPAL_KEY) if isinstance(scope, dict) else None
    return principal if isinstance(principal, Principal) else None


def require_token(kernel: Kernel, app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so every HTTP request must present a valid token (401 otherwise)."""

    async def guarded(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        lookup = {"Authorization": headers.get("authorization", ""), "X-Argus-Auth": headers.get("x-argus-auth")}
        try:
            scope[PRINCIPAL_KEY] = kernel.tokens.authenticate(extract_token(lookup, {}))
        except Unauthorized as exc:
            body = json.dumps({"error": exc.message.replace(" or ?token=", "")}).encode()
            await _drain(receive)
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"www-authenticate", b"Bearer"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope.get("method") == "POST":
            request_body = await _read_body(receive)
            if request_body is None:  # the client went away before its request was complete: nothing to answer
                client = scope.get("client") or ("?", 0)
                log.info("MCP client %s:%s disconnected mid-request; dropped it", client[0], client[1])
                return
            receive = _replay(request_body, receive)
        await app(scope, receive, send)

    return guarded


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnects before sending all of it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """An ASGI ``receive`` that hands over the already-read body first, then the real stream."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class DisconnectFilter(logging.Filter):
    """Turn the SDK's tracebacks for a client that hung up mid-response into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite disconnect errors in place; keep every record."""
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ in DISCONNECTS:
            record.msg, record.args = "MCP client disconnected mid-request (%s: %s)", (record.getMessage(),
                                                                                       type(exc).__name__)
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


DISCONNECTS = {"ClientDisconnect", "ClientDisconnected", "BrokenResourceError", "ClosedResourceError"}


def _quiet_disconnects() -> None:
    """Install the DisconnectFilter on the SDK's transport logger (once)."""
    sdk = logging.getLogger("mcp.server.streamable_http")
    if not any(isinstance(f, DisconnectFilter) for f in sdk.filters):
        sdk.addFilter(DisconnectFilter())


async def _drain(receive: Receive) -> None:
    """Read the request body before answering (a keep-alive connection would stall otherwise)."""
    while True:
        message = await receive()
        if message.get("type") != "http.request" or not message.get("more_body"):
            return


def build_mcp_app(kernel: Kernel, extra_hosts: list[str] | None = None) -> ASGIApp:
    """A fresh streamable-HTTP ASGI app behind the token check (the SDK's app can be run only once)."""
    _quiet_disconnects()

    async def on_list_tools(ctx: ServerRequestContext[Any],
                            params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        tools = [
            types.Tool(name=t.name, description=t.description, input_schema=t.input_schema)
            for t in sorted(kernel.registry.tools.values(), key=lambda t: t.name)
        ]
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        try:
            reject_surrogates(args, "arguments")
        except ArgusError as exc:
            return types.CallToolResult(content=[types.TextContent(text=exc.message)], is_error=True)
        principal = _caller(ctx)
        if principal is None:  # every HTTP request is authenticated first; anything else is refused
            return types.CallToolResult(content=[types.TextContent(text="unauthenticated caller")], is_error=True)
        meta: dict[str, Any] = {"transport": "mcp"}
        if principal.task_id:
            meta["task_id"] = principal.task_id
        context = ToolContext(principal, meta)
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
    app = server.streamable_http_app(streamable_http_path="/mcp", transport_security=security,
                                     stateless_http=False)
    return require_token(kernel, app)
