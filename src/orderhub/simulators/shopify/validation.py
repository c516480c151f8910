"""Query validation with Shopify's error shapes.

Shopify answers an invalid query with messages, paths and ``extensions.code``
values of its own ("Field 'foo' doesn't exist on type 'Order'", code
``undefinedField``, path ``["query Name", "orders", "nodes", "foo"]``). The
three most common checks (unknown field, unknown argument, missing argument)
are replaced here by rules that answer that way; graphql-core's other rules
stay as they are.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationContext,
    get_named_type,
    is_required_argument,
    specified_rules,
    validate,
)
from graphql.validation.rules.fields_on_correct_type import FieldsOnCorrectTypeRule
from graphql.validation.rules.known_argument_names import (
    KnownArgumentNamesOnDirectivesRule,
    KnownArgumentNamesRule,
)
from graphql.validation.rules.provided_required_arguments import (
    ProvidedRequiredArgumentsOnDirectivesRule,
    ProvidedRequiredArgumentsRule,
)


def _path(ancestors: Any, node: FieldNode, *tail: str) -> list[str]:
    """Shopify's path to a node: ``["query Name", "orders", "nodes", "foo"]``."""
    path: list[str] = []
    for ancestor in [*ancestors, node]:
        if isinstance(ancestor, OperationDefinitionNode):
            path.append(" ".join(filter(None, (ancestor.operation.value, ancestor.name and ancestor.name.value))))
        elif isinstance(ancestor, FragmentDefinitionNode):
            path.append(f"fragment {ancestor.name.value}")
        elif isinstance(ancestor, InlineFragmentNode):
            path.append(f"... on {ancestor.type_condition.name.value}" if ancestor.type_condition else "...")
        elif isinstance(ancestor, FieldNode):
            path.append((ancestor.alias or ancestor.name).value)
    return [*path, *tail]


class UndefinedFieldRule(ASTValidationRule):
    context: ValidationContext

    def enter_field(self, node: FieldNode, _key: Any, _parent: Any, _at: Any, ancestors: Any) -> None:
        parent_type = self.context.get_parent_type()
        if parent_type is None or self.context.get_field_def() is not None:
            return
        name, type_name = node.name.value, get_named_type(parent_type).name
        self.report_error(GraphQLError(
            f"Field '{name}' doesn't exist on type '{type_name}'", node, path=_path(ancestors, node),
            extensions={"code": "undefinedField", "typeName": type_name, "fieldName": name}))


class FieldArgumentsRule(ASTValidationRule):
    context: ValidationContext

    def enter_field(self, node: FieldNode, _key: Any, _parent: Any, _at: Any, ancestors: Any) -> None:
        field_def = self.context.get_field_def()
        if field_def is None:
            return
        name = node.name.value
        given = {arg.name.value for arg in node.arguments or ()}
        for arg in node.arguments or ():
            if arg.name.value not in field_def.args:
                self.report_error(GraphQLError(
                    f"Field '{name}' doesn't accept argument '{arg.name.value}'", arg,
                    path=_path(ancestors, node, arg.name.value),
                    extensions={"code": "argumentNotAccepted", "name": name, "typeName": "Field",
                                "argumentName": arg.name.value}))
        missing = [arg for arg, definition in field_def.args.items()
                   if is_required_argument(definition) and arg not in given]
        if missing:
            self.report_error(GraphQLError(
                f"Field '{name}' is missing required arguments: {', '.join(missing)}", node,
                path=_path(ancestors, node),
                extensions={"code": "missingRequiredArguments", "className": "Field", "name": name,
                            "arguments": ", ".join(missing)}))


_REPLACED = {FieldsOnCorrectTypeRule: [UndefinedFieldRule],
             KnownArgumentNamesRule: [KnownArgumentNamesOnDirectivesRule, FieldArgumentsRule],
             ProvidedRequiredArgumentsRule: [ProvidedRequiredArgumentsOnDirectivesRule]}
RULES = [new for rule in specified_rules for new in _REPLACED.get(rule, [rule])]


def validate_document(schema: GraphQLSchema, document: DocumentNode) -> list[dict[str, Any]]:
    """Validation errors in Shopify's shape; empty when the document is valid."""
    return [error.formatted for error in validate(schema, document, RULES)]  # type: ignore[misc]
