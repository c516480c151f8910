"""Pre-orders and backorders: keep the catalogue of SKUs sold ahead of stock, park and promise their waiting
units first come first served, record promises that moved, and release units whose date has come.

Each function works on a batch of SKUs inside the caller's transaction, so that a job commits SKU batch by
SKU batch. The rules are :mod:`orderhub.domain.presell`; the jobs are
:mod:`orderhub.services.jobs.preorder_jobs`.

A SKU counts as available when its ATP is more than the units already waiting for it: two units on hand
and ten customers waiting is not in stock. Units are promised from ATP, then from open purchase orders in
the order their deliveries are expected; a promise whose date has come is kept while the unit waits for
its stock (a late delivery moves it only when the purchase order's date is moved), so customers are not
told every day that their date moved by a day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import outbox, timeline
from orderhub.adapters.store import presell_store as store
from orderhub.adapters.store import purchase_orders as po_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.adapters.store.presell_store import ChangeRow, WaitingUnit
from orderhub.domain.inventory import Position, channel_atp
from orderhub.domain.planning import ThresholdBook
from orderhub.domain.presell import (
    Presell,
    PromiseChange,
    Supply,
    Waiting,
    changed_promises,
    presell_kind,
    promise_dates,
    releasable,
)

BROKERING = "brokering"


def supplies(conn: Connection, skus: Sequence[str]) -> dict[str, list[Supply]]:
    """What open purchase orders still bring of each SKU."""
    return {sku: [Supply(i.quantity, i.expected_date, i.po_number) for i in incoming]
            for sku, incoming in po_store.open_quantities(conn, skus).items()}


def _day(value: date | None) -> str:
    return value.isoformat() if value else "none"


# -- the catalogue ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelView:
    """A channel's view of stock: its facilities (None: all) and the thresholds it holds back."""

    code: str
    default_threshold: int
    facilities: frozenset[int] | None
    book: ThresholdBook


def channel_view(conn: Connection, code: str) -> ChannelView:
    channel = facility_store.get_channel(conn, code)
    if channel is None:
        known = ", ".join(facility_store.channel_codes(conn)) or "none yet"
        raise LookupError(f"no channel {code!r} (channels: {known}); create it with `orderhub channel {code}`")
    return ChannelView(channel.code, channel.threshold, facility_store.channel_facilities(conn, channel),
                       ThresholdBook(threshold_store.rules(conn, channel.code)))


@dataclass
class RefreshReport:
    skus: int = 0
    added: dict[str, Presell] = field(default_factory=dict)
    removed: dict[str, Presell] = field(default_factory=dict)
    kind_changed: dict[str, tuple[Presell, Presell]] = field(default_factory=dict)
    parked: int = 0
    promised: int = 0

    def merge(self, other: RefreshReport) -> None:
        self.skus += other.skus
        self.added |= other.added
        self.removed |= other.removed
        self.kind_changed |= other.kind_changed
        self.parked += other.parked
        self.promised += other.promised


