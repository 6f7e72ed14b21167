"""The REST/SSE/WS application: one quart-trio app, the auth policy, and error mapping.

Every ``/api/*`` request is authenticated by one policy (``before_request``); other paths
(the PWA's static files) are public unless a plugin says otherwise. Errors raised as
``ArgusError`` become ``{"error": ...}`` with their 4xx code; anything else is a bug (500).

On TCP, a request whose ``Host`` is not this listener's address and port, a localhost name, or a
name configured in ``api.allowed_hosts`` is refused (421) before anything else: a web page on a
DNS-rebound name cannot reach the API. No response may be framed by another origin.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from quart import Blueprint, Response, g, has_websocket_context, request, websocket
from quart.routing import QuartRule
from quart.sessions import NullSession, SessionInterface
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from .errors import ArgusError, Invalid, Misdirected, Unauthorized
from .models import OpenApiDocument
from .tokens import MasterOnlyRule, extract_token, query_token_allowed, require_allowed
from .values import Principal
from .wire import DeclaredRoute, Route, mount

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from .kernel import Kernel
    from .openapi import SchemaFields

log = logging.getLogger(__name__)

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
LOW_DISK = 1024 * 1024  # under this much free space, /api/status says the disk is full
FRAME_HEADERS = {"X-Frame-Options": "DENY"}
MAX_BODY = 60 * 1024 * 1024  # the multipart caps (50 MB total) plus headroom
DRAIN_MAX = 1024 * 1024  # unread bodies up to this size are drained before answering


def principal() -> Principal:
    """The authenticated caller of the current request."""
    caller: Principal = g.principal
    return caller


def _incoming() -> Any:
    """The current request, or the current WebSocket's handshake (both have path, args, headers)."""
    return websocket if has_websocket_context() else request


def sse(events: AsyncIterator[str] | AsyncIterator[bytes], headers: dict[str, str] | None = None) -> Response:
    """A text/event-stream response with no response timeout (quart would cut it at 60 s); the
    messages may come as str or, cheaper for large ones, as UTF-8 bytes."""
    response = Response(events, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})
    response.timeout = None
    return response


def sse_message(data: object, event: str | None = None, id: int | str | None = None) -> str:
    """Format one SSE message."""
    out = ""
    if id is not None:
        out += f"id: {id}\n"
    if event:
        out += f"event: {event}\n"
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    for line in payload.splitlines() or [""]:
        out += f"data: {line}\n"
    return out + "\n"


