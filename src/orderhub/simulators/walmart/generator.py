"""Seeded, deterministic Walmart orders with the channel's edge cases.

The same seed, the same seller and the same ``now`` give the same orders. Orders have 1-4
lines, some with several units; some carry a promotion (a ``SubscriptionDiscount`` charge)
and shipping charges; names, addresses and products use many scripts and emoji; some are
guest checkouts with only the fields Walmart requires (no ``address2``, no ``addressType``);
some arrive with a line the customer already cancelled or wants cancelled
(``intentToCancel``); some are Walmart Fulfillment Services orders (``shipNode.type``
``WFSFulfilled``), fulfilled by Walmart and so already shipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from orderhub.simulators.walmart.model import (
    ACKNOWLEDGED,
    CANCELLED,
    CREATED,
    SELLER_FULFILLED,
    SHIPPED,
    WFS_FULFILLED,
    Line,
    Order,
    StatusEntry,
)

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: str
    stock: int


CATALOGUE = (
    Product("WM-TSHIRT-ORG-M", "Organic Cotton T-shirt 👕 (M)", "19.90", 40),
    Product("WM-MUG-CAFE", "Café Crème Mug ☕", "12.50", 25),
    Product("WM-MUG-MSK", "Кружка «Москва»", "9.99", 12),
    Product("WM-TEA-MATCHA", "抹茶 Matcha Tea 🍵 100 g", "42.00", 30),
    Product("WM-SOAP-LAV", "Χειροποίητο Σαπούνι Λεβάντα", "6.50", 80),
    Product("WM-SNK-NDU-42", "Sneakers Ñandú 👟 42", "89.00", 6),
    Product("WM-SCARF-HANBOK", "한복 Silk Scarf", "35.00", 15),
    Product("WM-CUSHION-SILK", "ผ้าไหม Thai Silk Cushion", "29.00", 10),
    Product("WM-OIL-ARGAN", "زيت الأرغان Argan Oil 100 ml", "27.50", 20),
    Product("WM-OIL-OLIVE", "שמן זית Olive Oil 500 ml", "18.00", 24),
)

_NAMES = ("Zoë Ångström", "José Núñez 🌮", "Łukasz Żółć", "Дарья Смирнова", "山田 太郎", "Nguyễn Thị Hương",
          "Aoife Ní Bhriain", "Chloé O'Connor-Müller", "Σωκράτης Παπαδόπουλος", "Mia 🦋 Johnson",
          "François Lefèvre", "김민준", "Renée Zellweger-Smith")
_STREETS = ("13227 City Square Dr", "742 Évergreen Terrace", "1600 Amphitheatre Pkwy", "5 Rue de l'Église",
            "88 Ocean Blvd 🌊", "221B Baker St", "4 Chemin du Lac", "1 Infinite Loop")
_CITIES = (("Jacksonville", "FL", "32202"), ("San José", "CA", "95113"), ("Española", "NM", "87532"),
           ("Bentonville", "AR", "72712"), ("Coeur d'Alene", "ID", "83814"), ("Brooklyn", "NY", "11201"))
_METHODS = (("Standard", "STANDARD"), ("Express", "EXPEDITED"), ("OneDay", "ONEDAY"), ("Value", "VALUE"))
KINDS = ("plain", "multi_quantity", "promotion", "guest", "customer_cancelled", "intent_to_cancel", "wfs")


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(10 ** (n - 1), 10 ** n - 1))


def _tax(amount: Decimal) -> Decimal:
    return (amount * Decimal("0.08")).quantize(Decimal("0.01"))


class OrderGenerator:
    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def order(self, seller: str, now_ms: int, kind: str | None = None) -> Order:
        rng = self.rng
        kind = kind or rng.choice(KINDS)
        order_date = now_ms - rng.randint(1, 48) * 60_000
        method_code, ship_method = rng.choice(_METHODS)
        city, state, postcode = rng.choice(_CITIES)
        address = {"name": rng.choice(_NAMES), "address1": rng.choice(_STREETS), "city": city, "state": state,
                   "postalCode": postcode, "country": "USA"}
        if kind != "guest":
            address["address2"] = rng.choice(("Apt 4B", "Suite 🏢 200", "Étage 3", "Garage"))
            address["addressType"] = rng.choice(("RESIDENTIAL", "COMMERCIAL"))
        shipping = {"phone": _digits(rng, 10), "estimatedDeliveryDate": order_date + rng.randint(72, 144) * HOUR_MS,
                    "estimatedShipDate": order_date + rng.randint(20, 48) * HOUR_MS, "methodCode": method_code,
                    "postalAddress": address}
        products = rng.sample(CATALOGUE, rng.randint(2, 4) if kind in ("multi_quantity", "customer_cancelled",
                                                                        "intent_to_cancel") else rng.randint(1, 3))
        lines = []
        for number, product in enumerate(products, start=1):
            qty = rng.randint(2, 4) if kind == "multi_quantity" and number == 1 else rng.choice((1, 1, 1, 2))
            price = Decimal(product.price)
            discount = (price * qty * Decimal("0.10")).quantize(Decimal("0.01")) if kind == "promotion" else Decimal(0)
            line = Line(str(number), product.sku, product.name, qty, price, tax=_tax(price * qty - discount),
                        shipping=Decimal(rng.choice(("0", "0", "4.99", "7.50"))), discount=discount,
                        statuses=[StatusEntry(CREATED, qty)], ship_method=ship_method)
            lines.append(line)
        order = Order(seller=seller, purchase_order_id=_digits(rng, 13), customer_order_id=_digits(rng, 13),
                      customer_email_id=f"{rng.getrandbits(128):032X}@relay.walmart.com", order_date=order_date,
                      shipping=shipping, lines=lines, released_at=order_date)
        if kind == "guest":
            order.is_guest = True
        elif kind == "customer_cancelled":
            first = lines[0]
            first.statuses = [StatusEntry(CANCELLED, first.quantity,
                                          cancellation_reason="CUSTOMER_REQUESTED_SELLER_TO_CANCEL")]
        elif kind == "intent_to_cancel":
            lines[-1].intent_to_cancel = True
        elif kind == "wfs":
            order.ship_node_type = WFS_FULFILLED
            order.ship_node = {"type": WFS_FULFILLED, "name": "WFS Fulfillment Center", "id": _digits(rng, 11)}
            for line in lines:
                line.statuses = [StatusEntry(SHIPPED, line.quantity, tracking={
                    "shipDateTime": order_date + 6 * HOUR_MS, "carrierName": {"carrier": "FedEx"},
                    "methodCode": method_code, "trackingNumber": _digits(rng, 12)})]
                line.fulfillment_option = "S2H"
        return order

    def orders(self, seller: str, now_ms: int, count: int, kind: str | None = None) -> list[Order]:
        return [self.order(seller, now_ms, kind) for _ in range(count)]


def explicit_order(seller: str, now_ms: int, spec: dict, rng: random.Random) -> Order:
    """An order from ``POST /_sim/orders {"order": {...}}``, already validated by the control API.

    ``spec``: ``lines`` [{sku, quantity, unitPrice?, productName?, shipping?, discount?}], ``status``
    (Created or Acknowledged), ``shipNodeType``, ``purchaseOrderId``, ``customerName``, ``orderDate``.
    """
    catalogue = {p.sku: p for p in CATALOGUE}
    lines = []
    status = spec.get("status", CREATED)
    for number, raw in enumerate(spec["lines"], start=1):
        product = catalogue.get(raw["sku"])
        price = Decimal(str(raw.get("unitPrice", product.price if product else "10.00")))
        qty = int(raw["quantity"])
        discount = Decimal(str(raw.get("discount", "0")))
        lines.append(Line(str(number), raw["sku"], raw.get("productName", product.name if product else raw["sku"]),
                          qty, price, tax=_tax(price * qty - discount), shipping=Decimal(str(raw.get("shipping", "0"))),
                          discount=discount, statuses=[StatusEntry(status, qty)]))
    order_date = int(spec.get("orderDate", now_ms))
    address = {"name": spec.get("customerName", "Zoë Ångström 🦋"), "address1": "742 Évergreen Terrace",
               "city": "Bentonville", "state": "AR", "postalCode": "72712", "country": "USA"}
    ship_node_type = spec.get("shipNodeType", SELLER_FULFILLED)
    order = Order(seller=seller, purchase_order_id=spec.get("purchaseOrderId") or _digits(rng, 13),
                  customer_order_id=_digits(rng, 13),
                  customer_email_id=f"{rng.getrandbits(128):032X}@relay.walmart.com",
                  order_date=order_date, lines=lines, ship_node_type=ship_node_type, released_at=0,
                  shipping={"phone": "4795551234", "estimatedDeliveryDate": order_date + 96 * HOUR_MS,
                            "estimatedShipDate": order_date + 24 * HOUR_MS, "methodCode": "Standard",
                            "postalAddress": address})
    if status == ACKNOWLEDGED:
        order.acknowledged_at = now_ms
    return order
