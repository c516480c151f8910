"""Brokering: load what the routing rules need, decide (pure), then reserve and record.

Used by the placement workflow (an order's units are reserved as it is placed) and
by the scheduled routing run (approved orders waiting in queues). The decision is
``orderhub.domain.brokering.broker``; this module turns it into conditional
reservations, unit changes, facility load, timeline entries and events. A dry run
stops after the decision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store, routing_store, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import order_addresses, order_units, orders, products, variants
from orderhub.clock import utcnow
from orderhub.domain.brokering import (
    BROKERING_QUEUE,
    BrokeringResult,
    Facility,
    OrderToBroker,
    Unit,
    broker,
    ships,
)
from orderhub.domain.routing import RoutingRun, parse_run

# Used until a retailer configures their own: nearest facility that has everything,
# then split across the nearest ones, then park what is left as a backorder.
DEFAULT_RUN: dict[str, Any] = {
    "name": "default",
    "routings": [{
        "name": "all orders",
        "filters": {"queues": ["brokering", "rejected_parking", "backorder_parking"]},
        "sort": [["ship_by", "asc"], ["order_date", "asc"]],
        "rules": [
            {"name": "nearest facility with everything", "split": "none", "sorts": ["proximity", "facility_sequence"]},
            {"name": "nearest facilities, split", "split": "allowed", "sorts": ["proximity", "inventory_balance"],
             "action": {"kind": "queue", "queue": "backorder_parking"}},
        ],
    }],
}


def active_run(conn: Connection) -> RoutingRun:
    """The active routing run configured, or the default one."""
    name = routing_store.active_name(conn)
    data = routing_store.get_run(conn, name) if name else None
    if data is None:
        return parse_run(DEFAULT_RUN)
    data.pop("active", None)
    return parse_run(data)


@dataclass
class Outcome:
    """What brokering did to one order."""

    reserved: list[tuple[int, str, int]] = field(default_factory=list)  # (unit id, sku, facility id)
    parked: list[tuple[int, str]] = field(default_factory=list)  # (unit id, queue)
    explanation: list[str] = field(default_factory=list)
    routing: str | None = None
    rule: str | None = None
    units: list[dict[str, Any]] = field(default_factory=list)  # the unit changes written (units.save's dicts)


def load_orders(conn: Connection, order_ids: Sequence[int], *, statuses: Sequence[str],
                order_rows: Mapping[int, Any] | None = None, units: Mapping[int, Sequence[Any]] | None = None,
                addresses: Mapping[int, Mapping[str, Any]] | None = None) -> list[OrderToBroker]:
    """The orders as brokering sees them: their units in ``statuses`` without a facility, leaving out
    units that need no shipping (gift cards, digital goods: they are never brokered nor reserved).

    A caller that holds these orders' rows already (``order_rows``, ``units`` by order, shipping
    ``addresses`` by order) hands them in instead of their being read again."""
    if not order_ids:
        return []
    units_by_order = units if units is not None else unit_store.of_orders(conn, order_ids)
    categories = _categories(conn, {u.sku for us in units_by_order.values() for u in us if u.sku})
    if addresses is None:
        addresses = {r.order_id: r._mapping for r in conn.execute(
            select(order_addresses.c.order_id, order_addresses.c.latitude, order_addresses.c.longitude)
            .where(order_addresses.c.order_id.in_(order_ids), order_addresses.c.kind == "shipping"))}
    coords = {oid: (a["latitude"], a["longitude"]) for oid, a in addresses.items()
              if a["latitude"] is not None and a["longitude"] is not None}
    if order_rows is None:
        found = list(conn.execute(select(orders).where(orders.c.id.in_(order_ids)).order_by(orders.c.id)))
    else:
        found = [order_rows[oid] for oid in sorted(set(order_ids)) if oid in order_rows]
    out = []
    rejections: dict[str, frozenset[int]] = {}  # as stored -> as read: most units of a batch share "[]"
    for o in found:
        waiting = [u for u in units_by_order.get(o.id, []) if u.status in statuses and u.facility_id is None
                   and ships(u.ship_group)]
        if not waiting:
            continue
        brokered = []
        for u in waiting:
            rejected = rejections.get(u.rejected_facilities)
            if rejected is None:
                rejected = rejections[u.rejected_facilities] = frozenset(orjson.loads(u.rejected_facilities))
            brokered.append(Unit(u.id, u.sku or "", u.ship_group, Decimal(u.price), categories.get(u.sku or ""),
                                 rejected))
        out.append(OrderToBroker(
            id=o.id, name=o.name or o.shopify_id, channel=o.channel, queue=waiting[0].queue or BROKERING_QUEUE,
            units=tuple(brokered),
            order_date=o.source_created_at, priority=o.priority, shipping_method=o.shipping_method,
            ship_by=o.ship_by, promise_date=o.promise_date, origin_facility_id=o.origin_facility_id,
            destination=coords.get(o.id), auto_cancel_at=None, currency=o.currency,
            pickup_facility_id=o.pickup_facility_id, pickup_location=o.pickup_location))
    return out


def _categories(conn: Connection, skus: set[str]) -> dict[str, str | None]:
    if not skus:
        return {}
    return {r.sku: r.product_type for r in conn.execute(
        select(variants.c.sku, products.c.product_type)
        .join(products, (products.c.shop_id == variants.c.shop_id)
              & (products.c.shopify_id == variants.c.product_shopify_id))
        .where(variants.c.sku.in_(sorted(skus))))}


def load_facilities(conn: Connection, day: str) -> list[Facility]:
    load = facility_store.orders_today(conn, day)
    return [Facility(id=f.id, code=f.code, kind=f.kind, latitude=f.latitude, longitude=f.longitude,
                     groups=frozenset(f.groups), daily_capacity=f.daily_capacity, orders_today=load.get(f.id, 0),
                     ship_from_store=f.ship_from_store, sequence=f.sequence)
            for f in facility_store.all_facilities(conn, active_only=True)]


def decide(conn: Connection, order_ids: Sequence[int], *, statuses: Sequence[str],
           now: datetime | None = None, **loaded: Any) -> tuple[BrokeringResult, list[OrderToBroker]]:
    """The brokering decision for these orders, changing nothing (a dry run stops here); ``loaded``: the
    rows the caller holds already, as :func:`load_orders` takes them."""
    now = now or utcnow()
    candidates = load_orders(conn, order_ids, statuses=statuses, **loaded)
    skus = {u.sku for o in candidates for u in o.units}
    stock = {key: p.atp for key, p in inventory_store.positions(conn, skus).items()}
    result = broker(active_run(conn), candidates, load_facilities(conn, now.date().isoformat()), stock, now)
    return result, candidates


def apply(conn: Connection, result: BrokeringResult, candidates: Sequence[OrderToBroker], *, actor: str,
          waiting_status: str, brokered_status: str, now: datetime | None = None,
          seen: Mapping[int, Any] | None = None, keys: Mapping[int, tuple[int, str]] | None = None
          ) -> dict[int, Outcome]:
    """Reserve what the decision allocated and park the rest; units that lose a race stay queued.

    Units come in ``waiting_status`` and an allocated one takes ``brokered_status``:
    approved → brokered in a routing run; created → created (holding its reservation)
    while an order is being placed, becoming brokered when the order is approved.
    ``seen`` (unit id -> unit as read before this transaction) makes the unit writes conditional
    (``units.save``); ``keys`` are the orders' timeline keys when the caller holds them.
    """
    now = now or utcnow()
    skus = {u.id: u.sku for o in candidates for u in o.units}
    requests = [Movement(skus[uid], fid, 1, d.order_id, uid) for d in result.decisions for uid, fid in d.allocations]
    granted = inventory_store.reserve(conn, requests, actor=actor)
    outcomes: dict[int, Outcome] = {}
    per_facility: dict[int, set[int]] = defaultdict(set)
    for d in result.decisions:
        outcomes[d.order_id] = Outcome(explanation=list(d.explanation), routing=d.routing, rule=d.rule)
    for req, got in zip(requests, granted, strict=True):
        assert req.order_id is not None and req.unit_id is not None
        out = outcomes[req.order_id]
        if got:
            out.reserved.append((req.unit_id, req.sku, req.facility_id))
            per_facility[req.facility_id].add(req.order_id)
            out.units.append({"id": req.unit_id, "status": brokered_status, "facility_id": req.facility_id,
                              "queue": None, "reason": None})
        else:
            out.explanation.append(f"unit {req.unit_id} ({req.sku}): another order took the last stock at "
                                   f"facility {req.facility_id} first; it stays in the brokering queue")
            out.parked.append((req.unit_id, "brokering"))
            out.units.append({"id": req.unit_id, "status": waiting_status, "facility_id": None,
                              "queue": "brokering", "reason": "lost a race for stock"})
    for d in result.decisions:
        for uid, queue in d.moves:
            outcomes[d.order_id].parked.append((uid, queue))
            outcomes[d.order_id].units.append({
                "id": uid, "status": waiting_status, "facility_id": None, "queue": queue,
                "reason": d.park_reason or (f"parked by rule {d.rule!r}" if d.rule else None)})
    unit_store.save(conn, [c for out in outcomes.values() for c in out.units], seen=seen)
    _set_auto_cancel(conn, result, outcomes)
    facility_store.count_orders(conn, now.date().isoformat(), {f: len(o) for f, o in per_facility.items()})
    timeline.add(conn, [timeline.Entry(oid, "brokering", {"routing": out.routing, "rule": out.rule,
                                                          "reserved": len(out.reserved), "parked": out.parked,
                                                          "explanation": out.explanation}, actor)
                        for oid, out in outcomes.items()], keys=keys)
    return outcomes



def preview(conn: Connection, order_ids: Sequence[int]) -> dict[str, Any]:
    """A dry run: where waiting units would go now, and why; nothing is changed."""
    result, candidates = decide(conn, order_ids, statuses=("created", "approved"))
    names = {o.id: o.name for o in candidates}
    skus = {u.id: u.sku for o in candidates for u in o.units}
    codes = {f.id: f.code for f in facility_store.all_facilities(conn)}
    return {"decisions": [{
        "order_id": d.order_id, "order": names.get(d.order_id), "routing": d.routing, "rule": d.rule,
        "allocations": [{"unit": uid, "sku": skus.get(uid), "facility": codes.get(fid, fid)}
                        for uid, fid in d.allocations],
        "moves": [{"unit": uid, "queue": queue} for uid, queue in d.moves],
        "explanation": list(d.explanation)} for d in result.decisions]}


def _set_auto_cancel(conn: Connection, result: BrokeringResult, outcomes: dict[int, Outcome]) -> None:
    """A rule's action may set or clear the auto-cancel date of the units it parked."""
    for d in result.decisions:
        if d.auto_cancel_changed and outcomes[d.order_id].parked:
            conn.execute(order_units.update().where(order_units.c.id.in_([u for u, _ in outcomes[d.order_id].parked]))
                         .values(auto_cancel_at=d.auto_cancel_at))