def refresh_catalogue(conn: Connection, skus: Sequence[str], *, today: date, now: datetime, actor: str,
                      channel: ChannelView | None = None) -> RefreshReport:
    """Add these SKUs to, or take them out of, the pre-order and backorder catalogues; park their waiting
    units without stock in the kind's queue, and promise the units that have no promise yet."""
    report = RefreshReport(skus=len(skus))
    incoming = supplies(conn, skus)
    stocked = store.ever_stocked(conn, skus)
    facts = store.product_facts(conn, skus)
    positions = store.positions_by_sku(conn, skus)
    waiting = store.waiting_units(conn, skus)
    current = store.catalogue(conn, skus)
    parked: dict[tuple[int, str, Presell], list[int]] = defaultdict(list)
    removed: list[str] = []
    for sku in skus:
        physical = sum(p.atp for _fid, p in positions[sku])
        fact = facts.get(sku, store.ProductFacts(None, frozenset()))
        view = physical if channel is None else _channel_atp(channel, sku, fact, positions[sku])
        kind = presell_kind(atp=view - len(waiting[sku]), incoming=incoming.get(sku, []),
                            ever_stocked=sku in stocked, tags=fact.tags)
        entry = current.get(sku)
        if kind is None:
            if entry is not None:
                removed.append(sku)
                report.removed[sku] = entry.kind
            continue
        next_expected = min((s.expected for s in incoming.get(sku, []) if s.quantity > 0 and s.expected), default=None)
        if entry is None:
            store.add(conn, sku, kind, next_expected, now=now)
            report.added[sku] = kind
        elif entry.kind is not kind or entry.next_expected != next_expected:
            store.change(conn, sku, kind, next_expected, now=now, kind_changed=entry.kind is not kind)
            if entry.kind is not kind:
                report.kind_changed[sku] = (entry.kind, kind)
        # The first units (placement order) that ATP covers stay where they are; the rest wait for supply.
        for unit in waiting[sku][max(0, physical):]:
            if unit.queue != kind.queue:
                parked[(unit.order_id, sku, kind)].append(unit.id)
    store.remove(conn, removed)
    report.parked = _park(conn, parked, actor=actor, now=now)
    in_catalogue = [s for s in skus if s in report.added or (s in current and s not in report.removed)]
    report.promised = update_promises(conn, in_catalogue, today=today, now=now, actor=actor, first_only=True).given
    return report


def _channel_atp(channel: ChannelView, sku: str, fact: store.ProductFacts,
                 positions: Sequence[tuple[int, Position]]) -> int:
    """What the channel may sell of a SKU: its facilities' ATP less the threshold it holds back of the product."""
    threshold = channel.book.applicable(channel.code, sku=sku, category=fact.category, tags=fact.tags,
                                        default=channel.default_threshold).threshold
    return channel_atp(positions, threshold=threshold, facilities=channel.facilities)


def _park(conn: Connection, parked: Mapping[tuple[int, str, Presell], list[int]], *, actor: str,
          now: datetime) -> int:
    by_queue: dict[str, list[int]] = defaultdict(list)
    for (_oid, _sku, kind), ids in parked.items():
        by_queue[kind.queue] += ids
    moved: set[int] = set()
    for queue, ids in by_queue.items():
        moved.update(store.move_units(conn, ids, queue, reason=f"sold ahead of stock: waits in {queue}", now=now))
    entries = []
    for (oid, sku, kind), ids in sorted(parked.items()):
        done = [i for i in ids if i in moved]
        if done:
            entries.append(timeline.Entry(oid, "presell_parked", {
                "reason": f"{sku} is sold as a {kind.value}: {len(done)} unit(s) wait in {kind.queue} for stock",
                "sku": sku, "kind": kind.value, "units": done, "queue": kind.queue}, actor))
    timeline.add(conn, entries)
    return len(moved)


# -- promises ----------------------------------------------------------------------------------------------------

@dataclass
class PromiseReport:
    units: int = 0
    given: int = 0
    changed: int = 0
    later: int = 0
    orders_changed: int = 0

    def merge(self, other: PromiseReport) -> None:
        self.units += other.units
        self.given += other.given
        self.changed += other.changed
        self.later += other.later
        self.orders_changed += other.orders_changed


def _recomputed(unit: WaitingUnit, computed: date | None, today: date) -> date | None:
    """A promise whose date has come stays while the unit waits for its stock: recomputing would only say
    'today' again, every day."""
    if unit.promise_date is not None and unit.promise_date <= today and computed == today:
        return unit.promise_date
    return computed


