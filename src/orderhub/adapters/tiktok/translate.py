"""TikTok Shop orders (202309 ``Get Order Detail`` / ``Get Order List`` shape) to orderhub's canonical model.

TikTok lists one line item per unit sold; orderhub keeps one line per SKU and price, its quantity the
number of units, under the id of its first unit (:func:`line_groups` is the one rule both directions use).
Money comes as strings and is read as Decimal; times are Unix seconds, read as UTC. Restricted orders
(buyer details withheld) are valid: no customer, no address.

Order statuses (``status``), what TikTok means by each [1], and what orderhub makes of it:

| TikTok status | TikTok's meaning [1] | canonical |
| --- | --- | --- |
| UNPAID | placed, not paid; auto-cancelled if left unpaid | not stored (a) |
| ON_HOLD | paid; the buyer may still cancel freely [2] | financial_status pending (b) |
| AWAITING_SHIPMENT | paid and released: the seller ships it | financial_status paid |
| PARTIALLY_SHIPPING | some packages shipped | paid; fulfillment_status partial |
| AWAITING_COLLECTION | all packages shipped, carrier to collect | paid; fulfilled |
| IN_TRANSIT | with the carrier | paid; fulfilled |
| DELIVERED | delivered to the buyer | paid; fulfilled |
| COMPLETED | done (after-sales window over) | paid; fulfilled; closed_at (c) |
| CANCELLED | cancelled by buyer, seller or system | cancelled_at (d) |

(a) The intake skips it (services/jobs/tiktok_jobs.py): orderhub reserves nothing for an order that may
never be paid. TikTok's next version of it (paid, or cancelled) has a new ``update_time`` and comes in then.
(b) orderhub reserves its stock but does not release it to fulfilment until a later version says paid.
(c) ``closed_at`` is the ``update_time`` of the COMPLETED version.
(d) ``cancelled_at`` is ``cancel_time``, ``cancel_reason`` TikTok's; ``financial_status`` ``refunded`` when
it had been paid (``paid_time``), else ``voided``.

[1] TikTok Shop Partner Center, API reference *Get Order Detail* (202309): the descriptions of ``status``,
``rts_sla_time`` ("the latest shipping time specified by the platform") and ``delivery_sla_time`` ("order
should arrive by this date"), as the tiktok-shop-api 0.1.0 client carries them
(``generated/models/get_order_detail_response_data_order.py``); the simulator models the same lifecycle
(simulators/tiktok/lifecycle.py).
[2] ``is_on_hold_order`` in the same response; the window's length is TikTok's (an hour in the simulator).

Also: ``fulfillment_type`` ``FULFILLMENT_BY_TIKTOK`` (FBT: TikTok ships from its own stock) is
``fulfilled_by="channel"``; ``rts_sla_time`` (ready to ship by) is ``ship_by`` and ``delivery_sla_time`` (when
TikTok sends it) ``deliver_by``. A unit's price is its ``original_price``; the difference to its
``sale_price`` (the seller's and the platform's discounts) is the line's discount, so the subtotal is what
the buyer pays for the goods. Figures are worked out over every unit, cancelled ones too (the order's
original figures, as Shopify's are); while no unit is cancelled they must agree with TikTok's
``payment.total_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from orderhub.adapters.fields import Fields
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Address, Customer, LineItem, Order, ShippingLine

PAID_STATUSES = ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED",
                 "COMPLETED")
STATUSES = ("UNPAID", "ON_HOLD", *PAID_STATUSES, "CANCELLED")
FULFILMENT = {"PARTIALLY_SHIPPING": "partial", "AWAITING_COLLECTION": "fulfilled", "IN_TRANSIT": "fulfilled",
              "DELIVERED": "fulfilled", "COMPLETED": "fulfilled"}
SHIPPED_UNIT = frozenset({"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"})
MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def unix_time(f: Fields, key: str, *, required: bool = False) -> datetime | None:
    """TikTok's times: whole Unix seconds (a digit string is taken too)."""
    value = f.data.get(key)
    if value is None:
        if required:
            raise InvalidRecord(f.path_to(key), "required field is missing")
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SECONDS:
        raise InvalidRecord(f.path_to(key), f"expected a Unix time in seconds, got {str(value)[:40]!r}")
    return datetime.fromtimestamp(value, timezone.utc)


