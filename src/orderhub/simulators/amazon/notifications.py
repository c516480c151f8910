"""ORDER_CHANGE notifications, delivered as Amazon EventBridge delivers an event to an API destination.

The notification follows ``samples/order_change_notification_schema.json`` (``NotificationVersion``,
``NotificationType``, ``PayloadVersion``, ``EventTime``, ``Payload.OrderChangeNotification``,
``NotificationMetadata``). It travels in EventBridge's event envelope (``version``, ``id``,
``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``, ``detail``), POSTed
with the ``Authorization`` value the destination was given (an API destination's API key or
bearer). As EventBridge does, a delivery answered 429 or 5xx, or not answered, is retried
after the delays of the retry schedule; any other 4xx is not retried.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

from orderhub.simulators.amazon.clock import iso, iso_ms
from orderhub.simulators.amazon.orders import Order

APPLICATION_ID = "amzn1.sellerapps.app.orderhub-simulator"
AWS_ACCOUNT = "123456789012"
REGION = "us-east-1"


def order_change(order: Order, change_type: str, reason: str, now: Any) -> dict[str, Any]:
    """The ORDER_CHANGE notification for ``order`` as it is now."""
    summary: dict[str, Any] = {
        "MarketplaceId": order.marketplace_id, "OrderStatus": order.status, "PurchaseDate": iso_ms(order.purchase_date),
        "DestinationPostalCode": (order.shipping_address or {}).get("PostalCode"),
        "FulfillmentType": order.fulfillment_channel, "OrderType": order.order_type,
        "NumberOfItemsShipped": sum(i.quantity_shipped for i in order.items),
        "NumberOfItemsUnshipped": sum(i.unshipped for i in order.items) if order.status != "Canceled" else 0,
        "EarliestDeliveryDate": iso_ms(order.earliest_delivery_date),
        "LatestDeliveryDate": iso_ms(order.latest_delivery_date),
        "EarliestShipDate": iso_ms(order.earliest_ship_date), "LatestShipDate": iso_ms(order.latest_ship_date),
        "OrderPrograms": ["Prime"] if order.is_prime else [], "ShippingPrograms": [],
        "OrderItems": [{"OrderItemId": i.order_item_id, "SellerSKU": i.seller_sku, "SupplySourceId": None,
                        "OrderItemStatus": "Shipped" if i.unshipped == 0 and i.quantity_shipped else "Unshipped",
                        "Quantity": i.quantity, "QuantityShipped": i.quantity_shipped,
                        "IsBuyerRequestedCancel": i.buyer_cancel_reason is not None} for i in order.items],
    }
    return {
        "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": iso_ms(now),
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel", "SellerId": order.seller_id, "AmazonOrderId": order.amazon_order_id,
            "OrderChangeType": change_type,
            "OrderChangeTrigger": {"TimeOfOrderChange": iso_ms(order.last_update_date), "ChangeReason": reason},
            "Summary": summary}},
        "NotificationMetadata": {"ApplicationId": APPLICATION_ID, "SubscriptionId": str(uuid.uuid4()),
                                 "PublishTime": iso_ms(now), "NotificationId": str(uuid.uuid4())},
    }


def eventbridge_event(notification: dict[str, Any], now: Any) -> dict[str, Any]:
    """The EventBridge envelope around a notification, as a rule hands it to its target."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": notification["NotificationType"],
            "source": f"aws.partner/sellingpartnerapi.amazon.com/{AWS_ACCOUNT}/{APPLICATION_ID}",
            "account": AWS_ACCOUNT, "time": iso(now), "region": REGION, "resources": [], "detail": notification}


@dataclass
class Delivery:
    url: str
    authorization: str | None
    event: dict[str, Any]
    attempt: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Sender:
    """A due-time queue of deliveries and one worker that sends them (retry delays are real seconds)."""

    def __init__(self, retry_schedule: list[float], timeout: float = 5.0) -> None:
        self.retry_schedule = list(retry_schedule)
        self.timeout = timeout
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._busy = 0
        self._stopping = False
        self._cond = threading.Condition()
        self._log: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._work, name="amazon-sim-eventbridge", daemon=True)
        self._client: httpx.Client | None = None

    def start(self) -> None:
        self._client = httpx.Client(follow_redirects=False)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(5)
        if self._client is not None:
            self._client.close()

    def submit(self, url: str, authorization: str | None, event: dict[str, Any]) -> None:
        with self._cond:
            self._push(Delivery(url, authorization, event), 0.0)

    def _push(self, delivery: Delivery, after: float) -> None:
        heapq.heappush(self._queue, (time.monotonic() + after, next(self._order), delivery))
        self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def log(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._log)

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._log.clear()

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopping:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    self._busy += 1
                    return heapq.heappop(self._queue)[2]
                self._cond.wait(max(0.0, self._queue[0][0] - time.monotonic()) if self._queue else None)
            return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            try:
                self._attempt(delivery)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        delivery.attempt += 1
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Amazon/EventBridge/ApiDestinations"}
        if delivery.authorization:
            headers["Authorization"] = delivery.authorization
        status: int | None = None
        try:
            response = self._client.post(delivery.url, content=orjson.dumps(delivery.event), headers=headers,
                                         timeout=self.timeout)
            status = response.status_code
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        retryable = error is not None and (status is None or status == 429 or status >= 500)
        with self._cond:
            if error is None:
                outcome = "delivered"
            elif retryable and delivery.attempt <= len(self.retry_schedule):
                outcome = "retry_scheduled"
                self._push(replace(delivery), self.retry_schedule[delivery.attempt - 1])
            else:
                outcome = "failed"
            self._log.append({"event_id": delivery.event["id"], "url": delivery.url, "attempt": delivery.attempt,
                              "status": status, "error": error, "outcome": outcome,
                              "order_id": delivery.event["detail"]["Payload"]["OrderChangeNotification"]
                              ["AmazonOrderId"]})
