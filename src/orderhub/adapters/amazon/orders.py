"""Reading Amazon orders: getOrders pages by last update, getOrder, and each order's items (getOrderItems).

An order's inbox record is the order as Amazon answered it with ``OrderItems`` added from the order's
own getOrderItems pages; its identity is ``amazon/order:<order id>@<LastUpdateDate>``, so the same
version read by a poll and after a notification is one record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import orjson

from orderhub.adapters.amazon.client import AmazonRefused, SpApiClient
from orderhub.adapters.amazon.translate import changed_at
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.domain.errors import InvalidRecord

ORDER_TOPIC = "amazon/order"
NOTIFICATION_TOPIC = "amazon/notification"
ORDERS_PATH = "/orders/v0/orders"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_identity(order_id: str, updated: datetime) -> str:
    return f"{ORDER_TOPIC}:{order_id}@{iso(updated)}"


def _updated(payload: dict[str, Any]) -> datetime | None:
    try:
        return changed_at(payload)
    except InvalidRecord:
        return None


def version_identity(payload: dict[str, Any]) -> str:
    """``amazon/order:<order id>@<LastUpdateDate>``; an order without a readable LastUpdateDate (the processor
    will refuse it, naming the field) is told apart by its content."""
    order_id = str(payload.get("AmazonOrderId"))[:64]
    updated = _updated(payload)
    if updated is not None:
        return order_identity(order_id, updated)
    return f"{ORDER_TOPIC}:{order_id}#" + hashlib.sha256(orjson.dumps(payload)).hexdigest()[:32]


def inbox_entry(account_id: int, payload: dict[str, Any]) -> InboxEntry:
    """An order with its items as an inbox record (``source="poll"``)."""
    return InboxEntry(shop_id=account_id, source="poll", topic=ORDER_TOPIC, identity=version_identity(payload),
                      payload=orjson.dumps(payload).decode(), triggered_at=_updated(payload))


def order_items(client: SpApiClient, order_id: str) -> list[dict[str, Any]]:
    """Every item of the order, page after page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    path = f"{ORDERS_PATH}/{order_id}/orderItems"
    while True:
        page = (client.call("getOrderItems", "GET", path, params=params, restricted=True) or {}).get("payload") or {}
        items.extend(page.get("OrderItems") or [])
        token = page.get("NextToken")
        if not token:
            return items
        params = {"NextToken": token}


def with_items(client: SpApiClient, order: dict[str, Any]) -> dict[str, Any]:
    """The order with its items. An order whose items Amazon will not give (a bad id) is kept as it is: the
    processor then refuses it, naming what is missing, rather than the poll stopping at it."""
    order_id = order.get("AmazonOrderId")
    if not isinstance(order_id, str) or not order_id:
        return order
    try:
        return dict(order, OrderItems=order_items(client, order_id))
    except AmazonRefused:
        return order


def get_order(client: SpApiClient, order_id: str) -> dict[str, Any] | None:
    """The order as it is now, with its items; None when Amazon does not know it."""
    try:
        body = client.call("getOrder", "GET", f"{ORDERS_PATH}/{order_id}", restricted=True) or {}
    except AmazonRefused as exc:
        if exc.status == 404:
            return None
        raise
    return with_items(client, body["payload"])


class OrderPages:
    """getOrders by ``LastUpdatedAfter``, page by page. After the last page, :attr:`updated_before` is the
    ``LastUpdatedBefore`` Amazon answered: the time up to which it showed every change (the next watermark)."""

    def __init__(self, client: SpApiClient, updated_after: datetime, page_size: int = 100) -> None:
        self.client = client
        self.updated_after = updated_after
        self.page_size = page_size
        self.updated_before: datetime | None = None

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {"MarketplaceIds": self.client.marketplace_id,
                                  "LastUpdatedAfter": iso(self.updated_after), "MaxResultsPerPage": self.page_size}
        while True:
            body = self.client.call("getOrders", "GET", ORDERS_PATH, params=params, restricted=True) or {}
            page = body.get("payload") or {}
            before = page.get("LastUpdatedBefore")
            if isinstance(before, str):
                moment = datetime.fromisoformat(before.replace("Z", "+00:00"))
                self.updated_before = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
            yield list(page.get("Orders") or [])
            token = page.get("NextToken")
            if not token:
                return
            params = {"MarketplaceIds": self.client.marketplace_id, "NextToken": token}
