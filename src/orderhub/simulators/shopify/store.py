"""In-memory state of the simulated shops, behind one lock.

Orders and products are kept in Shopify's REST shape: the very dicts that are
sent as webhook bodies, and that the GraphQL resolvers read. Ids are integers
above 2^53 (so a client that parses them as doubles loses digits, as it would
with a real large shop), counting up from a different base per resource.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from orderhub.adapters.shopify import api_versions
from orderhub.simulators.shopify.clock import Clock, parse_offset, rest_time
from orderhub.simulators.shopify.throttle import CostBucket

TWO_TO_53 = 2 ** 53
_KINDS = ("order", "line_item", "shipping_line", "customer", "product", "variant", "inventory_item", "location",
          "refund", "refund_line_item", "transaction", "fulfillment", "order_edit", "webhook_subscription", "shop",
          "collection", "bulk_operation", "job", "inventory_adjustment_group", "metafield")
# 10_000_000_000_000_001 for orders, 11_000_000_000_000_001 for line items, ... (all odd, all above 2^53).
ID_BASES = {kind: (10 + i) * 10 ** 15 + 1 for i, kind in enumerate(_KINDS)}
DEFAULT_LOCATIONS = ("Shop location", "Warehouse")  # Shopify names a new shop's first location "Shop location"


def gid(kind: str, resource_id: Any) -> str:
    """A GraphQL global id: ``gid://shopify/Order/10000000000000001``."""
    return f"gid://shopify/{kind}/{resource_id}"


class UnknownShop(KeyError):
    pass


class UnknownOrder(KeyError):
    pass


class UnknownCustomer(KeyError):
    pass


class DuplicateSubscription(ValueError):
    pass


@dataclass
class Subscription:
    id: int
    topic: str  # REST form: "orders/create"
    callback_url: str
    api_version: str
    created_at: str
    format: str = "JSON"
    consecutive_failures: int = 0

    @property
    def gid(self) -> str:
        return gid("WebhookSubscription", self.id)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "admin_graphql_api_id": self.gid, "topic": self.topic,
                "address": self.callback_url, "format": self.format.lower(), "api_version": self.api_version,
                "created_at": self.created_at, "consecutive_failures": self.consecutive_failures}


@dataclass
class Shop:
    id: int
    domain: str
    api_secret: str
    access_token: str
    api_version: str
    currency: str
    utc_offset: str  # "-05:00": REST times are in the shop's zone
    bucket: CostBucket
    taxes_included: bool = False  # the shop's prices include tax (as most shops in Europe set it)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    inventory_levels: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    locations: list[int] = field(default_factory=list)
    location_names: dict[int, str] = field(default_factory=dict)
    throttled: int = 0  # Admin API requests refused with THROTTLED: a client that honours the cost limit sees few
    collections: dict[str, int] = field(default_factory=dict)  # title -> id: one collection per product type
    collection_stamps: dict[int, str] = field(default_factory=dict)  # id -> when it was made (REST time)
    idempotency: dict[str, tuple[str, Any]] = field(default_factory=dict)  # key -> (request fingerprint, result)
    adjustment_groups: list[dict[str, Any]] = field(default_factory=list)  # every inventory change made, in order
    jobs: dict[int, bool] = field(default_factory=dict)  # job id -> done
    # order id -> its transactions (payments.py), REST shape: the REST order body does not carry them
    transactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # (owner type, owner id) -> (namespace, key) -> metafield record (see metafields.py)
    metafields: dict[tuple[str, int], dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    # order id -> the sales channel it was sold through (sales_channels.py): the Admin API names it, webhook
    # bodies do not
    sales_channels: dict[int, str] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)  # REST shape (customers.py)
    erasure_requests: dict[int, str] = field(default_factory=dict)  # customer id -> when its erasure was asked for
    next_order_number: int = 1001
    installed: bool = True

    @property
    def tz(self) -> timezone:
        return parse_offset(self.utc_offset)

    def rest_payload(self) -> dict[str, Any]:
        """The shop as REST's Shop resource, as the app/uninstalled webhook carries it."""
        return {"id": self.id, "name": self.domain.split(".", 1)[0], "domain": self.domain,
                "myshopify_domain": self.domain, "currency": self.currency, "timezone": f"(GMT{self.utc_offset})",
                "taxes_included": self.taxes_included,
                "admin_graphql_api_id": gid("Shop", self.id)}

    def describe(self) -> dict[str, Any]:
        """The shop for the control API, without its secrets."""
        return {**self.rest_payload(), "api_version": self.api_version, "installed": self.installed,
                "orders": len(self.orders), "products": len(self.products), "customers": len(self.customers),
                "subscriptions": len(self.subscriptions), "throttled": self.throttled}


