"""``GET /api/openapi.json``: an OpenAPI 3.1 document built from the declared routes' models.

Routes declared with ``kernel.http.add_routes`` contribute their path, query and body models,
their response model and their master-only flag. Routes still mounted as plain quart blueprints
(a plugin that has not declared its routes yet) are listed too, from the URL map, with their
path parameters and the docstring of their view, so the document names every route the daemon
serves.

A model's schema can list keys other plugins add to it (``kernel.http.add_schema_fields``): each
is an optional, nullable property whose value is described by the contributing plugin's model,
e.g. the ``hera`` object of the tasks plugin's ``Task``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .wire import DeclaredRoute, Route

REF = "#/components/schemas/{model}"
_RULE_PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"],
         "description": "Every failure: a 4xx code and a readable message (``field: reason`` for bad input)."}


def _openapi_path(rule: str) -> str:
    return _RULE_PARAM.sub(lambda m: "{" + m[2] + "}", rule)


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}


def _operation_id(endpoint: str, method: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{endpoint}_{method.lower()}").strip("_")


SchemaFields = dict[type[BaseModel], dict[str, type[BaseModel]]]
"""Model → extra key → the model of that key's value (``kernel.http.add_schema_fields``)."""


class _Schemas:
    """Collects every model once and hands back ``$ref``s into ``components.schemas``."""

    def __init__(self, declared: list[DeclaredRoute], fields: SchemaFields | None = None) -> None:
        fields = fields or {}
        wanted: list[tuple[type[BaseModel], Any]] = []

        def want(model: type[BaseModel] | None, mode: str) -> None:
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))

        for d in declared:
            r = d.route
            for model, mode in ((r.body, "validation"), (r.query, "validation"),
                                (r.path_params, "validation"), (r.response, "serialization")):
                want(model, mode)
        for model, extra in fields.items():
            want(model, "serialization")
            for value_model in extra.values():
                want(value_model, "serialization")
        self.refs: dict[tuple[type[BaseModel], str], dict[str, Any]] = {}
        self.components: dict[str, dict[str, Any]] = {"Error": ERROR}
        if wanted:
            refs, top = models_json_schema(wanted, ref_template=REF)
            self.refs = dict(refs)  # type: ignore[arg-type]
            self.components.update(top.get("$defs", {}))
        for model, extra in fields.items():
            schema = self.resolve(model, "serialization")
            props = schema.setdefault("properties", {})
            for key, value_model in extra.items():
                if key in props:
                    continue  # a model's own fields are never redefined
                prop: dict[str, Any] = {"anyOf": [self.ref(value_model, "serialization"), {"type": "null"}]}
                doc = (value_model.__doc__ or "").strip().split("\n")[0]
                if doc:
                    prop["description"] = doc
                props[key] = prop

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return self.refs[(model, mode)]

    def resolve(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        """The schema object of ``model`` itself (not a ``$ref``), for its properties."""
        ref = self.ref(model, mode)
        name = ref.get("$ref", "").rsplit("/", 1)[-1]
        return self.components.get(name, ref)


def _params_of(model: type[BaseModel] | None, where: str, schemas: _Schemas,
               names: list[str] | None = None) -> list[dict[str, Any]]:
    out = []
    if model is not None:
        schema = schemas.resolve(model, "validation")
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            param: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required,
                                     "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            out.append(param)
    known = {p["name"] for p in out}
    for name in names or []:
        if name not in known:
            out.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    return out


def _declared_operation(d: DeclaredRoute, schemas: _Schemas, public: bool) -> dict[str, Any]:
    r: Route = d.route
    op: dict[str, Any] = {"operationId": _operation_id(d.endpoint, r.method), "tags": list(r.tags) or [d.plugin]}
    if r.doc:
        op["summary"] = r.doc
    params = _params_of(r.path_params, "path", schemas, r.param_names) + _params_of(r.query, "query", schemas)
    if params:
        op["parameters"] = params
    content: dict[str, Any] = {}
    for ctype in r.consumes:
        if ctype == "application/json" and r.body is not None:
            content[ctype] = {"schema": schemas.ref(r.body, "validation")}
        elif ctype == "multipart/form-data":
            files = {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}
            schema: dict[str, Any] = {"type": "object", "properties": files}
            if r.body is not None:
                schema = {"allOf": [schemas.ref(r.body, "validation"), schema]}
            content[ctype] = {"schema": schema}
        elif ctype != "application/json":
            content[ctype] = {"schema": {"type": "string", "format": "binary"}}
    if content:
        op["requestBody"] = {"required": r.body_required, "content": content}
    ok: dict[str, Any] = {"description": "OK"}
    if r.response is not None:
        ok["content"] = {"application/json": {"schema": schemas.ref(r.response, "serialization")}}
    elif r.produces:
        ok["content"] = {r.produces: {"schema": {"type": "string"}}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    if r.websocket:  # the success answer is the upgrade; the messages are described in the summary/docs
        ok = {"description": "Switching Protocols: a WebSocket"}
    responses: dict[str, Any] = {"101" if r.websocket else str(r.status): ok, "400": _error("bad input")}
    if not public:
        responses["401"] = _error("missing or unknown token")
        responses["403"] = _error("this token may not use the endpoint" + (" (master token only)"
                                                                            if r.master_only else ""))
    if r.param_names:
        responses["404"] = _error("no such object")
    op["responses"] = responses
    if public:
        op["security"] = []
    if r.master_only:
        op["x-argus-master-only"] = True
    if r.websocket:
        op["x-argus-websocket"] = True
    return op


def _plain_operation(rule: Any, method: str, view: Any, public: bool) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": _operation_id(rule.endpoint, method),
                          "tags": [rule.endpoint.split(".", 1)[0] if "." in rule.endpoint else "kernel"]}
    doc = (getattr(view, "__doc__", None) or "").strip().split("\n")[0]
    if doc:
        op["summary"] = doc
    params = [{"name": m[2], "in": "path", "required": True, "schema": {"type": "string"}}
              for m in _RULE_PARAM.finditer(rule.rule)]
    if params:
        op["parameters"] = params
    if method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    responses: dict[str, Any] = {"200": {"description": "OK"}, "400": _error("bad input")}
    if not public:
        responses["401"] = _error("missing or unknown token")
    op["responses"] = responses
    if public:
        op["security"] = []
    return op


def build(app: Any, declared: list[DeclaredRoute], *, version: str,
          public_prefixes: list[str] | None = None, fields: SchemaFields | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``: declared routes in full, the others from the URL map;
    ``fields`` adds optional keys to models' schemas."""
    prefixes = list(public_prefixes or [])

    def is_public(path: str) -> bool:
        if not path.startswith("/api/") and path != "/api":
            return True
        return any(path.startswith(p) for p in prefixes)

    schemas = _Schemas(declared, fields)
    by_endpoint = {d.endpoint: d for d in declared}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path = _openapi_path(rule.rule)
        item = paths.setdefault(path, {})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            d = by_endpoint.get(rule.endpoint)
            if d is not None:
                item[method.lower()] = _declared_operation(d, schemas, is_public(path))
            else:
                view = app.view_functions.get(rule.endpoint)
                item[method.lower()] = _plain_operation(rule, method, view, is_public(path))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Argus", "version": version,
                 "description": "The Argus daemon's REST API. Send the master, a device or a scope token as "
                                "`Authorization: Bearer <token>`. Errors are `{\"error\": ...}` with a 4xx code."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas.components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
