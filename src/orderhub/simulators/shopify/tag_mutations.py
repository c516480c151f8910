"""``tagsAdd``, ``tagsRemove`` and ``orderUpdate``: tags and the note of orders, tags of products.

As Shopify documents them: ``tags`` is a list, each element possibly a comma-separated list
(``["a", "b, c"]``); tags are trimmed, and one differing only in case from a tag the record has
is that tag (``VIP`` is not added beside ``vip``, and removes it). An order tag holds at most
40 characters, a product tag 255, and a product at most 250 tags; a tag over the limit fails the
mutation with a user error on ``tags``. An id of a record the shop does not have (or of a kind
that has no tags) is a user error on ``id``. ``orderUpdate(input:)`` overwrites what it is given
(``note``, ``tags``, ``email``). A change gives the record a new ``updated_at`` and sends
``orders/updated`` or ``products/update``; a mutation that changes nothing sends nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from orderhub.simulators.shopify.changes import (
    ORDER_TOPIC,
    PRODUCT_TOPIC,
    Event,
    fire,
    join_tags,
    snapshot,
    split_tags,
    touch,
)
from orderhub.simulators.shopify.product_nodes import shop_product_node
from orderhub.simulators.shopify.resolvers import RequestContext, order_node, parse_gid

ORDER_TAG_LENGTH = 40
PRODUCT_TAG_LENGTH = 255
PRODUCT_TAGS = 250


def normalise(tags: list[str]) -> list[str]:
    """The tags given, split at commas, trimmed, without blanks or repeats (ignoring case)."""
    out: list[str] = []
    for element in tags:
        for tag in split_tags(element):
            if tag.casefold() not in {t.casefold() for t in out}:
                out.append(tag)
    return out


def added(current: list[str], tags: list[str]) -> list[str]:
    known = {t.casefold() for t in current}
    return current + [t for t in tags if t.casefold() not in known]


def removed(current: list[str], tags: list[str]) -> list[str]:
    gone = {t.casefold() for t in tags}
    return [t for t in current if t.casefold() not in gone]


def _error(field: str, message: str) -> dict[str, Any]:
    return {"field": [field], "message": message}


def _too_long(tags: list[str], limit: int) -> list[dict[str, Any]]:
    return [_error("tags", f"Tag '{t}' is too long (maximum is {limit} characters)") for t in tags if len(t) > limit]


def _order_result(ctx: RequestContext, rest: dict[str, Any]) -> dict[str, Any]:
    return {**order_node(copy.deepcopy(rest), ctx.shop.sales_channels.get(rest["id"])), "__typename": "Order"}


def _tags_change(info: GraphQLResolveInfo, id: str, tags: list[str],
                 change: Callable[[list[str], list[str]], list[str]]) -> dict[str, Any]:
    ctx: RequestContext = info.context
    parts = id.split("/")
    kind = parts[3] if id.startswith("gid://shopify/") and len(parts) == 5 else ""
    number = parse_gid(id, kind or "Node")
    wanted = normalise(tags)
    events: list[Event] = []
    with ctx.store.lock:
        record = {"Order": ctx.shop.orders, "Product": ctx.shop.products}.get(kind, {}).get(number)
        if record is None:
            return {"node": None, "userErrors": [_error("id", f"{kind or 'Resource'} not found: {id}")]}
        errors = _too_long(wanted, ORDER_TAG_LENGTH if kind == "Order" else PRODUCT_TAG_LENGTH)
        current = split_tags(record.get("tags"))
        after = change(current, wanted)
        if kind == "Product" and len(after) > PRODUCT_TAGS:
            errors.append(_error("tags", f"A product can have at most {PRODUCT_TAGS} tags"))
        if errors:
            return {"node": None, "userErrors": errors}
        if after != current:
            record["tags"] = join_tags(after)
            touch(ctx.store, ctx.shop, record)
            events.append(snapshot(ORDER_TOPIC if kind == "Order" else PRODUCT_TOPIC, record))
        node = _order_result(ctx, record) if kind == "Order" else shop_product_node(ctx.store, ctx.shop, record)
    fire(ctx, events)
    return {"node": node, "userErrors": []}


def _tags_add(info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
    return _tags_change(info, id, tags, added)


def _tags_remove(info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
    return _tags_change(info, id, tags, removed)


def _order_update(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: RequestContext = info.context
    number = parse_gid(input["id"], "Order")
    changes: dict[str, Any] = {key: input[key] for key in ("note", "email") if key in input}
    errors: list[dict[str, Any]] = []
    if input.get("tags") is not None:
        tags = normalise(input["tags"])
        errors = [dict(e, field=["input", "tags"]) for e in _too_long(tags, ORDER_TAG_LENGTH)]
        changes["tags"] = join_tags(tags)
    if errors:
        return {"order": None, "userErrors": errors}
    events: list[Event] = []
    with ctx.store.lock:
        order = ctx.shop.orders.get(number)
        if order is None:
            return {"order": None, "userErrors": [{"field": ["input", "id"], "message": "Order does not exist"}]}
        different = {key: value for key, value in changes.items() if (order.get(key) or None) != (value or None)}
        if different:
            order.update(different)
            touch(ctx.store, ctx.shop, order)
            events.append(snapshot(ORDER_TOPIC, order))
        node = _order_result(ctx, order)
    fire(ctx, events)
    return {"order": node, "userErrors": []}


TAG_MUTATIONS: dict[str, Any] = {"tagsAdd": _tags_add, "tagsRemove": _tags_remove, "orderUpdate": _order_update}
