"""Order brokering: where each waiting unit of an order ships from, or which queue it waits in.

``broker`` applies a routing run (``orderhub.domain.routing``) to orders. Routings are
tried in order and an order belongs to the first routing that selects it; within a
routing, orders are taken in the routing's sort order and its rules are tried in
order until the order's units are placed or an action parks them in a queue.

The function is pure and deterministic: it reads its inputs, changes none of them, and
gives the same result whatever order ``orders`` and ``facilities`` come in. The service
layer loads the inputs, calls it, then applies the decisions with atomic reservations;
a dry run is the same call with nothing applied. Stock and facility load taken by one
order are not offered to later ones in the same call (one running copy for the run).

Every decision carries an explanation in plain sentences: which routing selected the
order, which rule placed its units, and why each facility ranked ahead of the chosen one
was passed over (the first ``DETAILED_PASSES`` one by one, any more counted by reason).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Final, NamedTuple

from orderhub.domain import money
from orderhub.domain.geo import haversine_km
from orderhub.domain.routing import ActionKind, InventorySort, OrderFilter, Routing, RoutingRun, Rule, Split

# The queue approved units wait in until a routing run brokers them.
BROKERING_QUEUE: Final = "brokering"
# The ship group of units whose line needs no shipping (gift cards, digital goods). They hold
# no stock anywhere, so they are never brokered: the channel delivers them.
NO_SHIPPING: Final = "no_shipping"


def ships(ship_group: str) -> bool:
    """Whether units of this ship group are brokered and shipped (every group but ``NO_SHIPPING``)."""
    return ship_group != NO_SHIPPING


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One unit of an order line waiting for a facility (a line of quantity 3 is 3 units)."""

    id: int
    sku: str
    ship_group: str
    price: Decimal
    category: str | None = None
    rejected_facilities: frozenset[int] = frozenset()  # facilities that rejected this unit before


@dataclass(frozen=True)
class OrderToBroker:
    """An order as brokering sees it: its waiting units and what routings filter and sort on."""

    id: int
    name: str
    channel: str
    queue: str
    units: tuple[Unit, ...]
    order_date: datetime
    priority: int = 0  # higher is more urgent
    shipping_method: str | None = None
    ship_by: datetime | None = None
    promise_date: datetime | None = None
    origin_facility_id: int | None = None  # e.g. the store a POS order was taken in
    destination: tuple[float, float] | None = None  # latitude, longitude
    auto_cancel_at: datetime | None = None
    currency: str | None = None  # of the units' prices
    # Pickup in store: the store the customer collects at. Its units go there only, never split; with no
    # facility for the location the customer chose (``pickup_location``), they go nowhere.
    pickup_facility_id: int | None = None
    pickup_location: str | None = None

    @property
    def is_pickup(self) -> bool:
        return self.pickup_facility_id is not None or self.pickup_location is not None


@dataclass(frozen=True)
class Facility:
    """A place that can ship: warehouse, store or dropship supplier."""

    id: int
    code: str
    kind: str  # warehouse | store | dropship
    latitude: float | None
    longitude: float | None
    groups: frozenset[str]
    daily_capacity: int | None  # orders per day; None: unlimited
    orders_today: int
    ship_from_store: bool
    sequence: int = 0


Stock = Mapping[tuple[str, int], int]  # (sku, facility id) -> ATP; negative counts as 0

# Per rule attempt, this many passed-over facilities are explained one by one; the rest
# (a large store network) are counted by reason, so an explanation stays readable.
DETAILED_PASSES: Final = 20


# --- outputs ------------------------------------------------------------------------------


class Unchanged(Enum):
    """Marks a setting a decision leaves as it is (``None`` would mean: clear it)."""

    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged.UNCHANGED


