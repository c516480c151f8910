"""TikTok Shop as a channel: its inbox records read as canonical ones (domain/channels.py), and the
account's stock and order operations.

Topics:

- ``tiktok/order``: an order as ``Get Order Detail`` returns it (polled, or fetched after a notification),
  under the identity (order id, ``update_time``) so each version is one record however it came;
- ``tiktok/notification``: a webhook as TikTok sent it. Reading it needs no network: it becomes a
  :class:`JobSignal` for the ``fetch-tiktok-orders`` job (services/jobs/tiktok_jobs.py), which fetches the
  order and stores it as a ``tiktok/order`` record. A cancellation's notification (type 11,
  CANCELLATION_STATUS_CHANGE) signals ``decide-tiktok-cancellations`` instead
  (services/jobs/tiktok_cancellations.py), which fetches the order the same way and then answers the
  buyer's pending requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from orderhub.adapters.fields import Fields
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.tiktok import translate
from orderhub.adapters.tiktok.client import TikTokClient
from orderhub.adapters.tiktok.operations import TikTokOrders
from orderhub.adapters.tiktok.stock import TikTokStock
from orderhub.domain.channels import Inbound, UnknownTopic
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import JobSignal

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

ORDER_TOPIC = "tiktok/order"
NOTIFICATION_TOPIC = "tiktok/notification"
FETCH_JOB = "fetch-tiktok-orders"
DECIDE_JOB = "decide-tiktok-cancellations"
CANCELLATION_STATUS_CHANGE = 11  # the notification type of TikTok's cancellation webhook


def order_identity(order_id: str, update_time: Any) -> str:
    """One order version, whether polled or fetched after a notification."""
    return f"{ORDER_TOPIC}:{order_id}@{update_time}"


def notification_signal(payload: Any) -> JobSignal:
    f = Fields(payload)
    data = f.obj("data", required=True)
    assert data is not None
    order_id = data.str("order_id", required=True, max_len=40) or ""
    if not order_id.isdigit():
        raise InvalidRecord("data.order_id", f"not a TikTok order id: {order_id[:40]!r}")
    value = {"notification_id": f.str("tts_notification_id", max_len=40), "type": f.data.get("type"),
             "update_time": data.data.get("update_time")}
    if f.data.get("type") == CANCELLATION_STATUS_CHANGE:
        # A buyer asked to cancel, or a request changed: its job fetches the order and answers at once.
        value |= {"cancel_id": data.str("cancel_id", max_len=40),
                  "cancel_status": data.str("cancel_status", max_len=64)}
        return JobSignal(DECIDE_JOB, order_id, value, run=DECIDE_JOB)
    return JobSignal(FETCH_JOB, order_id, value, run=FETCH_JOB)


class TikTokTranslator:
    kind = "tiktok"

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        if topic == ORDER_TOPIC:
            return translate.order(payload)
        if topic == NOTIFICATION_TOPIC:
            return notification_signal(payload)
        raise UnknownTopic(f"TikTok Shop topic {topic!r} is not one orderhub reads")

    def describe(self, topic: str, payload: Any) -> str | None:
        if not isinstance(payload, dict):
            return None
        if topic == ORDER_TOPIC:
            return f"{topic} TikTok order {payload.get('id')} ({payload.get('status')})"
        if topic == NOTIFICATION_TOPIC:
            data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
            return (f"{topic} {payload.get('tts_notification_id')} for TikTok order "
                    f"{data.get('order_id') if data else None}")
        return None


TRANSLATOR = TikTokTranslator()


def client_for(account: Account, hub: Hub | None, **options: Any) -> TikTokClient:
    """A client whose rate limits are shared through the hub's database (none without a hub)."""
    return TikTokClient(account, limiter=SharedRateLimiter(hub.db) if hub is not None else None, **options)


def stock_channel(account: Account, hub: Hub | None, **options: Any) -> TikTokStock:
    return TikTokStock(client_for(account, hub, **options))


# What TikTok shows, read back by the same adapter (adapters/channels.py: stock_reader).
stock_reader = stock_channel


# Shipments, cancellations and refunds all go through channel operations (adapters/channels.py).
OPERATIONS = frozenset({"ship", "cancel", "refund"})


def order_channel(account: Account, hub: Hub | None, **options: Any) -> TikTokOrders:
    return TikTokOrders(client_for(account, hub, **options))
