"""Order routing configuration: a run of routings (order batches), each with ordered rules.

Modelled on HotWax Commerce order routing. A **run** holds ordered **routings**; a
routing selects orders (filters, exclusions), sorts them, and tries its **rules** in
order. A rule says which facilities may fulfil (inventory filters), which it prefers
(inventory sorts), whether an order may be split across facilities, and what happens
to units it cannot place (the action).

The configuration is stored and exchanged as JSON. ``parse_run`` turns a JSON-able
dict into frozen dataclasses and refuses anything it does not understand, naming the
exact path of the problem, because a typo in a routing rule that silently did nothing
would send orders to the wrong place. ``run_to_dict`` is its inverse.

Pure: no I/O. Brokering itself (applying a run to orders) is ``orderhub.domain.brokering``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

QUEUES = ("brokering", "rejected_parking", "backorder_parking", "preorder_parking", "unfillable")
ORDER_SORT_FIELDS = ("ship_by", "order_date", "priority")
SORT_DIRECTIONS = ("asc", "desc")


class Split(StrEnum):
    """How an order's units may be spread over facilities by one rule."""

    NONE = "none"  # every waiting unit of the order from one facility
    SHIP_GROUP = "ship_group"  # each ship group whole at one facility; groups may differ
    ALLOWED = "allowed"  # any unit anywhere, as few facilities as possible


class InventorySort(StrEnum):
    """How a rule ranks the facilities that pass its filters (ties: facility id)."""

    PROXIMITY = "proximity"  # nearest to the order's destination first
    INVENTORY_BALANCE = "inventory_balance"  # most available of the needed SKUs first
    FACILITY_SEQUENCE = "facility_sequence"  # the facility's configured sequence, ascending


class ActionKind(StrEnum):
    """What a rule does with the units it could not place."""

    NEXT_RULE = "next_rule"
    QUEUE = "queue"


class RoutingConfigError(ValueError):
    """A routing configuration that cannot be used: ``path`` says where, ``problem`` what."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a routing takes (or, as an exclusion, leaves). Empty fields match any order."""

    queues: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    shipping_methods: frozenset[str] = frozenset()
    priorities: frozenset[int] = frozenset()
    min_priority: int | None = None
    categories: frozenset[str] = frozenset()  # at least one unit's product category is listed
    promise_date_within_days: int | None = None  # promise date set and at most now + N days
    origin_facility_groups: frozenset[str] = frozenset()  # the order's origin facility is in one
    pickup: bool | None = None  # true: only pickup in store orders; false: only orders that are delivered

    @property
    def is_empty(self) -> bool:
        """True when the filter matches every order."""
        return self == OrderFilter()


@dataclass(frozen=True)
class Action:
    """What happens to the units a rule leaves unplaced, and to the order's auto-cancel date."""

    kind: ActionKind = ActionKind.NEXT_RULE
    queue: str | None = None  # the queue units move to, with kind QUEUE
    auto_cancel_days: int | None = None  # with kind QUEUE: auto-cancel date becomes now + N days
    clear_auto_cancel: bool = False  # with kind QUEUE: the order no longer auto-cancels

    def __post_init__(self) -> None:
        if self.kind is ActionKind.QUEUE and self.queue is None:
            raise RoutingConfigError("queue", "is required with kind queue")


@dataclass(frozen=True)
class Rule:
    """One attempt to place an order's waiting units: filters, preference, split policy, action."""

    name: str
    facility_groups_in: frozenset[str] = frozenset()  # facility must be in one of these (empty: any)
    facility_groups_out: frozenset[str] = frozenset()  # facility must be in none of these
    max_distance_km: float | None = None
    brokering_safety_stock: int = 0  # ATP a facility must keep of a SKU after allocation
    respect_capacity: bool = True  # skip facilities whose orders today reached their daily capacity
    ship_from_store_only: bool = True  # a store qualifies only when it ships from store
    sorts: tuple[InventorySort, ...] = ()
    split: Split = Split.NONE
    min_shipment_value: Decimal | None = None  # when splitting, each facility's share is worth this much
    action: Action = field(default_factory=Action)