@dataclass(frozen=True)
class Decision:
    """What brokering decided for one order that a routing selected."""

    order_id: int
    routing: str | None
    rule: str | None  # the last rule that placed or moved units; None when none did
    allocations: tuple[tuple[int, int], ...] = ()  # (unit id, facility id), by unit id
    moves: tuple[tuple[int, str], ...] = ()  # (unit id, queue), by unit id
    auto_cancel_at: datetime | None | Unchanged = UNCHANGED  # UNCHANGED, a new date, or None: cleared
    explanation: tuple[str, ...] = ()
    unplaced: tuple[int, ...] = ()  # unit ids no rule placed or moved: they stay where they are
    park_reason: str | None = None  # why the moved units wait, when more can be said than the rule's name

    @property
    def auto_cancel_changed(self) -> bool:
        return self.auto_cancel_at is not UNCHANGED


@dataclass(frozen=True)
class BrokeringResult:
    """The decisions in processing order, and the stock and facility load they take."""

    decisions: tuple[Decision, ...]
    consumed: Mapping[tuple[str, int], int]  # (sku, facility id) -> units allocated there
    facility_orders: Mapping[int, int]  # facility id -> orders newly given units there


# --- the run ------------------------------------------------------------------------------


def broker(run: RoutingRun, orders: Sequence[OrderToBroker], facilities: Sequence[Facility], stock: Stock,
           now: datetime) -> BrokeringResult:
    """Decide, for every order a routing of ``run`` selects, where its units go (see module doc)."""
    network = _Network.of(facilities)
    ledger = _Ledger(stock)
    waiting = _by_id(orders)
    passed_by: dict[int, list[str]] = {}
    decisions: list[Decision] = []
    for routing in run.routings:
        selected, waiting = _select(routing, waiting, network, now, passed_by)
        for order in _sort_orders(routing.sort, selected):
            notes = passed_by.pop(order.id, []) + [
                f'routing "{routing.name}" selected the order ({_describe_match(routing.filters, order, network)})']
            decisions.append(_broker_order(routing, order, network, ledger, now, notes))
    return BrokeringResult(tuple(decisions), ledger.consumed_totals(), ledger.new_order_totals())


def _by_id(orders: Sequence[OrderToBroker]) -> list[OrderToBroker]:
    """Orders by id; ids of orders and of units must be unique (a unit is decided once), and every
    unit must ship (brokering one that does not would reserve stock for a gift card)."""
    _require_unique((o.id for o in orders), "order")
    _require_unique((u.id for o in orders for u in o.units), "unit")
    for o in orders:
        for u in o.units:
            if not ships(u.ship_group):
                raise ValueError(f"order {o.name} unit {u.id} needs no shipping (ship group {u.ship_group}); "
                                 "such units are never brokered, leave them out")
    return sorted(orders, key=lambda o: o.id)


def _require_unique(ids: Iterable[int], what: str) -> None:
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what} id {i} is given twice; each {what} must be brokered once")
        seen.add(i)


@dataclass(frozen=True)
class _Network:
    """The facilities, by id."""

    facilities: tuple[Facility, ...]
    by_id: Mapping[int, Facility]

    @classmethod
    def of(cls, facilities: Sequence[Facility]) -> _Network:
        _require_unique((f.id for f in facilities), "facility")
        ordered = tuple(sorted(facilities, key=lambda f: f.id))
        return cls(ordered, {f.id: f for f in ordered})


class _Ledger:
    """The run's running copy of stock and facility load: what one order takes is gone for the next."""

    def __init__(self, stock: Stock) -> None:
        self._atp = {key: max(0, qty) for key, qty in stock.items()}
        self._consumed: Counter[tuple[str, int]] = Counter()
        self._new_orders: Counter[int] = Counter()

    def available(self, sku: str, facility_id: int) -> int:
        key = (sku, facility_id)
        return self._atp.get(key, 0) - self._consumed.get(key, 0)  # get: a Counter's missing key costs a call

    def load(self, facility: Facility) -> int:
        """Orders the facility has today, counting those given to it in this run."""
        return facility.orders_today + self._new_orders[facility.id]

    def take(self, sku: str, facility_id: int) -> None:
        key = (sku, facility_id)
        self._consumed[key] = self._consumed.get(key, 0) + 1

    def count_order(self, facility_id: int) -> None:
        self._new_orders[facility_id] += 1

    def consumed_totals(self) -> dict[tuple[str, int], int]:
        return dict(sorted((k, v) for k, v in self._consumed.items() if v))

    def new_order_totals(self) -> dict[int, int]:
        return dict(sorted((k, v) for k, v in self._new_orders.items() if v))


