"""Amazon (Selling Partner API) as a channel: its inbox topics read as canonical records, and the stock and
order operations of one account (see domain/channels.py).

Topics: ``amazon/order`` (an order as getOrders/getOrder answered it, with its ``OrderItems``) and
``amazon/notification`` (an ORDER_CHANGE notification: a signal for the import job to read the order).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from orderhub.adapters.amazon import notifications, translate
from orderhub.adapters.amazon.client import SpApiClient
from orderhub.adapters.amazon.operations import AmazonOrders
from orderhub.adapters.amazon.orders import NOTIFICATION_TOPIC, ORDER_TOPIC
from orderhub.adapters.amazon.stock import AmazonStock
from orderhub.adapters.store.accounts import Account
from orderhub.domain.channels import Inbound, UnknownTopic

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

KIND = "amazon"


class AmazonTranslator:
    kind = KIND

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        if topic == ORDER_TOPIC:
            return translate.order(payload)
        if topic == NOTIFICATION_TOPIC:
            return notifications.signal(payload)
        raise UnknownTopic(f"Amazon topic {topic!r} is not one orderhub reads")

    def describe(self, topic: str, payload: Any) -> str | None:
        if topic == ORDER_TOPIC:
            return translate.describe(payload)
        return None


TRANSLATOR = AmazonTranslator()


def client(account: Account, hub: Hub, **options: Any) -> SpApiClient:
    if account.kind != KIND:
        raise ValueError(f"{account.kind} account {account.name} is not an Amazon account")
    return SpApiClient(account, hub.limiter, **options)


def stock_channel(account: Account, hub: Hub, **options: Any) -> AmazonStock:
    """The account's :class:`StockChannel`. ``options`` go to the client (e.g. ``sleep``)."""
    return AmazonStock(client(account, hub, **options))


# What Amazon shows, read back by the same adapter (adapters/channels.py: stock_reader).
stock_reader = stock_channel


# Shipments, cancellations and refunds all go through channel operations (adapters/channels.py).
OPERATIONS = frozenset({"ship", "cancel", "refund"})


def order_channel(account: Account, hub: Hub, **options: Any) -> AmazonOrders:
    """The account's :class:`OrderChannel`."""
    return AmazonOrders(client(account, hub, **options))
