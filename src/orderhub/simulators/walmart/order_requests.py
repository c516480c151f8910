"""Reading the bodies of ship, cancel and refund requests, as the published schemas define them.

``OrderShipment`` → ``orderShipment.orderLines.orderLine[]`` of ``{lineNumber,
orderLineStatuses.orderLineStatus[] {status: "Shipped", statusQuantity, trackingInfo
{shipDateTime, carrierName {carrier | otherCarrier}, methodCode, trackingNumber,
trackingURL}}, intentToCancelOverride}``; ``OrderCancellationResponse`` →
``orderCancellation.orderLines.orderLine[]`` with ``cancellationReason`` from the published
enum; ``OrderRefund_json`` → ``orderRefund.orderLines.orderLine[].refunds.refund[]
.refundCharges.refundCharge[] {refundReason, charge}``. ``sellerOrderId`` is marked required
in the shipping schema but is not enforced (the published reference examples of other
Walmart clients omit it); everything else the schemas require is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.walmart.errors import ORDERS, bad_content

CANCEL_REASONS = ("CUSTOMER_REQUESTED_SELLER_TO_CANCEL", "SELLER_CANCEL_PRICING_ERROR", "SELLER_CANCEL_OUT_OF_STOCK",
                  "SELLER_CANCEL_FRAUD_STOP_SHIPMENT", "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE")
METHOD_CODES = ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")
REFUND_REASONS = ("BillingError", "TaxExemptCustomer", "ItemNotAsAdvertised", "IncorrectItemReceived",
                  "CancelledYetShipped", "ItemNotReceivedByCustomer", "IncorrectShippingPrice", "DamagedItem",
                  "DefectiveItem", "CustomerChangedMind", "CustomerReceivedItemLate", "Missing Parts / Instructions",
                  "Finance -> Goodwill", "Finance -> Rollback", "Buyer canceled", "Customer returned item",
                  "General adjustment", "Merchandise not received", "Quality -> Missing Parts / Instructions",
                  "Shipping & Delivery -> Damaged", "Shipping & Delivery -> Shipping Price Discrepancy", "Others")


@dataclass
class ShipRequest:
    line_number: str
    quantity: int
    tracking: dict[str, Any]
    override_intent_to_cancel: bool
    seller_order_id: str | None
    return_center: dict[str, Any] | None


@dataclass
class CancelRequest:
    line_number: str
    quantity: int
    reason: str


@dataclass
class RefundRequest:
    line_number: str
    reason: str
    charge_type: str
    amount: Decimal
    tax: Decimal
    currency: str
    comments: str | None
    charge: dict[str, Any]


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_content(ORDERS, path, f"{path} must be an object.")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise bad_content(ORDERS, path, f"{path} must be a non-empty array.")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_content(ORDERS, path, f"{path} is required (a string).")
    return value


def _quantity(value: Any, path: str) -> int:
    q = _obj(value, path)
    if q.get("unitOfMeasurement") not in ("EACH", "EA"):
        raise bad_content(ORDERS, f"{path}.unitOfMeasurement", f"{path}.unitOfMeasurement must be EACH.")
    amount = q.get("amount")
    try:
        number = int(str(amount))
    except ValueError:
        number = 0
    if number < 1:
        raise bad_content(ORDERS, f"{path}.amount", f"{path}.amount must be a whole number of at least 1 "
                                                   "(as a string, e.g. \"1\").")
    return number


def _lines(body: Any, root: str) -> list[Any]:
    record = _obj(_obj(body, "body").get(root), root)
    lines = _obj(record.get("orderLines"), f"{root}.orderLines")
    return _list(lines.get("orderLine"), f"{root}.orderLines.orderLine")


def _statuses(line: dict[str, Any], path: str) -> list[Any]:
    statuses = _obj(line.get("orderLineStatuses"), f"{path}.orderLineStatuses")
    return _list(statuses.get("orderLineStatus"), f"{path}.orderLineStatuses.orderLineStatus")


def parse_shipment(body: Any) -> list[ShipRequest]:
    out = []
    for i, raw in enumerate(_lines(body, "orderShipment")):
        path = f"orderShipment.orderLines.orderLine[{i}]"
        line = _obj(raw, path)
        number = _str(line.get("lineNumber"), f"{path}.lineNumber")
        override = line.get("intentToCancelOverride", False)
        if not isinstance(override, bool):
            raise bad_content(ORDERS, f"{path}.intentToCancelOverride", "intentToCancelOverride must be a boolean.")
        for j, raw_status in enumerate(_statuses(line, path)):
            spath = f"{path}.orderLineStatuses.orderLineStatus[{j}]"
            status = _obj(raw_status, spath)
            if status.get("status") != "Shipped":
                raise bad_content(ORDERS, f"{spath}.status", f"{spath}.status must be 'Shipped'.")
            out.append(ShipRequest(number, _quantity(status.get("statusQuantity"), f"{spath}.statusQuantity"),
                                   _tracking(status.get("trackingInfo"), f"{spath}.trackingInfo"), override,
                                   line.get("sellerOrderId"), status.get("returnCenterAddress")))
    return out


def _tracking(value: Any, path: str) -> dict[str, Any]:
    info = _obj(value, path)
    ship_time = info.get("shipDateTime")
    if isinstance(ship_time, bool) or not isinstance(ship_time, int) or ship_time <= 0:
        raise bad_content(ORDERS, f"{path}.shipDateTime", f"{path}.shipDateTime must be epoch milliseconds.")
    carrier = _obj(info.get("carrierName"), f"{path}.carrierName")
    if not (isinstance(carrier.get("carrier"), str) and carrier["carrier"].strip()) and not (
            isinstance(carrier.get("otherCarrier"), str) and carrier["otherCarrier"].strip()):
        raise bad_content(ORDERS, f"{path}.carrierName", f"{path}.carrierName needs carrier (a supported carrier) "
                                                         "or otherCarrier.")
    if info.get("methodCode") not in METHOD_CODES:
        raise bad_content(ORDERS, f"{path}.methodCode", f"{path}.methodCode must be one of {', '.join(METHOD_CODES)}.")
    _str(info.get("trackingNumber"), f"{path}.trackingNumber")
    if "trackingURL" in info and not isinstance(info["trackingURL"], str):
        raise bad_content(ORDERS, f"{path}.trackingURL", f"{path}.trackingURL must be a string.")
    keep = ("shipDateTime", "carrierName", "methodCode", "trackingNumber", "trackingURL")
    return {k: info[k] for k in keep if k in info}


def parse_cancellation(body: Any) -> list[CancelRequest]:
    out = []
    for i, raw in enumerate(_lines(body, "orderCancellation")):
        path = f"orderCancellation.orderLines.orderLine[{i}]"
        line = _obj(raw, path)
        number = _str(line.get("lineNumber"), f"{path}.lineNumber")
        for j, raw_status in enumerate(_statuses(line, path)):
            spath = f"{path}.orderLineStatuses.orderLineStatus[{j}]"
            status = _obj(raw_status, spath)
            if status.get("status") != "Cancelled":
                raise bad_content(ORDERS, f"{spath}.status", f"{spath}.status must be 'Cancelled'.")
            reason = status.get("cancellationReason")
            if reason not in CANCEL_REASONS:
                raise bad_content(ORDERS, f"{spath}.cancellationReason",
                                  f"{spath}.cancellationReason must be one of {', '.join(CANCEL_REASONS)}.")
            out.append(CancelRequest(number, _quantity(status.get("statusQuantity"), f"{spath}.statusQuantity"),
                                     reason))
    return out


def _amount(value: Any, path: str) -> tuple[Decimal, str]:
    m = _obj(value, path)
    currency = _str(m.get("currency"), f"{path}.currency")
    raw = m.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise bad_content(ORDERS, f"{path}.amount", f"{path}.amount must be a number.")
    try:
        return Decimal(str(raw)), currency
    except InvalidOperation:
        raise bad_content(ORDERS, f"{path}.amount", f"{path}.amount must be a number.") from None


def parse_refund(body: Any, purchase_order_id: str) -> list[RefundRequest]:
    record = _obj(_obj(body, "body").get("orderRefund"), "orderRefund")
    if record.get("purchaseOrderId") not in (None, purchase_order_id):
        raise bad_content(ORDERS, "orderRefund.purchaseOrderId",
                          f"orderRefund.purchaseOrderId {record.get('purchaseOrderId')!r} does not match the URL's "
                          f"{purchase_order_id!r}.")
    out = []
    for i, raw in enumerate(_lines(body, "orderRefund")):
        path = f"orderRefund.orderLines.orderLine[{i}]"
        line = _obj(raw, path)
        number = _str(line.get("lineNumber"), f"{path}.lineNumber")
        refunds = _list(_obj(line.get("refunds"), f"{path}.refunds").get("refund"), f"{path}.refunds.refund")
        for j, raw_refund in enumerate(refunds):
            rpath = f"{path}.refunds.refund[{j}]"
            refund = _obj(raw_refund, rpath)
            charges = _list(_obj(refund.get("refundCharges"), f"{rpath}.refundCharges").get("refundCharge"),
                            f"{rpath}.refundCharges.refundCharge")
            for k, raw_charge in enumerate(charges):
                cpath = f"{rpath}.refundCharges.refundCharge[{k}]"
                entry = _obj(raw_charge, cpath)
                reason = entry.get("refundReason")
                if reason not in REFUND_REASONS:
                    raise bad_content(ORDERS, f"{cpath}.refundReason",
                                      f"{cpath}.refundReason must be one of the published refund reasons, e.g. "
                                      "'CustomerChangedMind' or 'Merchandise not received'.")
                charge = _obj(entry.get("charge"), f"{cpath}.charge")
                charge_type = charge.get("chargeType")
                if charge_type not in ("PRODUCT", "SHIPPING"):
                    raise bad_content(ORDERS, f"{cpath}.charge.chargeType", "chargeType must be PRODUCT or SHIPPING.")
                _str(charge.get("chargeName"), f"{cpath}.charge.chargeName")
                amount, currency = _amount(charge.get("chargeAmount"), f"{cpath}.charge.chargeAmount")
                if amount >= 0:
                    raise bad_content(ORDERS, f"{cpath}.charge.chargeAmount.amount",
                                      "A refund's chargeAmount.amount is negative (e.g. -10.00).")
                tax = Decimal("0")
                if charge.get("tax") is not None:
                    tax, _ = _amount(_obj(charge["tax"], f"{cpath}.charge.tax").get("taxAmount"),
                                     f"{cpath}.charge.tax.taxAmount")
                out.append(RefundRequest(number, reason, charge_type, amount, tax, currency,
                                         refund.get("refundComments"), charge))
    return out
