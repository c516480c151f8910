"""Planning rules: which threshold applies, what a purchase order brings, which variances make sense,
and which open units a fulfilment-history row ships."""

from __future__ import annotations

import pytest

from orderhub.domain.planning import (
    AppliedThreshold,
    CannotPlan,
    OpenUnit,
    PackedShipment,
    ShipPlan,
    ThresholdBook,
    ThresholdRule,
    applicable_threshold,
    open_quantity,
    plan_shipment,
    product_tags,
    selector_value,
    variance_problem,
)

RULES = [ThresholdRule("tag", "sale", "online", 2), ThresholdRule("tag", "clearance", "online", 4),
         ThresholdRule("tag", "summer", "online", 4), ThresholdRule("category", "shirts", "online", 3),
         ThresholdRule("sku", "SKU-1", "online", 0), ThresholdRule("tag", "sale", "stores", 9)]


def test_the_most_specific_selector_wins_sku_then_category_then_tag() -> None:
    book = ThresholdBook(RULES)
    tags = {"sale", "clearance"}
    assert book.applicable("online", sku="SKU-1", category="Shirts", tags=tags, default=1) == \
        AppliedThreshold(0, "sku", "SKU-1")
    assert book.applicable("online", sku="SKU-2", category=" Shirts ", tags=tags, default=1) == \
        AppliedThreshold(3, "category", "shirts")
    assert book.applicable("online", sku="SKU-2", category="Mugs", tags={"Sale"}, default=1) == \
        AppliedThreshold(2, "tag", "sale")
    assert book.applicable("online", sku="SKU-2", category=None, tags=(), default=1) == \
        AppliedThreshold(1, "channel")
    assert AppliedThreshold(1, "channel").reason == "channel default"
    assert AppliedThreshold(3, "category", "shirts").reason == "category shirts"


def test_of_several_tags_the_highest_threshold_applies_and_ties_go_to_the_first_name() -> None:
    assert applicable_threshold(RULES, "online", sku="X", category=None, tags={"sale", "clearance"},
                                default=0) == AppliedThreshold(4, "tag", "clearance")
    assert applicable_threshold(RULES, "online", sku="X", category=None, tags={"summer", "clearance", "sale"},
                                default=0) == AppliedThreshold(4, "tag", "clearance")
    # Another channel's rules never apply.
    assert applicable_threshold(RULES, "stores", sku="SKU-1", category="shirts", tags={"sale"},
                                default=0) == AppliedThreshold(9, "tag", "sale")
    assert applicable_threshold(RULES, "pos", sku="SKU-1", category="shirts", tags={"sale"},
                                default=5) == AppliedThreshold(5, "channel")


def test_selectors_are_normalised_and_checked() -> None:
    assert selector_value("tag", "  Summer 🌞 ") == "summer 🌞"
    assert selector_value("category", "T-Shirts") == "t-shirts"
    assert selector_value("sku", " Sku-1 ") == "Sku-1"
    with pytest.raises(ValueError, match="selector must be one of sku, category, tag"):
        selector_value("colour", "red")
    with pytest.raises(ValueError, match="a tag selector needs a value"):
        selector_value("tag", "  ")
    with pytest.raises(ValueError, match="at most 255 characters"):
        selector_value("sku", "x" * 256)
    assert product_tags("Sale, Summer 🌞,, ") == frozenset({"sale", "summer 🌞"})
    assert product_tags(None) == frozenset()


def test_a_purchase_order_line_brings_what_is_not_received_yet() -> None:
    assert open_quantity(10, 3) == 7
    assert open_quantity(10, 12) == 0


@pytest.mark.parametrize(("reason", "delta", "count", "column", "says"), [
    ("stolen", -1, None, "reason", "must be one of damaged, cycle_count, received, adjusted"),
    ("adjusted", 1, 4, "quantity", "not both or none"),
    ("adjusted", None, None, "quantity", "not both or none"),
    ("adjusted", 0, None, "quantity", "a change of 0"),
    ("damaged", 2, None, "quantity", "use a negative quantity"),
    ("received", -2, None, "quantity", "use a positive quantity"),
    ("cycle_count", None, -1, "count", "cannot be negative"),
])
def test_variances_that_make_no_sense_name_their_column(reason: str, delta: int | None, count: int | None,
                                                        column: str, says: str) -> None:
    problem = variance_problem(reason, delta, count)
    assert problem is not None and problem[0] == column and says in problem[1]


def test_sensible_variances_pass() -> None:
    assert variance_problem("damaged", -2, None) is None
    assert variance_problem("cycle_count", None, 0) is None
    assert variance_problem("adjusted", 3, None) is None


def test_loose_units_ship_picked_before_brokered_in_a_new_shipment() -> None:
    units = [OpenUnit(1, "brokered"), OpenUnit(2, "picked"), OpenUnit(3, "brokered")]
    assert plan_shipment(units, [], 2, "T1") == ShipPlan(pick=(1,), pack=(2, 1), ship_packed=())
    assert plan_shipment(units, [], 0, "T1") == ShipPlan()


def test_a_shipment_labelled_with_the_tracking_number_is_that_parcel_and_ships_whole() -> None:
    units = [OpenUnit(1, "packed", 10), OpenUnit(2, "brokered")]
    parcel = PackedShipment(10, "T1", frozenset({1, 99}))  # 99: a unit of another line, in the same box
    assert plan_shipment(units, [parcel], 1, "T1") == ShipPlan(ship_packed=(10,))
    assert plan_shipment(units, [parcel], 2, "T1") == ShipPlan(pick=(2,), pack=(2,), ship_packed=(10,))
    with pytest.raises(CannotPlan, match="holds 2 unit"):
        plan_shipment([OpenUnit(1, "packed", 10), OpenUnit(2, "packed", 10)],
                      [PackedShipment(10, "T1", frozenset({1, 2}))], 1, "T1")


def test_other_packed_shipments_ship_only_when_they_hold_nothing_else() -> None:
    units = [OpenUnit(1, "packed", 10), OpenUnit(2, "packed", 11)]
    alone = PackedShipment(10, None, frozenset({1}))
    shared = PackedShipment(11, "OTHER", frozenset({2, 99}))
    assert plan_shipment(units, [alone, shared], 1, "T1") == ShipPlan(ship_packed=(10,))
    with pytest.raises(CannotPlan, match="packed in shipments with other lines"):
        plan_shipment(units, [alone, shared], 2, "T1")
    with pytest.raises(CannotPlan, match="3 unit\\(s\\) to ship but only 2 open"):
        plan_shipment(units, [alone, shared], 3, "T1")