def update_promises(conn: Connection, skus: Sequence[str], *, today: date, now: datetime, actor: str,
                    first_only: bool = False) -> PromiseReport:
    """Promise the waiting units of these SKUs first come, first served. A unit promised for the first time
    gets 'promise date ... given' on its order's timeline; unless ``first_only``, a promise that moved is
    stored and put on the timeline, one that moved later or was lost is recorded for the customer, and
    ``order.promise_changed`` goes to the outbox. Orders' promise dates follow their units'."""
    report = PromiseReport()
    waiting = store.waiting_units(conn, skus)
    stock = store.atp(conn, skus)
    incoming = supplies(conn, skus)
    writes: dict[int, tuple[date | None, datetime]] = {}
    given: dict[tuple[int, date], list[tuple[int, str]]] = defaultdict(list)
    changes: list[tuple[WaitingUnit, PromiseChange]] = []
    for sku in skus:
        units = waiting[sku]
        report.units += len(units)
        computed = promise_dates([Waiting(w.id, w.placed_at) for w in units], atp=stock[sku],
                                 incoming=incoming.get(sku, []), today=today)
        by_id = {w.id: w for w in units}
        before = {w.id: w.promise_date for w in units if w.promised_at is not None}
        after = {w.id: _recomputed(w, computed[w.id], today) for w in units}
        for w in units:
            if w.promised_at is None and after[w.id] is not None:
                promise = after[w.id]
                assert promise is not None
                writes[w.id] = (promise, now)
                given[(w.order_id, promise)].append((w.id, sku))
        if not first_only:
            for change in changed_promises(before, after):
                unit = by_id[change.unit_id]
                writes[unit.id] = (change.after, unit.promised_at or now)
                changes.append((unit, change))
    store.set_promises(conn, writes, now=now)
    report.given = sum(len(v) for v in given.values())
    report.changed = len(changes)
    report.later = sum(1 for _u, c in changes if c.later)
    store.record_changes(conn, [ChangeRow(u.id, u.order_id, u.sku, c.before, c.after) for u, c in changes if c.later],
                         actor=actor, now=now)
    touched = {oid for oid, _d in given} | {u.order_id for u, _c in changes}
    order_moves = _order_promises(conn, touched, now=now)
    report.orders_changed = sum(1 for before, after in order_moves.values() if before != after)
    entries = [timeline.Entry(oid, "promise_given", {
        "reason": f"promise date {promise.isoformat()} given", "promise_date": promise.isoformat(),
        "units": [uid for uid, _s in units], "skus": sorted({s for _u, s in units})}, actor)
        for (oid, promise), units in sorted(given.items())]
    by_order: dict[int, list[tuple[WaitingUnit, PromiseChange]]] = defaultdict(list)
    for unit, change in changes:
        by_order[unit.order_id].append((unit, change))
    events = []
    for oid, moved in sorted(by_order.items()):
        detail = change_detail(moved, order_moves.get(oid))
        entries.append(timeline.Entry(oid, "promise_changed", detail, actor))
        events.append(outbox.Event("order.promise_changed", promise_changed_payload(oid, detail), f"order:{oid}", oid))
    timeline.add(conn, entries)
    outbox.add_many(conn, events)
    return report


def _order_promises(conn: Connection, order_ids: set[int], *, now: datetime
                    ) -> dict[int, tuple[date | None, date | None]]:
    """Set each order's promise date to what its units make it; returns order id -> (before, after)."""
    out = {}
    for oid, (current, made) in store.order_promises(conn, order_ids).items():
        before = current.date() if current else None
        if before != made:
            store.set_order_promise(conn, oid, datetime.combine(made, time(), UTC) if made else None, now=now)
        out[oid] = (before, made)
    return out


def promise_changed_payload(order_id: int, detail: dict[str, Any]) -> dict[str, Any]:
    """The body of an ``order.promise_changed`` event: the order, and what moved (:func:`change_detail`)."""
    return {"order_id": order_id, **detail}


def change_detail(moved: Sequence[tuple[WaitingUnit, PromiseChange]],
                  order_move: tuple[date | None, date | None] | None) -> dict[str, Any]:
    """What moved for one order (its timeline entry, and with ``order_id`` its ``order.promise_changed``)."""
    groups: dict[tuple[str, date | None, date | None], int] = defaultdict(int)
    for unit, change in moved:
        groups[(unit.sku, change.before, change.after)] += 1
    parts = [f"{sku} x{n}: {_day(b)} → {_day(a)}" + (" (no delivery covers it)" if a is None else "")
             for (sku, b, a), n in sorted(groups.items(), key=lambda g: (g[0][0], _day(g[0][1]), _day(g[0][2])))]
    detail: dict[str, Any] = {
        "reason": "promise date changed: " + "; ".join(parts),
        "changes": [{"unit": u.id, "sku": u.sku, "before": c.before.isoformat() if c.before else None,
                     "after": c.after.isoformat() if c.after else None, "later": c.later} for u, c in moved]}
    if order_move is not None:
        detail["order_promise"] = {"before": order_move[0].isoformat() if order_move[0] else None,
                                   "after": order_move[1].isoformat() if order_move[1] else None}
    return detail


