"""A bulk query's result as Shopify writes it: one JSON object per line, parents before their children.

Each node of a connection is a line of its own, holding the fields selected on
it. A nested connection is flattened: its nodes follow their parent's line,
each with ``__parentId`` set to the parent's ``id`` (the ``edges``/``node``
wrappers disappear). A nested single object, such as a variant's
``inventoryItem``, stays inline in its parent's line. Values are serialized by
the schema's scalars, exactly as the GraphQL API answers them.

The selections are compiled once per plan, so each node costs only a walk over
the fields it selects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import get_argument_values

from orderhub.simulators.shopify.bulk_query import (
    BulkPlan,
    collect,
    connection_nodes,
    is_connection,
    sub_selections,
)
from orderhub.simulators.shopify.pagination import MAX_PAGE_SIZE

Line = dict[str, Any]


@dataclass
class _Field:
    key: str  # response key (alias or name)
    name: str
    kind: str  # "typename", "leaf", "object" or "connection"
    is_list: bool = False
    args: dict[str, Any] = field(default_factory=dict)
    coerce: Callable[[Any], Any] | None = None
    shape: _Shape | None = None  # the object's fields, or a connection's node fields
    abstract: tuple[Any, list[SelectionSetNode]] | None = None  # (interface or union, selections)
    shapes: dict[str, _Shape] = field(default_factory=dict)  # compiled per runtime type of ``abstract``


@dataclass
class _Shape:
    type_name: str
    fields: list[_Field]


class Flattener:
    """Turns root nodes (GraphQL-shaped dicts, as the resolvers build them) into JSONL lines."""

    def __init__(self, schema: GraphQLSchema, plan: BulkPlan, context: Any) -> None:
        self.schema = schema
        self.fragments = plan.fragments
        self.info = SimpleNamespace(context=context)  # what resolver callables read
        self.root = self._shape(plan.node_type, list(plan.node_selections))

    def lines(self, node: dict[str, Any]) -> Iterator[Line]:
        """The root node's line, then the lines of its nested connections' nodes."""
        return self._lines(self.root, node, None)

    # -- compiling ----------------------------------------------------------------------------------

    def _shape(self, object_type: GraphQLObjectType, selection_sets: list[SelectionSetNode]) -> _Shape:
        fields = []
        for key, nodes in collect(self.schema, self.fragments, selection_sets, object_type).items():
            name = nodes[0].name.value
            if name == "__typename":
                fields.append(_Field(key, name, "typename"))
                continue
            field_def = object_type.fields[name]
            named = get_named_type(field_def.type)
            listed = is_list_type(get_nullable_type(field_def.type))
            args = get_argument_values(field_def, nodes[0])
            subsets = sub_selections(nodes)
            if is_leaf_type(named):
                fields.append(_Field(key, name, "leaf", listed, args, coerce=named.coerce_output_value))
            elif is_connection(named):
                found, _ = connection_nodes(self.schema, self.fragments, named, subsets)
                node_type, node_sets = found[0]
                # Nodes of an interface (discount applications) take the shape of their runtime type.
                shapes = {t.name: self._shape(t, sets) for t, sets in found} if len(found) > 1 else {}
                fields.append(_Field(key, name, "connection", args=args, shape=self._shape(node_type, node_sets),
                                     shapes=shapes))
            elif is_abstract_type(named):
                fields.append(_Field(key, name, "object", listed, args, abstract=(named, subsets)))
            else:
                fields.append(_Field(key, name, "object", listed, args, shape=self._shape(named, subsets)))
        return _Shape(object_type.name, fields)

    def _object_shape(self, f: _Field, value: dict[str, Any]) -> _Shape:
        if f.abstract is None:
            assert f.shape is not None
            return f.shape
        runtime = value.get("__typename", "")
        if runtime not in f.shapes:
            abstract, subsets = f.abstract
            object_type = self.schema.get_type(runtime)
            if not isinstance(object_type, GraphQLObjectType) or not self.schema.is_sub_type(abstract, object_type):
                raise TypeError(f"{runtime!r} is not a possible type of {abstract.name}")
            f.shapes[runtime] = self._shape(object_type, subsets)
        return f.shapes[runtime]

    # -- flattening ---------------------------------------------------------------------------------

    def _lines(self, shape: _Shape, node: dict[str, Any], parent_id: str | None) -> Iterator[Line]:
        children: list[tuple[_Shape, list[Any]]] = []
        line = self._object(shape, node, children)
        if parent_id is not None:
            line["__parentId"] = parent_id
        yield line
        own_id = node.get("id")
        for child_shape, items in children:
            for item in items:
                yield from self._lines(child_shape, item, own_id)

    def _object(self, shape: _Shape, value: dict[str, Any], children: list[tuple[_Shape, list[Any]]]) -> Line:
        """The fields ``shape`` selects from ``value``; nested connections go to ``children``."""
        out: Line = {}
        for f in shape.fields:
            if f.kind == "typename":
                out[f.key] = shape.type_name
                continue
            raw = value.get(f.name)
            if f.kind == "connection":
                assert f.shape is not None
                nodes = self._all_nodes(raw)
                if f.shapes:
                    children += [(f.shapes[node["__typename"]], [node]) for node in nodes]
                else:
                    children.append((f.shape, nodes))
                continue
            if callable(raw):
                raw = raw(self.info, **f.args)
            if raw is None:
                out[f.key] = None
            elif f.kind == "leaf":
                assert f.coerce is not None
                out[f.key] = [f.coerce(v) for v in raw] if f.is_list else f.coerce(raw)
            elif f.is_list:
                out[f.key] = [None if v is None else self._object(self._object_shape(f, v), v, children)
                              for v in raw]
            else:
                out[f.key] = self._object(self._object_shape(f, raw), raw, children)
        return out

    def _all_nodes(self, raw: Any) -> list[Any]:
        """Every node of a nested connection: bulk queries ignore page sizes and read to the end."""
        if raw is None:
            return []
        if not callable(raw):
            return list(raw.get("nodes") or [])
        nodes: list[Any] = []
        after = None
        while True:
            page = raw(self.info, first=MAX_PAGE_SIZE, after=after)
            nodes += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return nodes
            after = page["pageInfo"]["endCursor"]