# --- which orders a routing takes, in which order -----------------------------------------


def _select(routing: Routing, orders: list[OrderToBroker], network: _Network, now: datetime,
            passed_by: dict[int, list[str]]) -> tuple[list[OrderToBroker], list[OrderToBroker]]:
    """Split ``orders`` into those ``routing`` selects and the rest (noting why it passed them by)."""
    selected, rest = [], []
    for order in orders:
        reason = _routing_mismatch(routing, order, network, now)
        if reason is None:
            selected.append(order)
        else:
            passed_by.setdefault(order.id, []).append(f'routing "{routing.name}" passed the order by: {reason}')
            rest.append(order)
    return selected, rest


def _routing_mismatch(routing: Routing, order: OrderToBroker, network: _Network, now: datetime) -> str | None:
    """Why the routing does not select the order, or None when it does."""
    reason = _filter_mismatch(routing.filters, order, network, now)
    if reason is not None:
        return reason
    for exclusion in routing.exclusions:
        if _filter_mismatch(exclusion, order, network, now) is None:
            return f"excluded ({_describe_match(exclusion, order, network)})"
    return None


def _filter_mismatch(f: OrderFilter, order: OrderToBroker, network: _Network, now: datetime) -> str | None:
    """The first reason ``order`` does not match ``f``, or None when it matches."""
    if f.queues and order.queue not in f.queues:
        return f"queue {order.queue} is not one of {_listing(f.queues)}"
    if f.channels and order.channel not in f.channels:
        return f"channel {order.channel} is not one of {_listing(f.channels)}"
    if f.shipping_methods and order.shipping_method not in f.shipping_methods:
        return f"shipping method {order.shipping_method or '(none)'} is not one of {_listing(f.shipping_methods)}"
    if f.priorities and order.priority not in f.priorities:
        return f"priority {order.priority} is not one of {_listing(f.priorities)}"
    if f.min_priority is not None and order.priority < f.min_priority:
        return f"priority {order.priority} is below {f.min_priority}"
    if f.categories and not _categories(order) & f.categories:
        return f"no item in category {_listing(f.categories)}"
    if f.promise_date_within_days is not None:
        if order.promise_date is None:
            return "no promise date"
        if order.promise_date > now + timedelta(days=f.promise_date_within_days):
            return f"promise date {order.promise_date.date()} is more than {f.promise_date_within_days} days away"
    if f.origin_facility_groups:
        origin = network.by_id.get(order.origin_facility_id) if order.origin_facility_id is not None else None
        if origin is None:
            return "no origin facility"
        if not origin.groups & f.origin_facility_groups:
            return f"origin facility {origin.code} is not in group {_listing(f.origin_facility_groups)}"
    if f.pickup is not None and order.is_pickup != f.pickup:
        return "a pickup in store order" if order.is_pickup else "not a pickup in store order"
    return None


def _describe_match(f: OrderFilter, order: OrderToBroker, network: _Network) -> str:
    """The order's values for the fields ``f`` constrains, e.g. "queue brokering, channel online"."""
    parts = []
    if f.queues:
        parts.append(f"queue {order.queue}")
    if f.channels:
        parts.append(f"channel {order.channel}")
    if f.shipping_methods:
        parts.append(f"shipping method {order.shipping_method}")
    if f.priorities or f.min_priority is not None:
        parts.append(f"priority {order.priority}")
    if f.categories:
        parts.append(f"category {_listing(_categories(order) & f.categories)}")
    if f.promise_date_within_days is not None and order.promise_date is not None:
        parts.append(f"promise date {order.promise_date.date()}")
    if f.origin_facility_groups and order.origin_facility_id in network.by_id:
        parts.append(f"origin facility {network.by_id[order.origin_facility_id].code}")
    if f.pickup is not None:
        parts.append("pickup in store" if order.is_pickup else "delivered")
    return ", ".join(parts) or "no filters: every order"


def _categories(order: OrderToBroker) -> frozenset[str]:
    return frozenset(u.category for u in order.units if u.category is not None)


