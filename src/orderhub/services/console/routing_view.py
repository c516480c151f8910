"""The console's routing pages: the routing runs as people read them, changes to a run's rules, and
a dry run of one order.

Every change is a new version of the whole run saved with :func:`routing_store.save_run`, which
validates it with the domain's ``parse_run`` first (as ``PUT /api/routing/{name}`` and ``orderhub
routing set`` do), so the console can store nothing the API would refuse. A change carries the
version of the run the page showed: if the run changed since, the change is refused rather than
silently undoing someone else's. The dry run is :func:`brokering.preview`, the same decision the
placement workflow and the routing run make, with nothing applied.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from orderhub.adapters.store import order_queries, routing_store
from orderhub.adapters.store.schema import orders, routing_runs
from orderhub.domain.routing import (
    Action,
    ActionKind,
    OrderFilter,
    Routing,
    Rule,
    parse_run,
)
from orderhub.services import brokering, routing_run

BUILT_IN = ""  # how pages name the built-in default run (a stored run's name is never empty)


class Stale(Exception):
    """The run changed since the page showed it."""


# -- reading ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunChoice:
    key: str  # the run's name, or BUILT_IN
    label: str
    in_use: bool


@dataclass(frozen=True)
class RuleView:
    index: int
    name: str
    sends: list[str]  # which facilities, which first, how split
    unplaced: str  # what happens to units it cannot place
    form: dict[str, Any]  # its settings as the edit form shows them


@dataclass(frozen=True)
class RoutingView:
    index: int
    name: str
    matches: list[str]
    excludes: list[str]
    order_by: str
    rules: list[RuleView]


@dataclass(frozen=True)
class RunView:
    key: str
    name: str
    stored: bool
    in_use: bool
    version: str
    routings: list[RoutingView]
    data: dict[str, Any] = field(repr=False)  # the JSON form (without "active")


def choices(conn: Connection) -> list[RunChoice]:
    """The stored runs, then the built-in default; the one brokering uses is ``in_use``."""
    active = routing_store.active_name(conn)
    out = [RunChoice(r["name"], r["name"], r["name"] == active) for r in routing_store.all_runs(conn)]
    out.append(RunChoice(BUILT_IN, f"{brokering.DEFAULT_RUN['name']} (built in)", active is None))
    return out


def load(conn: Connection, key: str | None) -> RunView | None:
    """A run by key (None: the one in use); None when no stored run has that name."""
    active = routing_store.active_name(conn)
    if key is None:
        key = active or BUILT_IN
    if key == BUILT_IN:
        data, stored, in_use = copy.deepcopy(brokering.DEFAULT_RUN), False, active is None
    else:
        found = routing_store.get_run(conn, key)
        if found is None:
            return None
        in_use = bool(found.pop("active")) and key == active
        data, stored = found, True
    run = parse_run(data)
    return RunView(key, run.name, stored, in_use, version_of(data, in_use),
                   [_routing_view(i, r, data["routings"][i]) for i, r in enumerate(run.routings)], data)


def version_of(data: Mapping[str, Any], in_use: bool) -> str:
    body = orjson.dumps({"run": data, "in_use": in_use}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()[:16]


def _routing_view(index: int, routing: Routing, raw: Mapping[str, Any]) -> RoutingView:
    sort = ", ".join(f"{name.replace('_', ' ')} {'ascending' if d == 'asc' else 'descending'}"
                     for name, d in routing.sort)
    return RoutingView(index, routing.name, describe_filter(routing.filters) or ["every order"],
                       [", ".join(describe_filter(f)) or "every order" for f in routing.exclusions],
                       (sort + ", then " if sort else "") + "order id",
                       [RuleView(k, rule.name, _sends(rule), _unplaced(rule.action), rule_form(raw["rules"][k]))
                        for k, rule in enumerate(routing.rules)])


def _listing(values: frozenset[Any]) -> str:
    return ", ".join(str(v) for v in sorted(values))


def describe_filter(f: OrderFilter) -> list[str]:
    parts = []
    for label, values in (("in queue", f.queues), ("channel", f.channels), ("shipping method", f.shipping_methods),
                          ("priority", f.priorities), ("an item in category", f.categories),
                          ("origin facility in group", f.origin_facility_groups)):
        if values:
            parts.append(f"{label} {_listing(values)}")
    if f.min_priority is not None:
        parts.append(f"priority {f.min_priority} or more")
    if f.promise_date_within_days is not None:
        parts.append(f"promised within {f.promise_date_within_days} days")
    return parts


def _sends(rule: Rule) -> list[str]:
    which = (f"active facilities in group {_listing(rule.facility_groups_in)}" if rule.facility_groups_in
             else "any active facility")
    if rule.facility_groups_out:
        which += f" not in group {_listing(rule.facility_groups_out)}"
    where = [which]
    if rule.max_distance_km is not None:
        where.append(f"within {rule.max_distance_km:g} km")
    if rule.ship_from_store_only:
        where.append("stores only if they ship from store")
    if rule.respect_capacity:
        where.append("under their daily capacity")
    if rule.brokering_safety_stock:
        where.append(f"keeping {rule.brokering_safety_stock} of each SKU")
    first = ", then ".join(s.value.replace("_", " ") for s in rule.sorts) or "facility id"
    split = {"none": "the whole order from one facility", "ship_group": "each ship group whole at one facility",
             "allowed": "split over as few facilities as possible"}[rule.split.value]
    if rule.min_shipment_value is not None and rule.split.value != "none":
        split += f", each share worth at least {rule.min_shipment_value}"
    return ["; ".join(where), f"first: {first}", split]


def _unplaced(action: Action) -> str:
    if action.kind is ActionKind.NEXT_RULE:
        return "next rule"
    text = f"queue {action.queue}"
    if action.auto_cancel_days is not None:
        text += f", auto-cancel in {action.auto_cancel_days} days"
    if action.clear_auto_cancel:
        text += ", no auto-cancel"
    return text


def rule_form(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored rule as the edit form's fields (text, as typed)."""
    action = raw.get("action") or {}
    sorts = list(raw.get("sorts") or [])
    return {
        "name": raw.get("name", ""),
        "facility_groups_in": ", ".join(raw.get("facility_groups_in") or []),
        "facility_groups_out": ", ".join(raw.get("facility_groups_out") or []),
        "max_distance_km": "" if raw.get("max_distance_km") is None else f"{raw['max_distance_km']:g}",
        "brokering_safety_stock": str(raw.get("brokering_safety_stock") or 0),
        "respect_capacity": raw.get("respect_capacity", True) is not False,
        "ship_from_store_only": raw.get("ship_from_store_only", True) is not False,
        "sort1": sorts[0] if len(sorts) > 0 else "", "sort2": sorts[1] if len(sorts) > 1 else "",
        "sort3": sorts[2] if len(sorts) > 2 else "",
        "split": raw.get("split", "none"),
        "min_shipment_value": "" if raw.get("min_shipment_value") is None else str(raw["min_shipment_value"]),
        "action_kind": action.get("kind", "next_rule"),
        "action_queue": action.get("queue") or "",
        "auto_cancel_days": "" if action.get("auto_cancel_days") is None else str(action["auto_cancel_days"]),
        "clear_auto_cancel": bool(action.get("clear_auto_cancel")),
    }


