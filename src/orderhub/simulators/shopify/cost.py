"""Shopify's calculated query cost, before (requested) and after (actual) execution.

Rules (shopify.dev, "GraphQL Admin API rate limits"): scalars and enums cost 0;
an object costs 1; an interface or union costs the most expensive of its
possible selections; a connection costs 2 plus its page size (``first``) times
the cost of one node (1 for the node object plus its selections), its
``edges``/``nodes``/``pageInfo`` wrappers being included in that; each mutation
costs 10. The actual cost applies the same rules to what came back: the nodes
a connection really returned. Lists of objects that are not connections are
charged once, like an object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

CONNECTION_COST = 2
OBJECT_COST = 1
MUTATION_COST = 10
_STATIC = object()  # "no result: compute the requested cost"


@dataclass(frozen=True)
class _Context:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Any  # graphql-core VariableValues, as get_variable_values returns them


def _applies(ctx: _Context, condition: NamedTypeNode | None, object_type: GraphQLObjectType) -> bool:
    if condition is None:
        return True
    named = ctx.schema.get_type(condition.name.value)
    if named is object_type:
        return True
    return named is not None and is_abstract_type(named) and ctx.schema.is_sub_type(named, object_type)  # type: ignore[arg-type]


def _collect(ctx: _Context, selection_sets: Iterable[SelectionSetNode], object_type: GraphQLObjectType,
             out: dict[str, list[FieldNode]] | None = None) -> dict[str, list[FieldNode]]:
    """Fields selected on ``object_type``, fragments flattened, grouped by response key."""
    out = {} if out is None else out
    for selection_set in selection_sets:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                out.setdefault((selection.alias or selection.name).value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if _applies(ctx, selection.type_condition, object_type):
                    _collect(ctx, [selection.selection_set], object_type, out)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = ctx.fragments.get(selection.name.value)
                if fragment is not None and _applies(ctx, fragment.type_condition, object_type):
                    _collect(ctx, [fragment.selection_set], object_type, out)
    return out


def _sub_selections(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [n.selection_set for n in nodes if n.selection_set is not None]


def _children(ctx: _Context, selection_sets: list[SelectionSetNode], named: Any, value: Any) -> int:
    """Cost of the selections made on one object (its own cost of 1 not included)."""
    if is_abstract_type(named):
        return max((_children(ctx, selection_sets, possible, value)
                    for possible in ctx.schema.get_possible_types(named)), default=0)
    total = 0
    for key, nodes in _collect(ctx, selection_sets, named).items():
        field_def = named.fields.get(nodes[0].name.value)
        if field_def is None:
            continue  # __typename
        child = value if value is _STATIC else (value.get(key) if isinstance(value, dict) else None)
        total += _field(ctx, nodes, field_def, child)
    return total


def _field(ctx: _Context, nodes: list[FieldNode], field_def: GraphQLField, value: Any) -> int:
    named = get_named_type(field_def.type)
    if is_leaf_type(named):
        return 0
    selections = _sub_selections(nodes)
    if named.name.endswith("Connection"):
        return _connection(ctx, nodes[0], selections, field_def, named, value)
    if value is _STATIC:
        return OBJECT_COST + _children(ctx, selections, named, _STATIC)
    if isinstance(value, list):
        return OBJECT_COST + max((_children(ctx, selections, named, v) for v in value if v is not None), default=0)
    return OBJECT_COST + (0 if value is None else _children(ctx, selections, named, value))


def _node_groups(ctx: _Context, selections: list[SelectionSetNode], connection_type: GraphQLObjectType
                 ) -> list[tuple[tuple[str, ...], list[SelectionSetNode]]]:
    """Where one node is selected inside a connection: ``nodes`` and/or ``edges { node }``, with its selections."""
    groups: list[tuple[tuple[str, ...], list[SelectionSetNode]]] = []
    for key, nodes in _collect(ctx, selections, connection_type).items():
        name = nodes[0].name.value
        if name == "nodes":
            groups.append(((key,), _sub_selections(nodes)))
        elif name == "edges":
            edge_type = get_named_type(connection_type.fields["edges"].type)
            for node_key, node_fields in _collect(ctx, _sub_selections(nodes), edge_type).items():
                if node_fields[0].name.value == "node":
                    groups.append(((key, node_key), _sub_selections(node_fields)))
    return groups


def _returned(value: Any, path: tuple[str, ...]) -> list[Any]:
    items = value.get(path[0]) if isinstance(value, dict) else None
    if not isinstance(items, list):
        return []
    if len(path) == 1:
        return [i for i in items if i is not None]
    return [e.get(path[1]) for e in items if isinstance(e, dict) and e.get(path[1]) is not None]


def _connection(ctx: _Context, node: FieldNode, selections: list[SelectionSetNode], field_def: GraphQLField,
                connection_type: Any, value: Any) -> int:
    node_type = get_named_type(connection_type.fields["nodes"].type)
    groups = _node_groups(ctx, selections, connection_type)
    if value is _STATIC:
        args = get_argument_values(field_def, node, ctx.variables)
        size = args.get("first") or args.get("last") or 0
        per_node = OBJECT_COST + max((_children(ctx, sets, node_type, _STATIC) for _, sets in groups), default=0)
        return CONNECTION_COST + size * per_node
    if value is None:
        return CONNECTION_COST
    return CONNECTION_COST + max(
        (sum(OBJECT_COST + _children(ctx, sets, node_type, item) for item in _returned(value, path))
         for path, sets in groups), default=0)


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType:
    root = schema.mutation_type if operation.operation == OperationType.MUTATION else schema.query_type
    assert root is not None
    return root


def query_cost(schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
               operation: OperationDefinitionNode, variables: Any, data: Any = _STATIC) -> int:
    """The requested cost, or with ``data`` (the execution result) the actual cost."""
    ctx = _Context(schema, fragments, variables)
    root = _root(schema, operation)
    fields = _collect(ctx, [operation.selection_set], root)
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * sum(1 for nodes in fields.values() if not nodes[0].name.value.startswith("__"))
    if data is None:
        return 0
    return _children(ctx, [operation.selection_set], root, data)
