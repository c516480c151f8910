"""Seller-initiated returns and refunds (Create Return), kept as return records that Search Returns lists.

As TikTok's Return and refund API documents them (the tiktok-shop-api 0.1.0 client's ``CreateReturnRequest``,
``CreateReturnResponseData`` and ``SearchReturnsResponseDataReturnOrder`` models, and the
``/return_refund/202309/returns`` operation of a public TypeScript client): the seller names the order, the
type (``REFUND``: money back only; ``RETURN_AND_REFUND``: the buyer sends the items back first), a reason,
and the line items (``order_line_item_ids``, or ``skus`` with quantities, or none for the whole order); an
optional ``refund_total`` with its ``currency`` (the order's) may not exceed what is refundable. An
``idempotency_key`` query parameter makes a repeat answer the first request's answer without doing it again.

Chosen by the simulator, as TikTok documents no more: only shipped, uncancelled line items not in an open
return may be refunded; a ``REFUND`` is ``RETURN_OR_REFUND_REQUEST_SUCCESS`` at once, a ``RETURN_AND_REFUND``
``AWAITING_BUYER_SHIP``; idempotency keys are kept as long as the shop's data; a line item's part of the
refund is its share of the items' sale prices.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.tiktok.errors import BAD_FIELD, NOT_FOUND, WRONG_STATE, fail
from orderhub.simulators.tiktok.lifecycle import Lifecycle
from orderhub.simulators.tiktok.model import RETURN_CLOSED, RETURN_TYPES, LineItem, Order, Return, money
from orderhub.simulators.tiktok.store import ShopData

SHIPMENT_TYPES = ("PLATFORM", "BUYER_ARRANGE")
HANDOVER_METHODS = ("DROP_OFF", "PICKUP")
REASON_CHARS = 100


def _strings(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise fail(BAD_FIELD, f"invalid param error: {key} must be a list of strings.")
    return value


def _choice(body: dict[str, Any], key: str, allowed: tuple[str, ...], *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if value not in allowed:
        raise fail(BAD_FIELD, f"invalid param error: {key} must be one of {', '.join(allowed)}.")
    return str(value)


class Returns:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.store = lifecycle.store

    def create(self, shop: ShopData, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        """Create Return: the answer ``{return_id, return_status}``; the same key again answers it again."""
        if idempotency_key is not None:
            done = shop.idempotency.get(("createReturn", idempotency_key))
            if done is not None:
                return dict(done)
        order_id = body.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise fail(BAD_FIELD, "invalid param error: order_id is required.")
        return_type = _choice(body, "return_type", RETURN_TYPES, required=True)
        reason = body.get("return_reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_CHARS:
            raise fail(BAD_FIELD, f"invalid param error: return_reason is required (at most {REASON_CHARS} "
                                  "characters).")
        shipment_type = _choice(body, "shipment_type", SHIPMENT_TYPES)
        handover = _choice(body, "handover_method", HANDOVER_METHODS)
        if handover is not None and shipment_type != "PLATFORM":
            raise fail(BAD_FIELD, "invalid param error: handover_method applies only when shipment_type is PLATFORM.")
        order = shop.orders.get(order_id)
        if order is None:
            raise fail(NOT_FOUND, f"Order {order_id} does not exist in this shop.")
        items = self._items(shop, order, body)
        refundable = self.lifecycle.refund_amount(order, [i.id for i in items])
        total = self._total(body, order, Decimal(refundable["refund_total"]))
        now = self.lifecycle.clock.now()
        status = "RETURN_OR_REFUND_REQUEST_SUCCESS" if return_type == "REFUND" else "AWAITING_BUYER_SHIP"
        record = Return(id=self.store.next_id("4036"), order_id=order.id, shop_id=shop.shop_id, role="SELLER",
                        return_type=str(return_type), status=status, reason=reason, line_item_ids=[i.id for i in items],
                        refund_total=total, currency=order.currency, create_time=now, update_time=now,
                        shipment_type=shipment_type, handover_method=handover)
        shop.returns[record.id] = record
        self.lifecycle.touch(order)
        self.store.record("return", shop_id=shop.shop_id, order_id=order.id, return_id=record.id, role="SELLER",
                          return_type=record.return_type, reason=reason, line_item_ids=record.line_item_ids,
                          idempotency_key=idempotency_key)
        if return_type == "REFUND":
            self.store.record("refund", shop_id=shop.shop_id, order_id=order.id, return_id=record.id,
                              currency=order.currency, refund_total=money(total),
                              line_item_ids=record.line_item_ids)
        answer = {"return_id": record.id, "return_status": record.status}
        if idempotency_key is not None:
            shop.idempotency[("createReturn", idempotency_key)] = answer
        return dict(answer)

    def _items(self, shop: ShopData, order: Order, body: dict[str, Any]) -> list[LineItem]:
        ids = _strings(body, "order_line_item_ids")
        skus = body.get("skus")
        if ids and skus:
            raise fail(BAD_FIELD, "invalid param error: give order_line_item_ids or skus, not both.")
        taken = {i for r in shop.returns.values() if r.order_id == order.id and r.status not in RETURN_CLOSED
                 for i in r.line_item_ids}
        open_items = [i for i in order.line_items if self._shipped(order, i) and i.id not in taken]
        if ids:
            chosen = []
            for item_id in dict.fromkeys(ids):
                item = order.item(item_id)
                if item is None:
                    raise fail(BAD_FIELD, f"invalid param error: line item {item_id} is not in order {order.id}.")
                if item.id in taken:
                    raise fail(WRONG_STATE, f"Line item {item_id} of order {order.id} is in an open return already.")
                if not self._shipped(order, item):
                    raise fail(WRONG_STATE, f"Line item {item_id} of order {order.id} is not shipped "
                                            f"({item.display_status}); cancel it instead.")
                chosen.append(item)
            return chosen
        if skus is not None:
            if not isinstance(skus, list) or not skus or not all(
                    isinstance(s, dict) and isinstance(s.get("sku_id"), str) and isinstance(s.get("quantity"), int)
                    and not isinstance(s.get("quantity"), bool) and s["quantity"] > 0 for s in skus):
                raise fail(BAD_FIELD, "invalid param error: skus must be a list of {sku_id, quantity}.")
            chosen = []
            for sku in skus:
                free = [i for i in open_items if i.sku_id == sku["sku_id"] and i not in chosen]
                if len(free) < sku["quantity"]:
                    raise fail(WRONG_STATE, f"Order {order.id} has {len(free)} shipped unit(s) of SKU {sku['sku_id']} "
                                            f"open to a return, fewer than {sku['quantity']}.")
                chosen += free[:sku["quantity"]]
            return chosen
        if not open_items:
            raise fail(WRONG_STATE, f"Order {order.id} has no shipped line item open to a return (it is "
                                    f"{order.status}).")
        return open_items

    @staticmethod
    def _shipped(order: Order, item: LineItem) -> bool:
        package = order.package(item.package_id) if item.package_id else None
        return item.display_status != "CANCELLED" and package is not None and package.tracking_number is not None

    @staticmethod
    def _total(body: dict[str, Any], order: Order, refundable: Decimal) -> Decimal:
        raw, currency = body.get("refund_total"), body.get("currency")
        if raw is None:
            return refundable
        try:
            total = Decimal(raw) if isinstance(raw, str) else Decimal("NaN")
        except InvalidOperation:
            total = Decimal("NaN")
        if not total.is_finite() or total < 0 or total != total.quantize(Decimal("0.01")):
            raise fail(BAD_FIELD, "invalid param error: refund_total must be an amount as a string, e.g. \"12.50\".")
        if currency != order.currency:
            raise fail(BAD_FIELD, f"invalid param error: currency is required with refund_total and must be the "
                                  f"order's ({order.currency}).")
        if total > refundable:
            raise fail(WRONG_STATE, f"The refund {money(total)} {order.currency} exceeds the refundable amount "
                                    f"{money(refundable)} {order.currency} of these line items.")
        return total


def line_refunds(record: Return, order: Order) -> dict[str, Decimal]:
    """Each line item's part of the refund: its share of the items' sale prices (the last takes the rest)."""
    items = [i for i in order.line_items if i.id in record.line_item_ids]
    prices = sum((i.sale_price for i in items), Decimal("0"))
    parts: dict[str, Decimal] = {}
    for item in items[:-1]:
        share = record.refund_total * item.sale_price / prices if prices else record.refund_total / len(items)
        parts[item.id] = share.quantize(Decimal("0.01"), ROUND_DOWN)
    if items:
        parts[items[-1].id] = record.refund_total - sum(parts.values(), Decimal("0"))
    return parts
