"""The order feeds: ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` (``OrderAcknowledgement``: acknowledge, or cancel
with ``StatusCode`` Failure) and ``POST_PAYMENT_ADJUSTMENT_DATA`` (``OrderAdjustment``: refunds, and
cancellations of some units with ``QuantityCancelled``), validated and applied to the orders.

Shapes and values follow Amazon's XSDs (``samples/order_feeds_xsd.json``); what Amazon does with them
follows its help pages (see ``samples/README.md``):

- An acknowledgement with ``StatusCode`` Failure cancels the items it lists with their ``CancelReason``
  (every item of the order when it lists none). An order not found, an item code not in the order, an
  item that has shipped, an order fulfilled by Amazon: an error in the report, and nothing of that
  message applied. An item cancelled already is cancelled: naming it again changes nothing (a repeat is
  harmless). An order whose every unit is cancelled or shipped becomes Canceled (or Shipped).
- An adjustment refunds the components it gives (``ItemPriceAdjustments``), positive amounts being
  credits to the buyer; a refund of an item nothing of which shipped, one that takes a component past
  what the buyer paid for it, or one whose net is no credit is an error. ``MerchantAdjustmentItemID``
  names the seller's adjustment: the same one again for the same item is taken as done.
- Every change that cancels units is a new version of the order with an ORDER_CHANGE notification;
  refunds are kept beside the order (``GET /_sim/refunds``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.amazon.clock import Clock, iso
from orderhub.simulators.amazon.order_store import OrderStore
from orderhub.simulators.amazon.orders import Item, Order
from orderhub.simulators.amazon.xml_feeds import MESSAGE_ERROR, Result, child, children, local, text_of, xsd

ACKNOWLEDGEMENT_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
MESSAGE_TYPES = {ACKNOWLEDGEMENT_FEED: "OrderAcknowledgement", ADJUSTMENT_FEED: "OrderAdjustment"}
# The simulator's own result codes (Amazon does not publish its list).
ORDER_NOT_FOUND = 18001
ITEM_NOT_FOUND = 18002
NOT_CANCELLABLE = 18003
NOT_REFUNDABLE = 18004
AMOUNT_TOO_HIGH = 18005
CANCELLABLE_STATUSES = ("Pending", "PendingAvailability", "Unshipped", "PartiallyShipped")
DEFAULT_CANCEL_REASON = "GeneralAdjustment"  # the simulator's choice for an Item with no CancelReason
# What the buyer paid for each component, the most that component can give back (in total).
PAID = {"Principal": lambda i: i.item_price, "Tax": lambda i: i.item_tax, "Shipping": lambda i: i.shipping_price,
        "GiftWrap": lambda i: i.gift_wrap_price or Decimal("0")}


class MessageError(ValueError):
    def __init__(self, code: int, description: str, item_code: str | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.item_code = item_code


def _sequence_problem(element: ET.Element, allowed: list[str]) -> str | None:
    """Whether ``element``'s children are among ``allowed`` and in its order (an XSD sequence)."""
    position = -1
    for c in element:
        name = local(c.tag)
        if name not in allowed:
            return f"{local(element.tag)} has an unexpected element {name}."
        if allowed.index(name) < position:
            return f"{local(element.tag)}: {name} is out of order (expected {', '.join(allowed)})."
        position = allowed.index(name)
    return None


def _order_id(body: ET.Element) -> str:
    order_id = text_of(child(body, "AmazonOrderID"))
    if not order_id:
        raise MessageError(MESSAGE_ERROR, f"{local(body.tag)} has no AmazonOrderID (orders are named by "
                                          "AmazonOrderID here).")
    if not re.fullmatch(xsd()["AmazonOrderID_pattern"], order_id):
        raise MessageError(MESSAGE_ERROR, f"AmazonOrderID {order_id[:40]!r} is not of the form 123-1234567-1234567.")
    return order_id


def _item(order: Order, element: ET.Element) -> Item:
    code = text_of(child(element, "AmazonOrderItemCode")) or ""
    if not re.fullmatch(xsd()["AmazonOrderItemCode_pattern"], code):
        raise MessageError(MESSAGE_ERROR, f"AmazonOrderItemCode {code[:40]!r} is not 14 digits.", code[:40] or None)
    item = order.item(code)
    if item is None:
        raise MessageError(ITEM_NOT_FOUND, f"The order item {code} is not an item of order {order.amazon_order_id}.",
                           code)
    return item