@dataclass(frozen=True)
class Routing:
    """An order batch: which orders, in which order, tried against which rules."""

    name: str
    filters: OrderFilter = field(default_factory=OrderFilter)
    exclusions: tuple[OrderFilter, ...] = ()  # an order matching any one is left out
    sort: tuple[tuple[str, str], ...] = ()  # (ship_by | order_date | priority, asc | desc); ties: order id
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class RoutingRun:
    """Routings tried in order; an order belongs to the first routing that selects it."""

    name: str
    routings: tuple[Routing, ...] = ()


# --- parsing ------------------------------------------------------------------------------

RUN_KEYS = ("name", "routings")
ROUTING_KEYS = ("name", "filters", "exclusions", "sort", "rules")
FILTER_KEYS = ("queues", "channels", "shipping_methods", "priorities", "min_priority", "categories",
               "promise_date_within_days", "origin_facility_groups", "pickup")
RULE_KEYS = ("name", "facility_groups_in", "facility_groups_out", "max_distance_km", "brokering_safety_stock",
             "respect_capacity", "ship_from_store_only", "sorts", "split", "min_shipment_value", "action")
ACTION_KEYS = ("kind", "queue", "auto_cancel_days", "clear_auto_cancel")


def parse_run(data: Mapping[str, Any]) -> RoutingRun:
    """The run described by JSON-able ``data``; raises ``RoutingConfigError`` naming the bad path."""
    if not isinstance(data, Mapping):
        raise RoutingConfigError("", f"a routing run must be an object (got {_show(data)})")
    _check_keys(data, "", RUN_KEYS)
    routings = tuple(_parse_routing(item, f"routings[{i}]")
                     for i, item in enumerate(_list(_get(data, "routings", []), "routings")))
    _check_unique([r.name for r in routings], "routings", "routing")
    return RoutingRun(name=_name(data, ""), routings=routings)


def _parse_routing(data: Any, path: str) -> Routing:
    data = _object(data, path, ROUTING_KEYS)
    rules = tuple(_parse_rule(item, f"{path}.rules[{i}]")
                  for i, item in enumerate(_list(_get(data, "rules", []), f"{path}.rules")))
    _check_unique([r.name for r in rules], f"{path}.rules", "rule")
    return Routing(
        name=_name(data, path),
        filters=_parse_filter(_get(data, "filters", {}), f"{path}.filters"),
        exclusions=tuple(_parse_filter(item, f"{path}.exclusions[{i}]")
                         for i, item in enumerate(_list(_get(data, "exclusions", []), f"{path}.exclusions"))),
        sort=_parse_order_sort(_get(data, "sort", []), f"{path}.sort"),
        rules=rules,
    )


def _parse_filter(data: Any, path: str) -> OrderFilter:
    data = _object(data, path, FILTER_KEYS)
    at = _child(path)
    priorities = frozenset(_int(v, f"{at('priorities')}[{i}]")
                           for i, v in enumerate(_list(_get(data, "priorities", []), at("priorities"))))
    min_priority = _optional(_get(data, "min_priority"), at("min_priority"), _int)
    if priorities and min_priority is not None:
        raise RoutingConfigError(at("min_priority"), "use either priorities or min_priority, not both")
    return OrderFilter(
        queues=_choices(_get(data, "queues", []), at("queues"), QUEUES),
        channels=_strings(_get(data, "channels", []), at("channels")),
        shipping_methods=_strings(_get(data, "shipping_methods", []), at("shipping_methods")),
        priorities=priorities,
        min_priority=min_priority,
        categories=_strings(_get(data, "categories", []), at("categories")),
        promise_date_within_days=_optional(_get(data, "promise_date_within_days"), at("promise_date_within_days"),
                                           _count),
        origin_facility_groups=_strings(_get(data, "origin_facility_groups", []), at("origin_facility_groups")),
        pickup=_optional(_get(data, "pickup"), at("pickup"), _bool),
    )


def _parse_order_sort(data: Any, path: str) -> tuple[tuple[str, str], ...]:
    """``[["ship_by", "asc"], "order_date", ...]``: a bare field name sorts ascending."""
    out: list[tuple[str, str]] = []
    for i, item in enumerate(_list(data, path)):
        here = f"{path}[{i}]"
        if isinstance(item, str):
            item = [item, "asc"]
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise RoutingConfigError(here, f'must be [field, direction], e.g. ["ship_by", "asc"] (got {_show(item)})')
        sort_field = _choice(item[0], f"{here}[0]", ORDER_SORT_FIELDS)
        direction = _choice(item[1], f"{here}[1]", SORT_DIRECTIONS)
        if sort_field in (f for f, _ in out):
            raise RoutingConfigError(here, f"{sort_field!r} is already sorted on")
        out.append((sort_field, direction))
    return tuple(out)


