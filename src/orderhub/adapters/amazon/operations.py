"""What orderhub does to an Amazon order: confirm its shipments; acknowledging and cancelling are explained below.

- ``acknowledge``: nothing to send. Orders API v0 has no acknowledgement; the XML order acknowledgement
  feed it once had is retired, and an order becomes Unshipped by Amazon's payment authorisation, not by
  the seller. orderhub holds Pending orders itself (financial_status "pending").
- ``confirm_shipment``: ``confirmShipment`` with the package reference (orderhub's shipment id), the
  carrier, tracking number, ship date and the order items shipped. It is harmless twice: when Amazon
  refuses a confirmation (the lines were shipped already, e.g. the first answer was lost on the way),
  the order's items are read back, and if they show every line shipped at least as far as asked, the
  confirmation stands as done.
- ``cancel_lines``: refused. Orders API v0 has no JSON cancellation; Amazon cancels through the order
  fulfilment feed (POST_ORDER_ACKNOWLEDGEMENT_DATA with a cancellation reason), which orderhub does not
  send yet: a person cancels the lines in Seller Central.
- ``refund``: refused. Amazon has no JSON refund for merchant-fulfilled orders in the SP-API: the Orders API
  has none, and the Feeds API takes refunds only in the order adjustment feeds (POST_PAYMENT_ADJUSTMENT_DATA,
  XML, and POST_FLAT_FILE_PAYMENT_ADJUSTMENT_DATA, tab-separated; Amazon's "Order Feed Type Values" page),
  which orderhub does not send yet: a person refunds the order in Seller Central (Manage Orders, Refund order).
"""

from __future__ import annotations

from orderhub.adapters.amazon.client import AmazonRefused, SpApiClient
from orderhub.adapters.amazon.orders import ORDERS_PATH, iso, order_items
from orderhub.domain import money
from orderhub.domain.channels import CANCEL_REASONS, CancelNotice, ChannelRefused, RefundNotice, ShipmentNotice

# Amazon's carrier codes orderhub's carrier names map to; any other carrier goes as "Other" with its name.
CARRIER_CODES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dhl express": "DHL",
                 "dpd": "DPD", "gls": "GLS", "hermes": "Hermes", "royal mail": "Royal Mail",
                 "canada post": "Canada Post", "ontrac": "OnTrac", "amazon shipping": "Amazon Shipping",
                 "deutsche post": "Deutsche Post", "colissimo": "Colissimo", "japan post": "Japan Post",
                 "yamato transport": "Yamato Transport"}
# What Amazon's order fulfilment feed would carry for each of orderhub's reasons (CancelReason of the
# order acknowledgement feed), kept for the day orderhub sends it.
CANCEL_REASON_CODES = {"out_of_stock": "NoInventory", "customer_request": "BuyerCanceled",
                       "fraud": "RiskAssessmentInformationNotValid", "address": "ShippingAddressUndeliverable",
                       "other": "GeneralAdjustment"}
assert set(CANCEL_REASON_CODES) == set(CANCEL_REASONS)


class AmazonOrders:
    def __init__(self, client: SpApiClient) -> None:
        self.client = client

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
        raise ChannelRefused(
            f"amazon account {self.client.account.name}: order {notice.order_ref} was not cancelled on Amazon. "
            f"Amazon cancels lines through its order fulfilment feed (reason {CANCEL_REASON_CODES.get(notice.reason)}),"
            " which orderhub does not send yet; cancel the lines in Seller Central")

    def refund(self, notice: RefundNotice) -> None:
        lines = ", ".join(f"{quantity} x item {line}" for line, quantity in notice.lines)
        raise ChannelRefused(
            f"amazon account {self.client.account.name}: order {notice.order_ref} was not refunded on Amazon "
            f"({money.with_currency(notice.amount, notice.currency)} for {lines}, {notice.reference}). Amazon takes "
            "refunds of merchant orders only through its order adjustment feed, which orderhub does not send yet; "
            "refund the order in Seller Central (Orders, Manage Orders, Refund order), then dismiss this entry")