def _sort_orders(sort: tuple[tuple[str, str], ...], orders: list[OrderToBroker]) -> list[OrderToBroker]:
    """Orders in the routing's sort order; missing dates last; ties by order id."""
    return sorted(orders, key=lambda o: (*[_order_key(o, name, direction) for name, direction in sort], o.id))


def _order_key(order: OrderToBroker, name: str, direction: str) -> tuple[int, float]:
    sign = -1 if direction == "desc" else 1
    if name == "priority":
        return (0, sign * order.priority)
    value: datetime | None = getattr(order, name)
    return (1, 0.0) if value is None else (0, sign * value.timestamp())


# --- one order through a routing's rules --------------------------------------------------


@dataclass
class _Progress:
    """An order part way through a routing: what is placed, moved, still waiting, and why."""

    order: OrderToBroker
    pending: list[Unit]
    notes: list[str]
    placed: dict[int, int] = field(default_factory=dict)  # unit id -> facility id
    moves: dict[int, str] = field(default_factory=dict)  # unit id -> queue
    auto_cancel_at: datetime | None | Unchanged = UNCHANGED
    rule: str | None = None
    distances: dict[int, float | None] = field(default_factory=dict)
    park_reason: str | None = None

    def facilities_used(self) -> set[int]:
        return set(self.placed.values())

    def value_at(self, facility_id: int) -> Decimal:
        """What the order already ships from a facility (its share so far)."""
        return sum((u.price for u in self.order.units if self.placed.get(u.id) == facility_id), Decimal(0))


def _broker_order(routing: Routing, order: OrderToBroker, network: _Network, ledger: _Ledger, now: datetime,
                  notes: list[str]) -> Decision:
    """Try the routing's rules in order on the order's waiting units."""
    progress = _Progress(order, sorted(order.units, key=lambda u: u.id), notes)
    for i, rule in enumerate(routing.rules):
        if not progress.pending:
            break
        _Attempt(rule, progress, network, ledger, now).run(last=i == len(routing.rules) - 1)
    if not order.units:
        notes.append("nothing to broker: the order has no waiting units")
    elif progress.pending:
        notes.append(f"{_units(len(progress.pending))} ({_skus(progress.pending)}) not placed by any rule; "
                     f"they stay in queue {order.queue}")
    return Decision(
        order_id=order.id, routing=routing.name, rule=progress.rule,
        allocations=tuple(sorted(progress.placed.items())), moves=tuple(sorted(progress.moves.items())),
        auto_cancel_at=progress.auto_cancel_at, explanation=tuple(notes),
        unplaced=tuple(u.id for u in progress.pending), park_reason=progress.park_reason)


@dataclass
class _Chunk:
    """Units a rule means to place at one facility, and why that facility."""

    facility: Facility
    units: list[Unit]
    why: str
    group: str | None = None


