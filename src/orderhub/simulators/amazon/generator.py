"""Seeded order generator with the edge cases Amazon orders have.

Generated orders take their kinds in turn, so any ten in a row cover them all:
a plain order, a multi-quantity line, several lines, a promotion, a gift with wrap and
message, an order whose buyer data Amazon withholds (no BuyerInfo and no address even with a
restricted data token), an order cancelled before shipment, an AFN (Fulfilled by Amazon)
order, a Pending order (payment not yet authorised) and a business order. Names and addresses
are in the buyers' scripts, emoji included. The same seed gives the same orders.

:func:`build_order` also makes one order from an explicit spec (``POST /_sim/orders``).
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orderhub.simulators.amazon.catalogue import CATALOGUE, Product, product
from orderhub.simulators.amazon.marketplaces import Marketplace, marketplace
from orderhub.simulators.amazon.orders import Item, Order

KINDS = ("plain", "multi_quantity", "several_lines", "promotion", "gift", "no_buyer_data", "canceled", "afn",
         "pending", "business")
GIFT_MESSAGES = ("Alles Gute zum Geburtstag! 🎂", "For you ❤️ — from Ana", "お誕生日おめでとう 🎉")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Ids:
    """Amazon-shaped identifiers from a seeded generator: order ids in 3-7-7 form, 14-digit item ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def order_id(self) -> str:
        r = self.rng
        return f"{r.randint(111, 114)}-{r.randint(0, 9_999_999):07d}-{r.randint(0, 9_999_999):07d}"

    def item_id(self) -> str:
        return f"{self.rng.randint(10**13, 10**14 - 1)}"


def _buyer(rng: random.Random, market: Marketplace) -> tuple[dict[str, str], dict[str, str]]:
    name = rng.choice(market.names)
    city, region, postal = rng.choice(market.cities)
    local = f"{rng.randint(10**9, 10**10 - 1)}"
    buyer = {"BuyerEmail": f"{local}@marketplace.amazon.com", "BuyerName": name}
    address = {"Name": name, "AddressLine1": rng.choice(market.streets), "City": city, "StateOrRegion": region,
               "PostalCode": postal, "CountryCode": market.country_code,
               "Phone": f"{market.phone_prefix}{rng.randint(1000, 9999)}", "AddressType": "Residential"}
    return buyer, address


def _item(ids: Ids, prod: Product, quantity: int, market: Marketplace, unit_price: Decimal | None = None) -> Item:
    price = _cents((unit_price if unit_price is not None else prod.price) * quantity)
    tax = _cents(price * Decimal(market.tax_rate))
    return Item(order_item_id=ids.item_id(), seller_sku=prod.sku, asin=prod.asin, title=prod.title,
                quantity_ordered=quantity, item_price=price, item_tax=tax)


def new_order(ids: Ids, seller_id: str, market: Marketplace, now: datetime, items: list[Item], *,
              status: str = "Unshipped", channel: str = "MFN", with_buyer: bool = True,
              rng: random.Random | None = None) -> Order:
    rng = rng or ids.rng
    buyer, address = _buyer(rng, market)
    purchased = now
    return Order(amazon_order_id=ids.order_id(), seller_id=seller_id, marketplace_id=market.marketplace_id,
                 currency=market.currency, purchase_date=purchased, last_update_date=purchased, status=status,
                 fulfillment_channel=channel, items=items,
                 earliest_ship_date=purchased + timedelta(hours=2), latest_ship_date=purchased + timedelta(days=2),
                 earliest_delivery_date=purchased + timedelta(days=3),
                 latest_delivery_date=purchased + timedelta(days=7),
                 sales_channel=market.sales_channel, ship_service_level=market.ship_service_level,
                 buyer=buyer if with_buyer else None, shipping_address=address if with_buyer else None)


