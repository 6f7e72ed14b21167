"""Declared REST routes: a path, a handler and the pydantic models of what goes in and out.

A plugin hands ``kernel.http.add_routes(plugin, [Route(...), ...])`` its routes. The kernel
validates the path, query string and JSON body against the declared models before the handler
runs (bad input is ``400 {"error": "<field>: <reason>"}``, never a 500), enforces ``master_only``,
and builds ``/api/openapi.json`` from the same declarations (see ``openapi.py``).

Paths use OpenAPI's syntax: ``/api/tasks/{task_id}``, and ``{name:path}`` for a parameter that
may hold slashes. The handler is called with the path parameters as keyword arguments, plus
``body=`` (a model instance) when ``body`` is declared and ``query=`` when ``query`` is. It returns
a dict, a ``(dict, status)`` tuple, a pydantic model, or a quart ``Response``.

``websocket=True`` declares a WebSocket route (``GET`` upgraded): the path, query and
``master_only`` are checked the same way before the handler runs, and a refusal (bad input, a
missing token...) is the usual 4xx JSON answer instead of the upgrade. The handler then accepts
and talks through quart's ``websocket`` object; ``/api/openapi.json`` lists it as a ``GET`` whose
answer is ``101 Switching Protocols``, marked ``x-argus-websocket``.

With ``ARGUS_CHECK_RESPONSES=1`` in the daemon's environment (the test suite sets it), a JSON
answer is also checked against the route's ``response`` model and a mismatch is a 500 naming
the field: the documented shape and the real one cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from quart import Response, request, websocket

from .errors import ArgusError, Forbidden
from .validation import format_errors, validate

log = logging.getLogger(__name__)

CHECK_RESPONSES_ENV = "ARGUS_CHECK_RESPONSES"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")

Handler = Callable[..., Awaitable[Any]]


class ResponseMismatch(ArgusError):
    """A handler answered with a body its declared response model does not accept (a bug): 500."""

    status = 500


@dataclass(frozen=True)
class Route:
    """One REST route and the models that describe it.

    ``body``/``query``/``path`` validate the input; ``response`` documents (and, under
    ``ARGUS_CHECK_RESPONSES=1``, checks) the JSON answer. ``status`` is the success code;
    ``body_required=False`` accepts an empty body as ``{}``. ``consumes`` lists the accepted
    content types: ``multipart/form-data`` validates the form's fields against ``body`` (files
    stay on the request); any other non-JSON type passes ``body=None`` and leaves the raw body to
    the handler; a JSON-only route parses every body as JSON. ``produces`` names a non-JSON answer
    (``text/plain``, ``text/event-stream``, ...). ``websocket=True``: a WebSocket route (method
    ``GET``, no body; see the module docstring).
    """

    method: str
    path: str
    handler: Handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    summary: str = ""
    master_only: bool = False
    path_params: type[BaseModel] | None = None
    status: int = 200
    body_required: bool = True
    consumes: tuple[str, ...] = ("application/json",)
    produces: str | None = None
    tags: tuple[str, ...] = ()
    websocket: bool = False

    def __post_init__(self) -> None:
        if self.method.upper() not in METHODS:
            raise ValueError(f"unsupported method {self.method!r}")
        if self.websocket and (self.method.upper() != "GET" or self.body is not None):
            raise ValueError(f"a WebSocket route is a GET without a body: {self.path!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"route path must start with '/': {self.path!r}")
        object.__setattr__(self, "method", self.method.upper())

    @property
    def rule(self) -> str:
        """The path in quart's (werkzeug's) syntax."""
        return _PARAM.sub(lambda m: f"<path:{m[1]}>" if m[2] else f"<{m[1]}>", self.path)

    @property
    def openapi_path(self) -> str:
        """The path in OpenAPI's syntax (``{name}``, without ``:path``)."""
        return _PARAM.sub(lambda m: "{" + m[1] + "}", self.path)

    @property
    def param_names(self) -> list[str]:
        """The path parameters, in order."""
        return [m[1] for m in _PARAM.finditer(self.path)]

    @property
    def doc(self) -> str:
        """The summary, or the first line of the handler's docstring."""
        if self.summary:
            return self.summary
        return (self.handler.__doc__ or "").strip().split("\n")[0]


@dataclass(frozen=True)
class DeclaredRoute:
    """A route as mounted: which plugin declared it, and the quart endpoint serving it."""

    plugin: str
    route: Route
    endpoint: str


def checking_responses() -> bool:
    """Whether answers are checked against their response models (``ARGUS_CHECK_RESPONSES=1``)."""
    return os.environ.get(CHECK_RESPONSES_ENV, "").lower() in ("1", "true", "yes")