class OrderFeeds:
    def __init__(self, clock: Clock, orders: OrderStore) -> None:
        self.clock = clock
        self.orders = orders

    def apply(self, feed_type: str, seller_id: str, feed_id: str, message_id: int, body: ET.Element) -> list[Result]:
        """Validate and apply one message; its errors (nothing of it applied), or [] when it was taken."""
        try:
            problem = _sequence_problem(body, xsd()[MESSAGE_TYPES[feed_type]]["sequence"])
            if problem:
                raise MessageError(MESSAGE_ERROR, problem)
            order_id = _order_id(body)
            order = self.orders.get(order_id)
            if order is None or order.seller_id != seller_id:
                raise MessageError(ORDER_NOT_FOUND, f"The order {order_id} was not found for this seller.")
            if feed_type == ACKNOWLEDGEMENT_FEED:
                self._acknowledgement(order, body)
            else:
                self._adjustment(order, body, f"feed {feed_id} message {message_id}")
        except MessageError as exc:
            found_id = text_of(child(body, "AmazonOrderID"))
            return [Result(message_id, exc.code, str(exc), order_id=(found_id or "")[:40] or None,
                           item_code=exc.item_code)]
        return []

    # -- acknowledgement: cancel items

    def _acknowledgement(self, order: Order, body: ET.Element) -> None:
        rules = xsd()["OrderAcknowledgement"]
        status = text_of(child(body, "StatusCode"))
        if status not in rules["StatusCode"]:
            raise MessageError(MESSAGE_ERROR, f"StatusCode {str(status)[:20]!r} is not Success or Failure.")
        if status == "Success":
            return  # an acknowledgement only; nothing to change
        wanted: dict[str, str] = {}
        for element in children(body, "Item"):
            problem = _sequence_problem(element, rules["Item"]["sequence"])
            if problem:
                raise MessageError(MESSAGE_ERROR, problem)
            item = _item(order, element)
            reason = text_of(child(element, "CancelReason")) or DEFAULT_CANCEL_REASON
            if reason not in rules["CancelReason"]:
                raise MessageError(MESSAGE_ERROR, f"CancelReason {reason[:40]!r} is not one of "
                                                  f"{', '.join(rules['CancelReason'])}.", item.order_item_id)
            wanted[item.order_item_id] = reason
        if not wanted:
            wanted = dict.fromkeys((i.order_item_id for i in order.items), DEFAULT_CANCEL_REASON)
        if order.status == "Canceled":
            return  # cancelled already: a repeat changes nothing
        if order.fulfillment_channel != "MFN":
            raise MessageError(NOT_CANCELLABLE, f"The order {order.amazon_order_id} is fulfilled by Amazon; "
                                                "the seller cannot cancel it.")
        if order.status not in CANCELLABLE_STATUSES:
            raise MessageError(NOT_CANCELLABLE, f"The order {order.amazon_order_id} is {order.status}; it cannot be "
                                                "cancelled after it shipped.")
        items = {i.order_item_id: i for i in order.items}
        todo = {code: reason for code, reason in wanted.items() if items[code].unshipped > 0}
        for code in wanted:
            if items[code].quantity_shipped > 0:
                raise MessageError(NOT_CANCELLABLE, f"The order item {code} of order {order.amazon_order_id} has "
                                                    "shipped; it cannot be cancelled.", code)
        if not todo:
            return  # every item named is cancelled already

        def cancel(o: Order) -> None:
            for code, reason in todo.items():
                item = o.item(code)
                assert item is not None
                item.quantity_cancelled += item.unshipped
                item.cancel_reason = reason
            _settle(o, next(iter(todo.values())))

        whole = all(code in todo or item.unshipped == 0 for code, item in items.items())
        self.orders.change(order.amazon_order_id, cancel, "OrderStatusChange",
                           "Order canceled by the seller" if whole else "Order items canceled by the seller")

    # -- adjustment: refunds, and cancellations of units

    def _adjustment(self, order: Order, body: ET.Element, source: str) -> None:
        rules = xsd()["OrderAdjustment"]
        action = text_of(child(body, "ActionType"))
        if action is not None and action not in rules["ActionType"]:
            raise MessageError(MESSAGE_ERROR, f"ActionType {action[:20]!r} is not Refund or Cancel.")
        adjusted = children(body, "AdjustedItem")
        if not adjusted:
            raise MessageError(MESSAGE_ERROR, "OrderAdjustment has no AdjustedItem.")
        if order.status in ("Pending", "PendingAvailability"):
            raise MessageError(NOT_REFUNDABLE, f"The order {order.amazon_order_id} is {order.status}: the buyer "
                                               "has not been charged; cancel it with an order acknowledgement.")
        plans = [self._adjusted_item(order, element, rules) for element in adjusted]
        plans = [p for p in plans if p is not None]
        if not plans:
            return  # every adjustment was taken before

        def adjust(o: Order) -> None:
            for plan in plans:
                item = o.item(plan["item"])
                assert item is not None
                if plan["cancel"]:
                    item.quantity_cancelled += plan["cancel"]
                    item.cancel_reason = plan["reason"]
                if plan["components"]:
                    item.refunds.append({"adjustment_id": plan["adjustment_id"], "reason": plan["reason"],
                                         "components": {k: str(v) for k, v in plan["components"].items()},
                                         "source": source, "at": iso(self.clock.now())})
            if any(p["cancel"] for p in plans):
                _settle(o, plans[0]["reason"])

        cancels = any(p["cancel"] for p in plans)
        self.orders.change(order.amazon_order_id, adjust, "OrderStatusChange", "Order items canceled by the seller",
                           new_version=cancels)

    def _adjusted_item(self, order: Order, element: ET.Element, rules: dict[str, Any]) -> dict[str, Any] | None:
        problem = _sequence_problem(element, rules["AdjustedItem"]["sequence"])
        if problem:
            raise MessageError(MESSAGE_ERROR, problem)
        item = _item(order, element)
        code = item.order_item_id
        adjustment_id = text_of(child(element, "MerchantAdjustmentItemID"))
        if adjustment_id is not None and not 1 <= len(adjustment_id) <= rules["MerchantAdjustmentItemID_max_length"]:
            raise MessageError(MESSAGE_ERROR, "MerchantAdjustmentItemID must be 1 to 50 characters.", code)
        reason = text_of(child(element, "AdjustmentReason")) or ""
        if reason not in rules["AdjustmentReason"]:
            raise MessageError(MESSAGE_ERROR, f"AdjustmentReason {reason[:40]!r} is not one of "
                                              f"{', '.join(rules['AdjustmentReason'])}.", code)
        components = _components(element, rules, order.currency, code)
        cancel = _positive(element, "QuantityCancelled", code)
        if adjustment_id and any(r["adjustment_id"] == adjustment_id for r in item.refunds):
            return None  # this adjustment was taken before
        if cancel > item.unshipped:
            raise MessageError(NOT_CANCELLABLE, f"QuantityCancelled {cancel} for item {code}: only {item.unshipped} "
                                                "unit(s) are unshipped.", code)
        if components:
            if not cancel and item.quantity_shipped == 0:
                raise MessageError(NOT_REFUNDABLE, f"Nothing of order item {code} has shipped, so nothing was "
                                                   "charged to refund.", code)
            if sum(components.values()) <= 0:
                raise MessageError(NOT_REFUNDABLE, f"The adjustment of item {code} is no credit to the buyer.", code)
            for kind, amount in components.items():
                cap = PAID.get(kind)
                if cap is None:
                    continue
                before = sum((Decimal(r["components"].get(kind, "0")) for r in item.refunds), Decimal("0"))
                if before + amount > cap(item):
                    raise MessageError(AMOUNT_TOO_HIGH, f"The {kind} refund of item {code} ({amount}) exceeds the "
                                                        f"amount that can be refunded ({cap(item) - before}).", code)
        elif not cancel:
            raise MessageError(MESSAGE_ERROR, f"AdjustedItem {code} adjusts nothing (no ItemPriceAdjustments and no "
                                              "QuantityCancelled).", code)
        return {"item": code, "adjustment_id": adjustment_id, "reason": reason, "components": components,
                "cancel": cancel}


