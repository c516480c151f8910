"""Seeded generator of products and orders in Shopify's REST (webhook) shape.

Orders have 1-5 lines, discounts, per-line taxes, shipping lines, shop and
presentment currencies, and customers and addresses in many scripts with emoji;
some leave out what Shopify leaves out (guest checkouts, digital goods without a
shipping address, no phone, null SKUs, no note). On request it also makes *bad*
orders that Shopify would never send, to exercise a consumer's error handling.
The same seed and the same id source give the same output.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from orderhub.simulators.shopify import locales, sales_channels
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.locales import Locale
from orderhub.simulators.shopify.money import (
    ZERO,
    cents,
    dec,
    discount,
    fmt,
    line_taxes,
    money_set,
    recompute_totals,
)
from orderhub.simulators.shopify.store import gid

NextId = Callable[[str], int]
BAD_KINDS = ("no_line_items", "negative_quantity", "unknown_currency", "malformed_address")
FINANCIAL_STATUSES = ("pending", "authorized", "paid")
SOCIAL_SHARE = 0.25  # of the online store's sales, those made through the Facebook & Instagram or TikTok app


@dataclass(frozen=True)
class CatalogueItem:
    title: str
    product_type: str
    vendor: str
    variants: tuple[tuple[str, str | None, str, int], ...]  # option, sku, price, grams
    requires_shipping: bool = True
    gift_card: bool = False


CATALOGUE = (
    CatalogueItem("Organic Cotton T-shirt 👕", "Apparel", "Ökotex Textil",
                  (("S", "TSH-ORG-S", "19.90", 180), ("M", "TSH-ORG-M", "19.90", 190),
                   ("L", "TSH-ORG-L", "21.90", 200))),
    CatalogueItem("Café Crème Mug ☕", "Kitchen", "Maison Dupré", (("Default Title", "MUG-CAFE", "12.50", 350),)),
    CatalogueItem("Кружка «Москва»", "Kitchen", "Ромашка", (("Default Title", "MUG-MSK", "9.99", 340),)),
    CatalogueItem("抹茶 Matcha Tea 🍵", "Food", "宇治茶園",
                  (("50 g", "TEA-MATCHA-50", "24.00", 60), ("100 g", "TEA-MATCHA-100", "42.00", 110))),
    CatalogueItem("Χειροποίητο Σαπούνι", "Beauty", "Άλφα",
                  (("Λεβάντα", "SOAP-LAV", "6.50", 120), ("Ελιά", None, "6.50", 120))),
    CatalogueItem("Sneakers Ñandú 👟", "Shoes", "Ñandú",
                  (("38", "SNK-NDU-38", "89.00", 900), ("42", "SNK-NDU-42", "89.00", 950))),
    CatalogueItem("한복 Silk Scarf", "Accessories", "서울공방", (("Default Title", "SCF-HANBOK", "35.00", 80),)),
    CatalogueItem("ผ้าไหม Thai Silk Cushion", "Home", "Chiang Mai Craft",
                  (("Red / 40 cm", "CSH-SILK-R40", "29.00", 400), ("Blue / 40 cm", "CSH-SILK-B40", "29.00", 400))),
    CatalogueItem("बॉलीवुड Poster", "Art", "Mumbai Prints", (("A2", "PST-BW-A2", "15.00", 150),)),
    CatalogueItem("שמן זית Olive Oil", "Food", "Galilee Groves", (("500 ml", "OIL-OLV-500", "18.00", 600),)),
    CatalogueItem("زيت الأرغان Argan Oil", "Beauty", "Atlas Coopérative",
                  (("100 ml", "OIL-ARG-100", "27.50", 150),)),
    CatalogueItem("Digital Gift Card 🎁", "Gift Cards", "orderhub demo",
                  (("25", None, "25.00", 0), ("50", None, "50.00", 0)), requires_shipping=False, gift_card=True),
    CatalogueItem("E-book: Ἰλιάς (The Iliad)", "Books", "Ψηφιακές Εκδόσεις", (("EPUB", "EBK-ILIAD", "7.99", 0),),
                  requires_shipping=False),
)

# (type, code or title, value type, value): codes the customer typed, and automatic discounts the shop runs.
_DISCOUNTS = (("discount_code", "WELCOME10", "percentage", "10.0"),
              ("discount_code", "SAVE5", "fixed_amount", "5.00"),
              ("discount_code", "ПРИВЕТ15", "percentage", "15.0"),
              ("discount_code", "🦋SPRING20", "percentage", "20.0"),
              ("automatic", "Sommerschlussverkauf ☀️", "percentage", "10.0"),
              ("automatic", "Buy more, save 3", "fixed_amount", "3.00"))
_FREE_SHIPPING_CODE = "FREESHIP🚚"
_SHIPPING = (("Standard Shipping", "STANDARD", "4.90"), ("Express 🚀", "EXPRESS", "14.90"),
             ("Free Shipping", "FREE", "0.00"), ("DHL Paket", "DHL_PAKET", "6.99"),
             ("ヤマト運輸 宅急便", "YAMATO", "9.00"))
_GATEWAYS = ("shopify_payments", "paypal", "manual")


def _handle(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


class OrderGenerator:
    """Makes products and orders; ``next_id(kind)`` hands out ids (the store's sequences)."""

    def __init__(self, seed: int | None, next_id: NextId) -> None:
        self.rng = random.Random(seed)
        # which web sales came through a social app (see _sales_channel): a stream of its own
        self._social = random.Random(None if seed is None else f"{seed}/sales-channel")
        self.next_id = next_id
        self._customers: list[dict[str, Any]] = []

    # -- products -----------------------------------------------------------------------------------

    def catalogue(self, now: datetime, tz: timezone) -> list[dict[str, Any]]:
        """Every product of the simulated catalogue, in REST shape."""
        return [self.product(now, tz, item) for item in CATALOGUE]

    def product(self, now: datetime, tz: timezone, item: CatalogueItem | None = None) -> dict[str, Any]:
        """A product in REST shape: ``item``, or one of the catalogue's at random."""
        item = item or self.rng.choice(CATALOGUE)
        stamp = rest_time(now, tz)
        product_id = self.next_id("product")
        variants = []
        for position, (option, sku, price, grams) in enumerate(item.variants, start=1):
            variant_id = self.next_id("variant")
            variants.append({
                "id": variant_id, "product_id": product_id, "title": option, "price": price, "sku": sku,
                "position": position, "option1": option, "barcode": None, "grams": grams,
                "weight": grams / 1000, "weight_unit": "kg", "inventory_item_id": self.next_id("inventory_item"),
                "inventory_quantity": self.rng.randint(0, 40), "inventory_management": "shopify",
                "requires_shipping": item.requires_shipping, "taxable": not item.gift_card,
                "created_at": stamp, "updated_at": stamp, "admin_graphql_api_id": gid("ProductVariant", variant_id)})
        return {
            "id": product_id, "title": item.title, "body_html": f"<p>{item.title}</p>", "vendor": item.vendor,
            "product_type": item.product_type, "handle": _handle(item.title) or str(product_id), "status": "active",
            "tags": "", "created_at": stamp, "updated_at": stamp, "published_at": stamp,
            "published_scope": "global", "admin_graphql_api_id": gid("Product", product_id), "variants": variants,
            "options": [{"name": "Title", "position": 1, "values": [v[0] for v in item.variants]}],
            "images": [], "image": None, "gift_card": item.gift_card}

    # -- orders -------------------------------------------------------------------------------------

    def order(self, products: list[dict[str, Any]], *, number: int, now: datetime, tz: timezone,
              currency: str, taxes_included: bool = False, sales_channel: str | None = None) -> dict[str, Any]:
        """A valid order, numbered ``number`` (1001, ...), placed ``now``; ``taxes_included`` when the shop's
        prices include tax; sold through ``sales_channel`` (sales_channels.py), else one drawn."""
        rng = self.rng
        home = rng.choice(locales.LOCALES)
        billing_locale = home if rng.random() < 0.75 else rng.choice(locales.LOCALES)
        presentment = home.currency if rng.random() < 0.7 else currency
        order_id = self.next_id("order")
        stamp = rest_time(now, tz)
        customer = self._customer(home, stamp)
        guest_email = None if rng.random() < 0.4 else f"guest{order_id % 100000}@example.org"
        email = customer["email"] if customer else guest_email
        lines = self._lines(products, home, currency, presentment)
        needs_shipping = any(li["requires_shipping"] for li in lines)
        order: dict[str, Any] = {
            "id": order_id, "admin_graphql_api_id": gid("Order", order_id), "name": f"#{number}",
            "order_number": number, "number": number - 1000, "token": f"{rng.getrandbits(128):032x}",
            "email": email, "contact_email": email, "phone": customer["phone"] if customer else None,
            "created_at": stamp, "updated_at": stamp, "processed_at": stamp,
            "cancelled_at": None, "cancel_reason": None, "closed_at": None,
            "currency": currency, "presentment_currency": presentment,
            "financial_status": rng.choices(FINANCIAL_STATUSES, weights=(15, 15, 70))[0],
            "fulfillment_status": None, "confirmed": True, "test": False, "taxes_included": taxes_included,
            "total_tip_received": "0.00",
            "source_name": rng.choice(("web", "web", "shopify_draft_order", "pos")),
            "customer_locale": home.language, "buyer_accepts_marketing": rng.random() < 0.3,
            "payment_gateway_names": [rng.choice(_GATEWAYS)],
            "total_weight": sum(li["grams"] * li["quantity"] for li in lines),
            "tags": ", ".join(sorted(rng.sample(locales.TAGS, rng.randint(0, 3)))),
            "note": rng.choice(locales.NOTES), "note_attributes": [],
            "discount_codes": [], "discount_applications": [],
            "line_items": lines,
            "shipping_lines": self._shipping_lines(currency, presentment) if needs_shipping else [],
            "fulfillments": [], "refunds": [],
            "billing_address": self._address(billing_locale),
        }
        if customer is not None:
            order["customer"] = customer
        if needs_shipping:
            order["shipping_address"] = (dict(order["billing_address"]) if billing_locale is home
                                         else self._address(home))
        if rng.random() < 0.35:
            self._discount(order)
        if rng.random() < 0.1:
            self._discount(order)  # a code and an automatic discount, or two of either: both apply
        if needs_shipping and rng.random() < 0.15:
            self._free_shipping(order)
        for line in lines:
            line_taxes(line, currency, presentment, taxes_included)
        recompute_totals(order)
        sales_channels.stamp(order, sales_channel or self._sales_channel(order["source_name"]))
        return order

    def _sales_channel(self, source: str) -> str:
        """Some of the checkout's sales come through the social apps: drawn apart, so the rest of an order
        stays what the same seed always made."""
        if source == "web" and self._social.random() < SOCIAL_SHARE:
            return self._social.choice(sales_channels.SOCIAL)
        return source

    def bad_order(self, kind: str, products: list[dict[str, Any]], *, number: int, now: datetime, tz: timezone,
                  currency: str, taxes_included: bool = False, sales_channel: str | None = None
                  ) -> dict[str, Any]:
        """An order broken in the way ``kind`` names (one of BAD_KINDS): Shopify never sends these."""
        if kind not in BAD_KINDS:
            raise ValueError(f"unknown bad order kind {kind!r}; expected one of {', '.join(BAD_KINDS)}")
        order = self.order(products, number=number, now=now, tz=tz, currency=currency,
                           taxes_included=taxes_included, sales_channel=sales_channel)
        if kind == "no_line_items":
            order["line_items"] = []
            recompute_totals(order)
        elif kind == "negative_quantity":
            line = order["line_items"][0]
            line["quantity"] = line["current_quantity"] = line["fulfillable_quantity"] = -line["quantity"]
        elif kind == "unknown_currency":
            _set_currency(order, "XXQ")
            order["currency"] = order["presentment_currency"] = "XXQ"
        else:
            key = "shipping_address" if "shipping_address" in order else "billing_address"
            if self.rng.random() < 0.5:
                order[key] = dict(order[key], country="Zedland", country_code="ZZ")
            else:
                order[key] = "Friedrichstraße 43, 10117 Berlin 🦋"
        return order

    def _customer(self, locale: Locale, stamp: str) -> dict[str, Any] | None:
        rng = self.rng
        if rng.random() < 0.12:
            return None  # guest checkout
        if self._customers and rng.random() < 0.2:
            return dict(self._customers[rng.randrange(len(self._customers))])
        first, last, handle = rng.choice(locale.names)
        customer_id = self.next_id("customer")
        customer = {
            "id": customer_id, "email": f"{handle}.{customer_id % 100000}@example.{locale.country_code.lower()}",
            "first_name": first, "last_name": last, "phone": self._phone(locale),
            "state": "enabled", "verified_email": True, "tags": "", "currency": locale.currency,
            "created_at": stamp, "updated_at": stamp, "admin_graphql_api_id": gid("Customer", customer_id)}
        self._customers.append(customer)
        return dict(customer)

    def _phone(self, locale: Locale) -> str | None:
        if self.rng.random() < 0.3:
            return None
        return locale.phone_prefix + "".join(str(self.rng.randrange(10)) for _ in range(7))

    def _address(self, locale: Locale) -> dict[str, Any]:
        rng = self.rng
        first, last, _ = rng.choice(locale.names)
        city = rng.choice(locale.cities)
        name = f"{last}{first}" if locale.family_name_first else f"{first} {last}"
        return {"name": name, "first_name": first, "last_name": last, "company": rng.choice(locales.COMPANIES),
                "address1": rng.choice(locale.streets), "address2": rng.choice(locales.ADDRESS2_EXTRAS),
                "city": city.name, "province": city.province, "province_code": city.province_code, "zip": city.zip,
                "country": locale.country, "country_code": locale.country_code, "phone": self._phone(locale),
                "latitude": city.latitude, "longitude": city.longitude}

    def _lines(self, products: list[dict[str, Any]], locale: Locale, currency: str,
               presentment: str) -> list[dict[str, Any]]:
        rng = self.rng
        variants = [(p, v) for p in products for v in p["variants"]]
        count = min(len(variants), rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 18, 10, 7))[0])
        lines = []
        for product, variant in rng.sample(variants, count):
            line_id = self.next_id("line_item")
            quantity = rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]
            variant_title = None if variant["title"] == "Default Title" else variant["title"]
            lines.append({
                "id": line_id, "admin_graphql_api_id": gid("LineItem", line_id), "variant_id": variant["id"],
                "product_id": product["id"], "title": product["title"], "variant_title": variant_title,
                "name": f"{product['title']} - {variant_title}" if variant_title else product["title"],
                "sku": variant["sku"], "vendor": product["vendor"], "quantity": quantity,
                "current_quantity": quantity, "fulfillable_quantity": quantity, "fulfillment_status": None,
                "price": variant["price"], "price_set": money_set(dec(variant["price"]), currency, presentment),
                "total_discount": "0.00", "total_discount_set": money_set(ZERO, currency, presentment),
                "discount_allocations": [],
                "tax_lines": ([{"title": title, "rate": float(rate), "price": "0.00", "channel_liable": False}
                               for title, rate in locale.taxes] if variant["taxable"] else []),
                "requires_shipping": variant["requires_shipping"], "taxable": variant["taxable"],
                "gift_card": product["gift_card"], "grams": variant["grams"], "product_exists": True,
                "properties": ([{"name": "Engraving", "value": "Für Oma ❤️"}] if rng.random() < 0.05 else []),
            })
        return lines

    def _shipping_lines(self, currency: str, presentment: str) -> list[dict[str, Any]]:
        title, code, price = self.rng.choice(_SHIPPING)
        line_id = self.next_id("shipping_line")
        return [{"id": line_id, "title": title, "code": code, "source": "shopify", "carrier_identifier": None,
                 "price": price, "discounted_price": price,
                 "price_set": money_set(dec(price), currency, presentment),
                 "discounted_price_set": money_set(dec(price), currency, presentment),
                 "tax_lines": [], "discount_allocations": []}]

    def _discount(self, order: dict[str, Any]) -> None:
        """Apply one discount across the lines, as Shopify does: a discount application on the order and an
        allocation on each line (whose ``total_discount`` stays "0.00"), after any discount already applied."""
        kind, name, value_type, value = self.rng.choice(_DISCOUNTS)
        lines = order["line_items"]
        net = [dec(li["price"]) * li["quantity"] - discount(li) for li in lines]
        total_net = sum(net, ZERO)
        if total_net <= 0:
            return
        if value_type == "percentage":
            amounts = [cents(n * dec(value) / 100) for n in net]
        else:
            budget = min(dec(value), total_net)
            amounts = [cents(budget * n / total_net) for n in net]
            amounts[-1] += budget - sum(amounts, ZERO)
        index = len(order["discount_applications"])
        shop_cur, pres_cur = order["currency"], order["presentment_currency"]
        for line, amount in zip(lines, amounts, strict=True):
            line["discount_allocations"].append({"amount": fmt(amount), "discount_application_index": index,
                                                 "amount_set": money_set(amount, shop_cur, pres_cur)})
        application = {"type": kind, "value": value, "value_type": value_type, "allocation_method": "across",
                       "target_selection": "all", "target_type": "line_item"}
        if kind == "discount_code":
            application["code"] = name
            order["discount_codes"].append({"code": name, "amount": fmt(sum(amounts, ZERO)), "type": value_type})
        else:
            application |= {"title": name, "description": name}
        order["discount_applications"].append(application)

    def _free_shipping(self, order: dict[str, Any]) -> None:
        """A free-shipping code: each shipping line's price allocated to it, its discounted price zero."""
        charged = [s for s in order["shipping_lines"] if dec(s["price"]) > 0]
        if not charged:
            return
        index = len(order["discount_applications"])
        shop_cur, pres_cur = order["currency"], order["presentment_currency"]
        for line in charged:
            price = dec(line["price"])
            line["discount_allocations"].append({"amount": fmt(price), "discount_application_index": index,
                                                 "amount_set": money_set(price, shop_cur, pres_cur)})
            line["discounted_price"] = fmt(ZERO)
            line["discounted_price_set"] = money_set(ZERO, shop_cur, pres_cur)
        order["discount_codes"].append({"code": _FREE_SHIPPING_CODE, "type": "shipping",
                                        "amount": fmt(sum((dec(s["price"]) for s in charged), ZERO))})
        order["discount_applications"].append({
            "type": "discount_code", "code": _FREE_SHIPPING_CODE, "value": "100.0", "value_type": "percentage",
            "allocation_method": "each", "target_selection": "all", "target_type": "shipping_line"})


def _set_currency(value: Any, currency: str) -> None:
    """Replace every ``currency_code`` inside a payload."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "currency_code":
                value[key] = currency
            else:
                _set_currency(item, currency)
    elif isinstance(value, list):
        for item in value:
            _set_currency(item, currency)
