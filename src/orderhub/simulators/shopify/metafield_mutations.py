"""``metafieldsSet`` and ``metafieldsDelete`` on products and product variants, as Shopify documents them.

``metafieldsSet(metafields:)`` sets at most 25 metafields (creating or updating each); it is
atomic: one bad input and nothing is stored, the payload's ``metafields`` is null and each problem
is a ``MetafieldsSetUserError`` with its code and field path (``["metafields", "3", "value"]``).
``metafieldsDelete(metafields:)`` deletes by owner, namespace and key, answering null for one
that does not exist. A changed variant and its product get a new ``updated_at`` and the product's
``products/update`` webhook goes out once per product; setting a value a metafield already has
changes nothing and sends nothing. Each mutation costs 10 points, as every mutation does.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from orderhub.simulators.shopify.changes import PRODUCT_TOPIC, Event, fire, snapshot, touch
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.metafields import (
    APP_NAMESPACE,
    TYPES,
    Owner,
    find_owner,
    metafield_node,
    name_problem,
)
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid
from orderhub.simulators.shopify.store import Shop, Store

MAX_SET = 25


def _error(code: str, path: list[str], message: str) -> dict[str, Any]:
    return {"code": code, "field": path, "message": message, "elementIndex": None}


def _kind(owner_id: str) -> str:
    parts = owner_id.split("/")
    return parts[3] if owner_id.startswith("gid://shopify/") and len(parts) == 5 else ""


def _check(shop: Shop, index: int, given: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The problems of one input, or what to store: owner, product, variant, namespace, key, type, value."""
    at = ["metafields", str(index)]
    errors: list[dict[str, Any]] = []
    kind = _kind(given["ownerId"])
    number = parse_gid(given["ownerId"], kind or "Node")  # a malformed id fails the request, as on Shopify
    found = find_owner(shop, kind, number)
    if found is None:
        errors.append(_error("INVALID", [*at, "ownerId"], "Owner does not exist."))
    namespace = given.get("namespace") or APP_NAMESPACE
    key = given["key"]
    for name, value, low, high in (("namespace", namespace, 3, 255), ("key", key, 2, 64)):
        problem = name_problem(value, low, high)
        if problem is not None:
            errors.append(_error(problem[0], [*at, name], f"{name.capitalize()} {problem[1]}."))
    existing = shop.metafields.get((kind, number), {}).get((namespace, key))
    kind_of_value = given.get("type") or (existing or {}).get("type")
    value = given["value"]
    if not kind_of_value:
        errors.append(_error("BLANK", [*at, "type"], "Type can't be blank."))
    elif kind_of_value not in TYPES:
        errors.append(_error("INVALID_TYPE", [*at, "type"],
                             f"Type '{kind_of_value}' is not a valid type; expected one of {', '.join(TYPES)}."))
    elif value == "":
        errors.append(_error("BLANK", [*at, "value"], "Value can't be blank."))
    else:
        problem_text = TYPES[kind_of_value](value)
        if problem_text is not None:
            errors.append(_error("INVALID_VALUE", [*at, "value"], problem_text))
    if errors or found is None:
        return errors, None
    product, variant = found
    return [], {"owner": (kind, number), "product": product, "variant": variant, "namespace": namespace,
                "key": key, "type": kind_of_value, "value": value}


def _touch_owners(store: Store, shop: Shop, changed: list[tuple[dict[str, Any], dict[str, Any] | None]]
                  ) -> list[Event]:
    """New ``updated_at`` for each changed variant and product; one products/update per product."""
    products: dict[int, dict[str, Any]] = {}
    variants: dict[int, dict[str, Any]] = {}
    for product, variant in changed:
        products[product["id"]] = product
        if variant is not None:
            variants[variant["id"]] = variant
    for variant in variants.values():
        touch(store, shop, variant)
    for product in products.values():
        touch(store, shop, product)
    return [snapshot(PRODUCT_TOPIC, p) for p in products.values()]


def _store(store: Store, shop: Shop, plan: dict[str, Any], stamp: str) -> tuple[dict[str, Any], bool]:
    """Create or update one metafield; returns it and whether it changed."""
    owned = shop.metafields.setdefault(plan["owner"], {})
    name = (plan["namespace"], plan["key"])
    record = owned.get(name)
    if record is not None and (record["type"], record["value"]) == (plan["type"], plan["value"]):
        return record, False
    if record is None:
        number = store.next_id("metafield")
        record = {"id": number, "namespace": plan["namespace"], "key": plan["key"], "owner_type": plan["owner"][0],
                  "owner_id": plan["owner"][1], "created_at": stamp}
        owned[name] = record
    record.update(type=plan["type"], value=plan["value"], updated_at=stamp)
    return record, True


def _metafields_set(info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> dict[str, Any]:
    ctx: RequestContext = info.context
    if len(metafields) > MAX_SET:
        return {"metafields": None, "userErrors": [_error(
            "LESS_THAN_OR_EQUAL_TO", ["metafields"], f"Exceeded the maximum metafields input limit of {MAX_SET}.")]}
    with ctx.store.lock:
        checked = [_check(ctx.shop, i, given) for i, given in enumerate(metafields)]
        errors = [e for problems, _plan in checked for e in problems]
        if errors:
            return {"metafields": None, "userErrors": errors}
        stamp = rest_time(ctx.store.clock.now(), ctx.shop.tz)
        nodes, changed = [], []
        for _problems, plan in checked:
            assert plan is not None
            record, did_change = _store(ctx.store, ctx.shop, plan, stamp)
            nodes.append(metafield_node(record))
            if did_change:
                changed.append((plan["product"], plan["variant"]))
        events = _touch_owners(ctx.store, ctx.shop, changed)
    fire(ctx, events)
    return {"metafields": nodes, "userErrors": []}


def _metafields_delete(info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> dict[str, Any]:
    ctx: RequestContext = info.context
    owners: list[Owner] = []
    for given in metafields:  # every id is checked before anything is deleted
        kind = _kind(given["ownerId"])
        owners.append((kind, parse_gid(given["ownerId"], kind or "Node")))
    with ctx.store.lock:
        deleted: list[dict[str, Any] | None] = []
        changed = []
        for owner, given in zip(owners, metafields, strict=True):
            found = find_owner(ctx.shop, *owner)
            owned = ctx.shop.metafields.get(owner, {})
            if found is None or owned.pop((given["namespace"], given["key"]), None) is None:
                deleted.append(None)
                continue
            deleted.append({"ownerId": given["ownerId"], "namespace": given["namespace"], "key": given["key"]})
            changed.append(found)
        events = _touch_owners(ctx.store, ctx.shop, changed)
    fire(ctx, events)
    return {"deletedMetafields": deleted, "userErrors": []}


METAFIELD_MUTATIONS: dict[str, Any] = {"metafieldsSet": _metafields_set, "metafieldsDelete": _metafields_delete}
