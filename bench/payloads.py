"""Realistic, distinct Shopify ``orders/create`` webhooks for the benchmarks.

Every order is different (its own order id, webhook id, line ids, customer, totals)
and deterministic: order ``n`` of run ``tag`` is always the same bytes, so a run
can be repeated and a failure reproduced. Bodies are 1.5-2.5 KB of Shopify REST
order JSON with 2-3 line items and addresses in several scripts, with emoji.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

SHOP = "bench-shop.myshopify.com"
SECRET = "bench-s3cret-🦋-key"
TOPIC = "orders/create"
API_VERSION = "2025-10"

# Orders of different runs never collide: run ``tag`` owns ids BASE + tag * SPAN + n.
ORDER_ID_BASE = 5_000_000_000_000_000  # above 2^53, as real Shopify ids are
ORDER_ID_SPAN = 10_000_000_000  # ids per run; line ids are offsets inside the span

_PEOPLE = [
    ("Zoë", "Ångström", "zoe.angstrom@example.com"),
    ("Jürgen", "Groß", "juergen.gross@example.de"),
    ("Søren", "Kierkegård", "soren@example.dk"),
    ("美咲", "佐藤", "misaki.sato@example.jp"),
    ("Олег", "Иванов", "oleg.ivanov@example.ru"),
    ("زهرة", "الحسيني", "zahra@example.ae"),
    ("Siobhán", "Ó Briain", "siobhan@example.ie"),
    ("Nguyễn", "Thị Hồng", "hong.nguyen@example.vn"),
]
_ADDRESSES = [
    {"address1": "Straße des 17. Juni 135", "address2": "🦋 Hinterhaus, 3. OG", "city": "Berlin", "zip": "10623",
     "province": None, "province_code": None, "country": "Germany", "country_code": "DE", "phone": "+49 30 1234567"},
    {"address1": "שדרות רוטשילד 1", "address2": "דירה 4 🏠", "city": "תל אביב", "zip": "6688101",
     "province": None, "province_code": None, "country": "Israel", "country_code": "IL", "phone": "+972 3 555 0101"},
    {"address1": "東京都渋谷区神南1-2-3", "address2": "ビル 5F 🗼", "city": "渋谷区", "zip": "150-0041",
     "province": "Tokyo", "province_code": "JP-13", "country": "Japan", "country_code": "JP", "phone": "+81 3-1234-5678"},
    {"address1": "ул. Тверская, д. 7", "address2": "кв. 12 ❄️", "city": "Москва", "zip": "125009",
     "province": None, "province_code": None, "country": "Russia", "country_code": "RU", "phone": "+7 495 123-45-67"},
    {"address1": "12 Rue de Rivoli", "address2": "Bâtiment B — 2ᵉ étage 🥐", "city": "Paris", "zip": "75004",
     "province": None, "province_code": None, "country": "France", "country_code": "FR", "phone": "+33 1 23 45 67 89"},
    {"address1": "1600 Amphitheatre Pkwy", "address2": "Suite 🚀 200", "city": "Mountain View", "zip": "94043",
     "province": "California", "province_code": "CA", "country": "United States", "country_code": "US",
     "phone": "+1 650-555-0100"},
]
_PRODUCTS = [
    ("TSHIRT-BLK-M", "T-shirt 👕 Organic", "Black / M", "12.50", 180),
    ("MUG-CRM-350", "Кружка керамическая ☕", "Cream / 350 ml", "9.90", 420),
    ("SOCK-3PK-42", "Chaussettes (lot de 3) 🧦", "42-45", "14.00", 150),
    ("TOTE-NAT-01", "Tote bag «Ökologisch» 🌿", "Natural", "19.00", 210),
    ("CAP-NVY-OS", "帽子 キャップ 🧢", "Navy / One size", "24.00", 120),
    ("PIN-BFLY-01", "Enamel pin 🦋", None, "6.50", 20),
]
_CURRENCIES = [("EUR", "0.19", "MwSt"), ("USD", "0.0725", "CA State Tax"), ("GBP", "0.20", "VAT"),
               ("JPY", "0.10", "消費税")]
_NOTES = ["Bitte beim Nachbarn abgeben 🚪", "ギフト包装をお願いします 🎁", "Не звонить в дверь 🔕", None,
          "Leave at the door — thanks! 🙏"]
_TAGS = ["vip, 🦋", "wholesale", "first-order, newsletter", "", "priority, gift 🎁"]


def _cents(amount: str) -> int:
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def order_id(tag: int, n: int) -> int:
    return ORDER_ID_BASE + tag * ORDER_ID_SPAN + n * 16


_MIX = 0x9E3779B97F4A7C15  # odd: n -> n * _MIX mod 2^64 is a bijection, so the id can be read back
_UNMIX = pow(_MIX, -1, 1 << 64)


def webhook_id(tag: int, n: int) -> str:
    """UUID-shaped and unique per (run, order), in no order: Shopify's X-Shopify-Webhook-Id is a random UUID, so
    consecutive webhooks' ids land anywhere in an index on them (sequential ids would make that index look cheap)."""
    m = (n * _MIX) & 0xFFFFFFFFFFFFFFFF
    return f"{m >> 32:08x}-{(m >> 16) & 0xffff:04x}-4000-8000-{m & 0xffff:04x}{tag & 0xffffffff:08x}"


