"""Products and collections from the Admin GraphQL API, in the shapes orderhub keeps.

Products are read a page at a time, oldest update first, and handed back in REST
(webhook) shape, so a polled product goes through the same translator as a
``products/update`` webhook and carries the same identity. Collections are
Shopify's category structure: each with its title, handle, rules (a smart
collection's "product type equals Shoes") and the ids of its products.

:func:`paged` sizes each page from the cost Shopify charged for the one before,
so a page stays within one bucket's worth of points (it is shared with
:mod:`orderhub.adapters.shopify.graphql_inventory`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from orderhub.adapters.fields import numeric_id
from orderhub.adapters.shopify.graphql import AdminClient

MAX_COST = 1000
MAX_PAGE = 250
VARIANTS_PER_PRODUCT = 20  # more are fetched with MORE_VARIANTS_QUERY
PRODUCTS_PER_COLLECTION = 50  # more are fetched with COLLECTION_PRODUCTS_QUERY

_VARIANT = "id title sku barcode price inventoryItem { id }"

PRODUCTS_QUERY = """
query Products($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id title handle vendor productType status tags createdAt updatedAt
      variants(first: %d) { pageInfo { hasNextPage endCursor } nodes { %s } }
    }
  }
}
""" % (VARIANTS_PER_PRODUCT, _VARIANT)

MORE_VARIANTS_QUERY = """
query ProductVariants($id: ID!, $after: String) {
  product(id: $id) { variants(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { %s } } }
}
""" % _VARIANT

COLLECTIONS_QUERY = """
query Collections($first: Int!, $after: String) {
  collections(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id title handle updatedAt
      ruleSet { appliedDisjunctively rules { column relation condition } }
      products(first: %d) { pageInfo { hasNextPage endCursor } nodes { id } }
    }
  }
}
""" % PRODUCTS_PER_COLLECTION

COLLECTION_PRODUCTS_QUERY = """
query CollectionProducts($id: ID!, $after: String) {
  collection(id: $id) { products(first: 250, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } }
}
"""


def paged(client: AdminClient, query: str, variables: dict[str, Any], field: str) -> Iterator[list[dict[str, Any]]]:
    """The nodes of the root connection ``field``, a page at a time (``query`` takes ``$first`` and ``$after``).

    The first page asks for one node: Shopify reports what it cost, and the next pages are as
    large as fits in :data:`MAX_COST` points, so no page is refused as too expensive and the
    client waits for the bucket only as long as a page needs.
    """
    first, cursor, expected = 1, None, 0.0
    while True:
        data = client.execute(query, {**variables, "first": first, "after": cursor}, expected_cost=expected)
        requested = client.last_requested_cost
        connection = data[field]
        nodes = connection.get("nodes") or []
        yield nodes
        if requested and nodes:
            per_node = max(1.0, (requested - 2) / first)
            first = max(1, min(MAX_PAGE, int((MAX_COST - 2) // per_node)))
            expected = first * per_node + 2
        page_info = connection.get("pageInfo") or {}
        if not page_info.get("hasNextPage"):
            return
        cursor = page_info.get("endCursor")


def _rest_of(client: AdminClient, query: str, root: str, object_id: str, connection: dict[str, Any],
             field: str) -> list[dict[str, Any]]:
    """The nodes of a nested connection, fetching the pages beyond the first."""
    nodes = list(connection.get("nodes") or [])
    page = connection
    while (page.get("pageInfo") or {}).get("hasNextPage"):
        data = client.execute(query, {"id": object_id, "after": page["pageInfo"]["endCursor"]})
        page = (data.get(root) or {}).get(field) or {}
        nodes += page.get("nodes") or []
    return nodes


def _int_id(value: Any, path: str) -> int:
    return int(numeric_id(value, path))


def to_rest(node: dict[str, Any], variants: list[dict[str, Any]]) -> dict[str, Any]:
    """A GraphQL Product (and all its variants) as the REST/webhook product payload."""
    return {
        "id": _int_id(node["id"], "id"), "title": node.get("title"), "handle": node.get("handle"),
        "vendor": node.get("vendor"), "product_type": node.get("productType"),
        "status": (node.get("status") or "").lower() or None, "tags": ", ".join(node.get("tags") or []),
        "created_at": node.get("createdAt"), "updated_at": node.get("updatedAt"),
        "variants": [{
            "id": _int_id(v["id"], "variants.id"), "product_id": _int_id(node["id"], "id"), "title": v.get("title"),
            "sku": v.get("sku"), "barcode": v.get("barcode"), "price": v.get("price"),
            "inventory_item_id": (None if not v.get("inventoryItem")
                                  else _int_id(v["inventoryItem"]["id"], "variants.inventory_item_id")),
        } for v in variants],
    }


def products(client: AdminClient, query: str | None) -> Iterator[list[dict[str, Any]]]:
    """Products matching the search ``query`` (oldest update first), a page at a time, in REST shape."""
    for nodes in paged(client, PRODUCTS_QUERY, {"query": query}, "products"):
        yield [to_rest(n, _rest_of(client, MORE_VARIANTS_QUERY, "product", n["id"], n.get("variants") or {},
                                   "variants")) for n in nodes]


@dataclass(frozen=True)
class Collection:
    """A collection of the shop's category structure."""

    id: str
    title: str
    handle: str | None
    updated_at: str | None
    rules: tuple[dict[str, str], ...]  # {column, relation, condition}; none for a custom (manual) collection
    disjunctive: bool
    product_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "handle": self.handle, "updated_at": self.updated_at,
                "rules": list(self.rules), "disjunctive": self.disjunctive, "product_ids": list(self.product_ids)}


def collections(client: AdminClient) -> Iterator[Collection]:
    """Every collection of the shop with the ids of all its products."""
    for nodes in paged(client, COLLECTIONS_QUERY, {}, "collections"):
        for n in nodes:
            members = _rest_of(client, COLLECTION_PRODUCTS_QUERY, "collection", n["id"], n.get("products") or {},
                               "products")
            rule_set = n.get("ruleSet") or {}
            yield Collection(
                id=numeric_id(n["id"], "collections.id"), title=n.get("title") or "", handle=n.get("handle"),
                updated_at=n.get("updatedAt"),
                rules=tuple({"column": r.get("column"), "relation": r.get("relation"), "condition": r.get("condition")}
                            for r in rule_set.get("rules") or []),
                disjunctive=bool(rule_set.get("appliedDisjunctively")),
                product_ids=tuple(numeric_id(p["id"], "collections.products.id") for p in members))
