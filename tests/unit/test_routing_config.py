"""Routing run configuration: parsing, round trip, and errors that name the exact path."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from orderhub.domain.routing import (
    Action,
    ActionKind,
    InventorySort,
    OrderFilter,
    Routing,
    RoutingConfigError,
    RoutingRun,
    Rule,
    Split,
    parse_run,
    run_to_dict,
)


def config() -> dict[str, Any]:
    """A run using every setting, in its canonical JSON form."""
    return {
        "name": "Daily",
        "routings": [
            {
                "name": "Online",
                "filters": {"queues": ["brokering", "rejected_parking"], "channels": ["online"],
                            "shipping_methods": ["express"], "min_priority": 2, "categories": ["shirts"],
                            "promise_date_within_days": 3, "origin_facility_groups": ["east"]},
                "exclusions": [{"channels": ["marketplace"]}, {"priorities": [0, 1]}],
                "sort": [["ship_by", "asc"], ["priority", "desc"]],
                "rules": [
                    {"name": "Nearby stores", "facility_groups_in": ["stores"], "facility_groups_out": ["outlet"],
                     "max_distance_km": 50.0, "brokering_safety_stock": 2, "respect_capacity": False,
                     "ship_from_store_only": False, "sorts": ["proximity", "inventory_balance"],
                     "split": "ship_group", "min_shipment_value": "25.00", "action": {"kind": "next_rule"}},
                    {"name": "Anywhere", "sorts": ["facility_sequence"], "split": "allowed",
                     "action": {"kind": "queue", "queue": "backorder_parking", "auto_cancel_days": 14}},
                ],
            },
            {
                "name": "Everything else",
                "rules": [{"name": "Park", "sorts": [], "split": "none",
                           "action": {"kind": "queue", "queue": "unfillable", "clear_auto_cancel": True}}],
            },
        ],
    }


def test_parses_every_setting_into_the_model() -> None:
    run = parse_run(config())
    online, rest = run.routings
    assert run.name == "Daily"
    assert online.filters == OrderFilter(
        queues=frozenset({"brokering", "rejected_parking"}), channels=frozenset({"online"}),
        shipping_methods=frozenset({"express"}), min_priority=2, categories=frozenset({"shirts"}),
        promise_date_within_days=3, origin_facility_groups=frozenset({"east"}))
    assert online.exclusions == (OrderFilter(channels=frozenset({"marketplace"})),
                                 OrderFilter(priorities=frozenset({0, 1})))
    assert online.sort == (("ship_by", "asc"), ("priority", "desc"))
    nearby, anywhere = online.rules
    assert nearby == Rule(
        name="Nearby stores", facility_groups_in=frozenset({"stores"}), facility_groups_out=frozenset({"outlet"}),
        max_distance_km=50.0, brokering_safety_stock=2, respect_capacity=False, ship_from_store_only=False,
        sorts=(InventorySort.PROXIMITY, InventorySort.INVENTORY_BALANCE), split=Split.SHIP_GROUP,
        min_shipment_value=Decimal("25.00"), action=Action())
    assert anywhere.action == Action(ActionKind.QUEUE, "backorder_parking", auto_cancel_days=14)
    assert rest.filters.is_empty and rest.rules[0].action.clear_auto_cancel


def test_round_trip_is_exact_and_json_serialisable() -> None:
    data = config()
    run = parse_run(data)
    assert run_to_dict(run) == data
    assert parse_run(run_to_dict(run)) == run
    assert parse_run(json.loads(json.dumps(run_to_dict(run)))) == run


def test_defaults_are_left_out_and_come_back() -> None:
    run = parse_run({"name": "r", "routings": [{"name": "all", "rules": [{"name": "x"}]}]})
    rule = run.routings[0].rules[0]
    assert rule == Rule(name="x")
    assert rule.respect_capacity and rule.ship_from_store_only and rule.split is Split.NONE
    assert rule.action.kind is ActionKind.NEXT_RULE
    assert run_to_dict(run) == {"name": "r", "routings": [{"name": "all", "rules": [
        {"name": "x", "sorts": [], "split": "none", "action": {"kind": "next_rule"}}]}]}


def test_a_bare_sort_field_sorts_ascending() -> None:
    run = parse_run({"name": "r", "routings": [{"name": "a", "sort": ["order_date", ["priority", "desc"]]}]})
    assert run.routings[0].sort == (("order_date", "asc"), ("priority", "desc"))


def test_null_counts_as_absent() -> None:
    run = parse_run({"name": "r", "routings": [{"name": "a", "filters": {"channels": None, "min_priority": None},
                                                "rules": [{"name": "x", "max_distance_km": None,
                                                           "action": {"kind": "next_rule", "queue": None}}]}]})
    assert run.routings[0].filters.is_empty and run.routings[0].rules[0] == Rule(name="x")


def test_money_from_a_json_number_keeps_its_decimal_text() -> None:
    run = parse_run({"name": "r", "routings": [{"name": "a", "rules": [{"name": "x", "min_shipment_value": 19.9}]}]})
    assert run.routings[0].rules[0].min_shipment_value == Decimal("19.9")
    assert run_to_dict(run)["routings"][0]["rules"][0]["min_shipment_value"] == "19.9"


def test_unicode_and_emoji_names_are_fine() -> None:
    data = {"name": "Ночной прогон 🌙", "routings": [{"name": "店舗 🏬", "filters": {"channels": ["pos-東京"]},
                                                     "rules": [{"name": "近く 👕", "facility_groups_in": ["Café"],
                                                                "sorts": [], "split": "none",
                                                                "action": {"kind": "next_rule"}}]}]}
    run = parse_run(data)
    assert run.routings[0].rules[0].name == "近く 👕"
    assert run_to_dict(run) == data


def test_direct_construction_matches_parsing() -> None:
    run = RoutingRun("r", (Routing("a", rules=(Rule("x", split=Split.ALLOWED),)),))
    assert parse_run(run_to_dict(run)) == run


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the value at ``path`` replaced (or deleted when ``value`` is ...)."""
    out = copy.deepcopy(data)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


