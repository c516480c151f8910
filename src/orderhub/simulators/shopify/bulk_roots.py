"""The records a bulk query covers, one at a time, as GraphQL objects.

First the shop's own orders or products (matching the query's ``query``
filter, in its ``sortKey``/``reverse`` order), each copied out of the store
under its lock when its turn comes, so the store can change meanwhile as it
does on Shopify; then the shop's synthetic catalogue, in id order (see
:mod:`orderhub.simulators.shopify.bulk_catalogue`). Only the list of matching
ids is held, never the records.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from orderhub.simulators.shopify.bulk_catalogue import Catalogue, synthetic_orders, synthetic_products
from orderhub.simulators.shopify.product_nodes import (
    Collection,
    available_units,
    product_node,
    shop_collection,
    shop_product_node,
)
from orderhub.simulators.shopify.resolvers import ORDER_SORT, order_node
from orderhub.simulators.shopify.search import parse as parse_search
from orderhub.simulators.shopify.store import Shop, Store

Node = dict[str, Any]


def root_nodes(store: Store, shop: Shop, root_field: str, args: dict[str, Any],
               catalogue: Catalogue | None) -> Iterator[Node]:
    """The root objects of a bulk query over ``root_field`` ("orders" or "products")."""
    if root_field == "orders":
        return _orders(store, shop, args, catalogue)
    if root_field == "products":
        return _products(store, shop, args, catalogue)
    raise ValueError(f"bulk queries over {root_field!r} are not simulated")


def _orders(store: Store, shop: Shop, args: dict[str, Any], catalogue: Catalogue | None) -> Iterator[Node]:
    matches, _warnings = parse_search(args.get("query"), shop.tz)
    sort_value = ORDER_SORT[args.get("sortKey") or "ID"]
    with store.lock:
        keys = sorted(((sort_value(o), o["id"]) for o in shop.orders.values() if matches(o)),
                      reverse=bool(args.get("reverse")))
        products = copy.deepcopy(list(shop.products.values())) if catalogue and catalogue.orders else []
    for _value, order_id in keys:
        with store.lock:
            rest = shop.orders.get(order_id)
            rest = None if rest is None else copy.deepcopy(rest)
            sold = shop.sales_channels.get(order_id)
        if rest is not None:
            yield order_node(rest, sold)
    if catalogue is not None:
        for rest in synthetic_orders(catalogue, products, shop.tz, shop.currency):
            if matches(rest):
                yield order_node(rest)


def _products(store: Store, shop: Shop, args: dict[str, Any], catalogue: Catalogue | None) -> Iterator[Node]:
    available = available_units(store, shop)
    with store.lock:
        ids = sorted(shop.products, reverse=bool(args.get("reverse")))
    for product_id in ids:
        with store.lock:
            rest = shop.products.get(product_id)
            node = None if rest is None else shop_product_node(store, shop, rest, available)
        if node is not None:
            yield node
    if catalogue is not None:
        collections: dict[str, Collection] = {}
        for rest in synthetic_products(catalogue, shop.tz):
            kind = rest.get("product_type") or ""
            if kind and kind not in collections:
                collections[kind] = shop_collection(store, shop, kind)
            yield product_node(rest, [collections[kind]] if kind else [])
