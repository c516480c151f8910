"""Recording a sale synced from a store's POS terminal: what the customer took leaves the store's stock at
once (and so every channel's quantity, in the same transaction); what the customer brought back returns to
it, through the order it was bought in - an earlier store sale, or an online order of any channel, whose
buyer the channel then refunds (services/channel_notices.py).

The processor calls :func:`apply` for each ``pos/sale`` inbox record; the POS sync API runs the processor on
the records it just stored, so a sale counts the moment its device syncs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import Connection, or_, select, update

from orderhub.adapters.store import channel_stock, inventory_store, new_orders, pos_stock, timeline
from orderhub.adapters.store import order_store as store
from orderhub.adapters.store.db import upsert_many
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import (
    customers,
    facilities,
    order_items,
    order_units,
    orders,
    shops,
    store_sales,
    store_variances,
)
from orderhub.clock import utcnow
from orderhub.domain.customers import ConsentChange
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.inventory import LedgerReason
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.domain.model import Freshness, Order
from orderhub.domain.store_sales import SaleLine, StoreSale
from orderhub.services import consent, fulfilment, order_sync
from orderhub.services.inbound import Result, Source, known_currency, validate

ACTOR = "store"
POS_KIND = "pos"


class NotYetKnown(LookupError):
    """The sale returns goods of a store sale orderhub has not received yet (another device is still
    offline): the record is tried again later, and parked in the error log if it never arrives."""


def apply(conn: Connection, source: Source, sale: StoreSale) -> Result:
    if not known_currency(sale.currency):  # a sale that only takes goods back has no order to validate it
        raise InvalidRecord("currency", f"{sale.currency!r} is not an ISO 4217 currency code")
    facility = conn.execute(select(facilities.c.id, facilities.c.kind).where(facilities.c.code == sale.store)).first()
    if facility is None:
        raise InvalidRecord("store", f"no facility {sale.store!r}; add the store (orderhub facility add) and retry")
    sale = _with_skus(conn, sale)
    unknown = _unknown_skus(conn, sale)
    if unknown:
        index, sku = unknown[0]
        raise InvalidRecord(f"lines[{index}].sku", f"SKU {sku!r} is not in orderhub's catalogue or inventory "
                                                   f"({len(unknown)} unknown line(s)); correct the SKU and retry")
    order_id = _record_order(conn, source, sale, facility.id)
    for index, line in enumerate(sale.lines):
        if line.quantity < 0:
            _take_back(conn, sale, index, line, facility.id, order_id)
    _recorded(conn, [(source.inbox_id, facility.id, sale, order_id)])
    _record_consents(conn, [(order_id, sale)])
    return Result("applied", ("store_sale.recorded", sale))


def record_many(conn: Connection, account_id: int, batch: Sequence[tuple[int, StoreSale]]) -> list[int]:
    """Record together the sales of a batch that only take goods (none brought back), of a store that exists,
    whose SKUs orderhub knows and that are not recorded yet: what :func:`apply` writes for each, in a handful
    of statements. Returns the inbox ids recorded; the others are left to :func:`apply`, one by one. Raises
    (the caller's savepoint rolls back, and every sale goes one by one) if any turns out to exist already."""
    stores = {sale.store for _, sale in batch}
    facility_of = {r.code: r.id for r in conn.execute(
        select(facilities.c.id, facilities.c.code).where(facilities.c.code.in_(sorted(stores))))}
    known = channel_stock.known_skus(conn, [line.sku for _, sale in batch for line in sale.lines])
    plain: dict[new_orders.Key, tuple[int, StoreSale, Order]] = {}
    for inbox_id, sale in batch:
        order = sale.order()
        if (order is None or sale.brought_back or sale.store not in facility_of
                or any(line.sku not in known for line in sale.lines) or (account_id, sale.sale_id) in plain):
            continue
        try:
            validate(order)
        except InvalidRecord:
            continue
        plain[(account_id, sale.sale_id)] = (inbox_id, sale, order)
    fresh = new_orders.unknown(conn, list(plain))
    chosen = [plain[key] for key in plain if key in fresh]
    if not chosen:
        return []
    pks = new_orders.insert_all(conn, [new_orders.NewOrder(account_id, order, inbox_id)
                                       for inbox_id, _sale, order in chosen])
    order_ids = [pks[(account_id, sale.sale_id)] for _, sale, _ in chosen]
    order_sync.after_ingest_new(conn, order_ids)
    timeline.add(conn, [_sale_entry(pks[(account_id, sale.sale_id)], sale) for _, sale, _ in chosen])
    _recorded(conn, [(inbox_id, facility_of[sale.store], sale, pks[(account_id, sale.sale_id)])
                     for inbox_id, sale, _ in chosen])
    _record_consents(conn, [(pks[(account_id, sale.sale_id)], sale) for _, sale, _ in chosen])
    return [inbox_id for inbox_id, _, _ in chosen]


def _record_consents(conn: Connection, done: Sequence[tuple[int | None, StoreSale]]) -> None:
    """What customers said about marketing at the counter, on their profiles (and owed to the channels that hold
    it); a sale that only took goods back names no identity, and its answer is not kept."""
    asked = [(order_id, sale) for order_id, sale in done if sale.consents and order_id is not None]
    if not asked:
        return
    who = {r.id: r for r in conn.execute(select(orders.c.id, customers.c.id.label("identity"), customers.c.profile_id)
                                         .join(customers, customers.c.id == orders.c.customer_id)
                                         .where(orders.c.id.in_([order_id for order_id, _ in asked])))}
    for order_id, sale in asked:
        person = who.get(order_id)
        if person is None or person.profile_id is None:
            continue
        for purpose, state in sale.consents:
            consent.record(conn, person.profile_id, ConsentChange(
                purpose, state, sale.counted_at, "pos", actor=f"{sale.store}/{sale.device_name}"),
                identity_id=person.identity)


def _sale_entry(order_id: int, sale: StoreSale) -> timeline.Entry:
    return timeline.Entry(order_id, "store_sale", {
        "store": sale.store, "device": sale.device_name, "sequence": sale.sequence, "sale_id": sale.sale_id,
        "tenders": [{"kind": t.kind, "amount": str(t.amount)} for t in sale.tenders]}, ACTOR)


def _recorded(conn: Connection, done: Sequence[tuple[int, int, StoreSale, int | None]]) -> None:
    """The ``store_sales`` rows of sales just recorded, (inbox id, facility id, sale, its order id): when each
    counts, how late it synced, its flags (on its order's timeline too); and the store variances a sale
    caused are tied to its row."""
    now = utcnow()
    rows, flagged = [], []
    for inbox_id, facility_id, sale, order_id in done:
        flags = sale.flags(now)
        delay = int((now - sale.device_time).total_seconds()) if sale.device_time is not None else 0
        rows.append(dict(
            inbox_id=inbox_id, facility_id=facility_id, device_id=sale.device_id or None, sale_ref=sale.sale_id,
            sequence=sale.sequence, order_id=order_id, device_time=sale.device_time, sold_at=sale.counted_at,
            recorded_at=now, delay_seconds=max(0, delay), units_sold=sum(line.quantity for line in sale.sold),
            units_returned=-sum(line.quantity for line in sale.brought_back), total=sale.total,
            currency=sale.currency, flags=",".join(flags)))
        if order_id is not None and flags:
            flagged.append(timeline.Entry(order_id, "store_sale_flagged", {
                "flags": list(flags), "device_time": sale.device_time.isoformat() if sale.device_time else None,
                "counted_at": sale.counted_at.isoformat()}, ACTOR))
    upsert_many(conn, store_sales, rows, keys=("inbox_id",), update=())
    timeline.add(conn, flagged)
    order_ids = [order_id for _, _, _, order_id in done if order_id is not None]
    if order_ids:
        sale_of = select(store_sales.c.id).where(store_sales.c.order_id == store_variances.c.order_id) \
            .limit(1).scalar_subquery()
        conn.execute(update(store_variances).where(store_variances.c.order_id.in_(order_ids),
                                                   store_variances.c.store_sale_id.is_(None))
                     .values(store_sale_id=sale_of))


def _with_skus(conn: Connection, sale: StoreSale) -> StoreSale:
    """The sale with a SKU on every line that names only its UPC (as Retail Pro's receipts do). Resolved here,
    when the record is applied, so that a record parked for an unknown UPC succeeds on retry once a variant has
    that barcode."""
    upcs = [line.upc for line in sale.lines if not line.sku and line.upc]
    if not upcs:
        return sale
    found = pos_stock.skus_of_upcs(conn, upcs)
    for index, line in enumerate(sale.lines):
        if not line.sku and line.upc not in found:
            missing = sum(1 for ln in sale.lines if not ln.sku and ln.upc not in found)
            raise InvalidRecord(f"lines[{index}].upc", f"UPC {line.upc!r} is no variant's barcode (nor a SKU) in "
                                                       f"orderhub ({missing} such line(s)); add the barcode to the "
                                                       "variant and retry")
    return replace(sale, lines=tuple(line if line.sku else replace(line, sku=found[line.upc or ""])
                                     for line in sale.lines))


def _unknown_skus(conn: Connection, sale: StoreSale) -> list[tuple[int, str]]:
    known = channel_stock.known_skus(conn, [line.sku for line in sale.lines])
    return [(i, line.sku) for i, line in enumerate(sale.lines) if line.sku not in known]


def _record_order(conn: Connection, source: Source, sale: StoreSale, facility_id: int) -> int | None:
    """The order of what the customer took, completed at the store (None when the sale only takes back)."""
    order = sale.order()
    if order is None:
        return None
    validate(order)
    fresh = store.apply_order(conn, source.account_id, order, source.inbox_id)
    row = conn.execute(select(orders.c.id).where(orders.c.shop_id == source.account_id,
                                                 orders.c.shopify_id == order.shopify_id)).one()
    if fresh is Freshness.NEW:
        order_sync.after_ingest(conn, source.account_id, order.shopify_id, fresh)
        timeline.add(conn, [_sale_entry(row.id, sale)])
    return int(row.id)


def _take_back(conn: Connection, sale: StoreSale, index: int, line: SaleLine, facility_id: int,
               sale_order_id: int | None) -> None:
    at = f"lines[{index}]"
    units = -line.quantity
    damaged = line.condition == "damaged"
    reason = line.reason or f"brought back to {sale.store}"
    if line.returns_order is None and line.returns_sale is None:
        # A return without a receipt: the goods are back on the shelf (or written off), no order to credit.
        if not damaged:
            inventory_store.move(conn, [Movement(line.sku, facility_id, units, order_id=sale_order_id)],
                                 reason=LedgerReason.RETURNED, actor=ACTOR, on_hand_sign=1,
                                 note=f"{sale.label()}: {reason} (no receipt)")
        return
    order_id = (_store_sale_order(conn, line.returns_sale, at) if line.returns_sale is not None
                else _online_order(conn, line.returns_order or "", at))
    item_id = _item_with_sku(conn, order_id, line.sku, at)
    refund = -line.amount + (Decimal("0") if sale.taxes_included else line.tax)
    ctx = fulfilment.Ctx(ACTOR, f"{reason} ({sale.label()})")
    try:
        _status, return_id = fulfilment.return_units(conn, order_id, ctx, item_id=item_id, quantity=units,
                                                     restock_facility_id=None if damaged else facility_id,
                                                     damaged=damaged, refund=refund)
    except IllegalTransition as exc:
        raise InvalidRecord(f"{at}.returns", str(exc)) from None
    timeline.add(conn, [timeline.Entry(order_id, "returned_in_store", {
        "store": sale.store, "device": sale.device_name, "sale_id": sale.sale_id, "return_id": return_id,
        "units": units, "sku": line.sku, "condition": line.condition}, ACTOR)])


def _store_sale_order(conn: Connection, sale_ref: str, at: str) -> int:
    found = conn.execute(select(orders.c.id).join(shops, shops.c.id == orders.c.shop_id)
                         .where(shops.c.kind == POS_KIND, orders.c.shopify_id == sale_ref)).first()
    if found is None:
        raise NotYetKnown(f"{at}.returns.sale: the store sale {sale_ref!r} has not reached orderhub yet (its device "
                          "may still be offline); tried again later")
    return int(found.id)


def _online_order(conn: Connection, ref: str, at: str) -> int:
    """An order of any channel by its name (#1001, with or without the #) or the channel's id."""
    names = {ref, ref.lstrip("#"), "#" + ref.lstrip("#")}
    rows = conn.execute(select(orders.c.id, orders.c.name, shops.c.domain).join(shops, shops.c.id == orders.c.shop_id)
                        .where(or_(orders.c.name.in_(sorted(names)), orders.c.shopify_id == ref))
                        .order_by(orders.c.id).limit(5)).all()
    if not rows:
        raise InvalidRecord(f"{at}.returns.order", f"no order {ref!r} (by name or channel id); check the receipt and "
                                                   "retry, or take it back without a receipt")
    if len(rows) > 1:
        where = ", ".join(f"{r.name or r.id} on {r.domain} (id {r.id})" for r in rows)
        raise InvalidRecord(f"{at}.returns.order", f"{ref!r} names {len(rows)} orders: {where}; send the channel's "
                                                   "order id instead")
    return int(rows[0].id)


def _item_with_sku(conn: Connection, order_id: int, sku: str, at: str) -> int:
    rows = conn.execute(select(order_items.c.id).where(order_items.c.order_id == order_id, order_items.c.sku == sku)
                        .order_by(order_items.c.id)).all()
    if not rows:
        raise InvalidRecord(f"{at}.sku", f"order {order_id} has no line of SKU {sku!r} to take back")
    if len(rows) == 1:
        return int(rows[0].id)
    # Several lines of one SKU: the first with a unit that can still come back.
    for r in rows:
        if conn.execute(select(order_units.c.id).where(order_units.c.item_id == r.id,
                                                       order_units.c.status.in_(("shipped", "completed")))).first():
            return int(r.id)
    return int(rows[0].id)

