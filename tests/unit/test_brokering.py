"""Order brokering: one focused test per filter, sort, split policy, action and explanation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orderhub.domain.brokering import (
    UNCHANGED,
    BrokeringResult,
    Decision,
    Facility,
    OrderToBroker,
    Unit,
    broker,
)
from orderhub.domain.routing import RoutingRun, parse_run

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NYC = (40.7128, -74.0060)  # the customer
NEWARK = (40.7357, -74.1724)  # ~14 km away
PHILLY = (39.9526, -75.1652)  # ~130 km
BOSTON = (42.3601, -71.0589)  # ~306 km


def fac(fid: int, code: str, at: tuple[float, float] | None = NEWARK, *, kind: str = "warehouse",
        groups: tuple[str, ...] = (), capacity: int | None = None, today: int = 0, ship_from_store: bool = False,
        sequence: int = 0) -> Facility:
    return Facility(id=fid, code=code, kind=kind, latitude=at[0] if at else None, longitude=at[1] if at else None,
                    groups=frozenset(groups), daily_capacity=capacity, orders_today=today,
                    ship_from_store=ship_from_store, sequence=sequence)


def unit(uid: int, sku: str = "👕-RED", *, group: str = "default", price: str = "10", category: str | None = None,
         rejected: tuple[int, ...] = ()) -> Unit:
    return Unit(id=uid, sku=sku, ship_group=group, price=Decimal(price), category=category,
                rejected_facilities=frozenset(rejected))


def order(oid: int, *units: Unit, channel: str = "online", queue: str = "brokering", **kw: Any) -> OrderToBroker:
    kw.setdefault("destination", NYC)
    kw.setdefault("order_date", NOW - timedelta(hours=oid))
    return OrderToBroker(id=oid, name=f"#{1000 + oid}", channel=channel, queue=queue, units=units, **kw)


def run_of(*rules: dict[str, Any], **routing: Any) -> RoutingRun:
    """A run with one routing named "Online" holding ``rules``."""
    return parse_run({"name": "test", "routings": [{"name": "Online", **routing, "rules": list(rules)}]})


def rule(name: str = "Nearest", **kw: Any) -> dict[str, Any]:
    return {"name": name, "sorts": ["proximity"], **kw}


def only(result: BrokeringResult) -> Decision:
    (decision,) = result.decisions
    return decision


def text(decision: Decision) -> str:
    return "\n".join(decision.explanation)


WH_NEAR, WH_MID, WH_FAR = fac(1, "WH-NEWARK", NEWARK), fac(2, "WH-PHILLY", PHILLY), fac(3, "WH-BOSTON", BOSTON)


# --- inventory sorts ------------------------------------------------------------------------


def test_proximity_sends_units_to_the_nearest_facility_with_stock() -> None:
    stock = {("👕-RED", 1): 0, ("👕-RED", 2): 5, ("👕-RED", 3): 5}
    d = only(broker(run_of(rule()), [order(1, unit(11), unit(12))], [WH_FAR, WH_MID, WH_NEAR], stock, NOW))
    assert d.allocations == ((11, 2), (12, 2))
    assert 'rule "Nearest": WH-NEWARK passed over: SKU 👕-RED has 0 available, needs 2' in d.explanation
    assert 'rule "Nearest": allocated 2 units to WH-PHILLY (nearest with stock, 130 km)' in d.explanation
    assert "WH-BOSTON" not in text(d)  # ranked after the chosen one: not passed over, just not needed


def test_inventory_balance_prefers_the_facility_with_most_of_the_skus_needed() -> None:
    stock = {("👕-RED", 1): 1, ("👕-RED", 2): 9, ("👕-RED", 3): 4, ("HAT", 3): 50}
    d = only(broker(run_of(rule(sorts=["inventory_balance"])), [order(1, unit(11))], [WH_NEAR, WH_MID, WH_FAR],
                    stock, NOW))
    assert d.allocations == ((11, 2),)
    assert "allocated 1 unit to WH-PHILLY (most stock of these items, 9 available)" in text(d)


def test_facility_sequence_orders_facilities_by_their_sequence() -> None:
    facilities = [fac(1, "A", sequence=3), fac(2, "B", sequence=1), fac(3, "C", sequence=2)]
    stock = {("👕-RED", f): 5 for f in (1, 2, 3)}
    d = only(broker(run_of(rule(sorts=["facility_sequence"])), [order(1, unit(11))], facilities, stock, NOW))
    assert d.allocations == ((11, 2),)
    assert "(first in facility sequence with stock, sequence 1)" in text(d)


def test_without_sorts_or_on_a_tie_the_lowest_facility_id_wins() -> None:
    facilities = [fac(7, "SEVEN"), fac(4, "FOUR"), fac(5, "FIVE")]
    stock = {("👕-RED", f): 5 for f in (4, 5, 7)}
    assert only(broker(run_of(rule(sorts=[])), [order(1, unit(11))], facilities, stock, NOW)).allocations == ((11, 4),)
    tie = [fac(7, "SEVEN", sequence=1), fac(4, "FOUR", sequence=2), fac(5, "FIVE", sequence=1)]
    d = only(broker(run_of(rule(sorts=["facility_sequence"])), [order(1, unit(11))], tie, stock, NOW))
    assert d.allocations == ((11, 5),)


def test_proximity_puts_facilities_without_coordinates_last() -> None:
    facilities = [fac(1, "NOWHERE", None), fac(2, "WH-BOSTON", BOSTON)]
    stock = {("👕-RED", 1): 5, ("👕-RED", 2): 5}
    assert only(broker(run_of(rule()), [order(1, unit(11))], facilities, stock, NOW)).allocations == ((11, 2),)
    d = only(broker(run_of(rule()), [order(1, unit(11), destination=None)], facilities, stock, NOW))
    assert d.allocations == ((11, 1),)  # nobody can be measured: ties by id
    assert "(nearest with stock, distance unknown)" in text(d)


# --- inventory filters ----------------------------------------------------------------------


def test_facility_groups_in_and_out() -> None:
    facilities = [fac(1, "WH-1", groups=("warehouses",)), fac(2, "STORE-2", groups=("stores", "outlet")),
                  fac(3, "STORE-3", PHILLY, groups=("stores",))]
    stock = {("👕-RED", f): 5 for f in (1, 2, 3)}
    d = only(broker(run_of(rule(facility_groups_in=["stores"], facility_groups_out=["outlet"])),
                    [order(1, unit(11))], facilities, stock, NOW))
    assert d.allocations == ((11, 3),)
    assert "WH-1 passed over: not in facility group stores" in text(d)
    assert "STORE-2 passed over: in excluded facility group outlet" in text(d)


def test_max_distance_passes_over_far_facilities_and_those_without_coordinates() -> None:
    facilities = [fac(1, "WH-2", BOSTON), fac(2, "MYSTERY", None)]
    stock = {("👕-RED", 1): 5, ("👕-RED", 2): 5}
    d = only(broker(run_of(rule("Nearby stores", max_distance_km=50)), [order(1, unit(11))], facilities, stock, NOW))
    assert d.allocations == () and d.unplaced == (11,)
    assert 'rule "Nearby stores": WH-2 passed over: 306 km away, limit 50 km' in d.explanation
    assert 'rule "Nearby stores": MYSTERY passed over: no coordinates to measure distance' in d.explanation
    d = only(broker(run_of(rule(max_distance_km=50)), [order(1, unit(11), destination=None)], facilities, stock, NOW))
    assert "WH-2 passed over: no coordinates to measure distance" in text(d)


def test_stores_qualify_only_when_they_ship_from_store() -> None:
    store = fac(7, "STORE-7", kind="store", ship_from_store=False)
    stock = {("👕-RED", 7): 5}
    d = only(broker(run_of(rule()), [order(1, unit(11))], [store], stock, NOW))
    assert d.allocations == ()
    assert 'rule "Nearest": STORE-7 passed over: ship from store is off' in d.explanation
    d = only(broker(run_of(rule(ship_from_store_only=False)), [order(1, unit(11))], [store], stock, NOW))
    assert d.allocations == ((11, 7),)
    enabled = fac(7, "STORE-7", kind="store", ship_from_store=True)
    assert only(broker(run_of(rule()), [order(1, unit(11))], [enabled], stock, NOW)).allocations == ((11, 7),)


def test_a_facility_at_daily_capacity_is_passed_over_unless_the_rule_ignores_capacity() -> None:
    facilities = [fac(9, "WH-9", capacity=500, today=500), fac(2, "WH-PHILLY", PHILLY)]
    stock = {("👕-RED", 9): 5, ("👕-RED", 2): 5}
    d = only(broker(run_of(rule()), [order(1, unit(11))], facilities, stock, NOW))
    assert d.allocations == ((11, 2),)
    assert "WH-9 passed over: daily capacity 500 reached" in text(d)
    d = only(broker(run_of(rule(respect_capacity=False)), [order(1, unit(11))], facilities, stock, NOW))
    assert d.allocations == ((11, 9),)


def test_capacity_taken_by_earlier_orders_counts_and_an_order_counts_once_per_facility() -> None:
    facilities = [fac(1, "WH-NEWARK", capacity=2, today=1), WH_MID]
    stock = {("👕-RED", 1): 10, ("👕-RED", 2): 10}
    orders = [order(1, unit(11), unit(12), unit(13)), order(2, unit(21))]
    result = broker(run_of(rule()), orders, facilities, stock, NOW)
    assert [d.allocations for d in result.decisions] == [((11, 1), (12, 1), (13, 1)), ((21, 2),)]
    assert result.facility_orders == {1: 1, 2: 1}
    assert result.consumed == {("👕-RED", 1): 3, ("👕-RED", 2): 1}


def test_brokering_safety_stock_keeps_atp_at_the_facility() -> None:
    stock = {("👕-RED", 1): 3, ("👕-RED", 2): 10}
    d = only(broker(run_of(rule(brokering_safety_stock=2)), [order(1, unit(11), unit(12))], [WH_NEAR, WH_MID],
                    stock, NOW))
    assert d.allocations == ((11, 2), (12, 2))
    assert ("WH-NEWARK passed over: SKU 👕-RED has 3 available, needs 2 and must keep 2 (brokering safety stock)"
            in text(d))
    d = only(broker(run_of(rule(brokering_safety_stock=2)), [order(1, unit(11))], [WH_NEAR, WH_MID], stock, NOW))
    assert d.allocations == ((11, 1),)


def test_negative_atp_counts_as_zero() -> None:
    d = only(broker(run_of(rule()), [order(1, unit(11))], [WH_NEAR], {("👕-RED", 1): -4}, NOW))
    assert d.allocations == ()
    assert "SKU 👕-RED has 0 available, needs 1" in text(d)


def test_a_facility_that_rejected_the_unit_is_never_offered_it_again() -> None:
    stock = {("👕-RED", 1): 5, ("👕-RED", 2): 5}
    d = only(broker(run_of(rule()), [order(1, unit(11, rejected=(1,)))], [WH_NEAR, WH_MID], stock, NOW))
    assert d.allocations == ((11, 2),)
    assert "WH-NEWARK passed over: rejected this item before (SKU 👕-RED)" in text(d)


def test_split_allowed_keeps_a_rejecting_facility_for_the_other_units() -> None:
    stock = {("👕-RED", 1): 5, ("👕-RED", 2): 1}
    d = only(broker(run_of(rule(split="allowed")), [order(1, unit(11, rejected=(1,)), unit(12))], [WH_NEAR, WH_MID],
                    stock, NOW))
    assert d.allocations == ((11, 2), (12, 1))


# --- split policies -------------------------------------------------------------------------


def spread_stock() -> dict[tuple[str, int], int]:
    """Shirts near, hats in Philadelphia; only Boston has both."""
    return {("👕-RED", 1): 5, ("HAT", 2): 5, ("👕-RED", 3): 5, ("HAT", 3): 5}


def test_split_none_takes_every_unit_from_one_facility() -> None:
    o = order(1, unit(11), unit(12, "HAT", group="gift"))
    d = only(broker(run_of(rule(split="none")), [o], [WH_NEAR, WH_MID, WH_FAR], spread_stock(), NOW))
    assert d.allocations == ((11, 3), (12, 3))
    assert "WH-NEWARK passed over: SKU HAT has 0 available, needs 1" in text(d)
    assert "WH-PHILLY passed over: SKU 👕-RED has 0 available, needs 1" in text(d)


def test_split_none_is_all_or_nothing() -> None:
    o = order(1, unit(11), unit(12, "HAT"))
    d = only(broker(run_of(rule(split="none")), [o], [WH_NEAR, WH_MID], spread_stock(), NOW))
    assert d.allocations == () and d.unplaced == (11, 12)


def test_split_by_ship_group_keeps_each_group_whole() -> None:
    o = order(1, unit(11, group="a"), unit(12, group="a"), unit(13, "HAT", group="b"))
    stock = {("👕-RED", 1): 1, ("👕-RED", 2): 2, ("HAT", 1): 1}
    d = only(broker(run_of(rule(split="ship_group")), [o], [WH_NEAR, WH_MID], stock, NOW))
    assert d.allocations == ((11, 2), (12, 2), (13, 1))
    assert 'rule "Nearest", ship group "a": WH-NEWARK passed over: SKU 👕-RED has 1 available, needs 2' in text(d)


def test_split_by_ship_group_allocates_the_groups_that_fit_and_acts_on_the_rest() -> None:
    o = order(1, unit(11, group="a"), unit(12, "HAT", group="b"))
    stock = {("👕-RED", 1): 1}
    park = rule(split="ship_group", action={"kind": "queue", "queue": "backorder_parking"})
    d = only(broker(run_of(park), [o], [WH_NEAR], stock, NOW))
    assert d.allocations == ((11, 1),) and d.moves == ((12, "backorder_parking"),)


def test_split_allowed_prefers_one_facility_for_everything_over_the_nearest() -> None:
    o = order(1, unit(11), unit(12, "HAT"))
    d = only(broker(run_of(rule(split="allowed")), [o], [WH_NEAR, WH_MID, WH_FAR], spread_stock(), NOW))
    assert d.allocations == ((11, 3), (12, 3))


def test_split_allowed_fills_greedily_in_rank_order_when_no_facility_has_everything() -> None:
    o = order(1, unit(11), unit(12, "HAT"), unit(13, "HAT"))
    d = only(broker(run_of(rule(split="allowed")), [o], [WH_NEAR, WH_MID], spread_stock(), NOW))
    assert d.allocations == ((11, 1), (12, 2), (13, 2))
    assert "no single facility can take all 3 units; splitting" in text(d)
    assert "allocated 1 unit to WH-NEWARK (nearest with stock, 14.3 km)" in text(d)
    assert "allocated 2 units to WH-PHILLY (next nearest with stock, 130 km)" in text(d)


def test_split_allowed_places_what_it_can_and_the_rest_goes_on() -> None:
    o = order(1, unit(11), unit(12), unit(13))
    first = rule("Nearest", split="allowed")
    second = rule("Far away", split="none", sorts=["facility_sequence"])
    d = only(broker(run_of(first, second), [o], [WH_NEAR], {("👕-RED", 1): 2}, NOW))
    assert d.allocations == ((11, 1), (12, 1)) and d.unplaced == (13,)
    assert 'rule "Nearest": 1 unit not placed; trying the next rule' in d.explanation
    assert d.rule == "Nearest"


# --- minimum shipment value ------------------------------------------------------------------


@pytest.mark.parametrize("currency, price, worth", [("USD", "10", "10.00"), ("JPY", "10.0000", "10"),
                                                    ("KWD", "10.5", "10.500")])
def test_min_shipment_value_refuses_a_split_that_leaves_a_small_shipment(currency: str, price: str,
                                                                          worth: str) -> None:
    o = order(1, unit(11, price="100"), unit(12, "HAT", price=price), currency=currency)
    cheap_split = rule(split="allowed", min_shipment_value="50.00")
    d = only(broker(run_of(cheap_split), [o], [WH_NEAR, WH_MID], spread_stock(), NOW))
    assert d.allocations == ((11, 1),) and d.unplaced == (12,)
    # The share's worth in the order's currency, whatever the database gave back for the prices.
    assert f"not splitting 1 unit to WH-PHILLY: shipment worth {worth}, minimum 50.00" in text(d)


def test_min_shipment_value_does_not_apply_when_the_order_ships_whole() -> None:
    o = order(1, unit(11, price="5"), unit(12, "HAT", price="5"))
    d = only(broker(run_of(rule(split="allowed", min_shipment_value="50")), [o], [WH_FAR], spread_stock(), NOW))
    assert d.allocations == ((11, 3), (12, 3))


def test_min_shipment_value_applies_to_ship_groups_split_over_facilities() -> None:
    o = order(1, unit(11, group="a", price="60"), unit(12, "HAT", group="b", price="40"))
    stock = {("👕-RED", 1): 1, ("HAT", 2): 1}
    d = only(broker(run_of(rule(split="ship_group", min_shipment_value="50")), [o], [WH_NEAR, WH_MID], stock, NOW))
    assert d.allocations == ((11, 1),) and d.unplaced == (12,)


# --- actions ------------------------------------------------------------------------------


def test_queue_action_moves_unplaced_units_and_sets_the_auto_cancel_date() -> None:
    park = rule(action={"kind": "queue", "queue": "backorder_parking", "auto_cancel_days": 7})
    d = only(broker(run_of(park), [order(1, unit(11), unit(12))], [WH_NEAR], {}, NOW))
    assert d.moves == ((11, "backorder_parking"), (12, "backorder_parking")) and d.allocations == ()
    assert d.auto_cancel_at == NOW + timedelta(days=7) and d.auto_cancel_changed
    assert d.rule == "Nearest" and d.unplaced == ()
    assert 'rule "Nearest": moved 2 units (👕-RED ×2) to queue backorder_parking; auto-cancel date set to' in text(d)


def test_queue_action_can_clear_the_auto_cancel_date() -> None:
    park = rule(action={"kind": "queue", "queue": "preorder_parking", "clear_auto_cancel": True})
    o = order(1, unit(11), auto_cancel_at=NOW + timedelta(days=2))
    d = only(broker(run_of(park), [o], [WH_NEAR], {}, NOW))
    assert d.auto_cancel_at is None and d.auto_cancel_changed
    assert "auto-cancel date cleared (was 2024-05-03T12:00+00:00)" in text(d)


def test_auto_cancel_is_unchanged_when_the_order_is_placed_or_handed_on() -> None:
    park = rule(action={"kind": "queue", "queue": "backorder_parking", "auto_cancel_days": 7})
    placed = only(broker(run_of(park), [order(1, unit(11))], [WH_NEAR], {("👕-RED", 1): 1}, NOW))
    assert placed.auto_cancel_at is UNCHANGED and not placed.auto_cancel_changed
    handed_on = only(broker(run_of(rule()), [order(1, unit(11))], [WH_NEAR], {}, NOW))
    assert handed_on.auto_cancel_at is UNCHANGED


def test_next_rule_falls_through_to_a_rule_that_places_the_units() -> None:
    near = rule("Nearby stores", max_distance_km=50)
    anywhere = rule("Anywhere")
    d = only(broker(run_of(near, anywhere), [order(1, unit(11))], [WH_NEAR, WH_FAR], {("👕-RED", 3): 1}, NOW))
    assert d.allocations == ((11, 3),) and d.rule == "Anywhere"
    assert d.explanation[1:] == (
        'rule "Nearby stores": WH-NEWARK passed over: SKU 👕-RED has 0 available, needs 1',
        'rule "Nearby stores": WH-BOSTON passed over: 306 km away, limit 50 km',
        'rule "Nearby stores": 1 unit not placed; trying the next rule',
        'rule "Anywhere": WH-NEWARK passed over: SKU 👕-RED has 0 available, needs 1',
        'rule "Anywhere": allocated 1 unit to WH-BOSTON (nearest with stock, 306 km)',
    )


def test_when_every_rule_passes_the_units_stay_where_they_are() -> None:
    d = only(broker(run_of(rule("A"), rule("B")), [order(1, unit(11), queue="rejected_parking")], [WH_NEAR], {},
                    NOW))
    assert d.allocations == () and d.moves == () and d.unplaced == (11,) and d.rule is None
    assert d.explanation[-2:] == ('rule "B": 1 unit not placed; no rule is left',
                                  "1 unit (👕-RED) not placed by any rule; they stay in queue rejected_parking")


# --- routings: filters, exclusions, sort ---------------------------------------------------


GROUPED = [fac(1, "WH-NEWARK", groups=("east",)), fac(2, "STORE-POS", groups=("stores",))]


@pytest.mark.parametrize(("filters", "fields", "matches"), [
    ({"queues": ["rejected_parking"]}, {"queue": "rejected_parking"}, True),
    ({"queues": ["rejected_parking"]}, {}, False),
    ({"channels": ["pos"]}, {"channel": "pos"}, True),
    ({"channels": ["pos"]}, {}, False),
    ({"shipping_methods": ["express"]}, {"shipping_method": "express"}, True),
    ({"shipping_methods": ["express"]}, {}, False),
    ({"priorities": [5, 9]}, {"priority": 9}, True),
    ({"priorities": [5, 9]}, {"priority": 6}, False),
    ({"min_priority": 5}, {"priority": 6}, True),
    ({"min_priority": 5}, {"priority": 4}, False),
    ({"categories": ["shoes"]}, {"category": "shoes"}, True),
    ({"categories": ["shoes"]}, {"category": "shirts"}, False),
    ({"promise_date_within_days": 3}, {"promise_date": NOW + timedelta(days=3)}, True),
    ({"promise_date_within_days": 3}, {"promise_date": NOW + timedelta(days=4)}, False),
    ({"promise_date_within_days": 3}, {}, False),
    ({"origin_facility_groups": ["stores"]}, {"origin_facility_id": 2}, True),
    ({"origin_facility_groups": ["stores"]}, {"origin_facility_id": 1}, False),
    ({"origin_facility_groups": ["stores"]}, {"origin_facility_id": 99}, False),
    ({}, {}, True),
])
def test_each_routing_filter(filters: dict[str, Any], fields: dict[str, Any], matches: bool) -> None:
    category = fields.pop("category", None)
    o = order(1, unit(11), unit(12, "SHOE", category=category), **fields)
    result = broker(run_of(rule(), filters=filters), [o], GROUPED, {}, NOW)
    assert len(result.decisions) == (1 if matches else 0)


def test_selection_and_passing_by_are_explained() -> None:
    run = parse_run({"name": "r", "routings": [
        {"name": "Stores", "filters": {"channels": ["pos"]}, "rules": []},
        {"name": "Online", "filters": {"queues": ["brokering"], "channels": ["online"]}, "rules": []}]})
    d = only(broker(run, [order(1, unit(11))], [WH_NEAR], {}, NOW))
    assert d.explanation[:2] == ('routing "Stores" passed the order by: channel online is not one of pos',
                                 'routing "Online" selected the order (queue brokering, channel online)')


def test_exclusions_leave_orders_to_later_routings() -> None:
    run = parse_run({"name": "r", "routings": [
        {"name": "Online", "exclusions": [{"channels": ["marketplace"]}, {"min_priority": 9}], "rules": [rule()]},
        {"name": "Marketplace", "rules": [rule()]}]})
    orders = [order(1, unit(11), channel="marketplace"), order(2, unit(21)), order(3, unit(31), priority=9)]
    result = broker(run, orders, [WH_NEAR], {("👕-RED", 1): 5}, NOW)
    assert [(d.order_id, d.routing) for d in result.decisions] == [(2, "Online"), (1, "Marketplace"),
                                                                   (3, "Marketplace")]
    assert ('routing "Online" passed the order by: excluded (channel marketplace)'
            in result.decisions[1].explanation)


def test_an_order_is_decided_by_the_first_routing_that_selects_it_only() -> None:
    run = parse_run({"name": "r", "routings": [{"name": "First", "rules": [rule("nothing", max_distance_km=1)]},
                                               {"name": "Second", "rules": [rule()]}]})
    result = broker(run, [order(1, unit(11))], [WH_NEAR], {("👕-RED", 1): 5}, NOW)
    assert [(d.routing, d.allocations) for d in result.decisions] == [("First", ())]


def test_orders_no_routing_selects_get_no_decision() -> None:
    result = broker(run_of(rule(), filters={"channels": ["pos"]}), [order(1, unit(11))], [WH_NEAR], {}, NOW)
    assert result.decisions == () and result.consumed == {} and result.facility_orders == {}


def test_a_high_priority_order_gets_the_last_unit() -> None:
    older = order(1, unit(11), priority=0, order_date=NOW - timedelta(days=2))
    urgent = order(2, unit(21), priority=9, order_date=NOW)
    run = run_of(rule(), sort=[["priority", "desc"], ["order_date", "asc"]])
    result = broker(run, [older, urgent], [WH_NEAR], {("👕-RED", 1): 1}, NOW)
    assert [(d.order_id, d.allocations) for d in result.decisions] == [(2, ((21, 1),)), (1, ())]


def test_orders_sort_by_ship_by_with_missing_dates_last_and_ties_by_id() -> None:
    orders = [order(1, unit(11)), order(2, unit(21), ship_by=NOW + timedelta(days=2)),
              order(3, unit(31), ship_by=NOW + timedelta(days=1)), order(4, unit(41))]
    for direction in ("asc", "desc"):
        result = broker(run_of(rule(), sort=[["ship_by", direction]]), orders, [WH_NEAR], {}, NOW)
        expected = [3, 2, 1, 4] if direction == "asc" else [2, 3, 1, 4]
        assert [d.order_id for d in result.decisions] == expected


def test_stock_taken_by_one_order_is_gone_for_the_next_across_routings() -> None:
    run = parse_run({"name": "r", "routings": [
        {"name": "POS", "filters": {"channels": ["pos"]}, "rules": [rule()]},
        {"name": "Online", "rules": [rule()]}]})
    orders = [order(1, unit(11)), order(2, unit(21), channel="pos")]
    result = broker(run, orders, [WH_NEAR], {("👕-RED", 1): 1}, NOW)
    assert [(d.order_id, d.allocations) for d in result.decisions] == [(2, ((21, 1),)), (1, ())]


# --- purity and input checks ----------------------------------------------------------------


def test_a_dry_run_changes_nothing_and_repeats_exactly() -> None:
    run = run_of(rule(split="allowed"), rule("Park", action={"kind": "queue", "queue": "backorder_parking"}))
    orders = [order(1, unit(11), unit(12, "HAT")), order(2, unit(21), unit(22))]
    facilities = [WH_NEAR, WH_MID, WH_FAR]
    stock = spread_stock()
    before = copy.deepcopy((run, orders, facilities, stock))
    first = broker(run, orders, facilities, stock, NOW)
    assert (run, orders, facilities, stock) == before
    assert broker(run, orders, facilities, stock, NOW) == first


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unit id 11 is given twice"):
        broker(run_of(rule()), [order(1, unit(11)), order(2, unit(11))], [WH_NEAR], {}, NOW)
    with pytest.raises(ValueError, match="facility id 1 is given twice"):
        broker(run_of(rule()), [order(1, unit(11))], [WH_NEAR, WH_NEAR], {}, NOW)


def test_a_large_network_explains_the_first_facilities_and_counts_the_rest() -> None:
    stores = [fac(i, f"STORE-{i}", kind="store", ship_from_store=i % 2 == 0) for i in range(1, 31)]
    d = only(broker(run_of(rule()), [order(1, unit(11))], stores, {}, NOW))
    passed = [line for line in d.explanation if "passed over:" in line]
    assert len(passed) == 20  # DETAILED_PASSES
    assert 'rule "Nearest": 10 more facilities passed over (5 with ship from store off, 5 without enough stock)' \
        in d.explanation


def test_an_order_without_waiting_units_is_decided_with_nothing_to_do() -> None:
    d = only(broker(run_of(rule()), [order(1)], [WH_NEAR], {}, NOW))
    assert d.allocations == d.moves == d.unplaced == () and d.rule is None
    assert d.explanation[-1] == "nothing to broker: the order has no waiting units"