def _is_list(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def query_input(model: type[BaseModel], args: Any) -> dict[str, Any]:
    """The query string as a dict for ``model``: lists for list fields, empty values dropped."""
    out: dict[str, Any] = {}
    fields = model.model_fields
    for key in args:
        field = fields.get(key)
        if field is not None and _is_list(field.annotation):
            values = [v for v in args.getlist(key) if v != ""]
            if values:
                out[key] = values
            continue
        value = args.get(key)
        if value not in (None, ""):
            out[key] = value
    return out


async def _body_input(route: Route) -> tuple[Any, str]:
    """The body as a dict and where it came from: ``json``, ``form`` (lax) or ``raw`` (no dict)."""
    from .http import json_body

    ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data" and ctype in route.consumes:
        form = await request.form
        data: dict[str, Any] = {}
        for key in form:
            values = form.getlist(key)
            data[key] = values if len(values) > 1 else values[0]
        return data, "form"
    if ctype != "application/json" and any(c not in ("application/json", "multipart/form-data")
                                           for c in route.consumes):
        return None, "raw"
    return await json_body(required=route.body_required), "json"


def _json_of(result: Any) -> tuple[Any, int | None]:
    """The JSON payload and explicit status of a handler's answer (``(None, None)`` if not JSON)."""
    status = None
    if isinstance(result, tuple) and len(result) >= 2 and isinstance(result[1], int):
        result, status = result[0], result[1]
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json"), status
    if isinstance(result, (dict, list)):
        return result, status
    return None, None


def check_response(route: Route, payload: Any) -> None:
    """Raise ``ResponseMismatch`` when ``payload`` does not fit ``route.response``."""
    if route.response is None or payload is None:
        return
    try:
        route.response.model_validate(payload)
    except ValidationError as exc:
        name = route.response.__name__
        log.error("%s %s answered outside %s: %s", route.method, route.path, name, exc)
        raise ResponseMismatch(f"response does not match {name}: {format_errors(exc)}") from None


def _checked_params(route: Route, is_master: Callable[[], bool], params: dict[str, Any],
                    args: Any) -> dict[str, Any]:
    """The handler's keyword arguments from the path parameters and the query string ``args``,
    validated against ``route``'s models, after its master-only rule."""
    if route.master_only and not is_master():
        raise Forbidden("this endpoint requires the master token")
    kwargs: dict[str, Any] = dict(params)
    if route.path_params is not None:
        kwargs.update(validate(route.path_params, params, strict=False).model_dump())
    if route.query is not None:
        kwargs["query"] = validate(route.query, query_input(route.query, args), strict=False)
    return kwargs


def make_view(route: Route, is_master: Callable[[], bool]) -> Callable[..., Awaitable[Any]]:
    """The quart view function serving ``route``: auth flag, validation, call, answer."""

    async def view(**params: Any) -> Any:
        kwargs = _checked_params(route, is_master, params, request.args)
        if route.body is not None:
            raw, source = await _body_input(route)
            kwargs["body"] = None if source == "raw" else validate(route.body, raw, strict=source == "json")
        result = await route.handler(**kwargs)
        if isinstance(result, Response):
            return result
        payload, status = _json_of(result)
        if payload is None:
            return result
        if checking_responses():
            check_response(route, payload)
        if isinstance(payload, list):
            return Response(json.dumps(payload), status=status or route.status, mimetype="application/json")
        return payload, status or route.status

    view.__name__ = route.handler.__name__
    view.__doc__ = route.handler.__doc__
    return view


def make_websocket_view(route: Route, is_master: Callable[[], bool]) -> Callable[..., Awaitable[Any]]:
    """The quart WebSocket view serving ``route``: auth flag and validation before the handler.

    A refusal raised here (or by the handler before it accepts) becomes the usual ``{"error"}``
    answer instead of the upgrade."""

    async def view(**params: Any) -> Any:
        return await route.handler(**_checked_params(route, is_master, params, websocket.args))

    view.__name__ = route.handler.__name__
    view.__doc__ = route.handler.__doc__
    return view


def mount(app: Any, plugin: str, routes: list[Route], is_master: Callable[[], bool],
          declared: list[DeclaredRoute]) -> None:
    """Add ``routes`` to the quart ``app`` under endpoints named ``<plugin>.<handler>``."""
    if not isinstance(plugin, str) or not plugin:
        raise ValueError("add_routes needs the plugin's name")
    seen = {(d.route.method, d.route.rule, d.route.websocket) for d in declared}
    for route in routes:
        if not isinstance(route, Route):
            raise TypeError(f"add_routes expects Route objects, got {type(route).__name__}")
        key = (route.method, route.rule, route.websocket)
        if key in seen:
            raise ValueError(f"{'WebSocket' if route.websocket else route.method} {route.path} is already declared")
        endpoint = f"{plugin}.{route.handler.__name__}.{'websocket' if route.websocket else route.method.lower()}"
        if any(d.endpoint == endpoint for d in declared):
            endpoint = f"{endpoint}.{len(declared)}"
        if route.websocket:
            app.add_websocket(route.rule, endpoint=endpoint, view_func=make_websocket_view(route, is_master))
        else:
            app.add_url_rule(route.rule, endpoint=endpoint, view_func=make_view(route, is_master),
                             methods=[route.method])
        declared.append(DeclaredRoute(plugin, route, endpoint))
        seen.add(key)


__all__ = ["Route", "DeclaredRoute", "ResponseMismatch", "mount", "checking_responses",
           "check_response", "query_input", "make_view",
           "make_websocket_view"]
