"""Cancellations and refunds of merchant-fulfilled Amazon orders, through Amazon's XML order feeds (the SP-API
has no JSON operation for either; Amazon's "Order Feed Type Values" page):

- **Cancel** (``POST_ORDER_ACKNOWLEDGEMENT_DATA``): an ``OrderAcknowledgement`` with ``StatusCode``
  Failure naming the items with orderhub's reason as Amazon's ``CancelReason`` (out of stock is
  NoInventory). Amazon cancels whole items, so a notice must cancel every unshipped unit of each item
  it names; one that cancels only some of an item's units is refused for a person (Seller Central).
  The order is read first: an order Amazon shows Canceled, or items it shows with nothing left
  (``QuantityOrdered`` 0), were cancelled already, and nothing is sent again (a repeat is harmless).
- **Refund** (``POST_PAYMENT_ADJUSTMENT_DATA``): an ``OrderAdjustment`` with, per returned line, the share
  of the refund split into ``Principal`` and ``Tax`` in the proportion the line was charged, reason
  CustomerReturn, and orderhub's id of the return (``return-<id>``) as ``MerchantAdjustmentItemID``,
  the seller's id of the adjustment, by which a repeat is known.

Both go through the Feeds API (feed_flow.py) and wait for Amazon to process the feed. An error in its
processing report is :class:`ChannelRefused` with Amazon's code and message; a feed not processed in
:data:`WAIT_SECONDS`, one that ends FATAL or CANCELLED, or Amazon down, is :class:`ChannelUnavailable`
(sent again later, harmless as above). The cancellations the sender has for an account at once go in one
feed, a message per order (createFeed's usage plan allows one feed every two minutes after a burst of 15);
a refund is a feed of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orderhub.adapters.amazon import feed_flow, order_feed_xml
from orderhub.adapters.amazon.client import AmazonUnavailable, SpApiClient
from orderhub.adapters.amazon.orders import get_order
from orderhub.domain import money
from orderhub.domain.channels import CANCEL_REASONS, REFUND_REASONS, CancelNotice, ChannelRefused, RefundNotice

ACKNOWLEDGEMENT_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
CONTENT_TYPE = "text/xml; charset=UTF-8"
POLL_SECONDS = 30.0
WAIT_SECONDS = 600.0  # Amazon processes order feeds within minutes; past this the operation goes again later
# orderhub's reasons as Amazon's CancelReason (OrderAcknowledgement.xsd)
CANCEL_REASON_CODES = {"out_of_stock": "NoInventory", "customer_request": "BuyerCanceled",
                       "fraud": "RiskAssessmentInformationNotValid", "address": "ShippingAddressUndeliverable",
                       "other": "GeneralAdjustment"}
# ... and as Amazon's AdjustmentReason (OrderAdjustment.xsd): units that came back, sellable or not
REFUND_REASON_CODES = {"returned": "CustomerReturn", "damaged": "CustomerReturn"}
MAX_ADJUSTMENT_ID = 50  # MerchantAdjustmentItemID is a StringNotNull (at most 50 characters)
assert set(CANCEL_REASON_CODES) == set(CANCEL_REASONS) and set(REFUND_REASON_CODES) == set(REFUND_REASONS)


def _amount(item: dict[str, Any], key: str) -> Decimal:
    found = item.get(key)
    return Decimal(str(found.get("Amount") or "0")) if isinstance(found, dict) else Decimal("0")


class OrderFeeds:
    def __init__(self, client: SpApiClient, *, sleep: Callable[[float], None] | None = None,
                 poll_seconds: float = POLL_SECONDS, wait_seconds: float = WAIT_SECONDS) -> None:
        self.client = client
        self.sleep = sleep or client.sleep
        self.poll_seconds = poll_seconds
        self.wait_seconds = wait_seconds
        self.last_feed_id: str | None = None

    def _where(self, order_ref: str) -> str:
        return f"amazon account {self.client.account.name}: order {order_ref}"

    def _order(self, order_ref: str) -> dict[str, Any]:
        order = get_order(self.client, order_ref)
        if order is None:
            raise ChannelRefused(f"{self._where(order_ref)} is not known to Amazon (getOrder answered 404)")
        return order

    def _send(self, order_ref: str, feed_type: str, content: bytes) -> list[order_feed_xml.ReportResult]:
        """The feed sent and processed; the errors of its report."""
        processed = feed_flow.submit(self.client, feed_type, content, CONTENT_TYPE, sleep=self.sleep,
                                     poll_seconds=self.poll_seconds, wait_seconds=self.wait_seconds,
                                     again="it goes again later")
        self.last_feed_id = processed.feed_id
        if processed.status != "DONE":
            raise AmazonUnavailable(f"{self._where(order_ref)}: {feed_type} feed {processed.feed_id} ended "
                                    f"{processed.status}; it goes again later")
        try:
            results = order_feed_xml.report_results(processed.report)
        except order_feed_xml.ReportUnreadable as exc:
            raise AmazonUnavailable(f"{self._where(order_ref)}: the processing report of {feed_type} feed "
                                    f"{processed.feed_id} could not be read ({exc}); it goes again later") from None
        return [r for r in results if r.kind == "Error"]

    def _refused(self, order_ref: str, feed_type: str, errors: list[order_feed_xml.ReportResult]) -> ChannelRefused:
        said = "; ".join(f"{e.code}: {e.description}" + (f" (item {e.item_code})" if e.item_code else "")
                         for e in errors)
        return ChannelRefused(f"{self._where(order_ref)}: Amazon refused the {feed_type} feed "
                              f"{self.last_feed_id}: {said}")

    # -- cancel

    def cancel(self, notice: CancelNotice) -> None:
        failure = self.cancel_many([notice])[0]
        if failure is not None:
            raise failure

    def cancel_many(self, notices: Sequence[CancelNotice]) -> list[ChannelRefused | None]:
        """Cancel the notices' items in one acknowledgement feed, one message per order. Returns, per notice,
        None (cancelled, now or before) or why Amazon refused it; raises ChannelUnavailable when the feed as a
        whole did not go through (every notice goes again later, harmlessly)."""
        results: list[ChannelRefused | None] = [None] * len(notices)
        batch: list[tuple[int, str, list[tuple[str, str]]]] = []
        for index, notice in enumerate(notices):
            try:
                chosen = self._to_cancel(notice)
            except ChannelRefused as exc:
                results[index] = exc
                continue
            if chosen:
                batch.append((index, notice.order_ref, chosen))
        if not batch:
            return results
        content = order_feed_xml.acknowledgements(self.client.seller_id, [(ref, chosen) for _, ref, chosen in batch])
        label = batch[0][1] if len(batch) == 1 else f"{batch[0][1]} and {len(batch) - 1} more"
        errors = self._send(label, ACKNOWLEDGEMENT_FEED, content)
        for message_id, (index, order_ref, chosen) in enumerate(batch, start=1):
            said = [e for e in errors if e.message_id == message_id]
            if said and not self._cancelled(order_ref, [line for line, _ in chosen]):
                results[index] = self._refused(order_ref, ACKNOWLEDGEMENT_FEED, said)
        return results

    def _to_cancel(self, notice: CancelNotice) -> list[tuple[str, str]]:
        """The notice's items Amazon still has to cancel, with Amazon's reason (none: done already)."""
        reason = CANCEL_REASON_CODES.get(notice.reason)
        if reason is None:
            raise ChannelRefused(f"cancel reason {notice.reason!r} is not one of {', '.join(CANCEL_REASONS)}")
        order = self._order(notice.order_ref)
        if order.get("OrderStatus") == "Canceled":
            return []
        items = self._items(order)
        chosen: list[tuple[str, str]] = []
        for line, quantity in notice.lines:
            item = self._item(notice.order_ref, items, line)
            left, shipped = int(item.get("QuantityOrdered") or 0), int(item.get("QuantityShipped") or 0)
            if left == 0:
                continue  # cancelled already
            if left - shipped == 0:
                raise ChannelRefused(f"{self._where(notice.order_ref)}: item {line} has shipped; it cannot be "
                                     "cancelled (refund it when it comes back)")
            if quantity < left - shipped:
                raise ChannelRefused(
                    f"{self._where(notice.order_ref)}: orderhub cancelled {quantity} of the {left - shipped} "
                    f"unshipped unit(s) of item {line}, but Amazon's order acknowledgement cancels whole items. "
                    "Ship the other units, then cancel these in Seller Central (Manage Orders, Refund order: "
                    f"quantity cancelled, reason {reason}), and dismiss this entry")
            chosen.append((line, reason))
        return chosen

    def _cancelled(self, order_ref: str, lines: list[str]) -> bool:
        """Whether Amazon shows the lines cancelled (the feed's error was about a cancellation already made)."""
        order = self._order(order_ref)
        if order.get("OrderStatus") == "Canceled":
            return True
        items = self._items(order)
        return all(int(items.get(line, {}).get("QuantityOrdered") or 0) == 0 for line in lines)

    def _items(self, order: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {str(i.get("OrderItemId")): i for i in order.get("OrderItems") or [] if isinstance(i, dict)}

    def _item(self, order_ref: str, items: dict[str, dict[str, Any]], line: str) -> dict[str, Any]:
        item = items.get(line)
        if item is None:
            raise ChannelRefused(f"{self._where(order_ref)} has no item {line}")
        return item

    # -- refund

    def refund(self, notice: RefundNotice) -> None:
        reason = REFUND_REASON_CODES.get(notice.reason)
        if reason is None:
            raise ChannelRefused(f"refund reason {notice.reason!r} is not one of {', '.join(REFUND_REASONS)}")
        items = self._items(self._order(notice.order_ref))
        shares = dict(notice.line_amounts) if notice.line_amounts else self._shares(notice, items)
        adjusted = []
        for line, quantity in notice.lines:
            item = self._item(notice.order_ref, items, line)
            components = _split(shares.get(line, Decimal("0")), item, notice.currency)
            if components:
                adjusted.append(order_feed_xml.Adjusted(line, _adjustment_id(notice.reference), reason, components,
                                                        quantity))
        if not adjusted:
            raise ChannelRefused(f"{self._where(notice.order_ref)}: the refund {notice.reference} comes to nothing "
                                 f"on the lines {', '.join(line for line, _ in notice.lines)}")
        content = order_feed_xml.adjustment(self.client.seller_id, notice.order_ref, notice.currency, adjusted)
        errors = self._send(notice.order_ref, ADJUSTMENT_FEED, content)
        if errors:
            raise self._refused(notice.order_ref, ADJUSTMENT_FEED, errors)

    def _shares(self, notice: RefundNotice, items: dict[str, dict[str, Any]]) -> dict[str, Decimal]:
        """The refund over its lines by what they were charged (when orderhub gave no split)."""
        step = Decimal(1).scaleb(-money.decimals(notice.currency))
        weights = [(line, _amount(items.get(line, {}), "ItemPrice")) for line, _q in notice.lines]
        total = sum((w for _, w in weights), Decimal("0"))
        shares: dict[str, Decimal] = {}
        for line, weight in weights[:-1]:
            shares[line] = (notice.amount * weight / total).quantize(step) if total else Decimal("0")
        if weights:
            shares[weights[-1][0]] = notice.amount - sum(shares.values(), Decimal("0"))
        return shares


def _split(share: Decimal, item: dict[str, Any], currency: str) -> tuple[tuple[str, Decimal], ...]:
    """A line's refund as Amazon's components: Tax in the proportion the line's tax bears to what it was
    charged, Principal the rest (zero components left out)."""
    step = Decimal(1).scaleb(-money.decimals(currency))
    price, tax = _amount(item, "ItemPrice"), _amount(item, "ItemTax")
    tax_part = (share * tax / (price + tax)).quantize(step, ROUND_HALF_UP) if price + tax > 0 else Decimal("0")
    parts = (("Principal", (share - tax_part).quantize(step)), ("Tax", tax_part))
    return tuple((kind, amount) for kind, amount in parts if amount > 0)


def _adjustment_id(reference: str) -> str:
    return reference if len(reference) <= MAX_ADJUSTMENT_ID else reference[:MAX_ADJUSTMENT_ID]
