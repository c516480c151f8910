"""A structural check of JSON against Amazon's published models (Swagger 2 definitions, JSON Schema).

It checks what the models say about shape: ``type``, ``required``, ``properties``, ``items``,
``enum``, ``minimum``, ``maxItems`` and ``$ref`` (``#/definitions/...``). The simulator checks
request bodies with it, so a body the model refuses is refused with the model's own field
names; the tests check every answer with it.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.amazon.samples import load

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(name, (object,)))


def problems(value: Any, schema: dict[str, Any], definitions: dict[str, Any], where: str = "") -> list[str]:
    """Everything in ``value`` the schema refuses, each as ``"path: what is wrong"``; empty when it fits."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return problems(value, definitions[name], definitions, where)
    found: list[str] = []
    here = where or "body"
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_type_ok(value, k) for k in kinds):
            return [f"{here}: expected {' or '.join(kinds)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{here}: {value!r} is not one of {', '.join(map(str, schema['enum']))}")
    if "minimum" in schema and isinstance(value, (int, float)) and value < schema["minimum"]:
        found.append(f"{here}: {value} is below the minimum {schema['minimum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{here}: {key} is required")
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                found += problems(value[key], sub, definitions, f"{where}.{key}" if where else key)
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{here}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                found += problems(item, schema["items"], definitions, f"{here}[{i}]")
    return found


def check(value: Any, model: str, definition: str) -> list[str]:
    """Problems of ``value`` against ``definition`` in ``samples/<model>_definitions.json``."""
    definitions = load(f"{model}_definitions.json")
    return problems(value, definitions[definition], definitions)


def check_schema(value: Any, schema_file: str) -> list[str]:
    """Problems of ``value`` against a JSON Schema file in ``samples/``."""
    schema = load(schema_file)
    return problems(value, schema, schema.get("definitions", schema.get("$defs", {})))
