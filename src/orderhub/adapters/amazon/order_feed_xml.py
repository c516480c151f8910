"""The XML documents of Amazon's order feeds, written from orderhub's data, and their processing reports read.

Shapes follow Amazon's XSDs (release 4.1 / 1.9: ``amzn-envelope.xsd``, ``amzn-header.xsd``,
``OrderAcknowledgement.xsd``, ``OrderAdjustment.xsd``, ``ProcessingReport.xsd``; summarised in
simulators/amazon/samples/order_feeds_xsd.json):

- ``AmazonEnvelope`` > ``Header`` (``DocumentVersion`` 1.01, ``MerchantIdentifier``: the seller id) >
  ``MessageType`` > ``Message`` (``MessageID``, then the message's own element).
- ``OrderAcknowledgement``: ``AmazonOrderID``, ``StatusCode`` (Failure cancels), and per cancelled item
  ``Item`` > ``AmazonOrderItemCode``, ``CancelReason``.
- ``OrderAdjustment``: ``AmazonOrderID``, ``ActionType`` Refund, and per item ``AdjustedItem`` >
  ``AmazonOrderItemCode``, ``MerchantAdjustmentItemID``, ``AdjustmentReason``, ``ItemPriceAdjustments`` >
  ``Component`` (``Type`` Principal/Tax, ``Amount currency=...``; positive: a credit to the buyer),
  ``Quantity``.
- The report: ``ProcessingReport`` > ``ProcessingSummary`` (``MessagesProcessed``, ``MessagesSuccessful``,
  ``MessagesWithError``, ``MessagesWithWarning``) and ``Result`` entries (``MessageID``, ``ResultCode``
  Error/Warning, ``ResultMessageCode``, ``ResultDescription``, ``AdditionalInfo``).

Text is escaped by ElementTree; amounts carry their currency's decimals. The report comes from outside:
it is read without DTDs or entities, and only up to a bounded size.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.parsers import expat

from orderhub.domain import money

DOCUMENT_VERSION = "1.01"
MAX_REPORT_BYTES = 20_000_000
MAX_DEPTH = 32


@dataclass(frozen=True)
class Adjusted:
    """One item of an order adjustment: its code, the seller's id of the adjustment, the reason, the
    components refunded (type, amount) and the units it is for."""

    item_code: str
    adjustment_id: str
    reason: str
    components: tuple[tuple[str, Decimal], ...]
    quantity: int


@dataclass(frozen=True)
class ReportResult:
    message_id: int
    kind: str  # Error or Warning
    code: str
    description: str
    item_code: str | None = None


def _root(merchant: str, message_type: str) -> ET.Element:
    root = ET.Element("AmazonEnvelope", {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                         "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = DOCUMENT_VERSION
    ET.SubElement(header, "MerchantIdentifier").text = merchant
    ET.SubElement(root, "MessageType").text = message_type
    return root


def _message(root: ET.Element, message_id: int, message_type: str) -> ET.Element:
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = str(message_id)
    return ET.SubElement(message, message_type)


def _envelope(merchant: str, message_type: str) -> tuple[ET.Element, ET.Element]:
    root = _root(merchant, message_type)
    return root, _message(root, 1, message_type)


def _bytes(root: ET.Element) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")).encode("utf-8")


def acknowledgement(merchant: str, order_id: str, items: list[tuple[str, str]]) -> bytes:
    """An order acknowledgement cancelling ``items`` ((AmazonOrderItemCode, CancelReason)) of the order."""
    return acknowledgements(merchant, [(order_id, items)])


def acknowledgements(merchant: str, orders: list[tuple[str, list[tuple[str, str]]]]) -> bytes:
    """One feed of order acknowledgements, message N cancelling the items of the N-th order."""
    root = _root(merchant, "OrderAcknowledgement")
    for message_id, (order_id, items) in enumerate(orders, start=1):
        body = _message(root, message_id, "OrderAcknowledgement")
        ET.SubElement(body, "AmazonOrderID").text = order_id
        ET.SubElement(body, "StatusCode").text = "Failure"
        for code, reason in items:
            item = ET.SubElement(body, "Item")
            ET.SubElement(item, "AmazonOrderItemCode").text = code
            ET.SubElement(item, "CancelReason").text = reason
    return _bytes(root)


def adjustment(merchant: str, order_id: str, currency: str, items: list[Adjusted]) -> bytes:
    """An order adjustment refunding ``items`` of the order, amounts in ``currency``'s decimals."""
    root, body = _envelope(merchant, "OrderAdjustment")
    ET.SubElement(body, "AmazonOrderID").text = order_id
    ET.SubElement(body, "ActionType").text = "Refund"
    step = Decimal(1).scaleb(-money.decimals(currency))
    for adjusted in items:
        item = ET.SubElement(body, "AdjustedItem")
        ET.SubElement(item, "AmazonOrderItemCode").text = adjusted.item_code
        ET.SubElement(item, "MerchantAdjustmentItemID").text = adjusted.adjustment_id
        ET.SubElement(item, "AdjustmentReason").text = adjusted.reason
        prices = ET.SubElement(item, "ItemPriceAdjustments")
        for kind, amount in adjusted.components:
            component = ET.SubElement(prices, "Component")
            ET.SubElement(component, "Type").text = kind
            ET.SubElement(component, "Amount", {"currency": currency}).text = str(amount.quantize(step))
        ET.SubElement(item, "Quantity").text = str(adjusted.quantity)
    return _bytes(root)


class ReportUnreadable(ValueError):
    """The processing report is not an XML document orderhub reads."""


def _parse(content: bytes) -> ET.Element:
    if len(content) > MAX_REPORT_BYTES:
        raise ReportUnreadable(f"the report is larger than {MAX_REPORT_BYTES} bytes")
    parser = expat.ParserCreate()
    stack: list[ET.Element] = []
    found: list[ET.Element] = []

    def refuse(*_args: Any) -> None:
        raise ReportUnreadable("the report declares a DOCTYPE")

    def start(name: str, attributes: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise ReportUnreadable("the report is nested too deeply")
        element = ET.Element(name, attributes)
        (stack[-1].append(element) if stack else found.append(element))
        stack.append(element)

    def text(data: str) -> None:
        if stack:
            stack[-1].text = (stack[-1].text or "") + data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _name: stack.pop()
    parser.CharacterDataHandler = text
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise ReportUnreadable(f"the report is not XML ({expat.ErrorString(exc.code)})") from None
    if not found:
        raise ReportUnreadable("the report is empty")
    return found[0]


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return ((found.text or "") if found is not None else "").strip()


def report_results(content: bytes | None) -> list[ReportResult]:
    """The ``Result`` entries of a processing report (none: every message was taken)."""
    if not content:
        raise ReportUnreadable("Amazon wrote no processing report")
    root = _parse(content)
    report = root.find("./Message/ProcessingReport") if root.tag == "AmazonEnvelope" else None
    if report is None:
        raise ReportUnreadable("the report has no ProcessingReport")
    out = []
    for result in report.findall("Result"):
        raw = _text(result, "MessageID")
        out.append(ReportResult(int(raw) if raw.isdigit() else 0, _text(result, "ResultCode"),
                                _text(result, "ResultMessageCode"), _text(result, "ResultDescription")[:500],
                                _text(result, "AdditionalInfo/AmazonOrderItemCode") or None))
    return out