def _parse_rule(data: Any, path: str) -> Rule:
    data = _object(data, path, RULE_KEYS)
    at = _child(path)
    groups_in = _strings(_get(data, "facility_groups_in", []), at("facility_groups_in"))
    groups_out = _strings(_get(data, "facility_groups_out", []), at("facility_groups_out"))
    if groups_in & groups_out:
        raise RoutingConfigError(at("facility_groups_out"),
                                 f"{', '.join(sorted(groups_in & groups_out))} also in facility_groups_in")
    return Rule(
        name=_name(data, path),
        facility_groups_in=groups_in,
        facility_groups_out=groups_out,
        max_distance_km=_optional(_get(data, "max_distance_km"), at("max_distance_km"), _distance),
        brokering_safety_stock=_count(_get(data, "brokering_safety_stock", 0), at("brokering_safety_stock")),
        respect_capacity=_bool(_get(data, "respect_capacity", True), at("respect_capacity")),
        ship_from_store_only=_bool(_get(data, "ship_from_store_only", True), at("ship_from_store_only")),
        sorts=_parse_inventory_sorts(_get(data, "sorts", []), at("sorts")),
        split=Split(_choice(_get(data, "split", Split.NONE.value), at("split"), tuple(Split))),
        min_shipment_value=_optional(_get(data, "min_shipment_value"), at("min_shipment_value"), _money),
        action=_parse_action(_get(data, "action", {"kind": ActionKind.NEXT_RULE.value}), at("action")),
    )


def _parse_inventory_sorts(data: Any, path: str) -> tuple[InventorySort, ...]:
    out: list[InventorySort] = []
    for i, item in enumerate(_list(data, path)):
        sort = InventorySort(_choice(item, f"{path}[{i}]", tuple(InventorySort)))
        if sort in out:
            raise RoutingConfigError(f"{path}[{i}]", f"{sort.value!r} is listed twice")
        out.append(sort)
    return tuple(out)


def _parse_action(data: Any, path: str) -> Action:
    data = _object(data, path, ACTION_KEYS)
    at = _child(path)
    if _get(data, "kind") is None:
        raise RoutingConfigError(at("kind"), f"is required: one of {', '.join(ActionKind)}")
    kind = ActionKind(_choice(data["kind"], at("kind"), tuple(ActionKind)))
    clear = _bool(_get(data, "clear_auto_cancel", False), at("clear_auto_cancel"))
    days = _optional(_get(data, "auto_cancel_days"), at("auto_cancel_days"), _count)
    queue = _optional(_get(data, "queue"), at("queue"), lambda v, p: _choice(v, p, QUEUES))
    if kind is ActionKind.QUEUE and queue is None:
        raise RoutingConfigError(at("queue"), f"is required with kind queue: one of {', '.join(QUEUES)}")
    if kind is ActionKind.NEXT_RULE:
        for key, value in (("queue", queue), ("auto_cancel_days", days), ("clear_auto_cancel", clear or None)):
            if value is not None:
                raise RoutingConfigError(at(key), "only with kind queue (next_rule hands the units to the next rule)")
    if clear and days is not None:
        raise RoutingConfigError(at("clear_auto_cancel"), "use either auto_cancel_days or clear_auto_cancel, not both")
    return Action(kind=kind, queue=queue, auto_cancel_days=days, clear_auto_cancel=clear)


# --- field validators: each returns the clean value or raises with the path ----------------

def _child(path: str) -> Callable[[str], str]:
    """Builds the paths of an object's keys: ``_child("routings[0]")("name") == "routings[0].name"``."""
    return lambda key: f"{path}.{key}" if path else key


