"""Read models for orders: lists and the full order with its parts and timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from orderhub.adapters.store import order_filters, order_search
from orderhub.adapters.store.schema import (
    customers,
    facilities,
    order_addresses,
    order_discounts,
    order_events,
    order_items,
    order_shipping_lines,
    order_units,
    orders,
    payment_authorizations,
    pickups,
    refunds,
    returns,
    shipments,
    shops,
)
from orderhub.domain import money
from orderhub.domain.sales_channels import ChannelInformation


@dataclass(frozen=True)
class OrderFilter:
    shop: str | None = None
    status: str | None = None
    payment_status: str | None = None
    search: str | None = None  # any part of the name, e-mail, note ... (order_search)
    channel: str | None = None


def _plain(row: Any, currency: str | None = None) -> dict[str, Any]:
    """The row as JSON-ready values: times in ISO 8601, amounts shown in their currency (the row's own
    ``currency`` when it has one, else ``currency``: the order's), whatever the database."""
    out = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row._asdict().items()}
    return money.to_json(out, currency)  # type: ignore[no-any-return]


def _discount(row: Any, order: Any) -> dict[str, Any]:
    """A discount application: a percentage as a number; an amount in the currency the customer saw
    (its ``allocated`` share is in the shop's)."""
    out = _plain(row, order.currency)
    if row.value_type != "percentage":
        out["value"] = money.show(row.value, order.presentment_currency or order.currency)
    return out


def list_orders(conn: Connection, flt: OrderFilter, *, limit: int = 50, before_id: int | None = None
                ) -> list[dict[str, Any]]:
    """Newest first (by orderhub id); ``before_id`` continues a page (cursor pagination). Every filter has an
    index ending in the id, intersected with the others' (order_filters), and the search its trigram index
    (order_search), so a page reads about its own rows."""
    found = order_search.source(conn, flt.search)
    filters = []
    if flt.shop:
        filters.append(order_filters.equal("shop_id", order_search.shop_id(conn, flt.shop), "ix_orders_shop"))
    if flt.status:
        filters.append(order_filters.equal("status", flt.status, "ix_orders_status"))
    if flt.payment_status:
        filters.append(order_filters.equal("payment_status", flt.payment_status, "ix_orders_payment_status"))
    if flt.channel:
        filters.append(order_filters.equal("channel", flt.channel, "ix_orders_channel"))
    ids = order_search.page(conn, found, order_filters.narrow(conn, filters).where, below=before_id, limit=limit)
    if not ids:
        return []
    stmt = (select(orders.c.id, shops.c.domain.label("shop"), orders.c.shopify_id, orders.c.name,
                   orders.c.channel, orders.c.status, orders.c.payment_status, orders.c.fulfillment_status,
                   orders.c.currency,
                   orders.c.total_price, orders.c.source_created_at.label("created_at"),
                   orders.c.source_updated_at.label("updated_at"), orders.c.version)
            .join(shops, shops.c.id == orders.c.shop_id).where(orders.c.id.in_(ids)))
    rows = {r.id: r for r in conn.execute(stmt)}
    return [_plain(rows[i]) for i in ids if i in rows]


def _matching(conn: Connection, ref: str, shop: str | None, *, limit: int) -> list[int]:
    """Orders whose Shopify id or name is ``ref`` or, failing that, whose name is ``#ref`` (``1003``
    finds ``#1003``, as people write order numbers either way)."""
    in_shop = () if not shop else (orders.c.shop_id == select(shops.c.id).where(
        shops.c.domain == shop.lower()).scalar_subquery(),)
    tries = [or_(orders.c.shopify_id == ref, orders.c.name == ref)]
    if not ref.startswith("#"):
        tries.append(orders.c.name == f"#{ref}")
    for where in tries:
        ids = [int(r.id) for r in conn.execute(select(orders.c.id).where(*in_shop, where).limit(limit))]
        if ids:
            return ids
    return []


def find_order_id(conn: Connection, ref: str, shop: str | None = None) -> int | None:
    """An order by orderhub id, or by Shopify id or name, within a shop when one is given; the name
    with or without ``#`` (``#1001`` or ``1001``). None when nothing, or several shops' orders, match.

    The one look-up the CLI, the API and the console share.
    """
    ref = ref.strip()
    if not ref:
        return None
    if not shop and ref.isdigit() and len(ref) < 16:
        row = conn.execute(select(orders.c.id).where(orders.c.id == int(ref))).first()
        if row is not None:
            return int(row.id)
    found = _matching(conn, ref, shop, limit=2)
    return found[0] if len(found) == 1 else None


def count_matching(conn: Connection, ref: str, shop: str | None = None) -> int:
    """How many orders ``ref`` names as a Shopify id or name (more than one: give the shop or the orderhub id)."""
    return len(_matching(conn, ref.strip(), shop, limit=100))


def require_order_id(conn: Connection, ref: str, shop: str | None = None) -> int:
    """Like :func:`find_order_id`, but a missing or ambiguous order is a LookupError that says what to give."""
    order_id = find_order_id(conn, ref, shop)
    if order_id is not None:
        return order_id
    many = count_matching(conn, ref, shop)
    if many > 1:
        raise LookupError(f"{many} orders (in different shops) are named or numbered {ref}; give the shop "
                          "(--shop) or the orderhub id")
    raise LookupError(f"no order {ref}" + (f" in {shop}" if shop else "") +
                      "; list them with `orderhub orders list`")