R0 = ("routings", 0)
RULE = (*R0, "rules", 0)
ACTION = (*RULE, "action")


@pytest.mark.parametrize(("path", "value", "message"), [
    # unknown keys, at every level, with a hint for a near miss
    (("routing",), [], "routing: unknown key; did you mean 'routings'?"),
    ((*R0, "filter"), {}, "routings[0].filter: unknown key; did you mean 'filters'?"),
    ((*R0, "filters", "channel"), ["web"], "routings[0].filters.channel: unknown key; did you mean 'channels'?"),
    ((*R0, "exclusions", 0, "queue"), ["x"], "routings[0].exclusions[0].queue: unknown key"),
    ((*RULE, "max_distance"), 5, "routings[0].rules[0].max_distance: unknown key; did you mean 'max_distance_km'?"),
    ((*ACTION, "queue_name"), "x", "routings[0].rules[0].action.queue_name: unknown key"),
    # names
    (("name",), ..., "name: is required"),
    ((*R0, "name"), "  ", "routings[0].name: must be a non-empty string (got '  ')"),
    ((*RULE, "name"), 7, "routings[0].rules[0].name: must be a non-empty string (got 7)"),
    ((*R0, "rules", 1, "name"), "Nearby stores",
     "routings[0].rules[1].name: rule name 'Nearby stores' is already used by routings[0].rules[0]"),
    (("routings", 1, "name"), "Online", "routings[1].name: routing name 'Online' is already used by routings[0]"),
    # shapes
    (("routings",), {}, "routings: must be a list (got an object)"),
    (R0, [], "routings[0]: must be an object (got a list)"),
    ((*R0, "filters", "channels"), "online", "routings[0].filters.channels: must be a list (got 'online')"),
    # order filters
    ((*R0, "filters", "queues", 1), "parking",
     "routings[0].filters.queues[1]: must be one of brokering, rejected_parking, backorder_parking, "
     "preorder_parking, unfillable (got 'parking')"),
    ((*R0, "filters", "priorities"), [1], "routings[0].filters.min_priority: use either priorities or min_priority"),
    ((*R0, "exclusions", 1, "priorities", 0), True, "routings[0].exclusions[1].priorities[0]: must be a whole number"),
    ((*R0, "filters", "promise_date_within_days"), -1,
     "routings[0].filters.promise_date_within_days: must be 0 or more (got -1)"),
    # order sort
    ((*R0, "sort", 0, 0), "created", "routings[0].sort[0][0]: must be one of ship_by, order_date, priority"),
    ((*R0, "sort", 1, 1), "down", "routings[0].sort[1][1]: must be one of asc, desc (got 'down')"),
    ((*R0, "sort", 1), ["ship_by"], "routings[0].sort[1]: must be [field, direction]"),
    ((*R0, "sort", 1), ["ship_by", "desc"], "routings[0].sort[1]: 'ship_by' is already sorted on"),
    # rules
    ((*R0, "rules", 1, "split"), "sometimes",
     "routings[0].rules[1].split: must be one of none, ship_group, allowed (got 'sometimes')"),
    ((*RULE, "sorts", 1), "cheapest",
     "routings[0].rules[0].sorts[1]: must be one of proximity, inventory_balance, facility_sequence"),
    ((*RULE, "sorts", 1), "proximity", "routings[0].rules[0].sorts[1]: 'proximity' is listed twice"),
    ((*RULE, "max_distance_km"), 0, "routings[0].rules[0].max_distance_km: must be a number of kilometres above 0"),
    ((*RULE, "max_distance_km"), "50", "routings[0].rules[0].max_distance_km: must be a number"),
    ((*RULE, "brokering_safety_stock"), 1.5, "routings[0].rules[0].brokering_safety_stock: must be a whole number"),
    ((*RULE, "respect_capacity"), "yes", "routings[0].rules[0].respect_capacity: must be true or false (got 'yes')"),
    ((*RULE, "min_shipment_value"), "ten", "routings[0].rules[0].min_shipment_value: must be an amount of 0 or more"),
    ((*RULE, "min_shipment_value"), "-1", "routings[0].rules[0].min_shipment_value: must be an amount"),
    ((*RULE, "min_shipment_value"), "NaN", "routings[0].rules[0].min_shipment_value: must be an amount"),
    ((*RULE, "facility_groups_out"), ["stores"],
     "routings[0].rules[0].facility_groups_out: stores also in facility_groups_in"),
    # actions
    ((*ACTION, "kind"), ..., "routings[0].rules[0].action.kind: is required: one of next_rule, queue"),
    ((*ACTION, "kind"), "cancel", "routings[0].rules[0].action.kind: must be one of next_rule, queue (got 'cancel')"),
    ((*ACTION, "queue"), "brokering", "routings[0].rules[0].action.queue: only with kind queue"),
    ((*ACTION, "auto_cancel_days"), 3, "routings[0].rules[0].action.auto_cancel_days: only with kind queue"),
    ((*R0, "rules", 1, "action", "queue"), ..., "routings[0].rules[1].action.queue: is required with kind queue"),
    ((*R0, "rules", 1, "action", "queue"), "limbo", "routings[0].rules[1].action.queue: must be one of brokering"),
    ((*R0, "rules", 1, "action", "clear_auto_cancel"), True,
     "routings[0].rules[1].action.clear_auto_cancel: use either auto_cancel_days or clear_auto_cancel"),
    ((*R0, "rules", 1, "action", "auto_cancel_days"), "3",
     "routings[0].rules[1].action.auto_cancel_days: must be a whole number (got '3')"),
])
def test_every_error_names_its_path(path: tuple[Any, ...], value: Any, message: str) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        parse_run(_set(config(), path, value))
    assert str(caught.value).startswith(message)
    assert str(caught.value) == f"{caught.value.path}: {caught.value.problem}"


def test_unknown_keys_list_the_known_ones() -> None:
    with pytest.raises(RoutingConfigError, match="known keys: name, filters, exclusions, sort, rules"):
        parse_run({"name": "r", "routings": [{"name": "a", "colour": "red"}]})


def test_a_run_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RoutingConfigError, match=r"a routing run must be an object \(got a list\)"):
        parse_run([])  # type: ignore[arg-type]


def test_config_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_run({"routings": []})
