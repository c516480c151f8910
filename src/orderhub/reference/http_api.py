"""The HTTP API reference, from the application's own OpenAPI document.

Each operation's section has a fixed anchor made of its method and path
(``GET /api/orders/{ref}`` is ``get-api-orders-ref``); each schema's is ``schema-<name>``.
The role an operation needs is not in the document: it is read from the route's dependencies
(:func:`orderhub.entrypoints.http.api.require_token` and ``require_role``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from orderhub.reference.markdown import code, heading, table, text

METHODS = ("get", "put", "post", "patch", "delete")
VIEWER = "viewer"


def operation_anchor(method: str, path: str) -> str:
    """``("GET", "/api/orders/{ref}")`` is ``get-api-orders-ref``."""
    return "-".join([method.lower(), *re.findall(r"[a-z0-9]+", path.lower())])


def schema_anchor(name: str) -> str:
    return f"schema-{name}"


def build_app() -> FastAPI:
    """The application as `orderhub serve` builds it, on an in-memory database (the document
    needs no data)."""
    from orderhub.bootstrap import build
    from orderhub.config import Settings
    from orderhub.entrypoints.http.app import create_app

    hub = build(Settings(database_url="sqlite://"))
    app = create_app(hub)
    hub.close()
    return app


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)  # an included router
        if nested is not None:
            yield from _api_routes(nested.routes)


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


# What a route that takes no API token needs instead (its ``openapi_extra``: ``x-orderhub-credential``).
CREDENTIALS = {"device": "Needs: a POS device credential (`Authorization: Bearer ohpos_...`), from enrolment.",
               "enrolment-code": "Needs: no token; a one-time enrolment code in the body (`orderhub device code`)."}


def required_roles(app: FastAPI) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> the token role an API operation needs (viewer, operator or admin), or the other
    credential it takes (CREDENTIALS)."""
    roles = {}
    for route in _api_routes(app.routes):
        needed = (getattr(route, "openapi_extra", None) or {}).get("x-orderhub-credential")
        for call in _calls(route.dependant):
            if getattr(call, "__name__", "") == "require_token":
                needed = needed or VIEWER
            elif getattr(call, "__qualname__", "").startswith("require_role."):
                needed = inspect.getclosurevars(call).nonlocals["needed"]
        if needed:
            for method in route.methods:
                roles[(method, route.path)] = needed
    return roles


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def schema_type(schema: dict[str, Any]) -> str:
    """A JSON schema as a short Markdown type: ``string``, ``integer or null``, a linked schema name..."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{code(name)}](#{schema_anchor(name)})"
    if "anyOf" in schema:
        return " or ".join(schema_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(code(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {schema_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and not schema.get("properties"):
        return "object"
    if "const" in schema:
        return code(schema["const"])
    return str(kind)


def _limits(schema: dict[str, Any]) -> str:
    found = []
    for part in [schema, *schema.get("anyOf", [])]:
        for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
                           ("maxLength", "length ≤"), ("pattern", "matches")):
            if key in part:
                found.append(f"{label} {code(part[key])}")
    return ", ".join(found)


def _parameters(op: dict[str, Any]) -> str:
    rows = []
    for p in op.get("parameters", []):
        schema = p.get("schema", {})
        default = code(schema["default"]) if "default" in schema else ""
        notes = "; ".join(x for x in (text(p.get("description", "")), _limits(schema)) if x)
        rows.append([code(p["name"]), p["in"], schema_type(schema), "yes" if p.get("required") else "no",
                     default, notes])
    return table(["Parameter", "In", "Type", "Required", "Default", "Notes"], rows)


def _body(op: dict[str, Any]) -> str:
    body = op["requestBody"]
    kinds = [f"{code(ctype)}: {schema_type(c.get('schema', {}))}" for ctype, c in body.get("content", {}).items()]
    return f"**Request body** ({'required' if body.get('required') else 'optional'}): " + "; ".join(kinds)


def _responses(op: dict[str, Any]) -> str:
    rows = []
    for status, r in op.get("responses", {}).items():
        content = r.get("content", {})
        shapes = "; ".join(f"{code(ctype)}: {schema_type(c.get('schema', {}))}" for ctype, c in content.items())
        rows.append([code(status), text(r.get("description", "")), shapes])
    return table(["Status", "Meaning", "Body"], rows)


def operation(method: str, path: str, op: dict[str, Any], role: str | None) -> str:
    title = f"{code(method.upper() + ' ' + path)}"
    out = [heading(3, title, operation_anchor(method, path))]
    if op.get("summary"):
        out.append(f"**{text(op['summary'])}**")
    if op.get("description"):
        out.append(text(op["description"]))
    if role in CREDENTIALS:
        out.append(CREDENTIALS[role])
    elif role:
        out.append(f"Needs: a bearer token of scope {code('api')} with role {code(role)} or above.")
    if op.get("parameters"):
        out.append(_parameters(op))
    if op.get("requestBody"):
        out.append(_body(op))
    out.append(_responses(op))
    return "\n\n".join(out)


def _schema(name: str, schema: dict[str, Any]) -> str:
    out = [heading(3, code(name), schema_anchor(name))]
    if schema.get("description"):
        out.append(text(schema["description"]))
    props = schema.get("properties", {})
    if props:
        required = set(schema.get("required", []))
        out.append(table(["Field", "Type", "Required", "Default", "Notes"], [
            [code(field), schema_type(s), "yes" if field in required else "no",
             code(s["default"]) if "default" in s else "",
             "; ".join(x for x in (text(s.get("description", "")), _limits(s)) if x)]
            for field, s in props.items()]))
    elif "enum" in schema:
        out.append("One of " + ", ".join(code(v) for v in schema["enum"]) + ".")
    return "\n\n".join(out)


def _group(path: str) -> str:
    """The section an operation is listed under: its path's second segment (``/api/orders/...``: orders)."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else parts[0]


def reference(app: FastAPI | None = None) -> str:
    """Markdown for every operation of the app's OpenAPI document, grouped by resource, then its schemas."""
    app = app or build_app()
    document = app.openapi()
    roles = required_roles(app)
    groups: dict[str, list[str]] = {}
    index = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                op = item[method]
                groups.setdefault(_group(path), []).append(
                    operation(method, path, op, roles.get((method.upper(), path))))
                index.append([f"[{code(method.upper() + ' ' + path)}](#{operation_anchor(method, path)})",
                              text(op.get("summary", "")), code(roles.get((method.upper(), path), "")) if
                              roles.get((method.upper(), path)) else ""])
    out = [heading(2, "Operations", "operations"), table(["Operation", "Summary", "Role"], index)]
    for group, sections in groups.items():
        title = group.replace("-", " ").capitalize()
        out.append(heading(2, title, f"api-{group}"))
        out += sections
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        out.append(heading(2, "Schemas", "schemas"))
        out += [_schema(name, s) for name, s in sorted(schemas.items())]
    return "\n\n".join(out) + "\n"
