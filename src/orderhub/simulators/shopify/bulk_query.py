"""Bulk queries as Shopify accepts them: parsed, validated, and planned.

``bulkOperationRunQuery`` takes a query string. Shopify checks it against the
Admin API schema and against the bulk rules (one top-level connection; at most
five connections nested at most two levels deep; each connection selected
through ``edges { node }``; the node of a connection that has a nested
connection selects ``id``, so children can name their parent) and answers a
broken query with ``userErrors`` on the field ``query``, with the messages
below. The simulator runs bulk queries over ``orders`` and ``products``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    parse,
)
from graphql.execution.values import get_argument_values, get_directive_values

from orderhub.simulators.shopify.validation import validate_document

SUPPORTED_ROOTS = ("orders", "products")
MAX_CONNECTIONS = 5
MAX_DEPTH = 2
Fragments = dict[str, FragmentDefinitionNode]
UserError = dict[str, Any]


@dataclass(frozen=True)
class BulkPlan:
    """A valid bulk query: its root connection, the root's arguments and what each node selects."""

    query: str
    root_field: str
    root_args: dict[str, Any]
    node_type: GraphQLObjectType
    node_selections: tuple[SelectionSetNode, ...]
    fragments: Fragments


def user_error(message: str, field_path: tuple[str, ...] | None = ("query",), code: str | None = "INVALID"
               ) -> UserError:
    """A BulkOperationUserError; ``field_path`` None is a null field (an error about no argument in particular)."""
    return {"field": None if field_path is None else list(field_path), "message": message, "code": code}


def is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")


def _included(node: Any) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node)
    if skip and skip.get("if"):
        return False
    include = get_directive_values(GraphQLIncludeDirective, node)
    return not (include is not None and not include.get("if"))


def _applies(schema: GraphQLSchema, condition: Any, object_type: GraphQLObjectType) -> bool:
    if condition is None:
        return True
    named = schema.get_type(condition.name.value)
    if named is object_type:
        return True
    return named is not None and is_abstract_type(named) and schema.is_sub_type(named, object_type)  # type: ignore[arg-type]


