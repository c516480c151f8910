"""One schema per API version, and the deprecated parts a request used.

:func:`for_version` turns the newest SDL into the SDL of one version by the rows of
:mod:`orderhub.simulators.shopify.version_table`: parts not yet added or already removed are
left out (so a request naming them fails validation exactly as on Shopify), deprecated parts
carry ``@deprecated(reason:)``. :func:`deprecations` lists the deprecated fields, arguments
and input fields a request used, for Shopify's ``X-Shopify-API-Deprecated-Reason`` header.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    FieldNode,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    NameNode,
    ObjectFieldNode,
    ObjectTypeDefinitionNode,
    OperationDefinitionNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    UnionTypeDefinitionNode,
    Visitor,
    get_named_type,
    parse_value,
    type_from_ast,
    visit,
)
from graphql.language.visitor import REMOVE

from orderhub.adapters.shopify.api_versions import InvalidVersion, newer, parse, served_version
from orderhub.simulators.shopify.version_table import CHANGES, Change

_TYPES = (ObjectTypeDefinitionNode, InputObjectTypeDefinitionNode, EnumTypeDefinitionNode, UnionTypeDefinitionNode,
          ScalarTypeDefinitionNode, InterfaceTypeDefinitionNode)
_BY_COORDINATE = {c.coordinate: c for c in CHANGES}


def serving(requested: str, today: date) -> str | None:
    """The version that answers a request for ``requested`` on ``today`` (Shopify's fall-forward), or
    None when Shopify would answer 404: a name not spelled exactly as a version, or one not released yet."""
    try:
        if parse(requested) != requested:
            return None
        return served_version(requested, today)
    except InvalidVersion:
        return None


def present(change: Change, version: str) -> bool:
    return ((change.added is None or newer(version, change.added))
            and (change.removed is None or not newer(version, change.removed)))


def _deprecated(node: Any, reason: str) -> Any:
    directive = DirectiveNode(name=NameNode(value="deprecated"),
                              arguments=(ArgumentNode(name=NameNode(value="reason"),
                                                      value=StringValueNode(value=reason)),))
    return dataclasses.replace(node, directives=(*(node.directives or ()), directive))


class _Versioner(Visitor):
    """Drops what ``version`` lacks and marks what it deprecates; notes each coordinate it met."""

    def __init__(self, version: str) -> None:
        super().__init__()
        self.version = version
        self.seen: set[str] = set()

    def _apply(self, node: Any, coordinate: str) -> Any:
        change = _BY_COORDINATE.get(coordinate)
        if change is None:
            return None
        self.seen.add(coordinate)
        if not present(change, self.version):
            return REMOVE
        if change.default_before and not newer(self.version, change.default_before[0]):
            node = dataclasses.replace(node, default_value=parse_value(change.default_before[1]))
        if change.deprecated and newer(self.version, change.deprecated):
            return _deprecated(node, change.reason or "No longer supported.")
        return node

    def enter(self, node: Any, key: Any, parent: Any, path: Any, ancestors: Any) -> Any:
        if isinstance(node, _TYPES):
            return self._apply(node, node.name.value)
        if isinstance(node, DirectiveDefinitionNode):
            return self._apply(node, f"@{node.name.value}")
        owners = [a for a in ancestors if isinstance(a, (*_TYPES, FieldDefinitionNode, DirectiveDefinitionNode))]
        if not owners:
            return None
        if isinstance(node, FieldDefinitionNode):
            return self._apply(node, f"{owners[-1].name.value}.{node.name.value}")
        if isinstance(node, InputValueDefinitionNode):
            owner = owners[-1]
            if isinstance(owner, FieldDefinitionNode) and len(owners) >= 2:
                return self._apply(node, f"{owners[-2].name.value}.{owner.name.value}({node.name.value}:)")
            if isinstance(owner, InputObjectTypeDefinitionNode):
                return self._apply(node, f"{owner.name.value}.{node.name.value}")
        return None


def for_version(document: DocumentNode, version: str) -> DocumentNode:
    """The SDL document of ``version`` from the newest one."""
    versioner = _Versioner(version)
    result = visit(document, versioner)
    return result  # type: ignore[no-any-return]


def unmatched(document: DocumentNode) -> set[str]:
    """Coordinates of the table that name nothing in the newest SDL (a typo in the table)."""
    versioner = _Versioner("unstable")
    visit(document, versioner)
    return set(_BY_COORDINATE) - versioner.seen


# -- what a request used ---------------------------------------------------------------------------

def _input_deprecations(value: Any, type_: Any, found: list[str]) -> None:
    """Deprecated input fields present in a variable's value."""
    if isinstance(type_, GraphQLNonNull):
        _input_deprecations(value, type_.of_type, found)
    elif isinstance(type_, GraphQLList):
        for item in value if isinstance(value, list) else [value]:
            _input_deprecations(item, type_.of_type, found)
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        for name, field in type_.fields.items():
            if name in value:
                if field.deprecation_reason:
                    found.append(f"{type_.name}.{name}")
                _input_deprecations(value[name], field.type, found)


class _Usage(Visitor):
    def __init__(self, type_info: TypeInfo, found: list[str]) -> None:
        super().__init__()
        self.type_info, self.found = type_info, found

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent, field = self.type_info.get_parent_type(), self.type_info.get_field_def()
        if parent is None or field is None:
            return
        name = get_named_type(parent).name
        if field.deprecation_reason:
            self.found.append(f"{name}.{node.name.value}")
        for arg in node.arguments or ():
            definition = field.args.get(arg.name.value)
            if definition is not None and definition.deprecation_reason:
                self.found.append(f"{name}.{node.name.value}({arg.name.value}:)")

    def enter_object_field(self, node: ObjectFieldNode, *_args: Any) -> None:
        parent = get_named_type(self.type_info.get_parent_input_type())
        if isinstance(parent, GraphQLInputObjectType):
            field = parent.fields.get(node.name.value)
            if field is not None and field.deprecation_reason:
                self.found.append(f"{parent.name}.{node.name.value}")


def deprecations(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: dict[str, Any]) -> list[str]:
    """The deprecated parts ``operation`` uses, by coordinate, each once, in the order met."""
    found: list[str] = []
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _Usage(type_info, found)))
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in variables:
            type_ = type_from_ast(schema, definition.type)
            _input_deprecations(variables[name], type_, found)
    return list(dict.fromkeys(found))
