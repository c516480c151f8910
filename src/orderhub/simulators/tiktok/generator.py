"""Seeded orders with TikTok's edge cases, as order specs that :mod:`.orders` turns into orders.

The same seed and catalogue give the same specs: several lines and several units of a SKU (one line
item per unit on TikTok), seller and platform discounts, free gift items, buyer messages, restricted
orders without buyer details, orders cancelled before shipment, fulfilled-by-TikTok orders, orders
split into two packages, and Unicode and emoji in names and addresses.
"""

from __future__ import annotations

import random
from typing import Any

from orderhub.simulators.tiktok.model import Product

NAMES = (("Zoë", "Ångström"), ("José", "Muñoz 🌮"), ("小龙", "李"), ("Ævar", "Þórsson"), ("Renée", "O'Connor 💐"),
         ("Мария", "Иванова"), ("Siobhán", "Ní Bhriain"), ("Dương", "Nguyễn"), ("Amélie", "Poulain"),
         ("Björk", "Guðmundsdóttir"), ("Chloé", "Zhào 🐉"), ("Łukasz", "Wójcik"))
STREETS = ("12 Rue de l'Église", "350 Fifth Ave", "7 Straße der Einheit 🏠", "1600 Amphitheatre Pkwy",
           "88 Calle Niño Perdido", "4 Smørrebrød Lane", "221B Baker St", "9 Avenida São João ☀️")
CITIES = (("Los Angeles", "California", "90012"), ("New York", "New York", "10118"), ("Austin", "Texas", "78701"),
          ("Seattle", "Washington", "98101"), ("Miami", "Florida", "33130"), ("Chicago", "Illinois", "60601"))
MESSAGES = ("", "", "", "Please gift wrap 🎁", "Leave at the door, merci!", "Happy birthday Zoë 🎂")
STATUSES = ("AWAITING_SHIPMENT",) * 6 + ("UNPAID", "ON_HOLD", "ON_HOLD", "IN_TRANSIT", "DELIVERED", "CANCELLED")


def _buyer(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(NAMES)
    city, state, postal = rng.choice(CITIES)
    return {"first_name": first, "last_name": last, "name": f"{first} {last}",
            "phone": f"1{rng.randint(200, 989)}{rng.randint(1000000, 9999999)}",
            "address_line1": rng.choice(STREETS), "address_line2": rng.choice(["", "", "Apt 4B", "Suite №5"]),
            "city": city, "state": state, "postal_code": postal, "region_code": "US"}


def order_specs(seed: int, count: int, products: list[Product]) -> list[dict[str, Any]]:
    """``count`` order specs for a catalogue; deterministic for a seed."""
    rng = random.Random(seed)
    skus = [(p, s) for p in sorted(products, key=lambda p: p.id) for s in p.skus]
    specs = []
    for _ in range(count):
        chosen = rng.sample(skus, k=min(len(skus), rng.choice([1, 1, 2, 2, 3])))
        lines = []
        for _product, sku in chosen:
            line: dict[str, Any] = {"seller_sku": sku.seller_sku, "quantity": rng.choice([1, 1, 1, 2, 3])}
            if rng.random() < 0.3:
                line["seller_discount"] = f"{rng.choice([1, 2, 5])}.00"
            if rng.random() < 0.2:
                line["platform_discount"] = "1.50"
            lines.append(line)
        if rng.random() < 0.15:  # a free gift from a promotion
            lines.append({"seller_sku": skus[0][1].seller_sku, "quantity": 1, "is_gift": True})
        restricted = rng.random() < 0.1
        spec: dict[str, Any] = {
            "lines": lines, "status": rng.choice(STATUSES), "buyer": None if restricted else _buyer(rng),
            "buyer_message": rng.choice(MESSAGES), "shipping_fee": rng.choice(["0.00", "4.99", "6.50"]),
            "tax": f"{rng.randint(0, 300) / 100:.2f}", "age_seconds": rng.randint(60, 3000),
            "fulfillment_type": "FULFILLMENT_BY_TIKTOK" if rng.random() < 0.15 else "FULFILLMENT_BY_SELLER",
        }
        if spec["shipping_fee"] != "0.00" and rng.random() < 0.3:
            spec["shipping_fee_seller_discount"] = "2.00"
        if len(lines) >= 2 and rng.random() < 0.3:
            spec["packages"] = [[0], list(range(1, len(lines)))]
        if spec["status"] == "CANCELLED":
            spec["cancel_reason"] = rng.choice(["No longer needed", "Better price elsewhere 💸", "Payment overdue"])
        specs.append(spec)
    return specs