# -- the edit form back to a rule -------------------------------------------------------------------------------

def _number(text: str) -> Any:
    """A number as typed; what is not one is passed on as text, for ``parse_run`` to name the problem."""
    text = text.strip()
    if not text:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _groups(text: str) -> list[str]:
    return [g.strip() for g in text.split(",") if g.strip()]


def rule_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's JSON form from the edit form's fields; ``parse_run`` validates it when it is saved."""
    rule: dict[str, Any] = {"name": form["name"].strip(),
                            "facility_groups_in": _groups(form["facility_groups_in"]),
                            "facility_groups_out": _groups(form["facility_groups_out"]),
                            "respect_capacity": bool(form["respect_capacity"]),
                            "ship_from_store_only": bool(form["ship_from_store_only"]),
                            "sorts": [s for s in (form["sort1"], form["sort2"], form["sort3"]) if s],
                            "split": form["split"]}
    for key in ("max_distance_km", "brokering_safety_stock"):
        value = _number(form[key])
        if value is not None:
            rule[key] = value
    if form["min_shipment_value"].strip():
        rule["min_shipment_value"] = form["min_shipment_value"].strip()
    action: dict[str, Any] = {"kind": form["action_kind"]}
    if form["action_queue"]:
        action["queue"] = form["action_queue"]
    if _number(form["auto_cancel_days"]) is not None:
        action["auto_cancel_days"] = _number(form["auto_cancel_days"])
    if form["clear_auto_cancel"]:
        action["clear_auto_cancel"] = True
    rule["action"] = action
    return rule


_RULE_PATH = re.compile(r"^routings\[(\d+)\](?:\.rules\[(\d+)\])?\.?(.*)$")


def problem_field(path: str) -> str:
    """The rule field a validation problem is about: ``routings[0].rules[1].action.queue`` → ``action.queue``."""
    found = _RULE_PATH.match(path)
    return found.group(3) if found and found.group(2) is not None else ""


def explain(data: Mapping[str, Any], path: str, problem: str) -> str:
    """A validation problem as a sentence that names the routing and rule (not their indexes)."""
    found = _RULE_PATH.match(path)
    if not found:
        return f"{path}: {problem}" if path else problem
    ri, ki, rest = int(found.group(1)), found.group(2), found.group(3)
    routings = data.get("routings") or []
    where = f'routing “{routings[ri].get("name")}”' if ri < len(routings) else f"routing {ri + 1}"
    if ki is not None:
        rules = routings[ri].get("rules") or [] if ri < len(routings) else []
        name = rules[int(ki)].get("name") if int(ki) < len(rules) else None
        where = f"rule “{name}” of {where}" if name else f"rule {int(ki) + 1} of {where}"
    return f"{where}: {rest + ' ' if rest else ''}{problem}"


# -- changing a run ---------------------------------------------------------------------------------------------

def _locked(conn: Connection, key: str, version: str) -> RunView:
    """The run as it is now, locked until the transaction ends; Stale when it is not the version shown."""
    if key != BUILT_IN and conn.dialect.name == "postgresql":  # SQLite's writer holds the database already
        conn.execute(select(routing_runs.c.id).where(routing_runs.c.name == key).with_for_update()).first()
    view = load(conn, key)
    if view is None:
        raise LookupError(f"no routing run {key}; it may have been renamed or replaced")
    if view.version != version:
        raise Stale(f"routing run {view.name} was changed by someone else since this page was shown; "
                    "reload it and make your change again")
    return view


def _free_name(conn: Connection, base: str) -> str:
    taken = {r.name for r in conn.execute(select(routing_runs.c.name))}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} {n}"
    return name


def _save(conn: Connection, view: RunView, data: dict[str, Any], *, in_use: bool | None = None) -> str:
    """Save the changed run; a change to the built-in default is saved as a stored run of its own.
    Returns the stored run's name."""
    if not view.stored:
        data = data | {"name": _free_name(conn, str(data["name"]))}
    routing_store.save_run(conn, data, active=view.in_use if in_use is None else in_use)
    return str(data["name"])


