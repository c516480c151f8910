"""Pre-selling facts in the Admin GraphQL API: metafields of variants, tags of products and orders, order notes.

Writes are mutation fields (``metafieldsSet``, ``metafieldsDelete``, ``tagsAdd``, ``tagsRemove``,
``orderUpdate``) sent several to a request under aliases (``m0``, ``m1``, ...), each costing 10
points, so a request of ``n`` of them asks for ``10 * n``; :func:`send` answers each one's user
errors. Every one of them sets a state (a value, a tag present or absent, a whole note), so sending
one again after a lost answer changes nothing: none needs an idempotency key, and Shopify offers
``@idempotent`` only on inventory and refund mutations. Reads (:func:`tags_of`, :func:`notes_of`)
ask for many records at once, one point each. Ids are Shopify's numeric ids as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orderhub.adapters.shopify.graphql import AdminClient

MUTATION_COST = 10
MAX_METAFIELDS = 25  # per metafieldsSet, as Shopify allows
MAX_MUTATIONS = 100  # per request: 1000 points, the most one query may cost
NODES_PER_QUERY = 100  # records whose tags or notes one query reads (1 point each)

_ERRORS = "userErrors { field message }"
_SET_ERRORS = "userErrors { code field message }"


def gid(kind: str, shopify_id: str) -> str:
    """``gid://shopify/Order/10000000000000001`` from a kind and a numeric id."""
    return f"gid://shopify/{kind}/{shopify_id}"


@dataclass(frozen=True)
class Metafield:
    """One metafield to set on a variant or product (``owner`` a gid)."""

    owner: str
    namespace: str
    key: str
    type: str
    value: str


@dataclass(frozen=True)
class MetafieldKey:
    owner: str
    namespace: str
    key: str


@dataclass(frozen=True)
class Mutation:
    """One mutation field of a request: its name, its arguments as (name, GraphQL type, value), what to select."""

    field: str
    arguments: tuple[tuple[str, str, Any], ...]
    selection: str = _ERRORS


@dataclass(frozen=True)
class UserError:
    message: str
    field: tuple[str, ...] = ()
    code: str | None = None

    @property
    def index(self) -> int | None:
        """The position of the list element it is about (``["metafields", "3", "value"]``: 3), if any."""
        return int(self.field[1]) if len(self.field) > 1 and self.field[1].isdigit() else None

    def __str__(self) -> str:
        where = ".".join(self.field)
        return " ".join(p for p in (self.code, f"{where}:" if where else "", self.message) if p)


def set_metafields(metafields: Sequence[Metafield]) -> Mutation:
    if not 0 < len(metafields) <= MAX_METAFIELDS:
        raise ValueError(f"metafieldsSet takes 1 to {MAX_METAFIELDS} metafields, not {len(metafields)}")
    value = [{"ownerId": m.owner, "namespace": m.namespace, "key": m.key, "type": m.type, "value": m.value}
             for m in metafields]
    return Mutation("metafieldsSet", (("metafields", "[MetafieldsSetInput!]!", value),), _SET_ERRORS)


def delete_metafields(keys: Sequence[MetafieldKey]) -> Mutation:
    if not keys:
        raise ValueError("metafieldsDelete takes at least one metafield")
    value = [{"ownerId": k.owner, "namespace": k.namespace, "key": k.key} for k in keys]
    return Mutation("metafieldsDelete", (("metafields", "[MetafieldIdentifierInput!]!", value),))


def add_tags(owner: str, tags: Sequence[str]) -> Mutation:
    return Mutation("tagsAdd", (("id", "ID!", owner), ("tags", "[String!]!", list(tags))))


def remove_tags(owner: str, tags: Sequence[str]) -> Mutation:
    return Mutation("tagsRemove", (("id", "ID!", owner), ("tags", "[String!]!", list(tags))))


def update_note(order: str, note: str) -> Mutation:
    """``orderUpdate`` of the note only (it overwrites the whole note)."""
    return Mutation("orderUpdate", (("input", "OrderInput!", {"id": order, "note": note}),))


def send(client: AdminClient, mutations: Sequence[Mutation]) -> list[tuple[UserError, ...]]:
    """Send the mutations in one request; the user errors of each, in order (empty: it was done)."""
    if not 0 < len(mutations) <= MAX_MUTATIONS:
        raise ValueError(f"a request takes 1 to {MAX_MUTATIONS} mutations, not {len(mutations)}")
    params, fields, variables = [], [], {}
    for i, m in enumerate(mutations):
        args = []
        for name, kind, value in m.arguments:
            params.append(f"$m{i}_{name}: {kind}")
            variables[f"m{i}_{name}"] = value
            args.append(f"{name}: $m{i}_{name}")
        fields.append(f"  m{i}: {m.field}({', '.join(args)}) {{ {m.selection} }}")
    query = f"mutation Presell({', '.join(params)}) {{\n" + "\n".join(fields) + "\n}"
    data = client.execute(query, variables, expected_cost=MUTATION_COST * len(mutations)) or {}
    return [tuple(UserError(e.get("message") or "", tuple(str(f) for f in e.get("field") or ()), e.get("code"))
                  for e in (data.get(f"m{i}") or {}).get("userErrors") or ())
            for i in range(len(mutations))]


def _read(client: AdminClient, ids: Sequence[str], field: str, selection: str) -> dict[str, dict[str, Any]]:
    """``field(id:) { selection }`` of each id, NODES_PER_QUERY at a time; ids Shopify has not are left out."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), NODES_PER_QUERY):
        chunk = ids[start:start + NODES_PER_QUERY]
        params = ", ".join(f"$i{i}: ID!" for i in range(len(chunk)))
        fields = "\n".join(f"  r{i}: {field}(id: $i{i}) {{ {selection} }}" for i in range(len(chunk)))
        data = client.execute(f"query Read({params}) {{\n{fields}\n}}", {f"i{i}": v for i, v in enumerate(chunk)},
                              expected_cost=len(chunk)) or {}
        for i, value in enumerate(chunk):
            if data.get(f"r{i}"):
                out[value] = data[f"r{i}"]
    return out


def tags_of(client: AdminClient, owners: Sequence[str]) -> dict[str, list[str]]:
    """The tags of each order or product (gids) as Shopify has them now."""
    found = _read(client, owners, "node", "id ... on Order { tags } ... on Product { tags }")
    return {owner: list(node.get("tags") or []) for owner, node in found.items() if "tags" in node}


def notes_of(client: AdminClient, orders: Sequence[str]) -> dict[str, str | None]:
    """The note of each order (gids) as Shopify has it now."""
    return {order: node.get("note") for order, node in _read(client, orders, "order", "id note").items()}
