"""Walmart as a channel (see domain/channels.py): its inbox records read as canonical orders, its stock
channel and its order operations.

The import job (services/jobs/walmart_jobs.py) stores each version of a purchase order under the topic
``walmart/order``, with the identity ``order:<purchaseOrderId>@<version, epoch ms>`` (:func:`identity`), so
a poll of the released orders and a poll of the changed orders that see one version store it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.walmart import client as walmart_client
from orderhub.adapters.walmart import orders, translate
from orderhub.adapters.walmart.inventory import WalmartStock
from orderhub.domain.channels import CancelNotice, Inbound, RefundNotice, ShipmentNotice, UnknownTopic
from orderhub.domain.errors import InvalidRecord

ORDER_TOPIC = "walmart/order"
TOPICS = (ORDER_TOPIC,)


def identity(payload: Any) -> str:
    """The inbox identity of one version of an order; a body without an id or a time is known by its digest
    (it is stored all the same, so the processor's error log names what is wrong with it)."""
    order = translate.unwrap(payload)
    try:
        po = translate.Fields(order).str("purchaseOrderId", required=True, max_len=64)
        return f"order:{po}@{int(translate.version(order).timestamp() * 1000)}"
    except InvalidRecord:
        return "body:" + hashlib.sha256(orjson.dumps(payload)).hexdigest()


class WalmartTranslator:
    kind = translate.KIND

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        if topic != ORDER_TOPIC:
            raise UnknownTopic(f"Walmart topic {topic!r} is not one orderhub reads; it reads {', '.join(TOPICS)}")
        return translate.order(payload)

    def describe(self, topic: str, payload: Any) -> str | None:
        order = translate.unwrap(payload)
        if isinstance(order, dict) and topic == ORDER_TOPIC:
            return f"{topic} purchase order {str(order.get('purchaseOrderId'))[:64]}"
        return None


TRANSLATOR = WalmartTranslator()


def client_for(account: Account, hub: Any, *, timeout: float | None = None) -> walmart_client.WalmartClient:
    """The account's API client, its rate limits shared through the hub's database."""
    return walmart_client.for_account(account, SharedRateLimiter(hub.db), timeout=timeout)


def stock_channel(account: Account, hub: Any) -> WalmartStock:
    return WalmartStock(client_for(account, hub))


# What Walmart shows, read back by the same adapter (adapters/channels.py: stock_reader).
stock_reader = stock_channel


class WalmartOrders:
    """The OrderChannel of one Walmart account (each operation idempotent: see orders.py)."""

    def __init__(self, client: walmart_client.WalmartClient) -> None:
        self.client = client

    def acknowledge(self, order_ref: str) -> None:
        orders.acknowledge(self.client, order_ref)

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        orders.ship(self.client, notice)

    def cancel_lines(self, notice: CancelNotice) -> None:
        orders.cancel(self.client, notice)

    def refund(self, notice: RefundNotice) -> None:
        orders.refund(self.client, notice)


# Shipments, cancellations and refunds all go through channel operations (adapters/channels.py).
OPERATIONS = frozenset({"ship", "cancel", "refund"})


def order_channel(account: Account, hub: Any) -> WalmartOrders:
    return WalmartOrders(client_for(account, hub))
