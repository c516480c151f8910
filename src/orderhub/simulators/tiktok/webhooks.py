"""Webhook delivery as TikTok Shop does it: a POST of ``{"type", "tts_notification_id", "shop_id",
"timestamp", "data"}`` to the address the shop set for the event type, signed in the
``Authorization`` header (:func:`.signing.sign_webhook`), retried with backoff until the receiver
answers 200.

Retries are due on the simulated clock (``retry_schedule`` in simulated seconds), so a test moves
the clock instead of waiting. For testing a receiver's de-duplication the control API can send an
event again under the same ``tts_notification_id``, send every event twice, or hold events and
release them in reverse order.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson

from orderhub.simulators.tiktok.clock import SimClock
from orderhub.simulators.tiktok.defaults import WEBHOOK_RETRY_SCHEDULE
from orderhub.simulators.tiktok.signing import sign_webhook

EVENT_NAMES = {1: "ORDER_STATUS_CHANGE", 11: "CANCELLATION_STATUS_CHANGE", 4: "PACKAGE_UPDATE",
               3: "RECIPIENT_ADDRESS_UPDATE", 12: "RETURN_STATUS_CHANGE", 5: "PRODUCT_STATUS_CHANGE",
               6: "SELLER_DEAUTHORIZATION"}


@dataclass
class Event:
    notification_id: str
    shop_id: str
    type: int
    body: bytes
    address: str
    app_key: str
    attempt: int = 0
    due: float = 0.0
    duplicate: bool = False


class WebhookSender:
    def __init__(self, clock: SimClock, apps: dict[str, str], *, timeout: float = 5.0) -> None:
        self.clock = clock
        self.apps = apps  # app_key -> app_secret: an event is signed for the app that set the address
        self.retry_schedule: list[float] = list(WEBHOOK_RETRY_SCHEDULE)
        self.timeout = timeout
        self.duplicate_all = False
        self.holding = False
        self._held: list[Event] = []
        self._queue: list[Event] = []
        self._sent: dict[str, Event] = {}
        self._log: list[dict[str, Any]] = []
        self._ids = itertools.count(7380066284010030890)
        self._busy = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="tiktok-sim-webhooks", daemon=True)
        clock.on_change(self.wake)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(5)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- producing ---------------------------------------------------------------------------------------
    def emit(self, shop_id: str, event_type: int, data: dict[str, Any], address: str, app_key: str) -> str:
        notification_id = str(next(self._ids))
        body = orjson.dumps({"type": event_type, "tts_notification_id": notification_id, "shop_id": shop_id,
                             "timestamp": self.clock.now(), "data": data})
        event = Event(notification_id, shop_id, event_type, body, address, app_key, due=self.clock.time())
        with self._cond:
            self._sent[notification_id] = event
            if self.holding:
                self._held.append(event)
            else:
                self._queue.append(event)
                if self.duplicate_all:
                    self._queue.append(replace(event, duplicate=True))
            self._cond.notify_all()
        return notification_id

    def redeliver(self, notification_id: str) -> bool:
        """Send an event again, under its own notification id, as TikTok may."""
        with self._cond:
            event = self._sent.get(notification_id)
            if event is None:
                return False
            self._queue.append(replace(event, attempt=0, due=self.clock.time(), duplicate=True))
            self._cond.notify_all()
            return True

    def release(self, order: str = "reverse") -> int:
        """Stop holding; send what was held, newest first (``reverse``) or as it came (``fifo``)."""
        with self._cond:
            held = list(reversed(self._held)) if order == "reverse" else list(self._held)
            self._held.clear()
            self.holding = False
            now = self.clock.time()
            for n, event in enumerate(held):
                self._queue.append(replace(event, due=now + n * 1e-6))
            self._cond.notify_all()
            return len(held)

    # -- sending -----------------------------------------------------------------------------------------
    def _next(self) -> Event | None:
        with self._cond:
            while not self._stopping:
                now = self.clock.time()
                due = sorted((e for e in self._queue if e.due <= now), key=lambda e: e.due)
                if due:
                    self._queue.remove(due[0])
                    self._busy += 1
                    return due[0]
                self._cond.wait(0.05)
            return None

    def _work(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while (event := self._next()) is not None:
                try:
                    self._attempt(client, event)
                finally:
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()

    def _attempt(self, client: httpx.Client, event: Event) -> None:
        event.attempt += 1
        status: int | None = None
        try:
            signature = sign_webhook(event.app_key, self.apps[event.app_key], event.body)
            response = client.post(event.address, content=event.body,
                                   headers={"Authorization": signature, "Content-Type": "application/json"})
            status = response.status_code
            error = None if status == 200 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        outcome = "delivered" if error is None else "failed"
        with self._cond:
            if error is not None and event.attempt <= len(self.retry_schedule):
                outcome = "retry_scheduled"
                self._queue.append(replace(event, due=self.clock.time() + self.retry_schedule[event.attempt - 1]))
            self._log.append({"notification_id": event.notification_id, "shop_id": event.shop_id,
                              "type": event.type, "event": EVENT_NAMES.get(event.type, str(event.type)),
                              "address": event.address, "attempt": event.attempt, "duplicate": event.duplicate,
                              "status": status, "error": error, "outcome": outcome, "at": self.clock.now()})

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing is due now or being sent (later retries may still wait on the clock)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._busy == 0 and not any(e.due <= self.clock.time() for e in self._queue), timeout)

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(entry) for entry in self._log]

    def pending(self) -> list[dict[str, Any]]:
        with self._cond:
            return [{"notification_id": e.notification_id, "attempt": e.attempt, "due": e.due, "held": False}
                    for e in self._queue] + [{"notification_id": e.notification_id, "attempt": 0, "due": e.due,
                                              "held": True} for e in self._held]

    def reset(self) -> None:
        with self._cond:
            self._queue.clear()
            self._held.clear()
            self._log.clear()
            self._sent.clear()
            self.holding = self.duplicate_all = False