@dataclass(frozen=True)
class Unit:
    """One of TikTok's line items (one unit)."""

    id: str
    key: tuple[str, ...]  # what makes units one canonical line: SKU, prices, gift or not
    status: str
    package_id: str | None
    tracking: str | None


def _unit(f: Fields) -> Unit:
    key = (f.str("sku_id", required=True) or "", f.str("original_price", required=True) or "",
           f.str("sale_price", required=True) or "", "gift" if f.bool("is_gift", False) else "")
    return Unit(id=f.id() or "", key=key, status=f.str("display_status", max_len=40) or "",
                package_id=f.str("package_id", max_len=40), tracking=f.str("tracking_number", max_len=100))


def line_groups(payload: Any) -> dict[str, list[Unit]]:
    """The order's units by canonical line: the first unit's id -> every unit of that SKU and price."""
    groups: dict[tuple[str, ...], list[Unit]] = {}
    for item in Fields(payload).objs("line_items"):
        unit = _unit(item)
        groups.setdefault(unit.key, []).append(unit)
    return {units[0].id: units for units in groups.values()}


def order(payload: Any) -> Order:
    f = Fields(payload)
    order_id = f.id(required=True) or ""
    status = f.str("status", required=True, max_len=40) or ""
    if status not in STATUSES:
        raise InvalidRecord("status", f"unknown TikTok order status {status[:40]!r}; expected one of "
                                      f"{', '.join(STATUSES)}")
    created_at = unix_time(f, "create_time", required=True)
    updated_at = unix_time(f, "update_time") or created_at
    assert created_at is not None and updated_at is not None
    pay = f.obj("payment", required=True)
    assert pay is not None
    currency = (pay.str("currency", required=True, max_len=16) or "").upper()
    units = f.objs("line_items", required=True)
    if not units:
        raise InvalidRecord("line_items", "the order has no line items; an order needs at least one")
    items = tuple(_line(units, [u for u in units if _unit(u).key == key])
                  for key in dict.fromkeys(_unit(u).key for u in units))
    shipping_paid = pay.money("shipping_fee")
    shipping_before = pay.money("original_shipping_fee", default=str(shipping_paid))
    shipping = (ShippingLine(shopify_id=f"{order_id}-shipping", title=f.str("delivery_option_name") or "Shipping",
                             code=f.str("delivery_type", max_len=64), price=shipping_before,
                             discounted_price=shipping_paid),) if shipping_before or shipping_paid else ()
    lines_total = sum((i.price * i.quantity for i in items), Decimal("0"))
    line_discounts = sum((i.total_discount for i in items), Decimal("0"))
    subtotal = lines_total - line_discounts
    tax = pay.money("tax")
    total = subtotal + shipping_paid + tax
    if all(_unit(u).status != "CANCELLED" for u in units) and pay.data.get("total_amount") is not None:
        stated = pay.money("total_amount")
        if stated != total:
            raise InvalidRecord("payment.total_amount", f"{stated} {currency} does not add up: the units' sale prices "
                                f"{subtotal}, shipping {shipping_paid} and tax {tax} come to {total}")
    paid = status in PAID_STATUSES or (status == "CANCELLED" and f.data.get("paid_time"))
    cancelled_at = unix_time(f, "cancel_time") or (updated_at if status == "CANCELLED" else None)
    return Order(
        shopify_id=order_id,
        name=order_id,
        currency=currency,
        created_at=created_at,
        updated_at=updated_at,
        subtotal_price=subtotal,
        total_discounts=line_discounts + sum((s.discount for s in shipping), Decimal("0")),
        total_tax=tax,
        total_shipping=shipping_paid,
        total_price=total,
        total_line_items_price=lines_total,
        items=items,
        email=f.str("buyer_email", max_len=320) or None,
        customer=_customer(f),
        financial_status=_financial(status, bool(paid)),
        fulfillment_status=FULFILMENT.get(status),
        note=f.str("buyer_message", max_len=5000) or None,
        # TikTok's reasons are sentences a buyer picked; the stored reason keeps their start.
        cancel_reason=(f.str("cancel_reason", max_len=500) or "other")[:64] if status == "CANCELLED" else None,
        cancelled_at=cancelled_at if status == "CANCELLED" else None,
        closed_at=updated_at if status == "COMPLETED" else None,
        shipping_address=_address(f.obj("recipient_address")),
        shipping_lines=shipping,
        source_name="tiktok", channel="tiktok",
        tags=tuple(t for t in ("on-hold" if status == "ON_HOLD" else "",
                               "buyer-requested-cancel" if f.bool("is_buyer_request_cancel", False) else "") if t),
        fulfilled_by="channel" if f.str("fulfillment_type", max_len=40) == "FULFILLMENT_BY_TIKTOK" else None,
        ship_by=unix_time(f, "rts_sla_time"),
        deliver_by=unix_time(f, "delivery_sla_time"),
    )


