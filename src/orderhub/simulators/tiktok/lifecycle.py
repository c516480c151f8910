"""How an order moves: payment, the on-hold window, shipping, collection, delivery, cancellation.

Every change sets the order's ``update_time`` to a later second than before (so a poller using
``update_time_ge`` sees each change exactly once) and sends the shop's webhooks: type 1
ORDER_STATUS_CHANGE for a status, type 11 CANCELLATION_STATUS_CHANGE for a cancellation request.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orderhub.simulators.tiktok.clock import SimClock
from orderhub.simulators.tiktok.defaults import ON_HOLD_SECONDS, UNPAID_CANCEL_SECONDS
from orderhub.simulators.tiktok.errors import WRONG_STATE, fail
from orderhub.simulators.tiktok.model import Cancellation, Order, Package, money
from orderhub.simulators.tiktok.store import Store

Emit = Callable[[str, int, dict[str, Any]], None]
UNSHIPPED = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT")
PACKAGE_ITEM_STATUS = {"TO_FULFILL": "AWAITING_SHIPMENT", "PROCESSING": "AWAITING_COLLECTION",
                       "FULFILLING": "IN_TRANSIT", "COMPLETED": "DELIVERED"}


class Lifecycle:
    def __init__(self, store: Store, clock: SimClock, emit: Emit) -> None:
        self.store = store
        self.clock = clock
        self.emit = emit
        self.on_hold_seconds = ON_HOLD_SECONDS
        self.unpaid_cancel_seconds = UNPAID_CANCEL_SECONDS

    def touch(self, order: Order) -> None:
        order.update_time = self.clock.after(order.update_time)

    def set_status(self, order: Order, status: str) -> None:
        order.status = status
        for item in order.live_items():
            if item.package_id is None or status in ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "COMPLETED",
                                                     "CANCELLED"):
                item.display_status = "AWAITING_SHIPMENT" if status == "ON_HOLD" else status
        self.touch(order)
        self.emit(order.shop_id, 1, {"order_id": order.id, "order_status": status,
                                     "is_on_hold_order": status == "ON_HOLD", "update_time": order.update_time})

    # -- before shipment ---------------------------------------------------------------------------------
    def pay(self, order: Order) -> None:
        self._expect(order, ("UNPAID",), "pay")
        order.paid_time = self.clock.now()
        self.set_status(order, "ON_HOLD")

    def release_hold(self, order: Order) -> None:
        self._expect(order, ("ON_HOLD",), "release from hold")
        if not order.packages:
            self.pack(order, None)
        self.set_status(order, "AWAITING_SHIPMENT")

    def pack(self, order: Order, groups: list[list[str]] | None) -> None:
        """One package for the order, or one per group of line item ids."""
        groups = groups or [[item.id for item in order.live_items()]]
        for ids in groups:
            package = Package(id=self.store.next_id("1153"), line_item_ids=list(ids))
            order.packages.append(package)
            for item_id in ids:
                item = order.item(item_id)
                if item is not None:
                    item.package_id = package.id

    def tick(self) -> None:
        """What time alone does: on-hold orders are released, long-unpaid ones cancelled by the system."""
        now = self.clock.now()
        with self.store.lock:
            for shop in self.store.shops.values():
                for order in sorted(shop.orders.values(), key=lambda o: o.create_time):
                    paid = order.paid_time or order.create_time
                    if order.status == "ON_HOLD" and now >= paid + self.on_hold_seconds:
                        self.release_hold(order)
                    elif order.status == "UNPAID" and now >= order.create_time + self.unpaid_cancel_seconds:
                        self.cancel(order, "SYSTEM", "Payment overdue", None)

    # -- shipment ---------------------------------------------------------------------------------------------
    def ship(self, order: Order, package: Package, provider_id: str, provider_name: str, tracking: str) -> None:
        if order.status not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING") or package.status != "TO_FULFILL":
            raise fail(WRONG_STATE, f"Package {package.id} of order {order.id} cannot be shipped: the order is "
                                    f"{order.status} and the package {package.status}.")
        package.status, package.rts_time = "PROCESSING", self.clock.now()
        package.tracking_number, package.shipping_provider_id = tracking, provider_id
        package.shipping_provider_name = provider_name
        for item_id in package.line_item_ids:
            item = order.item(item_id)
            if item is not None and item.display_status != "CANCELLED":
                item.display_status = "AWAITING_COLLECTION"
        waiting = [p for p in order.packages if p.status == "TO_FULFILL"]
        self.set_status(order, "PARTIALLY_SHIPPING" if waiting else "AWAITING_COLLECTION")

    def carrier(self, order: Order, step: str) -> None:
        """``collect`` (IN_TRANSIT), ``deliver`` (DELIVERED) or ``complete`` (COMPLETED)."""
        moves = {"collect": ("PROCESSING", "FULFILLING", "IN_TRANSIT"),
                 "deliver": ("FULFILLING", "COMPLETED", "DELIVERED"),
                 "complete": (None, None, "COMPLETED")}
        before, after, status = moves[step]
        allowed = {"collect": ("AWAITING_COLLECTION", "PARTIALLY_SHIPPING"), "deliver": ("IN_TRANSIT",),
                   "complete": ("DELIVERED",)}[step]
        self._expect(order, allowed, step)
        if before is not None:
            for package in order.packages:
                if package.status == before:
                    package.status = after
                    for item_id in package.line_item_ids:
                        item = order.item(item_id)
                        if item is not None and item.display_status != "CANCELLED":
                            item.display_status = PACKAGE_ITEM_STATUS[after]
        if step == "collect":
            order.collection_time = self.clock.now()
            if any(p.status == "TO_FULFILL" for p in order.packages):
                self.touch(order)  # still partly waiting for the seller
                return
        if step == "deliver":
            order.delivery_time = self.clock.now()
        self.set_status(order, status)

    # -- cancellation --------------------------------------------------------------------------------------
    def cancel(self, order: Order, initiator: str, reason: str, line_item_ids: list[str] | None) -> list[str]:
        """Cancel the given line items (all when None); the order is CANCELLED when none is left."""
        self._expect(order, UNSHIPPED, "cancel")
        ids = line_item_ids or [item.id for item in order.live_items()]
        shop = self.store.shops[order.shop_id]
        for item_id in ids:
            item = order.item(item_id)
            if item is None or item.display_status == "CANCELLED":
                continue
            item.display_status, item.cancel_reason, item.cancel_user = "CANCELLED", reason, initiator
            found = shop.find_sku(item.sku_id)
            if found is not None:  # the unit goes back on sale
                sku = found[1]
                sku.inventory[order.warehouse_id] = sku.inventory.get(order.warehouse_id, 0) + 1
        for package in order.packages:
            if all(getattr(order.item(i), "display_status", "CANCELLED") == "CANCELLED" for i in package.line_item_ids):
                package.status = "CANCELLED"
        if not order.live_items():
            order.cancel_reason, order.cancellation_initiator = reason, initiator
            order.cancel_time = self.clock.now()
            order.is_buyer_request_cancel = False
            self.set_status(order, "CANCELLED")
        else:
            self.touch(order)
        return ids

    def refund_amount(self, order: Order, line_item_ids: list[str]) -> dict[str, str]:
        items = [i for i in order.line_items if i.id in line_item_ids]
        subtotal = sum((i.sale_price for i in items), Decimal("0"))
        whole = len(items) == len(order.line_items)
        shipping = order.shipping_fee - order.shipping_fee_seller_discount if whole else Decimal("0")
        tax = order.tax if whole else Decimal("0")
        return {"currency": order.currency, "refund_total": money(subtotal + shipping + tax),
                "refund_subtotal": money(subtotal), "refund_shipping_fee": money(shipping), "refund_tax": money(tax)}

    def cancellation_changed(self, cancellation: Cancellation) -> None:
        cancellation.update_time = self.clock.after(cancellation.update_time)
        self.emit(cancellation.shop_id, 11, {"order_id": cancellation.order_id,
                                             "cancellations_role": cancellation.role,
                                             "cancel_status": cancellation.status, "cancel_id": cancellation.id,
                                             "create_time": cancellation.create_time})

    def _expect(self, order: Order, allowed: tuple[str, ...], action: str) -> None:
        if order.status not in allowed:
            raise fail(WRONG_STATE, f"Order {order.id} cannot {action}: it is {order.status} "
                                    f"(allowed: {', '.join(allowed)}).")