def save_rule(conn: Connection, key: str, version: str, routing: int, rule: int,
              new_rule: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Replace one rule; returns the stored run's name and the run as saved. Raises Stale, LookupError,
    or RoutingConfigError (from ``parse_run``) naming the field."""
    view = _locked(conn, key, version)
    data = copy.deepcopy(view.data)
    try:
        data["routings"][routing]["rules"][rule] = new_rule
    except IndexError:
        raise LookupError(f"routing run {view.name} has no rule {rule + 1} in routing {routing + 1}") from None
    return _save(conn, view, data), data


def move(conn: Connection, key: str, version: str, routing: int, rule: int | None, step: int) -> tuple[str, str]:
    """Move a rule (or, with ``rule`` None, a routing) one place up (-1) or down (+1); returns the
    stored run's name and what moved."""
    view = _locked(conn, key, version)
    data = copy.deepcopy(view.data)
    if not 0 <= routing < len(data["routings"]):
        raise LookupError(f"routing run {view.name} has no routing {routing + 1}")
    items = data["routings"] if rule is None else data["routings"][routing]["rules"]
    at = routing if rule is None else rule
    if not 0 <= at < len(items):
        raise LookupError(f"routing run {view.name} has no rule {at + 1} in routing {routing + 1}")
    to = at + step
    if not 0 <= to < len(items):
        raise ValueError(f'“{items[at]["name"]}” is already {"first" if step < 0 else "last"}')
    items[at], items[to] = items[to], items[at]
    return _save(conn, view, data), str(items[to]["name"])


def set_in_use(conn: Connection, key: str, version: str, in_use: bool) -> str:
    """Make a run the one brokering uses, or stop using it (brokering falls back to the built-in
    default); returns the name of the run in use afterwards, or BUILT_IN."""
    view = _locked(conn, key, version)
    if view.in_use == in_use:
        return routing_store.active_name(conn) or BUILT_IN
    if view.stored:
        routing_store.save_run(conn, view.data, active=in_use)
    elif in_use:  # the built-in default: stop using the stored run in use
        current = routing_store.active_name(conn)
        data = routing_store.get_run(conn, current) if current else None
        if data is not None:
            data.pop("active", None)
            routing_store.save_run(conn, data, active=False)
    else:
        raise ValueError("the built-in default is used whenever no stored run is; "
                         "to stop using it, use a stored run")
    return routing_store.active_name(conn) or BUILT_IN


# -- dry run ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitFate:
    unit: int
    sku: str
    queue: str
    goes_to: str | None  # facility code
    moves_to: str | None  # queue


@dataclass(frozen=True)
class DryRun:
    order: dict[str, Any]  # order_queries.get_order
    run: str  # the run brokering uses
    waiting: int  # units waiting for a facility
    routing: str | None
    rule: str | None
    fates: list[UnitFate]
    explanation: list[str]
    selected: bool  # a routing selected the order


def find_order(conn: Connection, ref: str) -> int:
    """An order by orderhub id, Shopify id or name, as the API and the CLI find it, also by its
    number without ``#``; LookupError saying what to give when none or several match."""
    ref = ref.strip()
    if not ref:
        raise LookupError("give an order number (#1001), its Shopify id or its orderhub id")
    found = order_queries.find_order_id(conn, ref)
    if found is not None:
        return found
    many = order_queries.count_matching(conn, ref)
    if many > 1:
        raise LookupError(f"{many} orders (in different shops) are named or numbered {ref}; "
                          "give the orderhub id instead")
    raise LookupError(f"no order {ref}: give an order number (#1001), its Shopify id or its orderhub id")


def dry_run(conn: Connection, order_id: int) -> DryRun:
    """Where the run in use would send the order's waiting units now, and why; changes nothing."""
    order = order_queries.get_order(conn, order_id)
    assert order is not None
    waiting = brokering.load_orders(conn, [order_id], statuses=("created", "approved"))
    units = {u.id: (u.sku, o.queue) for o in waiting for u in o.units}
    decisions = brokering.preview(conn, [order_id])["decisions"]
    decision = decisions[0] if decisions else None
    allocated = {a["unit"]: str(a["facility"]) for a in decision["allocations"]} if decision else {}
    moved = {m["unit"]: m["queue"] for m in decision["moves"]} if decision else {}
    fates = [UnitFate(uid, sku, queue, allocated.get(uid), moved.get(uid)) for uid, (sku, queue) in units.items()]
    name = routing_store.active_name(conn)
    return DryRun(order, name or f"{brokering.DEFAULT_RUN['name']} (built in)", len(units),
                  decision["routing"] if decision else None, decision["rule"] if decision else None, fates,
                  list(decision["explanation"]) if decision else [], decision is not None)


def waiting_orders(conn: Connection, limit: int = 15) -> list[tuple[int, str]]:
    """Orders with units waiting in a queue for the routing run, oldest first, to dry-run."""
    ids = routing_run.waiting_orders(conn, after_id=0, limit=limit)
    if not ids:
        return []
    names = {r.id: r.name for r in conn.execute(select(orders.c.id, orders.c.name).where(orders.c.id.in_(ids)))}
    return [(i, names.get(i) or str(i)) for i in ids]