def collect(schema: GraphQLSchema, fragments: Fragments, selection_sets: Iterable[SelectionSetNode],
            object_type: GraphQLObjectType, out: dict[str, list[FieldNode]] | None = None
            ) -> dict[str, list[FieldNode]]:
    """Fields selected on ``object_type``, fragments flattened and @skip/@include applied, by response key."""
    out = {} if out is None else out
    for selection_set in selection_sets:
        for selection in selection_set.selections:
            if not _included(selection):
                continue
            if isinstance(selection, FieldNode):
                out.setdefault((selection.alias or selection.name).value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if _applies(schema, selection.type_condition, object_type):
                    collect(schema, fragments, [selection.selection_set], object_type, out)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and _applies(schema, fragment.type_condition, object_type):
                    collect(schema, fragments, [fragment.selection_set], object_type, out)
    return out


def sub_selections(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [n.selection_set for n in nodes if n.selection_set is not None]


def connection_nodes(schema: GraphQLSchema, fragments: Fragments, connection_type: GraphQLObjectType,
                     selection_sets: list[SelectionSetNode]
                     ) -> tuple[list[tuple[GraphQLObjectType, list[SelectionSetNode]]], bool]:
    """Where a connection's node is selected through ``edges { node }``: (node type, selections) pairs,
    and whether ``nodes`` was selected too."""
    found: list[tuple[GraphQLObjectType, list[SelectionSetNode]]] = []
    via_nodes = False
    for nodes in collect(schema, fragments, selection_sets, connection_type).values():
        name = nodes[0].name.value
        if name == "nodes":
            via_nodes = True
        elif name == "edges":
            edge_type = get_named_type(connection_type.fields["edges"].type)
            for node_fields in collect(schema, fragments, sub_selections(nodes), edge_type).values():
                if node_fields[0].name.value == "node":
                    node_type = get_named_type(edge_type.fields["node"].type)
                    possible = schema.get_possible_types(node_type) if is_abstract_type(node_type) else [node_type]
                    found += [(t, sub_selections(node_fields)) for t in possible]
    return found, via_nodes


@dataclass
class _Analysis:
    connections: int = 0
    depth: int = 0
    via_nodes: list[str] = field(default_factory=list)
    without_id: list[str] = field(default_factory=list)
    in_list: bool = False


def _selects_id(schema: GraphQLSchema, fragments: Fragments, node_type: GraphQLObjectType,
                selection_sets: list[SelectionSetNode]) -> bool:
    fields = collect(schema, fragments, selection_sets, node_type).get("id") or []
    return any(n.name.value == "id" and n.alias is None for n in fields)


def _walk(schema: GraphQLSchema, fragments: Fragments, object_type: GraphQLObjectType,
          selection_sets: list[SelectionSetNode], depth: int, in_list: bool,
          enclosing: tuple[str, bool] | None, analysis: _Analysis) -> None:
    """Count and check the connections under one object; ``enclosing`` is (connection name, node selects id)."""
    for nodes in collect(schema, fragments, selection_sets, object_type).values():
        field_def = object_type.fields.get(nodes[0].name.value)
        if field_def is None:  # __typename
            continue
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            continue
        subsets = sub_selections(nodes)
        name = nodes[0].name.value
        if is_connection(named):
            analysis.connections += 1
            analysis.depth = max(analysis.depth, depth + 1)
            analysis.in_list = analysis.in_list or in_list
            if enclosing is not None and not enclosing[1] and enclosing[0] not in analysis.without_id:
                analysis.without_id.append(enclosing[0])
            found, via_nodes = connection_nodes(schema, fragments, named, subsets)
            if via_nodes:
                analysis.via_nodes.append(name)
            for node_type, node_sets in found:
                has_id = _selects_id(schema, fragments, node_type, node_sets)
                _walk(schema, fragments, node_type, node_sets, depth + 1, False, (name, has_id), analysis)
        else:
            listed = in_list or is_list_type(get_nullable_type(field_def.type))
            possible = schema.get_possible_types(named) if is_abstract_type(named) else [named]
            for runtime in possible:
                _walk(schema, fragments, runtime, subsets, depth, listed, enclosing, analysis)


def _rule_errors(analysis: _Analysis, top_level: list[str]) -> list[UserError]:
    errors = []
    if analysis.via_nodes:
        names = "', '".join(analysis.via_nodes)
        errors.append(user_error(
            "All connection fields in a bulk query must select their contents using 'edges' > 'node', e.g: "
            f"'{analysis.via_nodes[0]} {{ edges {{ node {{'. Selecting via 'nodes' is not supported. "
            f"Invalid connection fields: '{names}'."))
    top_level_node = any(name in ("node", "nodes") for name in top_level)
    if top_level_node:
        errors.append(user_error("Bulk queries cannot contain a top level `node` field."))
    if analysis.depth > MAX_DEPTH:
        errors.append(user_error(
            f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."))
    if analysis.connections > MAX_CONNECTIONS:
        errors.append(user_error(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."))
    if analysis.without_id:
        errors.append(user_error(
            "The parent 'node' field for a nested connection must select the 'id' field without an alias and "
            f"must be of 'ID' return type. Connection fields without 'id': {', '.join(analysis.without_id)}."))
    if analysis.in_list:
        errors.append(user_error(
            "Queries that contain a connection field within a list field are not currently supported."))
    if analysis.connections == 0 and (not errors or (top_level_node and len(errors) == 1)):
        errors.append(user_error("Bulk queries must contain at least one connection."))
    return errors


def plan_query(schema: GraphQLSchema, query: str) -> tuple[BulkPlan | None, list[UserError]]:
    """The plan of a bulk query, or the userErrors Shopify answers it with."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return None, [user_error(f"Invalid bulk query: {exc.message}")]
    invalid = validate_document(schema, document)
    if invalid:
        return None, [user_error(f"Invalid bulk query: {e['message']}") for e in invalid]
    operation = get_operation_ast(document)
    if operation is None:
        return None, [user_error("Invalid bulk query: the document must hold exactly one operation.")]
    if operation.operation != OperationType.QUERY:
        return None, [user_error("Invalid operation type. Only `query` operations are supported.")]
    if operation.variable_definitions:
        return None, [user_error("Invalid bulk query: bulk queries take no variables; write the values into "
                                 "the query.")]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root_type = schema.query_type
    assert root_type is not None
    top = collect(schema, fragments, [operation.selection_set], root_type)
    top_level = [nodes[0].name.value for nodes in top.values()]
    analysis = _Analysis()
    _walk(schema, fragments, root_type, [operation.selection_set], 0, False, None, analysis)
    errors = _rule_errors(analysis, top_level)
    if errors:
        return None, errors
    if len(top) != 1:
        return None, [user_error("Invalid bulk query: a bulk query selects a single top-level field, not "
                                 f"{len(top)} ({', '.join(top_level)}).")]
    (nodes,) = top.values()
    root_name = nodes[0].name.value
    if root_name not in SUPPORTED_ROOTS:
        return None, [user_error(f"The simulator runs bulk queries over {' and '.join(SUPPORTED_ROOTS)} only, "
                                 f"not '{root_name}'.")]
    field_def = root_type.fields[root_name]
    try:
        root_args = get_argument_values(field_def, nodes[0])
    except GraphQLError as exc:
        return None, [user_error(f"Invalid bulk query: {exc.message}")]
    found, _ = connection_nodes(schema, fragments, get_named_type(field_def.type), sub_selections(nodes))
    if not found:
        return None, [user_error(f"Invalid bulk query: '{root_name}' selects no 'edges' > 'node'.")]
    node_type, node_sets = found[0]
    return BulkPlan(query=query, root_field=root_name, root_args=root_args, node_type=node_type,
                    node_selections=tuple(node_sets), fragments=fragments), []