def _get(data: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """A key's value; JSON null counts as absent, so editors that send every field with null work."""
    value = data.get(key)
    return default if value is None else value


def _show(value: Any) -> str:
    """A value as a person reading the JSON would recognise it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _check_keys(data: Mapping[Any, Any], path: str, known: tuple[str, ...]) -> None:
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RoutingConfigError(where, f"unknown key; {hint}known keys: {', '.join(known)}")


def _object(value: Any, path: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RoutingConfigError(path, f"must be an object (got {_show(value)})")
    _check_keys(value, path, known)
    return value


def _list(value: Any, path: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise RoutingConfigError(path, f"must be a list (got {_show(value)})")
    return value


def _name(data: Mapping[str, Any], path: str) -> str:
    where = f"{path}.name" if path else "name"
    if _get(data, "name") is None:
        raise RoutingConfigError(where, "is required")
    return _text(data["name"], where)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RoutingConfigError(path, f"must be a non-empty string (got {_show(value)})")
    return value


def _strings(value: Any, path: str) -> frozenset[str]:
    return frozenset(_text(v, f"{path}[{i}]") for i, v in enumerate(_list(value, path)))


def _choice(value: Any, path: str, options: Iterable[str]) -> str:
    options = tuple(str(o) for o in options)
    if not isinstance(value, str) or value not in options:
        raise RoutingConfigError(path, f"must be one of {', '.join(options)} (got {_show(value)})")
    return value


def _choices(value: Any, path: str, options: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_choice(v, f"{path}[{i}]", options) for i, v in enumerate(_list(value, path)))


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RoutingConfigError(path, f"must be a whole number (got {_show(value)})")
    return value


def _count(value: Any, path: str) -> int:
    value = _int(value, path)
    if value < 0:
        raise RoutingConfigError(path, f"must be 0 or more (got {value})")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise RoutingConfigError(path, f"must be true or false (got {_show(value)})")
    return value


def _distance(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise RoutingConfigError(path, f"must be a number of kilometres above 0 (got {_show(value)})")
    return float(value)


def _money(value: Any, path: str) -> Decimal:
    """Money as a decimal string ("25.00"); a JSON number is taken by its decimal text, never as binary."""
    problem = f'must be an amount of 0 or more, e.g. "25.00" (got {_show(value)})'
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise RoutingConfigError(path, problem)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RoutingConfigError(path, problem) from None
    if not amount.is_finite() or amount < 0:
        raise RoutingConfigError(path, problem)
    return amount


def _optional(value: Any, path: str, check: Callable[[Any, str], Any]) -> Any:
    return None if value is None else check(value, path)


def _check_unique(names: list[str], path: str, what: str) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise RoutingConfigError(f"{path}[{i}].name",
                                     f"{what} name {name!r} is already used by {path}[{seen[name]}]")
        seen[name] = i


# --- back to JSON ---------------------------------------------------------------------------

def run_to_dict(run: RoutingRun) -> dict[str, Any]:
    """The JSON form of ``run`` (``parse_run`` reads it back equal); settings at their default are left out."""
    return {"name": run.name, "routings": [_routing_to_dict(r) for r in run.routings]}


def _routing_to_dict(routing: Routing) -> dict[str, Any]:
    out: dict[str, Any] = {"name": routing.name}
    if not routing.filters.is_empty:
        out["filters"] = _filter_to_dict(routing.filters)
    if routing.exclusions:
        out["exclusions"] = [_filter_to_dict(f) for f in routing.exclusions]
    if routing.sort:
        out["sort"] = [[f, d] for f, d in routing.sort]
    out["rules"] = [_rule_to_dict(r) for r in routing.rules]
    return out


def _filter_to_dict(f: OrderFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = getattr(f, key)
        if isinstance(value, frozenset):
            if value:
                out[key] = sorted(value)
        elif value is not None:
            out[key] = value
    return out


def _rule_to_dict(rule: Rule) -> dict[str, Any]:
    default = Rule(name=rule.name)
    out: dict[str, Any] = {"name": rule.name}
    for key in ("facility_groups_in", "facility_groups_out"):
        if getattr(rule, key):
            out[key] = sorted(getattr(rule, key))
    for key in ("max_distance_km", "brokering_safety_stock", "respect_capacity", "ship_from_store_only"):
        if getattr(rule, key) != getattr(default, key):
            out[key] = getattr(rule, key)
    out["sorts"] = [s.value for s in rule.sorts]
    out["split"] = rule.split.value
    if rule.min_shipment_value is not None:
        out["min_shipment_value"] = str(rule.min_shipment_value)
    out["action"] = _action_to_dict(rule.action)
    return out


def _action_to_dict(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": action.kind.value}
    if action.queue is not None:
        out["queue"] = action.queue
    if action.auto_cancel_days is not None:
        out["auto_cancel_days"] = action.auto_cancel_days
    if action.clear_auto_cancel:
        out["clear_auto_cancel"] = True
    return out
