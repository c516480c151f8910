"""Root fields ``collections`` and ``collection(id:)``: the shop's category structure.

The simulator's collections are smart collections by product type, one per type (the
ones bulk queries and ``Product.collections`` already show): every product type of the
shop's products has one, and a collection stays (empty) when its last product changes
type or goes. ``collections`` takes Shopify's ``query`` (``title:``, ``updated_at:``,
``id:``), ``sortKey`` (ID, TITLE, UPDATED_AT) and ``reverse``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from orderhub.simulators.shopify.catalogue_search import parse_catalogue
from orderhub.simulators.shopify.clock import utc_z
from orderhub.simulators.shopify.pagination import connection
from orderhub.simulators.shopify.product_nodes import (
    Collection,
    available_units,
    collection_node,
    shop_collection,
    shop_levels,
)
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid
from orderhub.simulators.shopify.store import Shop, Store

COLLECTION_SORT = {"ID": lambda c: c.id, "TITLE": lambda c: c.title, "UPDATED_AT": lambda c: utc_z(c.updated_at)}


def shop_collections(store: Store, shop: Shop) -> list[Collection]:
    """Every collection of the shop: one per product type it sells or once sold."""
    with store.lock:
        titles = {p.get("product_type") or "" for p in shop.products.values()} | set(shop.collections)
    return [shop_collection(store, shop, title) for title in sorted(t for t in titles if t)]


def _record(c: Collection) -> dict[str, Any]:
    """The collection as the search sees it."""
    return {"id": c.id, "title": c.title, "updated_at": c.updated_at, "created_at": c.updated_at}


def collection(store: Store, shop: Shop, collection_id: int) -> dict[str, Any] | None:
    found = next((c for c in shop_collections(store, shop) if c.id == collection_id), None)
    return None if found is None else collection_node(found, available_units(store, shop), shop_levels(store, shop))


def _collections(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
                 query: str | None = None, sortKey: str = "ID", reverse: bool = False) -> dict[str, Any]:
    ctx: RequestContext = info.context
    matches, warnings = parse_catalogue(query, ctx.shop.tz)
    if warnings:
        ctx.search.append({"path": ["collections"], "query": query, "warnings": warnings})
    found = [c for c in shop_collections(ctx.store, ctx.shop) if matches(_record(c))]
    available, levels = available_units(ctx.store, ctx.shop), shop_levels(ctx.store, ctx.shop)
    value = COLLECTION_SORT[sortKey]
    return connection(found, lambda c: (value(c), c.id), first=first, after=after, field_name="collections",
                      reverse=reverse, node=lambda c: collection_node(c, available, levels))


def _collection(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    return collection(ctx.store, ctx.shop, parse_gid(id, "Collection"))


COLLECTION_ROOT: dict[str, Any] = {"collections": _collections, "collection": _collection}