class _Attempt:
    """One rule tried on one order's waiting units: draft a placement, check it, commit, act on the rest.

    Stock the draft would take is held in ``taken`` until the placement is final, so a
    placement that is dropped (e.g. under the minimum shipment value) takes nothing.
    """

    def __init__(self, rule: Rule, progress: _Progress, network: _Network, ledger: _Ledger, now: datetime) -> None:
        self.rule = rule
        self.progress = progress
        self.network = network
        self.ledger = ledger
        self.now = now
        self.chunks: list[_Chunk] = []
        self.taken: Counter[tuple[str, int]] = Counter()

    def run(self, *, last: bool) -> None:
        """Draft by the split policy, drop shares under the minimum, commit, act on what is left."""
        if self.progress.order.is_pickup:
            self._draft_pickup()
        elif self.rule.split is Split.NONE:
            self._draft_whole_order()
        elif self.rule.split is Split.SHIP_GROUP:
            self._draft_ship_groups()
        else:
            self._draft_allowed()
        self._drop_small_shares()
        self._commit()
        self._act_on_unplaced(last=last)

    # -- drafting, one method per split policy --

    def _draft_whole_order(self) -> None:
        """Split none: every waiting unit from the first facility that can take them all."""
        units = self.progress.pending
        needs = _needs(units)
        facility, notes = self._first_whole(units, self._prefix(), needs)
        self.progress.notes.extend(notes)
        if facility is not None:
            self._add(_Chunk(facility, list(units), self._why(facility, needs, 0)))

    def _draft_pickup(self) -> None:
        """Pickup in store: every waiting unit at the order's pickup store, or none (never split, never
        elsewhere: the customer comes to that store). The rule's facility groups, capacity and safety stock
        still apply; ship from store and distance do not (nothing is shipped)."""
        units = self.progress.pending
        store = self._pickup_store()
        if store is None:
            self.progress.notes.append(f"{self._prefix()}pickup order: {self._no_pickup_store()}")
            return
        needs = _needs(units)
        reason = self._obstacle(store, pickup=True) or self._rejection(store, units) or self._shortage(store, needs)
        if reason is not None:
            self.progress.notes.append(f"{self._prefix()}pickup store {store.code} passed over: {reason.text}")
            return
        self._add(_Chunk(store, list(units), "the order's pickup store; pickup orders are never split"))

    def _pickup_store(self) -> Facility | None:
        fid = self.progress.order.pickup_facility_id
        return None if fid is None else self.network.by_id.get(fid)

    def _no_pickup_store(self) -> str:
        order = self.progress.order
        if order.pickup_facility_id is None:
            return f"pickup location {order.pickup_location} has no facility"
        return f"pickup store (facility {order.pickup_facility_id}) is not active"

    def _pickup_park_reason(self, units: list[Unit]) -> str:
        """Why a pickup order's units wait: what its store lacks, by SKU."""
        store = self._pickup_store()
        if store is None:
            return self._no_pickup_store()
        needs = _needs(units)
        short = [sku for sku in sorted(needs) if self._usable(sku, store) < needs[sku]]
        rejected = sorted({u.sku for u in units if store.id in u.rejected_facilities})
        if rejected:
            return f"pickup store {store.code} rejected SKU {', '.join(rejected)}"
        if short:
            return f"pickup store {store.code} has no stock of SKU {', '.join(short)}"
        obstacle = self._obstacle(store, pickup=True)
        return f"pickup store {store.code}: {obstacle.text if obstacle else 'cannot take the units'}"

    def _draft_ship_groups(self) -> None:
        """Split by ship group: each group whole from the first facility that can take it."""
        for group, units in _ship_groups(self.progress.pending):
            facility, notes = self._first_whole(units, self._prefix(group))
            self.progress.notes.extend(notes)
            if facility is not None:
                self._add(_Chunk(facility, units, self._why(facility, _needs(units), 0), group))

    def _draft_allowed(self) -> None:
        """Split allowed: one facility for everything if any can, else fill greedily in rank order."""
        units = self.progress.pending
        facility, notes = self._first_whole(units, self._prefix())
        if facility is not None or len(units) == 1:
            self.progress.notes.extend(notes)
            if facility is not None:
                self._add(_Chunk(facility, list(units), self._why(facility, _needs(units), 0)))
            return
        self.progress.notes.append(f"{self._prefix()}no single facility can take all {len(units)} units; splitting")
        self._fill_greedily(units)

    def _first_whole(self, units: list[Unit], prefix: str, needs: Counter[str] | None = None
                     ) -> tuple[Facility | None, list[str]]:
        """The first ranked facility that can take all ``units`` (``needs``: their count by SKU, if the
        caller has it), and why those ranked ahead could not."""
        needs = _needs(units) if needs is None else needs
        passes = _PassedOver(prefix)
        for facility in self._ranked(needs):
            reason = self._obstacle(facility) or self._rejection(facility, units) or self._shortage(facility, needs)
            if reason is None:
                return facility, passes.notes()
            passes.add(facility, reason)
        return None, passes.notes()

    def _fill_greedily(self, units: list[Unit]) -> None:
        """Walk the ranked facilities, each taking what it can of what is still unplaced."""
        remaining = list(units)
        passes = _PassedOver(self._prefix())
        for facility in self._ranked(_needs(units)):
            if not remaining:
                break
            reason = self._obstacle(facility)
            take = [] if reason else self._takeable(facility, remaining)
            if not take:
                passes.add(facility, reason or self._why_nothing(facility, remaining))
                continue
            self._add(_Chunk(facility, take, self._why(facility, _needs(remaining), len(self.chunks))))
            taken_ids = {u.id for u in take}
            remaining = [u for u in remaining if u.id not in taken_ids]
        self.progress.notes.extend(passes.notes())

    def _takeable(self, facility: Facility, units: list[Unit]) -> list[Unit]:
        """The units (by id) this facility can take now: not rejected there, within usable stock."""
        room: dict[str, int] = {}
        take = []
        for unit in units:
            if facility.id in unit.rejected_facilities:
                continue
            left = room.setdefault(unit.sku, self._usable(unit.sku, facility))
            if left > 0:
                take.append(unit)
                room[unit.sku] = left - 1
        return take

    def _add(self, chunk: _Chunk) -> None:
        self.chunks.append(chunk)
        taken, fid = self.taken, chunk.facility.id
        for unit in chunk.units:
            taken[(unit.sku, fid)] = taken.get((unit.sku, fid), 0) + 1

    # -- facilities: which qualify, in which order --

    def _ranked(self, needs: Counter[str]) -> list[Facility]:
        """All facilities in the rule's preference order, ties by facility id."""
        sorts, key = self.rule.sorts, self._sort_key
        return sorted(self.network.facilities, key=lambda f: (*[key(sort, f, needs) for sort in sorts], f.id))

    def _sort_key(self, sort: InventorySort, facility: Facility, needs: Counter[str]) -> tuple[int, float]:
        if sort is InventorySort.PROXIMITY:
            km = self._distance(facility)
            return (1, 0.0) if km is None else (0, km)  # no coordinates: last
        if sort is InventorySort.INVENTORY_BALANCE:
            return (0, -self._balance(facility, needs))
        return (0, facility.sequence)

    def _obstacle(self, facility: Facility, *, pickup: bool = False) -> _Reason | None:
        """Why the rule's inventory filters pass this facility over, whatever the units (for a pickup
        store, only the filters that matter when nothing is shipped)."""
        rule = self.rule
        if rule.facility_groups_in and not facility.groups & rule.facility_groups_in:
            return _Reason("not in the rule's facility groups",
                           f"not in facility group {_listing(rule.facility_groups_in)}")
        if facility.groups & rule.facility_groups_out:
            return _Reason("in an excluded facility group",
                           f"in excluded facility group {_listing(facility.groups & rule.facility_groups_out)}")
        if not pickup and rule.ship_from_store_only and facility.kind == "store" and not facility.ship_from_store:
            return _Reason("with ship from store off", "ship from store is off")
        if not pickup and rule.max_distance_km is not None:
            km = self._distance(facility)
            if km is None:
                return _Reason("without coordinates", "no coordinates to measure distance")
            if km > rule.max_distance_km:
                return _Reason(f"more than {_km(rule.max_distance_km)} away",
                               f"{_km(km)} away, limit {_km(rule.max_distance_km)}")
        if rule.respect_capacity and self._at_capacity(facility):
            return _Reason("at daily capacity", f"daily capacity {facility.daily_capacity} reached")
        return None

    def _at_capacity(self, facility: Facility) -> bool:
        """Full for a new order; an order already shipping from it counts once, so adding to it is free."""
        return (facility.daily_capacity is not None and facility.id not in self.progress.facilities_used()
                and self.ledger.load(facility) >= facility.daily_capacity)

    def _rejection(self, facility: Facility, units: list[Unit]) -> _Reason | None:
        rejecting = [u for u in units if facility.id in u.rejected_facilities]
        if not rejecting:
            return None
        these = "this item" if len(rejecting) == 1 else "these items"
        skus = _listing(u.sku for u in rejecting)
        return _Reason("that rejected the items before", f"rejected {these} before (SKU {skus})")

    def _shortage(self, facility: Facility, needs: Counter[str]) -> _Reason | None:
        """Which SKUs the facility has too few of (keeping the rule's safety stock), or None."""
        safety = self.rule.brokering_safety_stock
        parts = []
        for sku in sorted(needs):
            if self._usable(sku, facility) < needs[sku]:
                have = max(0, self.ledger.available(sku, facility.id) - self.taken[(sku, facility.id)])
                keep = f" and must keep {safety} (brokering safety stock)" if safety else ""
                parts.append(f"SKU {sku} has {have} available, needs {needs[sku]}{keep}")
        return _Reason("without enough stock", "; ".join(parts)) if parts else None

    def _why_nothing(self, facility: Facility, units: list[Unit]) -> _Reason:
        """Why a facility could take none of ``units`` when filling greedily."""
        wanted = [u for u in units if facility.id not in u.rejected_facilities]
        shortage = self._shortage(facility, _needs(wanted)) if wanted else None
        rejection = self._rejection(facility, units)
        reasons = [r for r in (rejection, shortage) if r is not None]
        return _Reason(reasons[-1].kind, "; ".join(r.text for r in reasons))

    def _usable(self, sku: str, facility: Facility) -> int:
        """Units of ``sku`` the facility can give and still keep the brokering safety stock."""
        left = self.ledger.available(sku, facility.id) - self.taken.get((sku, facility.id), 0)
        return max(0, left - self.rule.brokering_safety_stock)

    def _balance(self, facility: Facility, needs: Counter[str]) -> int:
        return sum(self._usable(sku, facility) for sku in needs)

    def _distance(self, facility: Facility) -> float | None:
        cache = self.progress.distances
        if facility.id not in cache:
            here = self.progress.order.destination
            there = (facility.latitude, facility.longitude)
            cache[facility.id] = (None if here is None or there[0] is None or there[1] is None
                                  else haversine_km(here, (there[0], there[1])))
        return cache[facility.id]

    def _why(self, facility: Facility, needs: Counter[str], nth: int) -> str:
        """Why this facility was chosen, by the rule's first preference."""
        first = self.rule.sorts[0] if self.rule.sorts else None
        if first is InventorySort.PROXIMITY:
            km = self._distance(facility)
            return f"{'next ' if nth else ''}nearest with stock, {'distance unknown' if km is None else _km(km)}"
        if first is InventorySort.INVENTORY_BALANCE:
            return f"{'next ' if nth else ''}most stock of these items, {self._balance(facility, needs)} available"
        if first is InventorySort.FACILITY_SEQUENCE:
            return f"{'next' if nth else 'first'} in facility sequence with stock, sequence {facility.sequence}"
        return f"{'next' if nth else 'first'} facility with stock, by facility id"

    # -- checking, committing and acting --

    def _is_split(self) -> bool:
        """Would the order ship from more than one facility, or leave units for later?"""
        facilities = self.progress.facilities_used() | {c.facility.id for c in self.chunks}
        covered = sum(len(c.units) for c in self.chunks)
        return len(facilities) > 1 or covered < len(self.progress.pending)

    def _drop_small_shares(self) -> None:
        """When splitting, drop each facility's share worth less than the minimum shipment value."""
        minimum = self.rule.min_shipment_value
        if minimum is None or not self.chunks or not self._is_split():
            return
        shares: dict[int, Decimal] = {}
        for chunk in self.chunks:
            fid = chunk.facility.id
            shares[fid] = shares.get(fid, self.progress.value_at(fid)) + sum((u.price for u in chunk.units),
                                                                              Decimal(0))
        for chunk in self.chunks:
            if shares[chunk.facility.id] < minimum:
                self.progress.notes.append(
                    f"{self._prefix(chunk.group)}not splitting {_units(len(chunk.units))} to {chunk.facility.code}: "
                    f"shipment worth {money.show(shares[chunk.facility.id], self.progress.order.currency)}, "
                    f"minimum {minimum}")
        self.chunks = [c for c in self.chunks if shares[c.facility.id] >= minimum]

    def _commit(self) -> None:
        """Take the stock and facility load of the final placement and record it."""
        used = self.progress.facilities_used()
        for chunk in self.chunks:
            fid = chunk.facility.id
            for unit in chunk.units:
                self.ledger.take(unit.sku, fid)
                self.progress.placed[unit.id] = fid
            if fid not in used:
                self.ledger.count_order(fid)
                used.add(fid)
            self.progress.notes.append(f"{self._prefix(chunk.group)}allocated {_units(len(chunk.units))} to "
                                       f"{chunk.facility.code} ({chunk.why})")
        if self.chunks:
            self.progress.rule = self.rule.name
        self.progress.pending = [u for u in self.progress.pending if u.id not in self.progress.placed]

    def _act_on_unplaced(self, *, last: bool) -> None:
        """Hand what is left to the next rule, or move it to the action's queue."""
        unplaced = self.progress.pending
        if not unplaced:
            return
        action = self.rule.action
        if action.kind is ActionKind.NEXT_RULE:
            then = "no rule is left" if last else "trying the next rule"
            self.progress.notes.append(f"{self._prefix()}{_units(len(unplaced))} not placed; {then}")
            return
        queue = str(action.queue)  # an Action of kind queue always names one
        if self.progress.order.is_pickup:
            self.progress.park_reason = self._pickup_park_reason(unplaced)
        for unit in unplaced:
            self.progress.moves[unit.id] = queue
        self.progress.pending = []
        self.progress.rule = self.rule.name
        why = f": {self.progress.park_reason}" if self.progress.park_reason else ""
        self.progress.notes.append(f"{self._prefix()}moved {_units(len(unplaced))} ({_skus(unplaced)}) "
                                   f"to queue {queue}{why}{self._change_auto_cancel()}")

    def _change_auto_cancel(self) -> str:
        """Apply the action's auto-cancel change; the words that say so."""
        action, was = self.rule.action, self.progress.order.auto_cancel_at
        if action.auto_cancel_days is not None:
            self.progress.auto_cancel_at = self.now + timedelta(days=action.auto_cancel_days)
            return f"; auto-cancel date set to {self.progress.auto_cancel_at.isoformat(timespec='minutes')}"
        if action.clear_auto_cancel:
            self.progress.auto_cancel_at = None
            return "; auto-cancel date cleared" + (f" (was {was.isoformat(timespec='minutes')})" if was else "")
        return ""

    def _prefix(self, group: str | None = None) -> str:
        return f'rule "{self.rule.name}"' + (f', ship group "{group}"' if group is not None else "") + ": "