async def json_body(*, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body, or Invalid with a clear message."""
    # The defaults, spelled out so the overload types the body as bytes.
    raw = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    if not raw:
        if required:
            raise Invalid("a JSON object body is required")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, too deep, an over-long number
        raise Invalid(f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise Invalid("the JSON body must be an object")
    if SURROGATE_ESCAPE.search(raw):
        reject_surrogates(body)
    return body


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a \uD800-\uDFFF escape somewhere in the raw JSON


def reject_surrogates(value: object, where: str = "body") -> None:
    """Invalid if a string (or key) in ``value`` holds a lone UTF-16 surrogate (``"\\ud800"``): it is
    not text, and would fail later when stored or sent as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(f"{where}: a string holds a lone UTF-16 surrogate (not valid Unicode text)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_surrogates(key, where)
            reject_surrogates(item, f"{where}.{key}" if isinstance(key, str) and key.isascii() else where)
    elif isinstance(value, list):
        for item in value:
            reject_surrogates(item, where)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()


def disk_status(path: os.PathLike[str] | str) -> dict[str, Any]:
    """Free space where ``path`` lives: ``{"free_bytes", "full"}`` (full: under 1 MiB free)."""
    try:
        st = os.statvfs(path)
    except OSError:
        return {"free_bytes": None, "full": None}
    free = st.f_bavail * st.f_frsize
    return {"free_bytes": free, "full": free < LOW_DISK}


def split_host(host: str) -> tuple[str, int | None]:
    """``name``, ``port`` of a Host header (lower-cased, IPv6 brackets removed); ("", None) if malformed."""
    host = host.strip().lower()
    port: int | None = None
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return "", None
        name, rest = host[1:end], host[end + 1:]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return "", None
            port = int(rest[1:])
        return name, port
    name, sep, rest = host.partition(":")
    if sep:
        if not rest.isdigit() or len(rest) > 5:
            return "", None
        port = int(rest)
    return name.rstrip("."), port


class LazyBuildRule(QuartRule):
    """A URL rule that compiles its URL builders (used only by ``url_for``) on first use.

    werkzeug compiles two Python functions per rule when it is added: with ~150 routes that was a
    good part of the daemon's start-up CPU, spent on code no request path runs. Matching is
    unchanged (the regex parts are still built at once).
    """

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        """A stand-in builder that compiles the real one the first time it is called."""
        real: Any = None
        compile_real = super()._compile_builder

        def build(rule: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal real
            if real is None:
                real = compile_real(append_unknown)
            return real(rule, *args, **kwargs)

        return build


class NoSessions(SessionInterface):
    """Argus has no cookie sessions (callers authenticate with bearer tokens): every request gets a
    null session at once, and nothing is ever saved. Quart's default interface looks for a signing
    key on every request before settling on the same null session."""

    async def open_session(self, app: Any, request: Any) -> NullSession:
        """A fresh null session (writing to it raises)."""
        return NullSession()

    async def save_session(self, app: Any, session: Any, response: Any) -> None:
        """Nothing to save: no session cookie is ever set."""
        return None


class App(QuartTrio):
    """The daemon's Quart-Trio app: its URL rules compile their builders lazily; no cookie sessions."""

    url_rule_class = LazyBuildRule  # type: ignore[assignment]  # Quart does the same with QuartRule
    session_interface = NoSessions()  # type: ignore[assignment]  # any SessionInterface works


class Http:
    """The app plus the small API plugins use to contribute to it."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        here = os.path.dirname(__file__)
        self.app = App(__name__, root_path=here, instance_path=str(kernel.paths.home))
        self.app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
        self.app.config["RESPONSE_TIMEOUT"] = None
        self.app.config["BODY_TIMEOUT"] = 120
        self.public_prefixes: list[str] = []
        self.master_only: list[MasterOnlyRule] = []
        self.declared: list[DeclaredRoute] = []
        self.schema_fields: SchemaFields = {}
        self.app.before_request(self._check_host)
        self.app.before_request(self._authenticate)
        self.app.before_websocket(self._check_host)  # a WebSocket's handshake passes the same policy
        self.app.before_websocket(self._authenticate)
        self.app.after_request(self._settle_body)
        self.app.after_request(self._no_framing)
        self.app.register_error_handler(ArgusError, self._argus_error)
        self.app.register_error_handler(sqlite3.OperationalError, self._storage_error)
        self.app.register_error_handler(OSError, self._storage_error)
        self.app.register_error_handler(HTTPException, self._http_error)
        self.add_routes("kernel", [Route("GET", "/api/openapi.json", self._openapi,
                                         summary="This document: OpenAPI 3.1 of every route",
                                         response=OpenApiDocument)])
        self.public_prefixes.append("/api/openapi.json")  # the document is public; the routes it lists are not

    def add_routes(self, plugin: str, routes: list[Route]) -> None:
        """Mount a plugin's declared routes (see ``wire.Route``): validated in, documented out."""
        mount(self.app, plugin, list(routes), lambda: principal().is_master, self.declared)

    def add_schema_fields(self, model: type[BaseModel], fields: Mapping[str, type[BaseModel]]) -> None:
        """Document extra keys of a response model: in ``/api/openapi.json`` the schema of ``model``
        lists each key as an optional, nullable property described by its model (keys ``model``
        declares itself are left alone)."""
        self.schema_fields.setdefault(model, {}).update(fields)

    async def _openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every route the daemon serves."""
        from .openapi import build

        return build(self.app, self.declared, version=self.kernel.version, public_prefixes=self.public_prefixes,
                     fields=self.schema_fields)

    def add_blueprint(self, bp: Blueprint) -> None:
        """Mount a plugin's routes."""
        self.app.register_blueprint(bp)

    def add_public_prefix(self, prefix: str) -> None:
        """Let a plugin serve ``/api/<prefix>`` without a token (it authenticates by itself)."""
        self.public_prefixes.append(prefix)

    def add_master_only(self, pattern: str, methods: Sequence[str] | None = None) -> None:
        """Refuse device/scope tokens on paths matching the regex ``pattern`` (for ``methods``,
        or every method when None): the plugin owning a route declares it master-only."""
        self.master_only.append((frozenset(m.upper() for m in methods) if methods else None, re.compile(pattern)))

    def allowed_host(self, host: str, server: tuple[str, int] | None) -> bool:
        """Whether a request's ``Host`` names this listener (see the module docstring)."""
        if server is None:  # the unix socket: only local processes of this user reach it
            return True
        name, port = split_host(host)
        if not name:
            return False
        bound = str(server[0]).lower()
        if (name in LOCAL_NAMES or name == bound) and port == int(server[1]):
            return True  # decided without reading the settings (a database query per request)
        configured = self.kernel.settings.get("api", "allowed_hosts") or []
        return name in {n.lower().rstrip(".") for n in configured if isinstance(n, str)}

    async def _check_host(self) -> None:
        incoming = _incoming()
        # Hypercorn fills ``server`` from parse_socket_addr: (host, port) on TCP, None on the unix socket.
        server = cast("tuple[str, int] | None", incoming.scope.get("server"))
        if not self.allowed_host(incoming.headers.get("Host", ""), server):
            raise Misdirected("unexpected Host header: use the address the daemon listens on, or add "
                              "the name to api.allowed_hosts")

    async def _no_framing(self, response: Response) -> Response:
        """Nothing Argus serves may be framed by another page (clickjacking)."""
        for key, value in FRAME_HEADERS.items():
            response.headers.setdefault(key, value)
        csp = response.headers.get("Content-Security-Policy")
        if csp is None:
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        elif "frame-ancestors" not in csp:
            response.headers["Content-Security-Policy"] = csp.rstrip("; ") + "; frame-ancestors 'none'"
        return response

    async def _authenticate(self) -> None:
        incoming = _incoming()
        path = incoming.path
        if not path.startswith("/api/") and path != "/api":
            g.principal = Principal("agent")  # public static paths; never used for API access
            return
        if any(path.startswith(p) for p in self.public_prefixes):
            g.principal = Principal("agent")
            return
        is_websocket = incoming.scope.get("type") == "websocket"
        method = "GET" if is_websocket else request.method  # a WebSocket is an upgraded GET
        args = incoming.args if query_token_allowed(method, path, is_websocket) else {}
        token = extract_token(incoming.headers, args)
        g.principal = self.kernel.tokens.authenticate(token)
        require_allowed(g.principal, method, path, self.master_only)

    async def _settle_body(self, response: Response) -> Response:
        """Consume an unread request body before answering, or close the connection.

        hypercorn leaves an HTTP/1.1 keep-alive connection stuck when a response goes out before
        the request body arrived (a route that ignores its body, a 401 from the auth policy).
        Small bodies are read (cached, so routes can still read them); big unread ones get
        ``Connection: close``.
        """
        length = request.content_length or 0
        if length <= 0:
            return response
        if length <= DRAIN_MAX:
            try:
                await request.get_data()
            except Exception:  # a client that went away or sent garbage: just close
                response.headers["Connection"] = "close"
        else:
            response.headers["Connection"] = "close"
        return response

    async def _argus_error(self, exc: ArgusError) -> tuple[dict[str, Any], int, dict[str, str]]:
        headers: dict[str, str] = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        return exc.to_json(), exc.status, headers

    async def _storage_error(self, exc: Exception) -> tuple[dict[str, Any], int]:
        """A full disk is 507 with a clear message; a file name too long for the file system is bad
        input (400); any other storage error is a bug (500)."""
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
            return {"error": "a file name or path is too long"}, 400
        if not disk_full(exc):
            raise exc
        log.error("request failed, the disk is full: %s", exc)
        return {"error": f"the disk holding {self.kernel.paths.home} is full ({exc}); free some space "
                         f"and retry"}, 507

    async def _http_error(self, exc: HTTPException) -> tuple[dict[str, Any], int]:
        code = exc.code or 500
        message = {404: "not found", 405: "method not allowed",
                   413: "request body too large"}.get(code, exc.description or exc.name)
        return {"error": message}, code
