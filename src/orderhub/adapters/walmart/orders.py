"""Walmart's Orders API: reading orders page by page, and the operations on them (acknowledge, ship, cancel,
refund).

Reading: ``GET /v3/orders/released`` (orders with a line still ``Created``) and ``GET /v3/orders`` by
``lastModifiedStartDate``; a page's ``list.meta.nextCursor`` is the query string of the next page, and a
404 whose error says no order was found is an empty answer (Walmart answers an empty list that way).

Operations are idempotent although Walmart's are not all so: before each attempt the order is read again
and only what it does not show yet is sent. Shipping is keyed by tracking number (units of a line shipped
under that tracking number are already shipped); a cancellation by its Walmart reason code (units of a line
cancelled with that reason count towards the notice's quantity); acknowledging an order without ``Created``
lines does nothing; a refund by orderhub's reference of the return, which goes in ``refundComments`` (a line
whose refund shows that reference is refunded already; Walmart also refuses to refund more than was
charged). So a repeated notice, or a retry after Walmart's answer was lost, sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from orderhub.adapters.walmart.client import WalmartAuthError, WalmartClient, WalmartRefused
from orderhub.adapters.walmart.translate import CANCELLED, CREATED, DELIVERED, SHIPPED, unwrap
from orderhub.domain import money
from orderhub.domain.channels import (
    REFUND_REASONS,
    CancelNotice,
    ChannelRefused,
    ChannelUnavailable,
    RefundNotice,
    ShipmentNotice,
)

PAGE_SIZE = 100  # "limit" of the order lists: default 100, at most 200
MAX_AGE = timedelta(days=180)  # Walmart serves orders of the last 180 days only
SHIP_NODE_TYPES = ("SellerFulfilled", "WFSFulfilled")  # WFS orders are listed only when asked for by type
# orderhub's cancel reasons (domain/channels.py CANCEL_REASONS) as Walmart's cancellationReason codes
CANCEL_CODES = {"out_of_stock": "SELLER_CANCEL_OUT_OF_STOCK", "customer_request": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
                "fraud": "SELLER_CANCEL_FRAUD_STOP_SHIPMENT", "address": "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE",
                "other": "SELLER_CANCEL_PRICING_ERROR"}
# orderhub's refund reasons (domain/channels.py REFUND_REASONS) as Walmart's refundReason values (the enum of
# RefundChargeType in the published Orders API)
REFUND_CODES = {"returned": "Customer returned item", "damaged": "DamagedItem"}
assert set(REFUND_CODES) == set(REFUND_REASONS)
REFUND_COMMENT_CHARS = 200
# Carriers Walmart names in carrierName.carrier; any other goes as otherCarrier
CARRIERS = {c.lower(): c for c in ("UPS", "USPS", "FedEx", "DHL", "OnTrac", "LaserShip", "Airborne", "UDS", "Pilot",
                                   "Estes", "SAIA", "Ensenda", "Streamlite", "StoneAndCompany", "Freight")}
METHOD_CODES = ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")
OPERATION_ATTEMPTS = 3


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _no_orders(exc: WalmartRefused) -> bool:
    return exc.status == 404 and (not exc.errors or any("CONTENT_NOT_FOUND" in str(e.get("code", ""))
                                                        for e in exc.errors))


def pages(client: WalmartClient, operation: str, path: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """The orders of a list query, a page at a time (the order objects as Walmart sent them)."""
    query: dict[str, str] = {"limit": str(PAGE_SIZE), **params}
    while True:
        try:
            body = client.json(operation, "GET", path, params=query)
        except WalmartRefused as exc:
            if _no_orders(exc):
                return
            raise
        listing = (body or {}).get("list") or {}
        elements = (listing.get("elements") or {}).get("order") or []
        yield [e for e in elements if isinstance(e, dict)]
        cursor = (listing.get("meta") or {}).get("nextCursor")
        if not cursor or not elements:
            return
        query = dict(parse_qsl(str(cursor).lstrip("?"), keep_blank_values=True))


def released(client: WalmartClient) -> Iterator[list[dict[str, Any]]]:
    """Orders released to the seller and not acknowledged yet (seller-fulfilled: only those need it)."""
    return pages(client, "getAllReleasedOrders", "/v3/orders/released", {})


def changed(client: WalmartClient, since: datetime | None, now: datetime, *, created_since: datetime | None = None,
            ship_node_type: str = "SellerFulfilled") -> Iterator[list[dict[str, Any]]]:
    """Orders changed after ``since`` (all orders created since ``created_since`` when there is no ``since``)."""
    params = {"shipNodeType": ship_node_type,
              "createdStartDate": iso(created_since if since is None and created_since else now - MAX_AGE)}
    if since is not None:
        params["lastModifiedStartDate"] = iso(since)
    return pages(client, "getAllOrders", "/v3/orders", params)


def get_order(client: WalmartClient, purchase_order_id: str) -> dict[str, Any]:
    try:
        body = client.json("getAnOrder", "GET", f"/v3/orders/{purchase_order_id}")
    except WalmartRefused as exc:
        raise ChannelRefused(str(exc)) from None
    order = unwrap(body)
    if not isinstance(order, dict):
        raise ChannelUnavailable(f"{client.who}: Walmart's answer to getAnOrder {purchase_order_id} has no order")
    return order


def _lines(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(line.get("lineNumber")): line for line in (order.get("orderLines") or {}).get("orderLine") or []}


def _line(client: WalmartClient, order_ref: str, lines: dict[str, dict[str, Any]], number: str) -> dict[str, Any]:
    """The order's line ``number``; the channel refuses an operation on a line the order does not have."""
    line = lines.get(number)
    if line is None:
        raise ChannelRefused(f"{client.who}: purchase order {order_ref} has no line {number}; its lines are "
                             f"{', '.join(lines) or 'none'}")
    return line


