"""A small structural check of JSON against the OpenAPI schemas kept in ``samples/``.

It understands the parts Walmart's documents use: ``$ref`` (to ``#/components/schemas/X``),
``type`` (object, array, string, integer, number, boolean), ``required``, ``properties``,
``items`` and ``enum``. Unknown properties are allowed, as in the documents, unless
``strict`` asks to flag them (the simulator's answers should invent no field). The tests use
it to hold the simulator's answers (and the published samples) to the published models.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "samples"
_TYPES: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
                                       "integer": (int,), "number": (int, float)}


@cache
def schemas(api: str) -> dict[str, Any]:
    """The component schemas of one published document (``orders``, ``inventory``, ``feeds``, ``auth``)."""
    return json.loads((SAMPLES / f"schemas.{api}.json").read_text())["schemas"]


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def check(value: Any, api: str, schema_name: str, *, strict: bool = False) -> list[str]:
    """Every way ``value`` departs from the schema, as ``path: problem`` lines (empty when it conforms)."""
    problems: list[str] = []
    _check(value, {"$ref": f"#/components/schemas/{schema_name}"}, schemas(api), "$", problems, strict)
    return problems


def _check(value: Any, schema: dict[str, Any], defs: dict[str, Any], path: str, problems: list[str],
           strict: bool) -> None:
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind is not None:
        expected = _TYPES[kind]
        if not isinstance(value, expected) or (kind in ("integer", "number") and isinstance(value, bool)):
            problems.append(f"{path}: expected {kind}, got {type(value).__name__} {value!r:.40}")
            return
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum'][:8]}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}: missing required {name!r}")
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name in value and value[name] is not None:
                _check(value[name], sub, defs, f"{path}.{name}", problems, strict)
        if strict and properties:
            problems.extend(f"{path}: {name!r} is not in the published model"
                            for name in value if name not in properties)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], defs, f"{path}[{index}]", problems, strict)
