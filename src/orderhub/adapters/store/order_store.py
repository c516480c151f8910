"""Applying canonical records to orderhub's own order store.

Every function here is idempotent and order-independent: applying the same
version twice changes nothing, and an older version never overwrites a newer one.
Callers run them inside one transaction with the inbox bookkeeping.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from orderhub.adapters.store import identities, pickup_store, shopify_listings
from orderhub.adapters.store.db import upsert, upsert_many
from orderhub.adapters.store.schema import (
    inventory_levels,
    order_addresses,
    order_discounts,
    order_edits,
    order_events,
    order_items,
    order_shipping_lines,
    order_units,
    orders,
    products,
    refunds,
    variants,
)
from orderhub.clock import utcnow
from orderhub.domain import money, sales_channels
from orderhub.domain.customers import without_personal_data
from orderhub.domain.model import (
    Address,
    Freshness,
    InventoryLevel,
    Order,
    OrderEdit,
    Product,
    ProductDeletion,
    Refund,
    freshness,
)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


event_json = _json  # the timeline's JSON, for the batch writers (new_orders, known_orders)


def add_order_event(conn: Connection, shop_id: int, order_id: str, inbox_id: int | None,
                    kind: str, detail: dict[str, Any]) -> None:
    conn.execute(insert(order_events).values(
        shop_id=shop_id, order_shopify_id=order_id, inbox_id=inbox_id, kind=kind,
        detail=_json(detail), at=utcnow()))


def _lock_order(conn: Connection, shop_id: int, order_id: str) -> Any:
    stmt = select(orders.c.id, orders.c.source_updated_at, orders.c.version, orders.c.customer_id,
                  orders.c.personal_data_erased_at).where(
        orders.c.shop_id == shop_id, orders.c.shopify_id == order_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def _newer_product(excluded: Any) -> Any:
    return products.c.source_updated_at < excluded.source_updated_at


def _newer_level(excluded: Any) -> Any:
    return inventory_levels.c.source_updated_at < excluded.source_updated_at


# Shopify collects the payment for its orders: what it reports is the payment's status.
PAYMENT_STATUSES = frozenset({"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded",
                              "voided", "expired"})


def channel_payment_status(financial_status: str | None) -> str:
    return financial_status if financial_status in PAYMENT_STATUSES else "pending"


# What only some channels say: written when said, never cleared by a channel that does not say it.
OPTIONAL_ORDER_VALUES = ("fulfilled_by", "ship_by", "deliver_by", "pickup_location", "customer_locale")


def order_values(order: Order) -> dict[str, Any]:
    return dict(
        name=order.name, number=order.number, email=order.email, source_status=order.status.value,
        source_financial_status=order.financial_status, source_fulfillment_status=order.fulfillment_status,
        payment_status=channel_payment_status(order.financial_status),
        channel=order.channel, currency=order.currency, subtotal_price=order.subtotal_price,
        total_discounts=order.total_discounts,
        total_tax=order.total_tax, total_shipping=order.total_shipping, total_price=order.total_price,
        tags=", ".join(order.tags), note=order.note, cancel_reason=order.cancel_reason,
        cancelled_at=order.cancelled_at, closed_at=order.closed_at, source_created_at=order.created_at,
        source_updated_at=order.updated_at, taxes_included=order.taxes_included,
        total_line_items_price=order.total_line_items_price, total_tip=order.total_tip,
        total_duties=order.total_duties, total_additional_fees=order.total_additional_fees,
        presentment_currency=order.presentment_currency, presentment_total_price=order.presentment_total_price,
    ) | {k: v for k, v in zip(OPTIONAL_ORDER_VALUES,
                              (order.fulfilled_by, order.ship_by, order.deliver_by, order.pickup_location,
                               order.customer_locale), strict=True) if v is not None}


LOCATION_VALUES = ("pickup_facility_id", "origin_facility_id")


def location_values(conn: Connection, order: Order) -> dict[str, Any]:
    """The facilities the channel's locations on the order stand for, those it names: where the customer
    collects it (pickup), and the store whose counter it was taken at (None: no facility for the location)."""
    out: dict[str, Any] = {}
    if order.pickup_location is not None:
        out["pickup_facility_id"] = pickup_store.facility_for_location(conn, order.pickup_location,
                                                                      order.pickup_location_name)
    if order.sold_at_location is not None:
        out["origin_facility_id"] = pickup_store.facility_for_location(conn, order.sold_at_location,
                                                                      order.sold_at_location_name)
    return out


def apply_order(conn: Connection, shop_id: int, order: Order, inbox_id: int | None) -> Freshness:
    """Create or replace an order with its items, addresses, customer and shipping lines."""
    now = utcnow()
    current = _lock_order(conn, shop_id, order.shopify_id)
    fresh = freshness(current.source_updated_at if current else None, order.updated_at)
    if fresh in (Freshness.SAME, Freshness.STALE):
        add_order_event(conn, shop_id, order.shopify_id, inbox_id, f"ignored_{fresh.value}",
                        {"incoming_updated_at": order.updated_at.isoformat(),
                         "stored_updated_at": current.source_updated_at.isoformat()})
        return fresh
    if current is not None and current.personal_data_erased_at is not None:
        # The person's data was erased (their request, or retention): a later version of the order changes
        # its state, never brings them back.
        order = without_personal_data(order)
        customer_id = current.customer_id
    else:
        customer_id = identities.store_one(conn, shop_id, order)
    values = order_values(order) | {"customer_id": customer_id, "updated_at": now}
    values |= location_values(conn, order)  # a pickup once chosen stays, like the other optional values
    if current is None:
        row = upsert(conn, orders, values | {"shop_id": shop_id, "shopify_id": order.shopify_id, "version": 1,
                                              "created_at": now},
                     keys=("shop_id", "shopify_id"), returning=("id",)).first()
        if row is None:  # another process inserted it between our look and our insert: decide again
            return apply_order(conn, shop_id, order, inbox_id)
        order_pk = row.id
    else:
        order_pk = current.id
        if sales_channels.is_guess(order.channel, order.source_name, order.channel_information):
            del values["channel"]  # what was known of it before stays
        conn.execute(update(orders).where(orders.c.id == order_pk).values(**values, version=orders.c.version + 1))
    _replace_children(conn, order_pk, order)
    edits = _reapply_edits(conn, shop_id, order_pk, order.shopify_id, after=order.updated_at)
    add_order_event(conn, shop_id, order.shopify_id, inbox_id, "created" if current is None else "updated",
                    stored_detail(order, edits))
    return fresh


def stored_detail(order: Order, edits_reapplied: int) -> dict[str, Any]:
    """What the timeline says about a version of an order that was stored."""
    detail = {"updated_at": order.updated_at.isoformat(), "status": order.status.value,
              "financial_status": order.financial_status, "fulfillment_status": order.fulfillment_status,
              "edits_reapplied": edits_reapplied, "channel": order.channel, "source_name": order.source_name}
    if order.channel_information is not None:  # where Shopify says it was sold (the Admin API's word)
        detail["channel_information"] = dataclasses.asdict(order.channel_information)
    return detail


def item_rows(order_pk: int, order: Order) -> list[dict[str, Any]]:
    return [dict(
        order_id=order_pk, shopify_id=item.shopify_id, sku=item.sku, title=item.title,
        variant_title=item.variant_title, product_shopify_id=item.product_id,
        variant_shopify_id=item.variant_id, quantity=item.quantity,
        current_quantity=item.quantity if item.current_quantity is None else item.current_quantity,
        fulfillable_quantity=item.fulfillable_quantity, source_fulfillment_status=item.fulfillment_status,
        price=item.price, total_discount=item.total_discount, tax=item.tax,
        requires_shipping=item.requires_shipping,
    ) for item in order.items]


ADDRESS_FIELDS = tuple(f.name for f in dataclasses.fields(Address))  # flat: asdict's deep copy is slow


def address_rows(order_pk: int, order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order_pk, "kind": kind} | {name: getattr(address, name) for name in ADDRESS_FIELDS}
            for kind, address in (("shipping", order.shipping_address), ("billing", order.billing_address))
            if address is not None]


def shipping_line_rows(order_pk: int, order: Order) -> list[dict[str, Any]]:
    return [dict(order_id=order_pk, shopify_id=s.shopify_id, title=s.title, code=s.code, price=s.price,
                 discounted_price=s.discounted_price) for s in order.shipping_lines]


def discount_rows(order_pk: int, order: Order) -> list[dict[str, Any]]:
    return [dict(order_id=order_pk, position=d.index, type=d.type, code=d.code, title=d.title,
                 description=d.description, value=d.value, value_type=d.value_type, target_type=d.target_type,
                 target_selection=d.target_selection, allocation_method=d.allocation_method,
                 allocated=order.allocated(d.index)) for d in order.discount_applications]


def _replace_children(conn: Connection, order_pk: int, order: Order) -> None:
    # Items are upserted by line id (not deleted) so state attached to them survives updates.
    rows = item_rows(order_pk, order)
    upsert_many(conn, order_items, rows, keys=("order_id", "shopify_id"),
                update=[k for k in rows[0] if k not in ("order_id", "shopify_id")] if rows else [])
    line_ids = [i.shopify_id for i in order.items]
    # A line that left the order but has units in fulfilment is kept at quantity 0, so the
    # order management side cancels its units and releases their stock; others are deleted.
    gone = order_items.c.shopify_id.not_in(line_ids)
    in_fulfilment = select(order_units.c.item_id).where(order_units.c.order_id == order_pk).scalar_subquery()
    conn.execute(update(order_items).where(order_items.c.order_id == order_pk, gone,
                                           order_items.c.id.in_(in_fulfilment))
                 .values(current_quantity=0, fulfillable_quantity=0))
    conn.execute(delete(order_items).where(order_items.c.order_id == order_pk, gone,
                                           order_items.c.id.not_in(in_fulfilment)))
    addresses = address_rows(order_pk, order)
    kinds = [a["kind"] for a in addresses]
    upsert_many(conn, order_addresses, addresses, keys=("order_id", "kind"),
                update=ADDRESS_FIELDS)
    conn.execute(delete(order_addresses).where(order_addresses.c.order_id == order_pk,
                                               order_addresses.c.kind.not_in(kinds)))
    conn.execute(delete(order_shipping_lines).where(order_shipping_lines.c.order_id == order_pk))
    if order.shipping_lines:
        conn.execute(insert(order_shipping_lines), shipping_line_rows(order_pk, order))
    conn.execute(delete(order_discounts).where(order_discounts.c.order_id == order_pk))
    if order.discount_applications:
        conn.execute(insert(order_discounts), discount_rows(order_pk, order))


def _reapply_edits(conn: Connection, shop_id: int, order_pk: int, order_id: str, after: datetime) -> int:
    """Edits newer than the version just stored still apply on top of it."""
    pending = conn.execute(select(order_edits).where(
        order_edits.c.shop_id == shop_id, order_edits.c.order_shopify_id == order_id,
        order_edits.c.source_created_at > after).order_by(order_edits.c.source_created_at)).all()
    for edit in pending:
        _apply_quantity_changes(conn, order_pk, orjson.loads(edit.changes))
    return len(pending)


def _apply_quantity_changes(conn: Connection, order_pk: int, changes: dict[str, int]) -> None:
    for line_id, delta in changes.items():
        conn.execute(update(order_items).where(
            order_items.c.order_id == order_pk, order_items.c.shopify_id == line_id).values(
            current_quantity=order_items.c.current_quantity + delta))


def apply_order_edit(conn: Connection, shop_id: int, edit: OrderEdit, inbox_id: int | None) -> str:
    changes = edit.quantity_changes()
    row = upsert(conn, order_edits, dict(
        shop_id=shop_id, shopify_id=edit.shopify_id, order_shopify_id=edit.order_id,
        changes=_json(changes), source_created_at=edit.created_at), keys=("shop_id", "shopify_id"),
        returning=("id",)).first()
    if row is None:
        return "unchanged"
    current = _lock_order(conn, shop_id, edit.order_id)
    if current is None:
        add_order_event(conn, shop_id, edit.order_id, inbox_id, "edit_waiting", {"edit_id": edit.shopify_id})
        return "recorded"  # applied when the order arrives (see _reapply_edits)
    if edit.created_at <= current.source_updated_at:
        add_order_event(conn, shop_id, edit.order_id, inbox_id, "edit_superseded", {"edit_id": edit.shopify_id})
        return "stale"  # the stored version already includes it
    _apply_quantity_changes(conn, current.id, changes)
    conn.execute(update(orders).where(orders.c.id == current.id).values(
        version=orders.c.version + 1, updated_at=utcnow()))
    conn.execute(update(order_edits).where(order_edits.c.id == row.id).values(applied_at=utcnow()))
    add_order_event(conn, shop_id, edit.order_id, inbox_id, "edited",
                    {"edit_id": edit.shopify_id, "changes": changes})
    return "applied"


def apply_refund(conn: Connection, shop_id: int, refund: Refund, inbox_id: int | None) -> str:
    """Keep a refund once, by its Shopify id, wherever it was reported (refunds/create, or an order's body)."""
    row = upsert(conn, refunds, refund_row(shop_id, refund), keys=("shop_id", "shopify_id"),
                 returning=("id",)).first()
    if row is None:
        return "unchanged"
    add_order_event(conn, shop_id, refund.order_id, inbox_id, "refunded",
                    refund_detail(refund, refund.currency or order_currency(conn, shop_id, refund.order_id)))
    return "applied"


def refund_row(shop_id: int, refund: Refund) -> dict[str, Any]:
    return dict(shop_id=shop_id, shopify_id=refund.shopify_id, order_shopify_id=refund.order_id, note=refund.note,
                amount=refund.amount, currency=refund.currency, lines=_json(list(refund.lines)),
                adjustments=_json(list(refund.adjustments)), source_created_at=refund.created_at,
                time_source=refund.time_source, created_at=utcnow())


def refund_detail(refund: Refund, currency: str | None) -> dict[str, Any]:
    """What the timeline says of a refund kept (its amount in ``currency``: its own, else its order's)."""
    detail = {"refund_id": refund.shopify_id, "amount": money.show(refund.amount, currency)}
    if refund.time_source != "created_at":  # say when the refund's time is not its own
        detail["time_taken_from"] = refund.time_source
    return detail


def apply_product(conn: Connection, shop_id: int, product: Product) -> Freshness:
    current = conn.execute(select(products.c.source_updated_at, products.c.deleted_at).where(
        products.c.shop_id == shop_id, products.c.shopify_id == product.shopify_id)).first()
    fresh = freshness(current.source_updated_at if current else None, product.updated_at)
    if fresh in (Freshness.SAME, Freshness.STALE):
        return fresh
    if current is not None and current.deleted_at is not None and current.deleted_at >= product.updated_at:
        return Freshness.STALE  # deleted after this version was made: do not resurrect
    values = dict(shop_id=shop_id, shopify_id=product.shopify_id, title=product.title, handle=product.handle,
                  vendor=product.vendor, product_type=product.product_type, status=product.status,
                  tags=", ".join(product.tags), source_updated_at=product.updated_at, deleted_at=None)
    upsert(conn, products, values, keys=("shop_id", "shopify_id"),
           update=[k for k in values if k not in ("shop_id", "shopify_id")],
           where=_newer_product)
    for v in product.variants:
        vals = dict(shop_id=shop_id, product_shopify_id=product.shopify_id, shopify_id=v.shopify_id, sku=v.sku,
                    title=v.title, price=v.price, barcode=v.barcode, inventory_item_id=v.inventory_item_id,
                    deleted_at=None)
        upsert(conn, variants, vals, keys=("shop_id", "shopify_id"),
               update=[k for k in vals if k not in ("shop_id", "shopify_id")])
    kept = [v.shopify_id for v in product.variants]
    conn.execute(update(variants).where(
        variants.c.shop_id == shop_id, variants.c.product_shopify_id == product.shopify_id,
        variants.c.shopify_id.not_in(kept), variants.c.deleted_at.is_(None)).values(deleted_at=product.updated_at))
    shopify_listings.sync_product(conn, shop_id, product.shopify_id)  # new variants' stock goes out at once
    return fresh


def delete_product(conn: Connection, shop_id: int, deletion: ProductDeletion) -> str:
    """Soft delete: the product and its variants stay, marked deleted (a tombstone if unseen)."""
    current = conn.execute(select(products.c.id, products.c.deleted_at, products.c.source_updated_at).where(
        products.c.shop_id == shop_id, products.c.shopify_id == deletion.shopify_id)).first()
    if current is not None and current.deleted_at is not None:
        return "unchanged"
    if current is not None and current.source_updated_at > deletion.deleted_at:
        return "stale"
    upsert(conn, products, dict(shop_id=shop_id, shopify_id=deletion.shopify_id,
                                source_updated_at=deletion.deleted_at, deleted_at=deletion.deleted_at),
           keys=("shop_id", "shopify_id"), update=("deleted_at",))
    conn.execute(update(variants).where(
        variants.c.shop_id == shop_id, variants.c.product_shopify_id == deletion.shopify_id,
        variants.c.deleted_at.is_(None)).values(deleted_at=deletion.deleted_at))
    shopify_listings.sync_product(conn, shop_id, deletion.shopify_id)
    return "applied"


def apply_inventory_level(conn: Connection, shop_id: int, level: InventoryLevel) -> Freshness:
    current = conn.execute(select(inventory_levels.c.source_updated_at).where(
        inventory_levels.c.shop_id == shop_id, inventory_levels.c.inventory_item_id == level.inventory_item_id,
        inventory_levels.c.location_id == level.location_id)).first()
    fresh = freshness(current.source_updated_at if current else None, level.updated_at)
    if fresh in (Freshness.NEW, Freshness.NEWER):
        upsert(conn, inventory_levels, dict(shop_id=shop_id, inventory_item_id=level.inventory_item_id,
                                            location_id=level.location_id, available=level.available,
                                            source_updated_at=level.updated_at),
               keys=("shop_id", "inventory_item_id", "location_id"), update=("available", "source_updated_at"),
               where=_newer_level)
    return fresh


def order_currency(conn: Connection, shop_id: int, order_shopify_id: str | None) -> str | None:
    """The currency of a stored order (None when it has not arrived yet)."""
    if order_shopify_id is None:
        return None
    return conn.execute(select(orders.c.currency).where(  # type: ignore[no-any-return]
        orders.c.shop_id == shop_id, orders.c.shopify_id == order_shopify_id)).scalar()


def to_json(value: Any, currency: str | None = None) -> str:
    """Canonical JSON for outbound events: dataclasses as objects, amounts as
    :func:`orderhub.domain.money.to_json` shows them (in the currency beside them, else ``currency``)."""
    return _json(money.to_json(_objects(value), currency))


def _objects(value: Any) -> Any:
    """Dataclasses as dicts, all the way down (what money.to_json walks)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _objects(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _objects(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_objects(v) for v in value]
    return value
