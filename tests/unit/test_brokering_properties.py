"""Brokering invariants over random facilities, stock, orders and rules (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderhub.domain.brokering import BrokeringResult, Facility, OrderToBroker, Stock, Unit, broker
from orderhub.domain.routing import (
    QUEUES,
    Action,
    ActionKind,
    InventorySort,
    OrderFilter,
    Routing,
    RoutingRun,
    Rule,
    Split,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
SKUS = ("A", "B", "👕")
GROUPS = ("east", "west", "stores")
SHIP_GROUPS = ("g1", "g2")
CHANNELS = ("online", "pos")


@dataclass(frozen=True)
class Scenario:
    """One random brokering problem; the settings the invariants depend on are the same for every rule."""

    run: RoutingRun
    orders: list[OrderToBroker]
    facilities: list[Facility]
    stock: dict[tuple[str, int], int]
    split: Split
    safety: int
    respect_capacity: bool
    min_value: Decimal | None


# Strategies are built once here (hypothesis validates each new strategy object, which is slow).
# Whole hundredths of a degree around New York: cheap to generate, plenty to rank by distance.
# One time in five without coordinates.
coords = st.tuples(st.integers(4000, 4200), st.integers(-7600, -7200), st.integers(0, 4)).map(
    lambda t: None if t[2] == 0 else (t[0] / 100, t[1] / 100))
prices = st.integers(100, 6000).map(lambda cents: Decimal(cents) / 100)
dates = st.one_of(st.none(), st.integers(-5, 5).map(lambda d: NOW + timedelta(days=d)))
small = st.integers(0, 3)
group_sets = st.frozensets(st.sampled_from(GROUPS), max_size=2)
one_group = st.frozensets(st.sampled_from(GROUPS), max_size=1)
facility_ids = st.integers(1, 5)  # ids beyond the network's size are unknown facilities: harmless
rejections = st.one_of(st.just(frozenset()), st.frozensets(facility_ids, max_size=2))
unit_fields = st.tuples(st.sampled_from(SKUS), st.sampled_from(SHIP_GROUPS), prices,
                        st.sampled_from([None, "shirts", "hats"]), rejections)
order_fields = st.tuples(st.sampled_from(CHANNELS), st.sampled_from(QUEUES[:3]), st.integers(0, 48), small, dates,
                         dates, st.one_of(st.none(), facility_ids), coords,
                         st.lists(unit_fields, min_size=1, max_size=5))
facility_fields = st.tuples(st.sampled_from(["warehouse", "store", "dropship"]), coords, group_sets,
                            st.one_of(st.none(), st.integers(0, 6)), small, st.booleans(), small)
STOCK_KEYS = [(sku, fid) for sku in SKUS for fid in range(1, 6)]
stocks = st.lists(st.integers(-1, 6), min_size=len(STOCK_KEYS), max_size=len(STOCK_KEYS)).map(
    lambda qtys: {key: qty for key, qty in zip(STOCK_KEYS, qtys, strict=True) if qty})
order_filters = st.builds(
    OrderFilter, queues=st.frozensets(st.sampled_from(QUEUES[:3]), max_size=2),
    channels=st.frozensets(st.sampled_from(CHANNELS), max_size=1), min_priority=st.one_of(st.none(), small),
    categories=st.frozensets(st.sampled_from(["shirts", "hats"]), max_size=1),
    promise_date_within_days=st.one_of(st.none(), small), origin_facility_groups=one_group)
routing_filters = st.one_of(st.just(OrderFilter()), order_filters)
order_sorts = st.lists(st.tuples(st.sampled_from(["ship_by", "order_date", "priority"]),
                                 st.sampled_from(["asc", "desc"])), max_size=2, unique_by=lambda s: s[0])
inventory_sorts = st.lists(st.sampled_from(list(InventorySort)), max_size=3, unique=True).map(tuple)
actions = st.one_of(
    st.just(Action()),
    st.builds(Action, kind=st.just(ActionKind.QUEUE), queue=st.sampled_from(QUEUES),
              auto_cancel_days=st.one_of(st.none(), st.integers(0, 9))))
exclusion_lists = st.lists(order_filters, max_size=1)
rule_groups = st.just(frozenset()) | st.just(frozenset()) | one_group
rule_fields = st.tuples(rule_groups, rule_groups, st.just(None) | st.just(None) | st.integers(20, 400).map(float),
                        st.booleans(), inventory_sorts, actions)


@st.composite
def network(draw: st.DrawFn) -> list[Facility]:
    out = []
    for fid in range(1, draw(st.integers(1, 5)) + 1):
        kind, at, groups, capacity, today, ship_from_store, sequence = draw(facility_fields)
        out.append(Facility(id=fid, code=f"F{fid}", kind=kind, latitude=at[0] if at else None,
                            longitude=at[1] if at else None, groups=groups, daily_capacity=capacity,
                            orders_today=today, ship_from_store=ship_from_store, sequence=sequence))
    return out


@st.composite
def orders(draw: st.DrawFn) -> list[OrderToBroker]:
    out = []
    next_unit = 1
    for oid in range(1, draw(st.integers(1, 6)) + 1):
        channel, queue, hours, priority, ship_by, promise, origin, destination, fields = draw(order_fields)
        units = []
        for sku, ship_group, price, category, rejected in fields:
            units.append(Unit(id=next_unit, sku=sku, ship_group=ship_group, price=price, category=category,
                              rejected_facilities=rejected))
            next_unit += 1
        out.append(OrderToBroker(
            id=oid, name=f"#{oid}", channel=channel, queue=queue, units=tuple(units),
            order_date=NOW - timedelta(hours=hours), priority=priority, ship_by=ship_by, promise_date=promise,
            origin_facility_id=origin, destination=destination))
    return out


@st.composite
def rules(draw: st.DrawFn, name: str, split: Split, safety: int, respect: bool, min_value: Decimal | None) -> Rule:
    groups_in, groups_out, max_km, ship_from_store_only, sorts, action = draw(rule_fields)
    return Rule(name=name, facility_groups_in=groups_in, facility_groups_out=groups_out - groups_in,
                max_distance_km=max_km, brokering_safety_stock=safety, respect_capacity=respect,
                ship_from_store_only=ship_from_store_only, sorts=sorts, split=split, min_shipment_value=min_value,
                action=action)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    split = draw(st.sampled_from(list(Split)))
    safety = draw(st.integers(0, 2))
    respect = draw(st.booleans())
    min_value = draw(st.one_of(st.none(), prices))
    routings = []
    for r in range(draw(st.integers(1, 2))):
        routing_rules = tuple(draw(rules(f"r{r}.{i}", split, safety, respect, min_value))
                              for i in range(draw(st.integers(1, 3))))
        routings.append(Routing(name=f"routing {r}", filters=draw(routing_filters),
                                exclusions=tuple(draw(exclusion_lists)),
                                sort=tuple(draw(order_sorts)), rules=routing_rules))
    return Scenario(RoutingRun("random", tuple(routings)), draw(orders()), draw(network()), draw(stocks), split,
                    safety, respect, min_value)


def run(s: Scenario) -> BrokeringResult:
    return broker(s.run, s.orders, s.facilities, s.stock, NOW)


def allocated(result: BrokeringResult, s: Scenario) -> list[tuple[OrderToBroker, Unit, int]]:
    units = {u.id: (o, u) for o in s.orders for u in o.units}
    return [(*units[uid], fid) for d in result.decisions for uid, fid in d.allocations]


def check_no_oversell_and_safety_stock(s: Scenario, result: BrokeringResult) -> None:
    """Never more than the ATP of any (sku, facility) over the run, and the safety stock is kept."""
    taken = Counter((u.sku, fid) for _, u, fid in allocated(result, s))
    assert dict(taken) == dict(result.consumed)
    for key, qty in taken.items():
        assert qty <= max(0, s.stock.get(key, 0)), f"oversold {key}"
        assert max(0, s.stock.get(key, 0)) - qty >= s.safety, f"safety stock broken at {key}"


def check_capacity(s: Scenario, result: BrokeringResult) -> None:
    """An order counts once per facility; respected capacity is never exceeded."""
    per_facility: defaultdict[int, set[int]] = defaultdict(set)
    for o, _, fid in allocated(result, s):
        per_facility[fid].add(o.id)
    assert dict(result.facility_orders) == {fid: len(ids) for fid, ids in sorted(per_facility.items())}
    if s.respect_capacity:
        for f in s.facilities:
            if f.daily_capacity is not None:
                room = max(0, f.daily_capacity - f.orders_today)
                assert result.facility_orders.get(f.id, 0) <= room, f"capacity of {f.code} exceeded"


def check_units_decided_once(s: Scenario, result: BrokeringResult) -> None:
    """Each unit of a decided order is allocated, moved or left exactly once; never to a rejecting facility."""
    by_id = {o.id: o for o in s.orders}
    assert len({d.order_id for d in result.decisions}) == len(result.decisions)
    for d in result.decisions:
        decided = [uid for uid, _ in d.allocations] + [uid for uid, _ in d.moves] + list(d.unplaced)
        assert sorted(decided) == sorted(u.id for u in by_id[d.order_id].units)
    for _, u, fid in allocated(result, s):
        assert fid not in u.rejected_facilities, f"unit {u.id} sent back to F{fid}"


def check_split_policy_and_min_value(s: Scenario, result: BrokeringResult) -> None:
    """none: one facility per order; ship_group: one per group; split shares worth the minimum."""
    units = {u.id: u for o in s.orders for u in o.units}
    for d in result.decisions:
        facilities = {fid for _, fid in d.allocations}
        if s.split is Split.NONE:
            assert len(facilities) <= 1
            assert not d.allocations or (not d.moves and not d.unplaced)  # all or nothing
        if s.split is Split.SHIP_GROUP:
            per_group = defaultdict(set)
            for uid, fid in d.allocations:
                per_group[units[uid].ship_group].add(fid)
            assert all(len(fids) == 1 for fids in per_group.values())
        split = len(facilities) > 1 or (d.allocations and (d.moves or d.unplaced))
        if s.min_value is not None and split:
            for fid in facilities:
                share = sum((units[uid].price for uid, f in d.allocations if f == fid), Decimal(0))
                assert share >= s.min_value, f"order {d.order_id}: share at F{fid} worth {share}"


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_brokering_invariants(s: Scenario) -> None:
    result = run(s)
    check_no_oversell_and_safety_stock(s, result)
    check_capacity(s, result)
    check_units_decided_once(s, result)
    check_split_policy_and_min_value(s, result)


@settings(max_examples=80, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(s: Scenario, rnd: random.Random) -> None:
    orders, facilities, stock_items = list(s.orders), list(s.facilities), list(s.stock.items())
    rnd.shuffle(orders)
    rnd.shuffle(facilities)
    rnd.shuffle(stock_items)
    shuffled: Stock = dict(stock_items)
    assert broker(s.run, orders, facilities, shuffled, NOW) == run(s)