def _statuses(line: dict[str, Any]) -> list[dict[str, Any]]:
    return (line.get("orderLineStatuses") or {}).get("orderLineStatus") or []


def _qty(entry: dict[str, Any]) -> int:
    try:
        return int((entry.get("statusQuantity") or {}).get("amount") or 0)
    except (TypeError, ValueError):
        return 0


def _count(line: dict[str, Any], status: str, **match: Any) -> int:
    total = 0
    for entry in _statuses(line):
        if entry.get("status") != status:
            continue
        if "tracking" in match and (entry.get("trackingInfo") or {}).get("trackingNumber") != match["tracking"]:
            continue
        if "reason" in match and entry.get("cancellationReason") != match["reason"]:
            continue
        total += _qty(entry)
    return total


def _operate(client: WalmartClient, operation: str, purchase_order_id: str, body_for: Any) -> None:
    """Read the order, send what it does not show yet (``body_for(order)``: the body, or None when nothing is
    left), and on an answer that was lost read it again before sending anything more."""
    for attempt in range(1, OPERATION_ATTEMPTS + 1):
        body = body_for(get_order(client, purchase_order_id))
        if body is None:
            return
        try:
            client.call(operation, "POST", f"/v3/orders/{purchase_order_id}/{_PATHS[operation]}", json=body,
                        retry=False)
            return
        except WalmartRefused as exc:
            raise ChannelRefused(f"{exc}; purchase order {purchase_order_id}") from None
        except ChannelUnavailable as exc:
            if isinstance(exc, WalmartAuthError) or exc.retry_after is not None or attempt == OPERATION_ATTEMPTS:
                raise  # credentials, throttled, or still failing: the caller tries again later
            client.sleep(client.backoff(attempt))


_PATHS = {"acknowledgeOrders": "acknowledge", "shippingUpdates": "shipping", "cancelOrderLines": "cancel",
          "refundOrderLines": "refund"}


def acknowledge(client: WalmartClient, purchase_order_id: str) -> bool:
    """Acknowledge the order's ``Created`` lines; False when none was left to acknowledge."""
    sent: list[bool] = []

    def body_for(order: dict[str, Any]) -> dict[str, Any] | None:
        created = any(_count(line, CREATED) for line in _lines(order).values())
        sent.append(created)
        return {} if created else None

    _operate(client, "acknowledgeOrders", purchase_order_id, body_for)
    return any(sent)


def _quantity(amount: int) -> dict[str, str]:
    return {"unitOfMeasurement": "EACH", "amount": str(amount)}


def ship(client: WalmartClient, notice: ShipmentNotice) -> None:
    if not notice.tracking:
        raise ChannelRefused(f"{client.who}: Walmart needs a tracking number to ship purchase order "
                             f"{notice.order_ref}; add it to the shipment")
    carrier = CARRIERS.get(notice.carrier.strip().lower())
    carrier_name = {"carrier": carrier} if carrier else {"otherCarrier": notice.carrier.strip()[:100] or "Other"}

    def body_for(order: dict[str, Any]) -> dict[str, Any] | None:
        lines = _lines(order)
        method = (order.get("shippingInfo") or {}).get("methodCode")
        wanted = []
        for number, quantity in notice.lines:
            line = _line(client, notice.order_ref, lines, number)
            left = quantity - _count(line, SHIPPED, tracking=notice.tracking) \
                - _count(line, DELIVERED, tracking=notice.tracking)
            if left > 0:
                wanted.append({"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [{
                    "status": "Shipped", "statusQuantity": _quantity(left),
                    "trackingInfo": {"shipDateTime": int(notice.shipped_at.timestamp() * 1000),
                                     "carrierName": carrier_name,
                                     "methodCode": method if method in METHOD_CODES else "Standard",
                                     "trackingNumber": notice.tracking}}]}})
        return {"orderShipment": {"orderLines": {"orderLine": wanted}}} if wanted else None

    _ensure_acknowledged(client, notice.order_ref)
    _operate(client, "shippingUpdates", notice.order_ref, body_for)