def webhook_index(wid: str) -> tuple[int, int]:
    """Inverse of :func:`webhook_id`: (tag, n)."""
    a, b, _, _, e = wid.split("-")
    m = (int(a, 16) << 32) | (int(b, 16) << 16) | int(e[:4], 16)
    return int(e[4:], 16), (m * _UNMIX) & 0xFFFFFFFFFFFFFFFF


class _Bits:
    """Cheap deterministic choices for order ``n`` (random.Random costs more than the rest together)."""

    __slots__ = ("x",)

    def __init__(self, seed: int) -> None:
        self.x = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF

    def take(self, k: int) -> int:
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return (self.x >> 33) % k


def order_payload(tag: int, n: int) -> dict[str, Any]:
    bits = _Bits(tag * 1_000_003 + n)
    oid = order_id(tag, n)
    first, last, email = _PEOPLE[bits.take(len(_PEOPLE))]
    ship = _ADDRESSES[bits.take(len(_ADDRESSES))]
    bill = _ADDRESSES[bits.take(len(_ADDRESSES))]
    currency, rate, tax_title = _CURRENCIES[bits.take(len(_CURRENCIES))]
    created = f"2026-11-23T10:{n % 60:02d}:{(n // 60) % 60:02d}-05:00"
    first_product = bits.take(len(_PRODUCTS))
    count = 3 if bits.take(3) == 0 else 2
    items = []
    subtotal = tax_total = discount_total = 0
    for k in range(count):
        p = (first_product + k) % len(_PRODUCTS)
        sku, title, variant, price, grams = _PRODUCTS[p]
        qty = 1 + bits.take(3)
        line = _cents(price) * qty
        discount = 250 if k == 0 and bits.take(3) == 0 else 0
        tax = round((line - discount) * float(rate))
        subtotal += line - discount
        tax_total += tax
        discount_total += discount
        items.append({
            "id": oid + 1 + k, "variant_id": oid + 4 + k, "product_id": 7_000_000_000_000 + p,
            "sku": sku, "title": title, "variant_title": variant, "quantity": qty, "grams": grams,
            "price": price, "total_discount": _money(discount),
            "tax_lines": [{"title": tax_title, "price": _money(tax), "rate": float(rate)}],
        })
    shipping = (0, 490, 590)[bits.take(3)]
    total = subtotal + tax_total + shipping
    person = {"first_name": first, "last_name": last, "name": f"{first} {last}"}
    return {
        "id": oid,
        "browser_ip": f"203.0.113.{n % 250 + 1}", "buyer_accepts_marketing": bool(n % 2),
        "cancelled_at": None, "closed_at": None,
        "contact_email": email, "created_at": created, "updated_at": created,
        "currency": currency, "customer_locale": "de-DE", "email": email,
        "financial_status": "paid", "fulfillment_status": None,
        "name": f"#{1000 + n % 9_000_000}", "order_number": 1000 + n % 9_000_000,
        "note": _NOTES[bits.take(len(_NOTES))], "tags": _TAGS[bits.take(len(_TAGS))],
        "subtotal_price": _money(subtotal), "total_discounts": _money(discount_total),
        "total_tax": _money(tax_total), "total_price": _money(total),
        "total_weight": sum(i["grams"] * i["quantity"] for i in items),
        "total_shipping_price_set": {"shop_money": {"amount": _money(shipping), "currency_code": currency}},
        "customer": {"id": oid + 7, "email": email, "first_name": first, "last_name": last},
        "billing_address": person | bill,
        "shipping_address": person | ship,
        "line_items": items,
        "shipping_lines": [{"id": oid + 8, "title": "DHL Paket 📦", "code": "dhl",
                            "price": _money(shipping), "discounted_price": _money(shipping)}],
    }


def order_body(tag: int, n: int) -> bytes:
    return orjson.dumps(order_payload(tag, n))


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str = "/webhooks/shopify"


# The time of the run: a fixed date would fall outside the receiver's replay window a few days later.
_TRIGGERED_AT = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def request_bytes(target: Target, tag: int, n: int, secret: str = SECRET, shop: str = SHOP) -> bytes:
    """One complete HTTP/1.1 keep-alive request, as Shopify sends it."""
    body = order_body(tag, n)
    head = (
        f"POST {target.path} HTTP/1.1\r\n"
        f"Host: {target.host}:{target.port}\r\n"
        "User-Agent: Shopify-Captain-Hook\r\n"
        "Accept: */*\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Shopify-Topic: {TOPIC}\r\n"
        f"X-Shopify-Hmac-Sha256: {sign(secret, body)}\r\n"
        f"X-Shopify-Shop-Domain: {shop}\r\n"
        f"X-Shopify-API-Version: {API_VERSION}\r\n"
        f"X-Shopify-Webhook-Id: {webhook_id(tag, n)}\r\n"
        f"X-Shopify-Event-Id: {webhook_id(tag + 0x8000, n)}\r\n"
        f"X-Shopify-Order-Id: {order_id(tag, n)}\r\n"
        f"X-Shopify-Triggered-At: {_TRIGGERED_AT}\r\n"
        "\r\n"
    )
    return head.encode() + body
