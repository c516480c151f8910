"""The order book: every seller's purchase orders and the lifecycle changes the API and the channel make.

Lifecycle, as the Orders API documents it: lines are released ``Created``; the seller
acknowledges the whole order (``Acknowledged``, "a required step before shipping"), then ships
(``Shipped``, per line and quantity, with tracking) or cancels (``Cancelled`` with a reason)
what is not shipped; shipped quantities may be refunded. The channel (the control API) may
mark shipped lines ``Delivered``, record a customer's intent to cancel (``intentToCancel``; the
seller then cancels with ``CUSTOMER_REQUESTED_SELLER_TO_CANCEL`` or ships with
``intentToCancelOverride: true``) or auto-cancel what is unshipped.

Every change stamps the lines it touched (``statusDate``) and the order's last-modified time
with one strictly increasing epoch-ms value from the simulated clock, so ``GET /v3/orders``
with ``lastModifiedStartDate`` returns each change once.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from decimal import Decimal
from typing import Any

from orderhub.simulators.walmart.clock import Clock
from orderhub.simulators.walmart.errors import ORDERS, bad_content, not_found
from orderhub.simulators.walmart.model import (
    ACKNOWLEDGED,
    CANCELLED,
    CREATED,
    DELIVERED,
    SHIPPED,
    Line,
    Order,
    StatusEntry,
)
from orderhub.simulators.walmart.order_requests import CancelRequest, RefundRequest, ShipRequest
from orderhub.simulators.walmart.records import Operations

AUTO_CANCEL_REASON = "AUTO_CANCELLED"  # the simulator's label; no published value was found


class OrderBook:
    def __init__(self, clock: Clock, operations: Operations) -> None:
        self._lock = threading.RLock()
        self._orders: dict[tuple[str, str], Order] = {}
        self.clock = clock
        self.operations = operations

    # -- storage ------------------------------------------------------------------------------------

    def add(self, order: Order) -> Order:
        with self._lock:
            key = (order.seller, order.purchase_order_id)
            if key in self._orders:
                raise bad_content(ORDERS, "purchaseOrderId",
                                  f"Purchase order {order.purchase_order_id} exists already; choose another id.")
            stamp = self.clock.stamp()
            order.released_at = order.released_at or stamp
            order.last_modified = stamp
            for line in order.lines:
                line.status_date = line.status_date or stamp
            self._orders[key] = order
            return order

    def snapshot(self, seller: str | None = None) -> list[Order]:
        """Deep copies, oldest order first (by orderDate, then purchaseOrderId)."""
        with self._lock:
            orders = [copy.deepcopy(o) for o in self._orders.values() if seller is None or o.seller == seller]
        return sorted(orders, key=lambda o: (o.order_date, o.purchase_order_id))

    def get(self, seller: str, purchase_order_id: str) -> Order:
        with self._lock:
            return copy.deepcopy(self._order(seller, purchase_order_id))

    def _order(self, seller: str, purchase_order_id: str) -> Order:
        order = self._orders.get((seller, purchase_order_id))
        if order is None:
            raise not_found(ORDERS, "purchaseOrderId",
                            f"Purchase order {purchase_order_id} was not found for this seller; check the id "
                            "(GET /v3/orders lists the seller's orders).")
        return order

    def _touch(self, order: Order, line_numbers: set[str]) -> int:
        stamp = self.clock.stamp()
        for line in order.lines:
            if line.number in line_numbers:
                line.status_date = stamp
        order.last_modified = stamp
        return stamp

    def reset(self) -> None:
        with self._lock:
            self._orders.clear()

    # -- seller operations ----------------------------------------------------------------------------

    def acknowledge(self, seller: str, purchase_order_id: str) -> dict[str, Any]:
        """Acknowledge every ``Created`` line; acknowledging again changes nothing and answers the order."""
        with self._lock:
            order = self._order(seller, purchase_order_id)
            created = {ln.number for ln in order.lines if ln.qty(CREATED)}
            if not created and not order.has_status(ACKNOWLEDGED) and order.acknowledged_at is None:
                raise bad_content(ORDERS, "purchaseOrderId", f"Purchase order {purchase_order_id} has no line to "
                                                             "acknowledge (every line is shipped or cancelled).")
            if created:
                for line in order.lines:
                    amount = line.qty(CREATED)
                    if amount:
                        line.take(CREATED, amount)
                        line.add(StatusEntry(ACKNOWLEDGED, amount))
                stamp = self._touch(order, created)
                order.acknowledged_at = order.acknowledged_at or stamp
                self.operations.record("acknowledgement", seller, stamp, purchaseOrderId=purchase_order_id,
                                       lines=sorted(created, key=int))
            return order.render()

    def ship(self, seller: str, purchase_order_id: str, requests: list[ShipRequest]) -> dict[str, Any]:
        with self._lock:
            order = self._order(seller, purchase_order_id)
            wanted: dict[str, int] = defaultdict(int)
            for req in requests:
                wanted[req.line_number] += req.quantity
            for number, amount in wanted.items():
                line = self._line(order, number)
                if line.qty(CREATED):
                    raise bad_content(ORDERS, "lineNumber", f"Line {number} of purchase order {purchase_order_id} "
                                                            "is not acknowledged; acknowledge the order first.")
                if line.intent_to_cancel and not all(r.override_intent_to_cancel for r in requests
                                                     if r.line_number == number):
                    raise bad_content(ORDERS, "intentToCancelOverride",
                                      f"The customer asked to cancel line {number} of purchase order "
                                      f"{purchase_order_id}; cancel it, or ship with intentToCancelOverride: true.")
                if line.qty(ACKNOWLEDGED) < amount:
                    raise bad_content(ORDERS, "statusQuantity",
                                      f"Line {number} of purchase order {purchase_order_id} has "
                                      f"{line.qty(ACKNOWLEDGED)} unit(s) left to ship; {amount} were sent.")
            for req in requests:
                line = self._line(order, req.line_number)
                line.take(ACKNOWLEDGED, req.quantity)
                line.add(StatusEntry(SHIPPED, req.quantity, tracking=req.tracking, return_center=req.return_center))
                line.seller_order_id = req.seller_order_id or line.seller_order_id
            stamp = self._touch(order, set(wanted))
            self.operations.record("shipment", seller, stamp, purchaseOrderId=purchase_order_id, lines=[
                {"lineNumber": r.line_number, "sku": self._line(order, r.line_number).sku, "quantity": r.quantity,
                 "carrier": r.tracking["carrierName"].get("carrier"),
                 "otherCarrier": r.tracking["carrierName"].get("otherCarrier"),
                 "methodCode": r.tracking["methodCode"], "trackingNumber": r.tracking["trackingNumber"],
                 "trackingURL": r.tracking.get("trackingURL"), "shipDateTime": r.tracking["shipDateTime"]}
                for r in requests])
            return order.render()

    def cancel(self, seller: str, purchase_order_id: str, requests: list[CancelRequest]) -> dict[str, Any]:
        with self._lock:
            order = self._order(seller, purchase_order_id)
            wanted: dict[str, int] = defaultdict(int)
            for req in requests:
                wanted[req.line_number] += req.quantity
            for number, amount in wanted.items():
                line = self._line(order, number)
                open_qty = line.qty(CREATED) + line.qty(ACKNOWLEDGED)
                if open_qty < amount:
                    raise bad_content(ORDERS, "statusQuantity",
                                      f"Line {number} of purchase order {purchase_order_id} has {open_qty} unshipped "
                                      f"unit(s) to cancel; {amount} were sent (shipped units are refunded, not "
                                      "cancelled).")
            for req in requests:
                line = self._line(order, req.line_number)
                from_created = min(line.qty(CREATED), req.quantity)
                line.take(CREATED, from_created)
                line.take(ACKNOWLEDGED, req.quantity - from_created)
                line.add(StatusEntry(CANCELLED, req.quantity, cancellation_reason=req.reason))
                if not line.qty(CREATED) and not line.qty(ACKNOWLEDGED):
                    line.intent_to_cancel = False
            stamp = self._touch(order, set(wanted))
            self.operations.record("cancellation", seller, stamp, purchaseOrderId=purchase_order_id, lines=[
                {"lineNumber": r.line_number, "sku": self._line(order, r.line_number).sku, "quantity": r.quantity,
                 "reason": r.reason} for r in requests])
            return order.render()

    def refund(self, seller: str, purchase_order_id: str, requests: list[RefundRequest]) -> dict[str, Any]:
        with self._lock:
            order = self._order(seller, purchase_order_id)
            totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
            for req in requests:
                line = self._line(order, req.line_number)
                if not (line.qty(SHIPPED) or line.qty(DELIVERED)):
                    raise bad_content(ORDERS, "lineNumber", f"Line {req.line_number} of purchase order "
                                                            f"{purchase_order_id} is not shipped; cancel it instead.")
                if req.currency != order.currency:
                    raise bad_content(ORDERS, "currency", f"Refund currency {req.currency} differs from the order's "
                                                          f"{order.currency}.")
                totals[(req.line_number, req.charge_type)] += -req.amount
            for (number, charge_type), amount in totals.items():
                line = self._line(order, number)
                charged = line.unit_price * line.quantity - line.discount if charge_type == "PRODUCT" else line.shipping
                already = sum((-Decimal(str(c["charge"]["chargeAmount"]["amount"])) for r in line.refunds
                               for c in r["refundCharges"]["refundCharge"] if c["charge"]["chargeType"] == charge_type),
                              Decimal("0"))
                if already + amount > charged:
                    raise bad_content(ORDERS, "chargeAmount",
                                      f"Refunding {amount} {order.currency} of {charge_type} on line {number} would "
                                      f"exceed what was charged ({charged}, {already} refunded already).")
            stamp = self.clock.stamp()
            for index, req in enumerate(requests):
                line = self._line(order, req.line_number)
                line.refunds.append({"refundId": f"{purchase_order_id}-{stamp}-{index}", "refundComments": req.comments,
                                     "refundCharges": {"refundCharge": [{"refundReason": req.reason,
                                                                         "charge": req.charge}]}})
            stamp = self._touch(order, {r.line_number for r in requests})
            self.operations.record("refund", seller, stamp, purchaseOrderId=purchase_order_id, lines=[
                {"lineNumber": r.line_number, "sku": self._line(order, r.line_number).sku, "reason": r.reason,
                 "chargeType": r.charge_type, "amount": str(r.amount), "tax": str(r.tax), "currency": r.currency,
                 "comments": r.comments} for r in requests])
            return order.render()

    def _line(self, order: Order, number: str) -> Line:
        line = order.line(number)
        if line is None:
            raise bad_content(ORDERS, "lineNumber", f"Purchase order {order.purchase_order_id} has no line {number}; "
                                                    f"its lines are {', '.join(ln.number for ln in order.lines)}.")
        return line

    # -- the channel's own changes (control API) -------------------------------------------------------

    def channel_event(self, seller: str, purchase_order_id: str, event: str,
                      line_numbers: list[str] | None = None) -> dict[str, Any]:
        """``buyer_cancel`` (intent to cancel on unshipped lines), ``auto_cancel`` (cancel every unshipped unit)
        or ``delivered`` (shipped units delivered)."""
        with self._lock:
            order = self._order(seller, purchase_order_id)
            lines = [self._line(order, n) for n in line_numbers] if line_numbers else list(order.lines)
            touched = set()
            for line in lines:
                open_qty = line.qty(CREATED) + line.qty(ACKNOWLEDGED)
                if event == "buyer_cancel" and open_qty and not line.intent_to_cancel:
                    line.intent_to_cancel = True
                    touched.add(line.number)
                elif event == "auto_cancel" and open_qty:
                    line.take(CREATED, line.qty(CREATED))
                    line.take(ACKNOWLEDGED, line.qty(ACKNOWLEDGED))
                    line.add(StatusEntry(CANCELLED, open_qty, cancellation_reason=AUTO_CANCEL_REASON))
                    line.intent_to_cancel = False
                    touched.add(line.number)
                elif event == "delivered" and line.qty(SHIPPED):
                    for entry in line.statuses:
                        if entry.status == SHIPPED:
                            entry.status = DELIVERED
                    touched.add(line.number)
            if not touched:
                raise bad_content(ORDERS, "event", f"{event} changes nothing on purchase order {purchase_order_id} "
                                                   "(no line is in a state it applies to).")
            stamp = self._touch(order, touched)
            self.operations.record("channel_event", seller, stamp, purchaseOrderId=purchase_order_id, event=event,
                                   lines=sorted(touched, key=int))
            return order.render()

    def overdue(self, deadline_seconds: float) -> list[dict[str, Any]]:
        """Orders with lines still ``Created`` longer than the acknowledgement deadline after release."""
        now = self.clock.now_ms()
        limit = int(deadline_seconds * 1000)
        with self._lock:
            return [{"seller": o.seller, "purchaseOrderId": o.purchase_order_id, "releasedAt": o.released_at,
                     "acknowledgedAt": o.acknowledged_at, "overdueByMs": now - o.released_at - limit}
                    for o in sorted(self._orders.values(), key=lambda o: o.released_at)
                    if o.has_status(CREATED) and now - o.released_at > limit]