def _ensure_acknowledged(client: WalmartClient, purchase_order_id: str) -> None:
    """Walmart ships only acknowledged lines; an order orderhub ships was taken, so it is acknowledged."""
    acknowledge(client, purchase_order_id)


def cancel(client: WalmartClient, notice: CancelNotice) -> None:
    try:
        code = CANCEL_CODES[notice.reason]
    except KeyError:
        raise ChannelRefused(f"{client.who}: {notice.reason!r} is not a cancel reason orderhub knows "
                             f"({', '.join(CANCEL_CODES)})") from None

    def body_for(order: dict[str, Any]) -> dict[str, Any] | None:
        lines = _lines(order)
        wanted = []
        for number, quantity in notice.lines:
            line = _line(client, notice.order_ref, lines, number)
            left = quantity - _count(line, CANCELLED, reason=code)
            if left > 0:
                wanted.append({"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [{
                    "status": "Cancelled", "cancellationReason": code, "statusQuantity": _quantity(left)}]}})
        return {"orderCancellation": {"orderLines": {"orderLine": wanted}}} if wanted else None

    _operate(client, "cancelOrderLines", notice.order_ref, body_for)


def _charge(line: dict[str, Any], kind: str, name: str | None = None) -> tuple[Decimal, Decimal]:
    """What the line charged of ``kind`` (PRODUCT, SHIPPING), and the tax on it."""
    amount = tax = Decimal("0")
    for charge in (line.get("charges") or {}).get("charge") or []:
        if charge.get("chargeType") != kind or (name and charge.get("chargeName") != name):
            continue
        try:
            amount += Decimal(str((charge.get("chargeAmount") or {}).get("amount") or 0))
            tax += Decimal(str(((charge.get("tax") or {}).get("taxAmount") or {}).get("amount") or 0))
        except InvalidOperation:
            continue
    return amount, tax


def _refunded_by(line: dict[str, Any], reference: str) -> bool:
    comment = str((line.get("refund") or {}).get("refundComments") or "")
    return comment == reference or comment.startswith(f"{reference}:")  # return-1 is not return-12


def _number(amount: Decimal) -> float | int:
    """A money amount as the JSON number Walmart's MoneyType takes."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def refund(client: WalmartClient, notice: RefundNotice) -> None:
    """Refund Order Lines (``POST /v3/orders/{purchaseOrderId}/refund``): a PRODUCT charge per line, negative,
    with the tax on that share of the line's price; the return's reference leads ``refundComments``."""
    code = REFUND_CODES.get(notice.reason)
    if code is None:
        raise ChannelRefused(f"{client.who}: {notice.reason!r} is not a refund reason orderhub knows "
                             f"({', '.join(REFUND_CODES)})")
    comment = f"{notice.reference}: {notice.note}" if notice.note else notice.reference
    step = Decimal(1).scaleb(-money.decimals(notice.currency))

    def body_for(order: dict[str, Any]) -> dict[str, Any] | None:
        lines = _lines(order)
        wanted = []
        for number, _quantity in notice.lines:
            line = _line(client, notice.order_ref, lines, number)
            amount = notice.amount_of(number)
            if amount <= 0 or _refunded_by(line, notice.reference):
                continue
            price, tax = _charge(line, "PRODUCT", "ItemPrice")
            charge: dict[str, Any] = {"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                                      "chargeAmount": {"currency": notice.currency, "amount": _number(-amount)}}
            if tax and price > 0:  # the tax on the refunded share of the price goes back with it
                share = (tax * min(amount, price) / price).quantize(step, ROUND_HALF_UP)
                charge["tax"] = {"taxName": "ItemPriceTax",
                                 "taxAmount": {"currency": notice.currency, "amount": _number(-share)}}
            wanted.append({"lineNumber": number, "isFullRefund": False, "refunds": {"refund": [{
                "refundComments": comment[:REFUND_COMMENT_CHARS],
                "refundCharges": {"refundCharge": [{"refundReason": code, "charge": charge}]}}]}})
        if not wanted:
            return None
        return {"orderRefund": {"purchaseOrderId": notice.order_ref, "orderLines": {"orderLine": wanted}}}

    _operate(client, "refundOrderLines", notice.order_ref, body_for)
