"""Amazon's ORDER_CHANGE notifications, as EventBridge delivers them to ``POST /webhooks/eventbridge``.

The envelope's ``source`` is ``aws.partner/sellingpartnerapi.amazon.com/<aws account>/<application>``;
its ``detail`` is the notification (``NotificationMetadata.NotificationId``,
``Payload.OrderChangeNotification`` with ``SellerId``, ``AmazonOrderId`` and ``Summary.MarketplaceId``).
It is stored for the active Amazon account with that seller id and marketplace, under the topic
``amazon/notification`` and the identity of its notification id (a redelivery is one record). The
processor keeps the order id for the import job (a :class:`JobSignal` under :data:`NOTIFIED_JOB`),
which reads that order at once with getOrder rather than waiting for getOrders to show the change.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from orderhub.adapters.amazon.orders import NOTIFICATION_TOPIC
from orderhub.adapters.fields import Fields
from orderhub.adapters.store import accounts
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import JobSignal

SOURCE_PREFIX = "aws.partner/sellingpartnerapi.amazon.com"
IMPORT_JOB = "import-amazon-orders"  # reads the notified orders at once, and polls
NOTIFIED_JOB = "amazon-notified-orders"  # job_state rows (per account) of orders Amazon said changed
KEY_PREFIX = "order:"


class NotificationRefused(Exception):
    def __init__(self, status: int, message: str, outcome: str) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome


def is_amazon(envelope: Any) -> bool:
    return isinstance(envelope, dict) and str(envelope.get("source", "")).startswith(SOURCE_PREFIX)


def _read(envelope: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    detail = Fields(envelope.get("detail"), "detail")
    notification_id = detail.obj("NotificationMetadata", required=True).str("NotificationId", required=True)  # type: ignore[union-attr]
    change = detail.obj("Payload", required=True).obj("OrderChangeNotification", required=True)  # type: ignore[union-attr]
    assert change is not None and notification_id is not None
    seller = change.str("SellerId", required=True) or ""
    change.str("AmazonOrderId", required=True)
    summary = change.obj("Summary")
    marketplace = (summary.str("MarketplaceId") if summary else None) or ""
    return notification_id, seller, marketplace, detail.data


def _account_for(db: Database, seller: str, marketplace: str) -> int | None:
    with db.read() as conn:
        for account in accounts.all_accounts(conn, "amazon"):
            if account.status == "active" and account.settings.get("seller_id") == seller and \
                    (not marketplace or account.settings.get("marketplace_id") == marketplace):
                return account.id
    return None


async def inbox_entry(db: Database, envelope: dict[str, Any]) -> InboxEntry:
    """The inbox record of an ORDER_CHANGE event; raises :class:`NotificationRefused` with the answer to give."""
    try:
        notification_id, seller, marketplace, detail = _read(envelope)
    except InvalidRecord as exc:
        raise NotificationRefused(400, f"expected an Amazon ORDER_CHANGE notification: {exc}", "malformed") from None
    account_id = await asyncio.to_thread(_account_for, db, seller, marketplace)
    if account_id is None:
        raise NotificationRefused(401, "no active Amazon account for this seller and marketplace", "unknown_shop")
    return InboxEntry(shop_id=account_id, source="eventbridge", topic=NOTIFICATION_TOPIC,
                      identity=f"{NOTIFICATION_TOPIC}:{notification_id}"[:300], payload=orjson.dumps(detail).decode(),
                      event_id=str(envelope.get("id") or "")[:100] or None)


def signal(payload: Any) -> JobSignal:
    """What the processor keeps of a notification: the order to read, for the import job."""
    change = Fields(payload).obj("Payload", required=True).obj("OrderChangeNotification", required=True)  # type: ignore[union-attr]
    assert change is not None
    order_id = change.str("AmazonOrderId", required=True, max_len=64) or ""
    trigger = change.obj("OrderChangeTrigger")
    return JobSignal(NOTIFIED_JOB, f"{KEY_PREFIX}{order_id}",
                     {"order_id": order_id, "change": change.str("OrderChangeType", max_len=64),
                      "at": trigger.str("TimeOfOrderChange", max_len=40) if trigger else None},
                     run=IMPORT_JOB)