# -- release -------------------------------------------------------------------------------------------------------

@dataclass
class ReleaseReport:
    considered: int = 0
    released: int = 0
    orders: set[int] = field(default_factory=set)

    def merge(self, other: ReleaseReport) -> None:
        self.considered += other.considered
        self.released += other.released
        self.orders |= other.orders


def release(conn: Connection, skus: Sequence[str], *, today: date, now: datetime, actor: str) -> ReleaseReport:
    """Move parked units whose promise date has come into the brokering queue, oldest first, as far as ATP
    covers them (units already in the brokering queue take their stock first)."""
    report = ReleaseReport()
    waiting = store.waiting_units(conn, skus)
    stock = store.atp(conn, skus)
    chosen: dict[tuple[int, str, date], list[int]] = defaultdict(list)
    for sku in skus:
        available = stock[sku] - sum(1 for w in waiting[sku] if w.queue == BROKERING)
        for w in waiting[sku]:
            if w.queue == BROKERING:
                continue
            report.considered += 1
            if releasable(w.promise_date, atp_covers=available > 0, today=today):
                assert w.promise_date is not None
                available -= 1
                chosen[(w.order_id, sku, w.promise_date)].append(w.id)
    moved = set(store.move_units(conn, [i for ids in chosen.values() for i in ids], BROKERING,
                                 reason="promise date came and stock is there: released into brokering", now=now))
    entries = []
    for (oid, sku, promise), ids in sorted(chosen.items()):
        done = [i for i in ids if i in moved]
        if done:
            report.released += len(done)
            report.orders.add(oid)
            entries.append(timeline.Entry(oid, "presell_released", {
                "reason": f"promise date {promise.isoformat()} has come and {sku} is in stock: {len(done)} unit(s) "
                          "released into brokering", "sku": sku, "units": done, "promise_date": promise.isoformat()},
                actor))
    timeline.add(conn, entries)
    return report


# -- telling customers ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoticeLine:
    """Units of one item whose promise moved later (``promise`` None: no date for now)."""

    title: str
    sku: str | None
    quantity: int
    was: date | None
    promise: date | None


@dataclass(frozen=True)
class Notice:
    """What one customer is told about one order: the lines that wait longer now."""

    order_id: int
    order_name: str
    email: str | None
    customer_name: str
    lines: tuple[NoticeLine, ...]
    change_ids: tuple[int, ...]  # every pending change of the order (told, or no longer worth telling)


def notice(conn: Connection, order_id: int) -> Notice | None:
    """The notice of an order's pending promise changes. A unit is mentioned when it still waits longer than
    the customer was last told (the promise before its first pending change); one cancelled, or since
    promised no later, is not."""
    pending = store.pending_changes(conn, order_id)
    contact = store.order_contact(conn, order_id)
    if not pending or contact is None:
        return None
    told: dict[int, date | None] = {}
    for change in pending:
        told.setdefault(change.unit_id, change.before)
    grouped: dict[tuple[str, str | None, date | None, date | None], int] = defaultdict(int)
    for unit_id, was in told.items():
        unit = contact.units.get(unit_id)
        if unit is None or unit.status in ("cancelled", "rejected"):
            continue
        if not PromiseChange(unit_id, was, unit.promise_date).later:
            continue
        title = unit.title + (f" - {unit.variant_title}" if unit.variant_title else "")
        grouped[(title, unit.sku, was, unit.promise_date)] += 1
    lines = tuple(NoticeLine(title, sku, n, was, promise)
                  for (title, sku, was, promise), n in sorted(grouped.items(), key=lambda g: (g[0][0], g[0][1] or "")))
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return Notice(contact.id, contact.name, contact.email, name, lines, tuple(c.id for c in pending))
