"""What every GraphQL mutation that changes an order or a product does afterwards, as Shopify does it.

A changed record gets a new ``updated_at`` (strictly later than its previous version) and its
webhook (``orders/updated``, ``products/update``) carries a snapshot of that version. A mutation
that changes nothing (a tag the record already has, the note it already has) touches nothing
and sends no webhook.
"""

from __future__ import annotations

import copy
from typing import Any

from graphql import GraphQLError

from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.resolvers import RequestContext
from orderhub.simulators.shopify.store import Shop, Store

Event = tuple[str, dict[str, Any]]
ORDER_TOPIC = "orders/updated"
PRODUCT_TOPIC = "products/update"


def touch(store: Store, shop: Shop, record: dict[str, Any]) -> str:
    """Give ``record`` a new ``updated_at`` (REST time in the shop's zone); returns it."""
    stamp = rest_time(store.clock.after(record.get("updated_at")), shop.tz)
    record["updated_at"] = stamp
    return stamp


def snapshot(topic: str, record: dict[str, Any]) -> Event:
    return topic, copy.deepcopy(record)


def fire(ctx: RequestContext, events: list[Event]) -> None:
    """Send the webhooks of a mutation's changes (after the store's lock is released)."""
    if not events:
        return
    if ctx.emit is None:
        raise GraphQLError("this simulator cannot send webhooks")
    ctx.emit(ctx.shop, events)


def split_tags(text: str | None) -> list[str]:
    """The tags of a REST record (``"a, b"``), in order."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def join_tags(tags: list[str]) -> str:
    return ", ".join(tags)