def _financial(status: str, paid: bool) -> str:
    if status == "CANCELLED":
        return "refunded" if paid else "voided"
    return "paid" if status in PAID_STATUSES else "pending"


def _line(all_units: list[Fields], units: list[Fields]) -> LineItem:
    first = units[0]
    original = first.money("original_price", required=True)
    sale = first.money("sale_price", required=True)
    for u in units[1:]:  # one key, one price: a unit saying otherwise is a broken payload
        if u.money("sale_price") != sale:
            raise InvalidRecord(u.path_to("sale_price"), "units of one SKU and price disagree")
    if sale > original:
        raise InvalidRecord(first.path_to("sale_price"), f"sale price {sale} is above the original price {original}")
    live = [u for u in units if u.str("display_status") != "CANCELLED"]
    shipped = [u for u in live if u.str("display_status") in SHIPPED_UNIT]
    fulfilment = "fulfilled" if live and len(shipped) == len(live) else "partial" if shipped else None
    title = first.str("product_name", required=True, max_len=500) or ""
    return LineItem(
        shopify_id=first.id() or "",
        title=title,
        variant_title=first.str("sku_name", max_len=500) or None,
        sku=first.str("seller_sku") or None,
        product_id=first.str("product_id", max_len=40),
        variant_id=first.str("sku_id", max_len=40),
        quantity=len(units),
        current_quantity=len(live),
        fulfillable_quantity=len(live) - len(shipped),
        fulfillment_status=fulfilment,
        price=original,
        total_discount=(original - sale) * len(units),
    )


def _customer(f: Fields) -> Customer | None:
    user = f.str("user_id", max_len=40)
    if not user:
        return None
    recipient = f.obj("recipient_address")
    first = recipient.str("first_name") if recipient else None
    last = recipient.str("last_name") if recipient else None
    return Customer(shopify_id=user, email=f.str("buyer_email", max_len=320) or None, first_name=first or None,
                    last_name=last or None)


def _district(f: Fields, level: str) -> str | None:
    for d in f.objs("district_info"):
        if d.str("address_level") == level:
            return d.str("address_name") or None
    return None


def _address(f: Fields | None) -> Address | None:
    """None for a restricted order: TikTok sends the address with its fields empty."""
    if f is None:
        return None
    line1 = f.str("address_line1", max_len=500) or f.str("full_address", max_len=500) or None
    postal = f.str("postal_code", max_len=32) or None
    if not (line1 or postal or f.str("name")):
        return None
    region = (f.str("region_code", max_len=2) or "").upper() or None
    return Address(
        name=f.str("name") or None,
        first_name=f.str("first_name") or None,
        last_name=f.str("last_name") or None,
        address1=line1,
        address2=f.str("address_line2", max_len=500) or None,
        city=_district(f, "L3") or _district(f, "L2"),
        province=_district(f, "L1"),
        zip=postal,
        country=_district(f, "L0"),
        country_code=region,
        phone=f.str("phone_number", max_len=64) or None,
    )