class _Reason(NamedTuple):
    """Why a facility was passed over: ``text`` for the sentence, ``kind`` for counting many."""

    kind: str
    text: str


class _PassedOver:
    """Facilities a rule passed over: the first ``DETAILED_PASSES`` in full, the rest counted by reason."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.sentences: list[str] = []
        self.more: Counter[str] = Counter()

    def add(self, facility: Facility, reason: _Reason) -> None:
        if len(self.sentences) < DETAILED_PASSES:
            self.sentences.append(f"{self.prefix}{facility.code} passed over: {reason.text}")
        else:
            self.more[reason.kind] += 1

    def notes(self) -> list[str]:
        if not self.more:
            return self.sentences
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.more.items(), key=lambda kv: (-kv[1], kv[0])))
        total = sum(self.more.values())
        return [*self.sentences, f"{self.prefix}{total} more {'facility' if total == 1 else 'facilities'} "
                                 f"passed over ({counts})"]


# --- small helpers ------------------------------------------------------------------------


def _needs(units: Iterable[Unit]) -> Counter[str]:
    return Counter([u.sku for u in units])


def _ship_groups(units: list[Unit]) -> list[tuple[str, list[Unit]]]:
    groups: dict[str, list[Unit]] = {}
    for unit in units:
        groups.setdefault(unit.ship_group, []).append(unit)
    return sorted(groups.items())


def _listing(values: Iterable[str] | Iterable[int]) -> str:
    """Distinct values, sorted, comma separated."""
    return ", ".join(str(v) for v in sorted(set(values)))


def _skus(units: Iterable[Unit]) -> str:
    counts = _needs(units)
    return ", ".join(f"{sku} ×{n}" if n > 1 else sku for sku, n in sorted(counts.items()))


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _km(km: float) -> str:
    return f"{km:.0f} km" if km >= 100 or km == int(km) else f"{km:.1f} km"
