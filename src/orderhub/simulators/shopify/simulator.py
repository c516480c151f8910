"""The simulated Shopify: shops in a store, a generator per shop, webhook delivery and bulk operations, wired together.

The control API, the demo and tests drive it through these methods; each
change fires its webhooks through :meth:`Simulator.emit`.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

import orjson

from orderhub.adapters.shopify.api_versions import served_version
from orderhub.simulators.shopify import actions, customers
from orderhub.simulators.shopify.actions import Event
from orderhub.simulators.shopify.bulk_operations import BulkOperations
from orderhub.simulators.shopify.delivery import (
    Delivery,
    DeliveryConfig,
    WebhookSender,
    sign,
    utc_stamp,
)
from orderhub.simulators.shopify.generator import OrderGenerator
from orderhub.simulators.shopify.store import Shop, Store
from orderhub.simulators.shopify.throttle import (
    DEFAULT_MAXIMUM,
    DEFAULT_RESTORE_RATE,
    CostBucket,
)

# {"domain", "api_secret", "access_token", optional "api_version", "currency", "utc_offset", "taxes_included"}
ShopSpec = dict[str, Any]


class Simulator:
    """Shops, their generators and the webhook senders; keyword settings are those of ``POST /_sim/config``."""

    def __init__(self, shops: Iterable[ShopSpec] = (), *, retry_schedule: Iterable[float] | None = None,
                 duplicate_rate: float = 0.0, jitter: float = 0.0, timeout: float = 5.0,
                 remove_after_failures: int = 8, fail_graphql_rate: float = 0.0,
                 maximum_available: float = DEFAULT_MAXIMUM, restore_rate: float = DEFAULT_RESTORE_RATE,
                 seed: int | None = None, workers: int = 4) -> None:
        self.store = Store()
        self.seed = seed
        self.config = DeliveryConfig(duplicate_rate=duplicate_rate, jitter=jitter, timeout=timeout,
                                     remove_after_failures=remove_after_failures)
        if retry_schedule is not None:
            self.config.retry_schedule = [float(d) for d in retry_schedule]
        self.fail_graphql_rate = fail_graphql_rate
        self.maximum_available, self.restore_rate = maximum_available, restore_rate
        self.sender = WebhookSender(self.store, self.config, workers=workers, seed=seed)
        self.bulk = BulkOperations(self.store, self.emit)
        self._generators: dict[str, OrderGenerator] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # guards _rng and _started
        self._started = False
        for spec in shops:
            self.add_shop(**spec)

    def start(self) -> None:
        """Start the webhook senders (once; later calls do nothing)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.sender.start()

    def stop(self) -> None:
        self.bulk.stop()
        self.sender.stop()

    # -- shops --------------------------------------------------------------------------------------

    def add_shop(self, domain: str, api_secret: str, access_token: str, api_version: str | None = None,
                 currency: str = "USD", utc_offset: str = "-05:00", taxes_included: bool = False) -> Shop:
        """A new shop with the simulated catalogue in stock (no webhooks: nobody is subscribed yet)."""
        shop = self.store.add_shop(domain, api_secret, access_token, api_version=api_version, currency=currency,
                                   utc_offset=utc_offset, taxes_included=taxes_included,
                                   bucket=CostBucket(self.maximum_available, self.restore_rate))
        seed = None if self.seed is None else self.seed + len(self._generators)
        generator = OrderGenerator(seed, self.store.next_id)
        self._generators[shop.domain] = generator
        with self.store.lock:
            for product in generator.catalogue(self.store.clock.now(), shop.tz):
                shop.products[product["id"]] = product
                actions.stock(self.store, shop, product)
        return shop

    def uninstall(self, domain: str) -> None:
        """The app is uninstalled: app/uninstalled is sent, subscriptions go and the token stops working."""
        shop = self.store.shop(domain)
        with self.store.lock:
            self.emit(shop, [("app/uninstalled", shop.rest_payload())], needs_subscription=False)
            shop.subscriptions.clear()
            shop.installed = False

    # -- changes ------------------------------------------------------------------------------------

    def place_orders(self, domain: str | None, count: int, *, seed: int | None = None,
                     bad: dict[str, int] | None = None, skus: list[str] | None = None,
                     sales_channel: str | None = None) -> tuple[list[int], list[int]]:
        """Place ``count`` valid orders and the requested bad ones (of the products with ``skus`` only, if
        given; sold through ``sales_channel`` if given: web, pos, shopify_draft_order, instagram, facebook,
        tiktok); returns (valid ids, bad ids)."""
        shop = self.store.shop(domain)
        generator = (self._generators[shop.domain] if seed is None
                     else OrderGenerator(seed, self.store.next_id))
        good, broken, events = actions.place_orders(self.store, shop, generator, count, bad or {}, skus,
                                                    sales_channel)
        self.emit(shop, events)
        return good, broken

    def change_order(self, order_id: int, action: str, params: dict[str, Any], domain: str | None = None
                     ) -> dict[str, Any]:
        shop, order = self.store.order(order_id, domain)
        events = actions.change_order(self.store, shop, order, action, params)
        self.emit(shop, events)
        return {"order_id": order_id, "updated_at": order["updated_at"], "topics": [t for t, _ in events]}

    def create_product(self, domain: str | None, params: dict[str, Any]) -> dict[str, Any]:
        shop = self.store.shop(domain)
        product, events = actions.create_product(self.store, shop, self._generators[shop.domain], params)
        self.emit(shop, events)
        return product

    def update_product(self, domain: str | None, product_id: Any, params: dict[str, Any]) -> None:
        shop = self.store.shop(domain)
        self.emit(shop, actions.update_product(self.store, shop, product_id, params))

    def delete_product(self, domain: str | None, product_id: Any) -> None:
        shop = self.store.shop(domain)
        self.emit(shop, actions.delete_product(self.store, shop, product_id))

    def add_location(self, domain: str | None, name: str) -> dict[str, Any]:
        """A new location of the shop (stock is set there with ``set_inventory_level``)."""
        shop = self.store.shop(domain)
        location_id = self.store.add_location(shop, name)
        return {"id": location_id, "name": shop.location_names[location_id]}

    def set_inventory_level(self, domain: str | None, item: Any, location: Any, available: Any) -> None:
        shop = self.store.shop(domain)
        self.emit(shop, actions.set_inventory_level(self.store, shop, item, location, available))

    # -- customers ----------------------------------------------------------------------------------

    def create_customer(self, domain: str | None, params: dict[str, Any]) -> dict[str, Any]:
        """A new customer (customers/create, then its consent topics for the consent it was made with)."""
        shop = self.store.shop(domain)
        with self.store.lock:
            record = customers.new_record(self.store, shop, params)
            shop.customers[record["id"]] = record
            events: list[Event] = [(customers.CREATE, customers.customer_body(record))]
            if record.get("email"):
                events.append((customers.EMAIL_TOPIC, customers.email_consent_body(record)))
            if record.get("phone"):
                events.append((customers.SMS_TOPIC, customers.sms_consent_body(record)))
            found = customers.describe(shop, record)
        self.emit(shop, events)
        return found

    def update_customer(self, domain: str | None, customer_id: Any, params: dict[str, Any]) -> dict[str, Any]:
        """Change the customer's details (customers/update when anything changed)."""
        shop = self.store.shop(domain)
        with self.store.lock:
            record = customers.find(self.store, shop, customer_id)
            changed = customers.change_details(self.store, shop, record, params)
            events: list[Event] = [(customers.UPDATE, customers.customer_body(record))] if changed else []
            found = customers.describe(shop, record)
        self.emit(shop, events)
        return found

    def set_customer_consent(self, domain: str | None, customer_id: Any, channel: str, given: dict[str, Any]
                             ) -> dict[str, Any]:
        """The customer changes their e-mail (``channel`` email) or SMS marketing consent in the shop."""
        if channel not in ("email", "sms"):
            raise customers.CustomerError(f"consent is by email or sms, not {channel!r}")
        shop = self.store.shop(domain)
        with self.store.lock:
            record = customers.find(self.store, shop, customer_id)
            changed = customers.set_consent(self.store, shop, record, channel, given, collected_from="SHOPIFY")
            events = customers.consent_events(record, channel) if changed else []
            found = customers.describe(shop, record)
        self.emit(shop, events)
        return found

    def delete_customer(self, domain: str | None, customer_id: Any) -> None:
        shop = self.store.shop(domain)
        with self.store.lock:
            record = customers.find(self.store, shop, customer_id)
            del shop.customers[record["id"]]
        self.emit(shop, [(customers.DELETE, customers.delete_body(record))])

    # -- webhooks -----------------------------------------------------------------------------------

    def emit(self, shop: Shop, events: list[Event], *, needs_subscription: bool = True) -> None:
        """Queue one signed delivery per event and matching subscription."""
        deliveries = []
        today = self.store.clock.today()
        for topic, payload in events:
            body = orjson.dumps(payload)
            signature = sign(shop.api_secret, body)
            event_id, triggered_at = str(uuid.uuid4()), utc_stamp()
            for sub in self.store.subscriptions_for(shop, topic):
                webhook_id = str(uuid.uuid4())
                # the subscription's version; once unsupported, the oldest supported one (Shopify falls forward)
                version = served_version(sub.api_version, today)
                if isinstance(payload, customers.ByVersion):  # a body whose shape the version decides
                    body = orjson.dumps(payload.for_version(version))
                    signature = sign(shop.api_secret, body)
                headers = {"Content-Type": "application/json", "User-Agent": "Shopify-Captain-Hook",
                           "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature,
                           "X-Shopify-Shop-Domain": shop.domain, "X-Shopify-API-Version": version,
                           "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Event-Id": event_id,
                           "X-Shopify-Triggered-At": triggered_at}
                deliveries.append(Delivery(shop=shop.domain, subscription_id=sub.id, callback_url=sub.callback_url,
                                           topic=topic, body=body, headers=headers, webhook_id=webhook_id,
                                           event_id=event_id, needs_subscription=needs_subscription))
        self.sender.submit(deliveries)

    # -- settings -----------------------------------------------------------------------------------

    def inject_graphql_failure(self) -> bool:
        """True for the share ``fail_graphql_rate`` of GraphQL requests, which then get a 503."""
        with self._lock:
            return self.fail_graphql_rate > 0 and self._rng.random() < self.fail_graphql_rate

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply control-API settings; returns every setting as it now is."""
        if "retry_schedule" in changes:
            self.config.retry_schedule = [float(d) for d in changes["retry_schedule"]]
        for key in ("timeout", "duplicate_rate", "jitter"):
            if key in changes:
                setattr(self.config, key, float(changes[key]))
        if "remove_after_failures" in changes:
            self.config.remove_after_failures = int(changes["remove_after_failures"])
        if "today" in changes:
            day = changes["today"]
            self.store.clock.fixed_day = None if day is None else date.fromisoformat(str(day))
        if "fail_graphql_rate" in changes:
            self.fail_graphql_rate = float(changes["fail_graphql_rate"])
        bulk = changes.get("bulk")
        if bulk is not None:
            if not isinstance(bulk, dict):
                raise TypeError('"bulk" must be an object, e.g. {"start_delay": 0, "objects_per_second": null}')
            self.bulk.settings.update(bulk)
        throttle = changes.get("throttle")
        if throttle:
            shops = [self.store.shop(throttle["shop"])] if throttle.get("shop") else list(self.store.shops.values())
            for shop in shops:
                shop.bucket.configure(throttle.get("maximum_available"), throttle.get("restore_rate"),
                                      throttle.get("currently_available"))
            if not throttle.get("shop"):
                self.maximum_available = throttle.get("maximum_available", self.maximum_available)
                self.restore_rate = throttle.get("restore_rate", self.restore_rate)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {"retry_schedule": self.config.retry_schedule, "timeout": self.config.timeout,
                "remove_after_failures": self.config.remove_after_failures,
                "duplicate_rate": self.config.duplicate_rate, "jitter": self.config.jitter,
                "fail_graphql_rate": self.fail_graphql_rate, "today": self.store.clock.today().isoformat(),
                "bulk": self.bulk.settings.describe(),
                "throttle": {shop.domain: shop.bucket.status() for shop in self.store.shops.values()}}