class Store:
    """Every shop's orders, products, inventory, subscriptions, and the webhook delivery log.

    Callers hold ``lock`` for any read-modify-write over several fields.
    """

    def __init__(self, log_limit: int = 20_000) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.shops: dict[str, Shop] = {}
        self._next_ids = dict(ID_BASES)
        self._log: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self._log_seq = 0

    def next_id(self, kind: str) -> int:
        with self.lock:
            value = self._next_ids[kind]
            self._next_ids[kind] = value + 1
            return value

    def add_shop(self, domain: str, api_secret: str, access_token: str, *, api_version: str | None = None,
                 currency: str = "USD", utc_offset: str = "-05:00", bucket: CostBucket | None = None,
                 taxes_included: bool = False) -> Shop:
        """A new shop; its API version (the one the app is configured with) is the newest stable one by default."""
        domain = domain.strip().lower()
        api_version = api_versions.parse(api_version) if api_version else api_versions.newest_stable(self.clock.today())
        parse_offset(utc_offset)  # fail early on a bad offset
        if not domain or not api_secret or not access_token:
            raise ValueError("a shop needs a domain, an api_secret and an access_token")
        with self.lock:
            if domain in self.shops:
                raise ValueError(f"shop {domain} already exists")
            shop = Shop(id=self.next_id("shop"), domain=domain, api_secret=api_secret, access_token=access_token,
                        api_version=api_version, currency=currency.upper(), utc_offset=utc_offset,
                        bucket=bucket or CostBucket(), taxes_included=taxes_included)
            for name in DEFAULT_LOCATIONS:
                self.add_location(shop, name)
            self.shops[domain] = shop
            return shop

    def shop(self, domain: str | None = None) -> Shop:
        """The named shop, or the first one created when ``domain`` is None."""
        with self.lock:
            if domain is None:
                if not self.shops:
                    raise UnknownShop("the simulator has no shops yet; create one with POST /_sim/shops")
                return next(iter(self.shops.values()))
            try:
                return self.shops[domain.strip().lower()]
            except KeyError:
                raise UnknownShop(f"no shop {domain!r} in the simulator") from None

    def order(self, order_id: int, domain: str | None = None) -> tuple[Shop, dict[str, Any]]:
        """The live order dict (mutate only under ``lock``) and its shop; any shop when ``domain`` is None."""
        with self.lock:
            shops = [self.shop(domain)] if domain else list(self.shops.values())
            for shop in shops:
                if order_id in shop.orders:
                    return shop, shop.orders[order_id]
        raise UnknownOrder(f"no order {order_id} in {'shop ' + domain if domain else 'any shop'}")

    def add_location(self, shop: Shop, name: str) -> int:
        """A new location of the shop (its inventory levels are made when stock is first set there)."""
        name = name.strip()
        if not name:
            raise ValueError("a location needs a name")
        with self.lock:
            if name in shop.location_names.values():
                raise ValueError(f"shop {shop.domain} already has a location named {name!r}")
            location_id = self.next_id("location")
            shop.locations.append(location_id)
            shop.location_names[location_id] = name
            return location_id

    def collection_id(self, shop: Shop, title: str) -> int:
        """The id of the shop's collection named ``title``, made on first use (products join it by type)."""
        with self.lock:
            if title not in shop.collections:
                collection_id = self.next_id("collection")
                shop.collections[title] = collection_id
                shop.collection_stamps[collection_id] = rest_time(self.clock.now(), shop.tz)
            return shop.collections[title]

    def collection_stamp(self, shop: Shop, collection_id: int) -> str:
        """When the collection was made (REST time); collections by type never change after that."""
        with self.lock:
            return shop.collection_stamps.get(collection_id) or rest_time(self.clock.now(), shop.tz)

    # -- webhook subscriptions ----------------------------------------------------------------------

    def add_subscription(self, shop: Shop, topic: str, callback_url: str, api_version: str) -> Subscription:
        with self.lock:
            if any(s.topic == topic and s.callback_url == callback_url for s in shop.subscriptions.values()):
                raise DuplicateSubscription("Address for this topic has already been taken")
            sub = Subscription(id=self.next_id("webhook_subscription"), topic=topic, callback_url=callback_url,
                               api_version=api_version, created_at=rest_time(self.clock.now(), shop.tz))
            shop.subscriptions[sub.id] = sub
            return sub

    def subscriptions_for(self, shop: Shop, topic: str) -> list[Subscription]:
        with self.lock:
            return [s for s in shop.subscriptions.values() if s.topic == topic]

    def subscription_exists(self, shop_domain: str, subscription_id: int) -> bool:
        with self.lock:
            shop = self.shops.get(shop_domain)
            return shop is not None and subscription_id in shop.subscriptions

    def remove_subscription(self, shop: Shop, subscription_id: int) -> bool:
        with self.lock:
            return shop.subscriptions.pop(subscription_id, None) is not None

    def note_attempt(self, shop_domain: str, subscription_id: int, ok: bool, webhook_failures: int,
                     remove_after: int) -> bool:
        """Record an attempt; True when it removes the subscription.

        Shopify removes a subscription when one webhook has failed ``remove_after``
        consecutive attempts (its whole retry schedule), not when many different
        webhooks fail once each during a short outage.
        """
        with self.lock:
            shop = self.shops.get(shop_domain)
            sub = shop.subscriptions.get(subscription_id) if shop else None
            if shop is None or sub is None:
                return False
            sub.consecutive_failures = 0 if ok else sub.consecutive_failures + 1
            if not ok and webhook_failures >= remove_after:
                del shop.subscriptions[subscription_id]
                return True
            return False

    # -- delivery log -------------------------------------------------------------------------------

    def log_delivery(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self._log_seq += 1
            self._log.append({"seq": self._log_seq, **entry})

    def delivery_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._log)