def _pickup(conn: Connection, order: Any) -> dict[str, Any] | None:
    """The order's pickup in store: the store, the location the customer chose, and the pickup's state (never
    its code)."""
    if order.pickup_facility_id is None and order.pickup_location is None:
        return None
    store = conn.execute(select(facilities.c.code, facilities.c.name).where(
        facilities.c.id == order.pickup_facility_id)).first() if order.pickup_facility_id is not None else None
    p = conn.execute(select(pickups.c.status, pickups.c.ready_at, pickups.c.ready_by, pickups.c.collect_by,
                            pickups.c.failed_attempts, pickups.c.locked_at, pickups.c.collected_at,
                            pickups.c.collected_by).where(pickups.c.order_id == order.id)).first()
    state = _plain(p) if p else {"status": "waiting", "failed_attempts": 0, "locked_at": None}
    return {"store": store.code if store else None, "store_name": store.name if store else None,
            "location": order.pickup_location, **state, "locked": state.pop("locked_at") is not None}


def get_order(conn: Connection, order_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(orders, shops.c.domain.label("shop")).join(shops, shops.c.id == orders.c.shop_id)
                       .where(orders.c.id == order_id)).first()
    if row is None:
        return None
    order = _plain(row, row.currency)
    order["customer"] = None
    if row.customer_id is not None:
        cust = conn.execute(select(customers.c.shopify_id, customers.c.email, customers.c.first_name,
                                   customers.c.last_name, customers.c.phone, customers.c.redacted_at)
                            .where(customers.c.id == row.customer_id)).first()
        order["customer"] = _plain(cust) if cust else None
    order["items"] = [_plain(r, row.currency) for r in conn.execute(
        select(order_items).where(order_items.c.order_id == order_id).order_by(order_items.c.id))]
    order["addresses"] = {r.kind: _plain(r) for r in conn.execute(
        select(order_addresses).where(order_addresses.c.order_id == order_id))}
    order["shipping_lines"] = [_plain(r, row.currency) | {"discount": money.show(r.price - r.discounted_price,
                                                                                    row.currency)}
                               for r in conn.execute(
        select(order_shipping_lines).where(order_shipping_lines.c.order_id == order_id))]
    order["discounts"] = [_discount(r, row) for r in conn.execute(
        select(order_discounts).where(order_discounts.c.order_id == order_id).order_by(order_discounts.c.position))]
    refund_rows = conn.execute(select(refunds).where(
        refunds.c.shop_id == row.shop_id, refunds.c.order_shopify_id == row.shopify_id)
        .order_by(refunds.c.source_created_at)).all()
    order["refunds"] = [_plain(r, row.currency) | {"lines": orjson.loads(r.lines),
                                                   "adjustments": orjson.loads(r.adjustments)}
                        for r in refund_rows]
    order["total_refunded"] = money.show(sum((r.amount for r in refund_rows), start=Decimal(0)), row.currency)
    order["units"] = [_plain(r) | {"rejected_facilities": orjson.loads(r.rejected_facilities)}
                      for r in conn.execute(select(order_units.c.id, order_units.c.item_id, order_units.c.sku,
                                                   order_units.c.status, order_units.c.queue,
                                                   facilities.c.code.label("facility"), order_units.c.shipment_id,
                                                   order_units.c.return_id, order_units.c.rejected_facilities,
                                                   order_units.c.reason)
                                            .outerjoin(facilities, facilities.c.id == order_units.c.facility_id)
                                            .where(order_units.c.order_id == order_id).order_by(order_units.c.id))]
    order["shipments"] = [_plain(r) for r in conn.execute(
        select(shipments).where(shipments.c.order_id == order_id).order_by(shipments.c.id))]
    order["pickup"] = _pickup(conn, row)
    order["returns"] = [_plain(r, row.currency) for r in conn.execute(
        select(returns).where(returns.c.order_id == order_id).order_by(returns.c.id))]
    order["payments"] = [_plain(r, row.currency) for r in conn.execute(
        select(payment_authorizations).where(payment_authorizations.c.order_id == order_id)
        .order_by(payment_authorizations.c.id))]
    order["timeline"] = [_plain(r) | {"detail": orjson.loads(r.detail)} for r in conn.execute(
        select(order_events.c.inbox_id, order_events.c.kind, order_events.c.detail, order_events.c.actor,
               order_events.c.at)
        .where(order_events.c.shop_id == row.shop_id, order_events.c.order_shopify_id == row.shopify_id)
        .order_by(order_events.c.id))]
    order.update(_sold(order["timeline"]))
    return order


def _sold(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the stored version of the order says it was sold: its source name (Shopify's source_name:
    web, pos, an app's id ...) and the sales channel Shopify named, from the latest version stored that
    recorded them (orders stored before orderhub recorded them have none)."""
    for event in reversed(timeline):
        detail = event["detail"]
        if event["kind"] in ("created", "updated") and isinstance(detail, dict) and "source_name" in detail:
            info = channel_information(detail)
            return {"source_name": detail.get("source_name"), "sold_through": info.describe() if info else None}
    return {"source_name": None, "sold_through": None}


def channel_information(detail: dict[str, Any]) -> ChannelInformation | None:
    """The channel information an order's created or updated event recorded, if any."""
    found = detail.get("channel_information")
    if not isinstance(found, dict):
        return None
    fields = ("app_title", "handle", "channel_name", "sub_channel_name")
    return ChannelInformation(**{k: found[k] for k in fields if isinstance(found.get(k), str)})
