"""Shopify as a channel: its webhook and poll topics read as canonical records (see domain/channels.py), the
shop's stock at its stock location (adapters/shopify/stock.py), refunds of the units that came back to orderhub
(adapters/shopify/refunds.py), and its customers' marketing consent and erasure (adapters/shopify/customers.py
reads them, adapters/shopify/customer_consent.py tells the shop). Orders' fulfilments and cancellations have jobs
of their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orderhub.adapters.shopify import customer_consent, customers, graphql, refunds, shop_client, translate
from orderhub.adapters.shopify.stock import ShopifyStock
from orderhub.adapters.shopify.webhooks import ORDER_TOPICS
from orderhub.adapters.store import shopify_listings, shops
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.secrets import SecretKeyError
from orderhub.domain.channels import (
    CancelNotice,
    ChannelRefused,
    Inbound,
    RefundNotice,
    ShipmentNotice,
    UnknownTopic,
)
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import JobSignal

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

BULK_OPERATION_PREFIX = "gid://shopify/BulkOperation/"


def _bulk_operation_finished(payload: Any, _notified_at: datetime) -> JobSignal:
    # Kept where the bulk import jobs (services/jobs/initial_load.py) look while they wait; polling still
    # decides the outcome.
    operation = payload.get("admin_graphql_api_id") if isinstance(payload, dict) else None
    if not isinstance(operation, str) or not operation.startswith(BULK_OPERATION_PREFIX):
        raise InvalidRecord("admin_graphql_api_id", f"expected the id of a bulk operation ({BULK_OPERATION_PREFIX}...)")
    return JobSignal("bulk_operations/finish", operation[:100],
                     {k: payload.get(k) for k in ("status", "error_code", "completed_at")})


_Reader = Callable[[Any, datetime], Inbound]

_READERS: dict[str, _Reader] = {
    **{topic: translate.order for topic in ORDER_TOPICS},
    "orders/edited": lambda payload, _at: translate.order_edit(payload),
    "refunds/create": translate.refund,
    "order_transactions/create": lambda payload, _at: translate.transaction(payload),
    "products/create": lambda payload, _at: translate.product(payload),
    "products/update": lambda payload, _at: translate.product(payload),
    "products/delete": translate.product_deletion,
    "inventory_levels/update": lambda payload, _at: translate.inventory_level(payload),
    "customers/redact": lambda payload, _at: translate.customer_redaction(payload),
    "customers/data_request": lambda payload, _at: translate.customer_data_request(payload),
    "shop/redact": lambda payload, _at: translate.shop_redaction(payload),
    "app/uninstalled": lambda payload, _at: translate.app_uninstalled(payload),
    "bulk_operations/finish": _bulk_operation_finished,
    **customers.READERS,
}


class ShopifyTranslator:
    kind = "shopify"

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        try:
            reader = _READERS[topic]
        except KeyError:
            raise UnknownTopic(f"Shopify topic {topic!r} is not one orderhub reads") from None
        return reader(payload, notified_at)

    def describe(self, topic: str, payload: Any) -> str | None:
        if isinstance(payload, dict) and topic in ORDER_TOPICS:
            name = payload.get("name")
            return f"{topic} order {name + ' ' if isinstance(name, str) else ''}(Shopify id {payload.get('id')})"
        return customers.describe(topic, payload)


TRANSLATOR = ShopifyTranslator()


def stock_channel(account: Account, hub: Hub | None, **options: Any) -> ShopifyStock:
    """The shop's stock channel: its access token and stock location read from the hub's database. Raises
    ValueError saying what is missing."""
    if hub is None:
        raise ValueError(f"Shopify shop {account.name}: its access token is read from orderhub's database")
    try:
        with hub.db.read() as conn:
            shop = shops.by_id(conn, account.id)
            location = shopify_listings.stock_location(conn, account.id)
    except SecretKeyError as exc:
        raise ValueError(f"Shopify shop {account.name}: {exc}") from None
    if shop is None:
        raise ValueError(f"no Shopify shop {account.name}; `orderhub shop list` shows them")
    return ShopifyStock.for_shop(shop, location, **options)


# What Shopify shows at the stock location, read back by the same adapter (adapters/channels.py:
# stock_reader; the drift check). Its listings are kept from its products (adapters/store/shopify_listings.py).
stock_reader = stock_channel


# What Shopify takes through channel operations (adapters/channels.py): refunds only. Its fulfilments and
# cancellations have jobs of their own, which must not be doubled.
OPERATIONS = frozenset({"refund"})

# The marketing consent Shopify keeps per customer (emailMarketingConsent, smsMarketingConsent): orderhub keeps
# them in step (services/consent.py), through ``customer_channel`` (adapters/channels.py).
CONSENT_PURPOSES = frozenset({"email_marketing", "sms_marketing"})
_OWN_JOBS = "Shopify's orders are {} by orderhub's Shopify jobs, not by channel operations; dismiss this"


class ShopifyOrders:
    """The refunds orderhub makes on one shop's orders (an :class:`~orderhub.domain.channels.OrderChannel`)."""

    def __init__(self, client: graphql.AdminClient, *, notify: bool = True) -> None:
        self.client = client
        self.notify = notify  # whether Shopify emails the customer about the refund

    def acknowledge(self, order_ref: str) -> None:
        raise ChannelRefused(_OWN_JOBS.format("imported"))

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        raise ChannelRefused(_OWN_JOBS.format("fulfilled"))

    def cancel_lines(self, notice: CancelNotice) -> None:
        raise ChannelRefused(_OWN_JOBS.format("cancelled"))

    def refund(self, notice: RefundNotice) -> None:
        refunds.refund(self.client, notice, notify=self.notify)


def order_channel(account: Account, hub: Hub | None, **options: Any) -> ShopifyOrders:
    """The shop's order channel. Raises ChannelRefused saying what a person must set."""
    return ShopifyOrders(shop_client.for_account(account, hub, **options)[0])



# What orderhub tells the shop about its customers: consent changes, erasure requests (adapters/channels.py:
# customer_channel; services/channel_ops.py sends them).
customer_channel = customer_consent.customer_channel
