"""Variables checked against an operation's definitions, with Shopify's error shape.

Shopify answers a variable that does not fit its type with one error per variable:
``Variable $input of type CustomerInput! was provided invalid value for acceptsMarketing
(Field is not defined on CustomerInput)``, ``extensions: {value, problems: [{path,
explanation}]}`` (as seen in Shopify's answers, e.g.
https://github.com/Stephnn0/remix-youtube-tutorial/issues/4 and
https://github.com/carstenlebek/shopify-non-embedded-app-template/issues/22). That is how an
input field removed in a newer API version (``compareQuantity`` from 2026-04) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError, GraphQLNonNull, GraphQLSchema, OperationDefinitionNode, print_ast, type_from_ast
from graphql.utilities.validate_input_value import validate_input_value

_UNKNOWN = re.compile(r"Expected value of type '(?P<type>[^']+)' not to include unknown field '(?P<field>[^']+)'")
_REQUIRED = re.compile(r"Expected value of type '[^']+' to include required field '(?P<field>[^']+)'")
_NULL = re.compile(r"Expected (a )?value of non-null type")


def _problem(error: GraphQLError, path: list[str | int]) -> dict[str, Any]:
    message = error.message
    unknown = _UNKNOWN.match(message)
    if unknown:
        return {"path": [*path, unknown["field"]], "explanation": f"Field is not defined on {unknown['type']}"}
    required = _REQUIRED.match(message)
    if required:
        return {"path": [*path, required["field"]], "explanation": "Expected value to not be null"}
    if _NULL.match(message):
        return {"path": path, "explanation": "Expected value to not be null"}
    return {"path": path, "explanation": message}


def check(schema: GraphQLSchema, operation: OperationDefinitionNode, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors in Shopify's shape for variables that do not fit their definitions; empty when all fit."""
    errors = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        type_ = type_from_ast(schema, definition.type)
        if type_ is None:
            continue  # validation has reported the unknown type
        if name not in values and (definition.default_value is not None or not isinstance(type_, GraphQLNonNull)):
            continue
        value = values.get(name)
        problems: list[dict[str, Any]] = []
        validate_input_value(value, type_,  # type: ignore[arg-type]
                             lambda error, path: problems.append(_problem(error, list(path))))
        if not problems:
            continue
        first = problems[0]
        where = ".".join(str(p) for p in first["path"])
        detail = f" for {where} ({first['explanation']})" if where else ""
        location = definition.loc.source.get_location(definition.loc.start) if definition.loc else None
        errors.append({"message": f"Variable ${name} of type {print_ast(definition.type)} was provided invalid "
                                  f"value{detail}",
                       **({"locations": [{"line": location.line, "column": location.column}]} if location else {}),
                       "extensions": {"value": value, "problems": problems}})
    return errors
