"""Synthetic orders and products that bulk queries cover, made on the fly from a seed.

A benchmark may ask a bulk query for a million orders, more than the
simulator's in-memory store should hold. So a shop can be given a synthetic
catalogue (``POST /_sim/bulk_catalogue``): N orders and M products that exist
only for bulk queries. They are generated while the result file is written,
one at a time, and never stored: a small pool of records is generated from the
seed with the ordinary generator, and record ``i`` is pool record ``i % POOL``
given its own ids, number, name, token and time. The same catalogue always
gives the same records, and memory does not grow with N.

Synthetic ids count up from 5 * 10^14 above each kind's base, far from the
ids the store hands out; an order's line items take ids ``8 * i + j``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.generator import CATALOGUE, OrderGenerator
from orderhub.simulators.shopify.store import ID_BASES, gid

POOL = 128
SYNTHETIC_OFFSET = 5 * 10 ** 14
_POOL_OFFSET = 4 * 10 ** 14  # ids of the pool's own records (customers keep theirs)
STRIDE = 8  # ids per record for its nested records (an order has at most 5 lines)
ORDER_NUMBER_BASE = 100_000_000  # synthetic orders are #100000000, #100000001, ...


@dataclass(frozen=True)
class Catalogue:
    """A shop's synthetic records: ``orders`` and ``products`` counts, their ``seed``, and when they end."""

    orders: int = 0
    products: int = 0
    seed: int = 0
    until: datetime | None = None  # the last synthetic order is placed one second before this

    def describe(self) -> dict[str, Any]:
        return {"orders": self.orders, "products": self.products, "seed": self.seed,
                "until": None if self.until is None else self.until.isoformat()}


def synthetic_id(kind: str, index: int, part: int | None = None) -> int:
    """Id of synthetic record ``index`` (or of its nested record ``part``)."""
    base = ID_BASES[kind] + SYNTHETIC_OFFSET
    return base + index if part is None else base + index * STRIDE + part


def _pool_ids() -> Any:
    counters = {kind: itertools.count(ID_BASES[kind] + _POOL_OFFSET) for kind in ID_BASES}
    return lambda kind: next(counters[kind])


def _token(order_id: int, seed: int) -> str:
    return f"{(order_id * 0x9E3779B97F4A7C15 + seed) % (1 << 128):032x}"


def synthetic_orders(catalogue: Catalogue, products: list[dict[str, Any]], tz: timezone, currency: str
                     ) -> Iterator[dict[str, Any]]:
    """The catalogue's orders in REST shape, in id order, ordering the shop's ``products``."""
    products = [p for p in products if p["variants"]]
    if catalogue.orders <= 0 or not products:
        return
    until = catalogue.until or datetime.now(UTC).replace(microsecond=0)
    generator = OrderGenerator(catalogue.seed, _pool_ids())
    pool = [generator.order(products, number=ORDER_NUMBER_BASE, now=until, tz=tz, currency=currency)
            for _ in range(min(POOL, catalogue.orders))]
    for i in range(catalogue.orders):
        yield _stamp_order(pool[i % len(pool)], i, catalogue, until, tz)


def _stamp_order(template: dict[str, Any], i: int, catalogue: Catalogue, until: datetime, tz: timezone
                 ) -> dict[str, Any]:
    order_id = synthetic_id("order", i)
    number = ORDER_NUMBER_BASE + i
    stamp = rest_time(until - timedelta(seconds=catalogue.orders - i), tz)
    lines = []
    for j, line in enumerate(template["line_items"]):
        line_id = synthetic_id("line_item", i, j)
        lines.append(dict(line, id=line_id, admin_graphql_api_id=gid("LineItem", line_id)))
    shipping = [dict(s, id=synthetic_id("shipping_line", i, j)) for j, s in enumerate(template["shipping_lines"])]
    order = dict(template, id=order_id, admin_graphql_api_id=gid("Order", order_id), name=f"#{number}",
                 order_number=number, number=number - 1000, token=_token(order_id, catalogue.seed),
                 created_at=stamp, updated_at=stamp, processed_at=stamp, line_items=lines, shipping_lines=shipping)
    return order


def synthetic_products(catalogue: Catalogue, tz: timezone) -> Iterator[dict[str, Any]]:
    """The catalogue's products in REST shape, in id order: the simulated catalogue over and over."""
    if catalogue.products <= 0:
        return
    until = catalogue.until or datetime.now(UTC).replace(microsecond=0)
    generator = OrderGenerator(catalogue.seed, _pool_ids())
    pool = [generator.product(until, tz, item) for item in CATALOGUE]
    for i in range(catalogue.products):
        yield _stamp_product(pool[i % len(pool)], i, catalogue, until, tz)


def _stamp_product(template: dict[str, Any], i: int, catalogue: Catalogue, until: datetime, tz: timezone
                   ) -> dict[str, Any]:
    product_id = synthetic_id("product", i)
    stamp = rest_time(until - timedelta(seconds=catalogue.products - i), tz)
    variants = []
    for j, variant in enumerate(template["variants"]):
        variant_id = synthetic_id("variant", i, j)
        sku = variant["sku"] and f"{variant['sku']}-{i}"
        variants.append(dict(variant, id=variant_id, product_id=product_id, sku=sku,
                             inventory_item_id=synthetic_id("inventory_item", i, j),
                             admin_graphql_api_id=gid("ProductVariant", variant_id),
                             created_at=stamp, updated_at=stamp))
    return dict(template, id=product_id, admin_graphql_api_id=gid("Product", product_id),
                title=f"{template['title']} · {i}", handle=f"{template['handle']}-{i}", variants=variants,
                created_at=stamp, updated_at=stamp, published_at=stamp)

