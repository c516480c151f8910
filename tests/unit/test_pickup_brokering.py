"""Brokering of pickup in store orders: to their store only, never split, parked with the store's shortage."""

from __future__ import annotations

from orderhub.domain.brokering import broker
from orderhub.domain.routing import RoutingConfigError, parse_run, run_to_dict
from tests.unit.test_brokering import BOSTON, NOW, WH_NEAR, fac, only, order, rule, run_of, text, unit

STORE = fac(7, "BOS01", BOSTON, kind="store", ship_from_store=False)  # ships nothing: pickup still goes there
PARK = {"kind": "queue", "queue": "backorder_parking"}


def test_a_pickup_order_goes_to_its_store_even_with_a_nearer_warehouse_and_ship_from_store_off() -> None:
    o = order(1, unit(1, "A"), unit(2, "B"), pickup_facility_id=STORE.id)
    d = only(broker(run_of(rule(split="allowed")), [o], [WH_NEAR, STORE], {("A", 1): 9, ("B", 1): 9, ("A", 7): 1,
                                                                            ("B", 7): 1}, NOW))
    assert d.allocations == ((1, STORE.id), (2, STORE.id))
    assert "pickup orders are never split" in text(d)


def test_a_store_short_of_one_sku_parks_the_whole_order_with_the_reason_and_never_splits() -> None:
    o = order(1, unit(1, "A"), unit(2, "B"), pickup_facility_id=STORE.id)
    d = only(broker(run_of(rule(split="allowed", action=PARK)), [o], [WH_NEAR, STORE],
                    {("A", 1): 9, ("B", 1): 9, ("A", 7): 1}, NOW))
    assert d.allocations == ()
    assert d.moves == ((1, "backorder_parking"), (2, "backorder_parking"))
    assert d.park_reason == "pickup store BOS01 has no stock of SKU B"
    assert "WH-NEWARK" not in text(d)  # no other facility is even considered


def test_an_unmapped_pickup_location_places_nothing_and_says_why() -> None:
    o = order(1, unit(1, "A"), pickup_location="9911")
    d = only(broker(run_of(rule(action=PARK)), [o], [WH_NEAR], {("A", 1): 9}, NOW))
    assert d.allocations == () and d.park_reason == "pickup location 9911 has no facility"


def test_a_store_that_rejected_the_item_parks_it() -> None:
    o = order(1, unit(1, "A", rejected=(7,)), pickup_facility_id=STORE.id)
    d = only(broker(run_of(rule(action=PARK)), [o], [STORE], {("A", 7): 3}, NOW))
    assert d.park_reason == "pickup store BOS01 rejected SKU A"


def test_the_pickup_filter_selects_pickup_orders_for_their_own_routing() -> None:
    run = parse_run({"name": "r", "routings": [
        {"name": "Pickup orders", "filters": {"pickup": True}, "rules": [{"name": "to their store", "action": PARK}]},
        {"name": "Delivered", "filters": {"pickup": False}, "rules": [rule()]}]})
    pickup, delivered = order(1, unit(1, "A"), pickup_facility_id=STORE.id), order(2, unit(2, "A"))
    result = broker(run, [pickup, delivered], [WH_NEAR, STORE], {("A", 1): 5, ("A", 7): 1}, NOW)
    by_order = {d.order_id: d for d in result.decisions}
    assert by_order[1].routing == "Pickup orders" and by_order[1].allocations == ((1, STORE.id),)
    assert by_order[2].routing == "Delivered" and by_order[2].allocations == ((2, WH_NEAR.id),)
    assert "routing \"Pickup orders\" passed the order by: not a pickup in store order" in text(by_order[2])
    assert parse_run(run_to_dict(run)) == run


def test_the_pickup_filter_takes_true_or_false_only() -> None:
    try:
        parse_run({"name": "r", "routings": [{"name": "x", "filters": {"pickup": "yes"}, "rules": []}]})
    except RoutingConfigError as exc:
        assert exc.path == "routings[0].filters.pickup"
    else:
        raise AssertionError("a pickup filter of 'yes' was accepted")
