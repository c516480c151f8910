"""What orderhub does to an Amazon order: confirm its shipments, cancel its items and refund its returns.

- ``acknowledge``: nothing to send. Orders API v0 has no acknowledgement, and an order becomes Unshipped
  by Amazon's payment authorisation, not by the seller. orderhub holds Pending orders itself
  (financial_status "pending").
- ``confirm_shipment``: ``confirmShipment`` with the package reference (orderhub's shipment id), the
  carrier, tracking number, ship date and the order items shipped. It is harmless twice: when Amazon
  refuses a confirmation (the lines were shipped already, e.g. the first answer was lost on the way),
  the order's items are read back, and if they show every line shipped at least as far as asked, the
  confirmation stands as done.
- ``cancel_lines`` and ``refund``: the SP-API takes neither as JSON for merchant-fulfilled orders; they go
  as Amazon's XML order feeds, the order acknowledgement feed (cancel, with a CancelReason) and the order
  adjustment feed (refund). See order_feeds.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from orderhub.adapters.amazon.client import AmazonRefused, SpApiClient
from orderhub.adapters.amazon.order_feeds import OrderFeeds
from orderhub.adapters.amazon.orders import ORDERS_PATH, iso, order_items
from orderhub.domain.channels import CancelNotice, ChannelRefused, RefundNotice, ShipmentNotice

# Amazon's carrier codes orderhub's carrier names map to; any other carrier goes as "Other" with its name.
CARRIER_CODES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dhl express": "DHL",
                 "dpd": "DPD", "gls": "GLS", "hermes": "Hermes", "royal mail": "Royal Mail",
                 "canada post": "Canada Post", "ontrac": "OnTrac", "amazon shipping": "Amazon Shipping",
                 "deutsche post": "Deutsche Post", "colissimo": "Colissimo", "japan post": "Japan Post",
                 "yamato transport": "Yamato Transport"}


class AmazonOrders:
    def __init__(self, client: SpApiClient) -> None:
        self.client = client
        self.feeds = OrderFeeds(client)

    def acknowledge(self, order_ref: str) -> None:
        """Amazon has no acknowledgement in the Orders API: nothing to do (see the module's notes)."""

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        c = self.client
        if not notice.tracking:
            raise ChannelRefused(f"amazon account {c.account.name}, confirmShipment: order {notice.order_ref} "
                                 f"shipment {notice.reference} has no tracking number; Amazon needs one")
        carrier = CARRIER_CODES.get(notice.carrier.strip().lower())
        package = {"packageReferenceId": notice.reference, "carrierCode": carrier or "Other",
                   "trackingNumber": notice.tracking, "shipDate": iso(notice.shipped_at),
                   "orderItems": [{"orderItemId": line, "quantity": quantity} for line, quantity in notice.lines]}
        if carrier is None:
            package["carrierName"] = notice.carrier
        path = f"{ORDERS_PATH}/{notice.order_ref}/shipmentConfirmation"
        try:
            c.call("confirmShipment", "POST", path, json={"marketplaceId": c.marketplace_id, "packageDetail": package})
        except AmazonRefused as exc:
            if exc.status == 400 and self._already_shipped(notice):
                return
            raise

    def _already_shipped(self, notice: ShipmentNotice) -> bool:
        try:
            items = order_items(self.client, notice.order_ref)
        except AmazonRefused:
            return False
        shipped = {str(i.get("OrderItemId")): int(i.get("QuantityShipped") or 0) for i in items}
        return all(shipped.get(line, 0) >= quantity for line, quantity in notice.lines)

    def cancel_lines(self, notice: CancelNotice) -> None:
        """Cancel the lines through the order acknowledgement feed (order_feeds.py)."""
        self.feeds.cancel(notice)

    def cancel_many(self, notices: Sequence[CancelNotice]) -> list[ChannelRefused | None]:
        """Many orders' cancellations in one acknowledgement feed (domain.channels.BatchCancels)."""
        return self.feeds.cancel_many(notices)

    def refund(self, notice: RefundNotice) -> None:
        """Refund the returned lines through the order adjustment feed (order_feeds.py)."""
        self.feeds.refund(notice)
