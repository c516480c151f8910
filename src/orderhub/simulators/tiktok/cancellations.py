"""Cancellation requests: the seller's own (applied at once), the buyer's (applied at once while the
order is UNPAID or ON_HOLD, otherwise waiting for the seller to approve or reject), and the system's.

Each is kept as a cancellation record (``cancel_id``) that ``cancellations/search`` lists, and each
approval or seller cancellation is recorded with its refund for ``/_sim/operations``.
"""

from __future__ import annotations

from orderhub.simulators.tiktok.errors import NOT_FOUND, WRONG_STATE, fail
from orderhub.simulators.tiktok.lifecycle import UNSHIPPED, Lifecycle
from orderhub.simulators.tiktok.model import Cancellation, Order


class Cancellations:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.store = lifecycle.store

    def _new(self, order: Order, role: str, status: str, reason: str, ids: list[str]) -> Cancellation:
        now = self.lifecycle.clock.now()
        record = Cancellation(id=self.store.next_id("4035"), order_id=order.id, shop_id=order.shop_id, role=role,
                              cancel_type="CANCEL", status=status, reason=reason, line_item_ids=ids,
                              create_time=now, update_time=now)
        self.store.shops[order.shop_id].cancellations[record.id] = record
        return record

    def by_seller(self, order: Order, reason: str, line_item_ids: list[str] | None) -> Cancellation:
        if order.status not in UNSHIPPED:
            raise fail(WRONG_STATE, f"Order {order.id} cannot be cancelled by the seller: it is {order.status}.")
        ids = self.lifecycle.cancel(order, "SELLER", reason, line_item_ids)
        record = self._new(order, "SELLER", "CANCELLATION_REQUEST_COMPLETE", reason, ids)
        self.lifecycle.cancellation_changed(record)
        self.store.record("cancellation", shop_id=order.shop_id, order_id=order.id, cancel_id=record.id,
                          role="SELLER", reason=reason, line_item_ids=ids)
        self.store.record("refund", shop_id=order.shop_id, order_id=order.id, cancel_id=record.id,
                          **self.lifecycle.refund_amount(order, ids))
        return record

    def by_buyer(self, order: Order, reason: str) -> Cancellation:
        """Before AWAITING_SHIPMENT the buyer cancels alone; after, the seller has to answer."""
        if order.status in ("UNPAID", "ON_HOLD"):
            ids = self.lifecycle.cancel(order, "BUYER", reason, None)
            record = self._new(order, "BUYER", "CANCELLATION_REQUEST_COMPLETE", reason, ids)
            self.lifecycle.cancellation_changed(record)
            return record
        if order.status != "AWAITING_SHIPMENT":
            raise fail(WRONG_STATE, f"The buyer cannot cancel order {order.id}: it is {order.status}.")
        record = self._new(order, "BUYER", "CANCELLATION_REQUEST_PENDING", reason,
                           [i.id for i in order.live_items()])
        order.is_buyer_request_cancel = True
        order.request_cancel_time = self.lifecycle.clock.now()
        self.lifecycle.touch(order)
        self.lifecycle.cancellation_changed(record)
        return record

    def find(self, shop_id: str, cancel_id: str) -> Cancellation:
        record = self.store.shops[shop_id].cancellations.get(cancel_id)
        if record is None:
            raise fail(NOT_FOUND, f"Cancellation {cancel_id} does not exist in this shop.")
        return record

    def approve(self, shop_id: str, cancel_id: str) -> Cancellation:
        record = self.find(shop_id, cancel_id)
        if record.status != "CANCELLATION_REQUEST_PENDING":
            raise fail(WRONG_STATE, f"Cancellation {cancel_id} is {record.status}; only a pending request can be "
                                    "approved.")
        order = self.store.shops[shop_id].orders[record.order_id]
        self.lifecycle.cancel(order, "BUYER", record.reason, record.line_item_ids)
        record.status = "CANCELLATION_REQUEST_COMPLETE"
        self.lifecycle.cancellation_changed(record)
        self.store.record("cancellation_approved", shop_id=shop_id, order_id=order.id, cancel_id=cancel_id,
                          reason=record.reason, line_item_ids=record.line_item_ids)
        self.store.record("refund", shop_id=shop_id, order_id=order.id, cancel_id=cancel_id,
                          **self.lifecycle.refund_amount(order, record.line_item_ids))
        return record

    def reject(self, shop_id: str, cancel_id: str, reject_reason: str, comment: str | None) -> Cancellation:
        record = self.find(shop_id, cancel_id)
        if record.status != "CANCELLATION_REQUEST_PENDING":
            raise fail(WRONG_STATE, f"Cancellation {cancel_id} is {record.status}; only a pending request can be "
                                    "rejected.")
        order = self.store.shops[shop_id].orders[record.order_id]
        record.status, record.reject_reason = "CANCELLATION_REQUEST_CANCEL", reject_reason
        order.is_buyer_request_cancel = False
        self.lifecycle.touch(order)
        self.lifecycle.cancellation_changed(record)
        self.store.record("cancellation_rejected", shop_id=shop_id, order_id=order.id, cancel_id=cancel_id,
                          reject_reason=reject_reason, comment=comment)
        return record