def generate(rng: random.Random, seller_id: str, marketplace_id: str, now: datetime, count: int,
             start: int = 0) -> list[Order]:
    """``count`` orders, the ``start``-th kind first; purchase dates a few minutes apart, ending at ``now``."""
    ids = Ids(rng)
    market = marketplace(marketplace_id)
    orders = []
    for n in range(count):
        kind = KINDS[(start + n) % len(KINDS)]
        when = now - timedelta(minutes=3 * (count - 1 - n))
        products = rng.sample(CATALOGUE, 3)
        items = [_item(ids, products[0], 1, market)]
        order_args: dict[str, Any] = {}
        if kind == "multi_quantity":
            items = [_item(ids, products[0], rng.randint(2, 5), market)]
        elif kind == "several_lines":
            items = [_item(ids, p, rng.randint(1, 3), market) for p in products]
        elif kind == "promotion":
            items = [_item(ids, p, 2, market) for p in products[:2]]
            items[0].promotion_discount = _cents(items[0].item_price * Decimal("0.10"))
            items[0].promotion_ids = ["Sommerschlussverkauf ☀️ 10%"]
            items[1].shipping_price = Decimal("4.99")
            items[1].promotion_discount = Decimal("4.99")
            items[1].promotion_ids = ["FREE-SHIPPING"]
        elif kind == "gift":
            items[0].is_gift = True
            items[0].gift_message = rng.choice(GIFT_MESSAGES)
            items[0].gift_wrap_level = "Classic"
            items[0].gift_wrap_price = Decimal("3.99")
        elif kind == "no_buyer_data":
            order_args["with_buyer"] = False
        elif kind == "canceled":
            order_args["status"] = "Canceled"
        elif kind == "afn":
            order_args["channel"] = "AFN"
        elif kind == "pending":
            order_args["status"] = "Pending"
        order = new_order(ids, seller_id, market, when, items, rng=rng, **order_args)
        if kind == "canceled":
            order.cancel_reason = "BuyerCanceled"
        if kind == "afn":
            order.ship_service_level = "Expedited"
            order.is_prime = True
        if kind == "business":
            order.is_business_order = True
            order.seller_order_id = f"PO-{rng.randint(1000, 9999)}"
        orders.append(order)
    return orders


def build_order(rng: random.Random, seller_id: str, marketplace_id: str, now: datetime,
                spec: dict[str, Any]) -> Order:
    """One order from a checked spec: ``lines`` [{sku, quantity, price?, promotion_discount?, gift_message?}],
    ``status``, ``fulfillment_channel``, ``buyer`` (false for none), ``amazon_order_id``."""
    ids = Ids(rng)
    market = marketplace(marketplace_id)
    items = []
    for line in spec["lines"]:
        known = product(line["sku"])
        asin = f"B0{zlib.crc32(line['sku'].encode()) % 10**8:08d}"
        prod = known or Product(line["sku"], asin, line.get("title", line["sku"]),
                                Decimal(str(line.get("price", "10.00"))), "PRODUCT")
        unit = Decimal(str(line["price"])) if "price" in line else None
        item = _item(ids, prod, line["quantity"], market, unit)
        if "title" in line:
            item.title = line["title"]
        if "promotion_discount" in line:
            item.promotion_discount = _cents(Decimal(str(line["promotion_discount"])))
            item.promotion_ids = [str(line.get("promotion_id", "PROMO"))]
        if line.get("gift_message"):
            item.is_gift = True
            item.gift_message = line["gift_message"]
            item.gift_wrap_level = "Classic"
            item.gift_wrap_price = Decimal("3.99")
        items.append(item)
    order = new_order(ids, seller_id, market, now, items, status=spec.get("status", "Unshipped"),
                      channel=spec.get("fulfillment_channel", "MFN"), with_buyer=spec.get("buyer", True) is not False,
                      rng=rng)
    if spec.get("amazon_order_id"):
        order.amazon_order_id = spec["amazon_order_id"]
    return order