def _positive(element: ET.Element, name: str, code: str) -> int:
    raw = text_of(child(element, name))
    if raw is None:
        return 0
    if not raw.isdigit() or int(raw) < 1:
        raise MessageError(MESSAGE_ERROR, f"{name} {raw[:20]!r} is not a positive whole number.", code)
    return int(raw)


def _components(element: ET.Element, rules: dict[str, Any], currency: str, code: str) -> dict[str, Decimal]:
    prices = child(element, "ItemPriceAdjustments")
    out: dict[str, Decimal] = {}
    for component in [] if prices is None else children(prices, "Component"):
        kind = text_of(child(component, "Type")) or ""
        if kind not in rules["ItemPriceAdjustments_Component_Type"]:
            raise MessageError(MESSAGE_ERROR, f"Component Type {kind[:40]!r} is not one of "
                                              f"{', '.join(rules['ItemPriceAdjustments_Component_Type'])}.", code)
        amount_element = child(component, "Amount")
        raw = text_of(amount_element) or ""
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            amount = None
        shape = amount.as_tuple() if amount is not None and amount.is_finite() else None
        if shape is None or -int(shape.exponent) > rules["Amount"]["fraction_digits"] \
                or len(shape.digits) > rules["Amount"]["total_digits"]:
            raise MessageError(MESSAGE_ERROR, f"Amount {raw[:30]!r} of {kind} is not a decimal with at most two "
                                              "decimal places.", code)
        given = (amount_element.get("currency") if amount_element is not None else None) or currency
        if given != currency:
            raise MessageError(MESSAGE_ERROR, f"Amount currency {given[:8]!r} is not the order's currency {currency}.",
                               code)
        out[kind] = out.get(kind, Decimal("0")) + amount
    return out


def _settle(order: Order, reason: str) -> None:
    """The order's status once units were cancelled: Canceled when nothing shipped and nothing is left,
    Shipped when what is left has shipped."""
    if any(i.unshipped > 0 for i in order.items):
        return
    if any(i.quantity_shipped for i in order.items):
        order.status = "Shipped"
    else:
        order.status = "Canceled"
        order.cancel_reason = reason


def refunds(orders: list[Order]) -> list[dict[str, Any]]:
    """Every refund taken, oldest first, for ``GET /_sim/refunds``."""
    rows = [dict(r, order_id=o.amazon_order_id, order_item_id=i.order_item_id, currency=o.currency)
            for o in orders for i in o.items for r in i.refunds]
    return sorted(rows, key=lambda r: r["at"])
