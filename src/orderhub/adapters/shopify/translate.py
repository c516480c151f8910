"""Shopify webhook payloads (REST shape) to orderhub's canonical model.

An order's channel (domain/sales_channels.py) is worked out from its ``source_name`` (web, pos, iphone,
android, shopify_draft_order, or a sales channel app's id or handle) and, for orders read through the Admin
API, the channel information Shopify names; the shop's own mapping of source names is applied by the
processor (services/source_channels.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.adapters.fields import Fields
from orderhub.adapters.shopify import discounts, pickup
from orderhub.adapters.shopify.refunds import return_ref
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import (
    Address,
    AppUninstalled,
    Customer,
    CustomerDataRequest,
    CustomerRedaction,
    InventoryLevel,
    LineDelta,
    LineItem,
    Order,
    OrderEdit,
    Product,
    ProductDeletion,
    Refund,
    RefundAdjustment,
    RefundLine,
    ShippingLine,
    ShopRedaction,
    Transaction,
    Variant,
)
from orderhub.domain.sales_channels import ChannelInformation


def order(payload: Any, notified_at: datetime | None = None) -> Order:
    """``notified_at``: when Shopify sent the body, the time of last resort for refunds it carries."""
    f = Fields(payload)
    created_at = f.time("created_at", required=True)
    updated_at = f.time("updated_at") or created_at
    assert created_at is not None and updated_at is not None
    currency = f.str("currency", required=True, max_len=16)
    assert currency is not None
    line_fields = f.objs("line_items")
    items = tuple(_line_item(li) for li in line_fields)
    shipping_fields = [sl for sl in f.objs("shipping_lines") if not sl.bool("is_removed", False)]
    shipping_lines = tuple(_shipping_line(sl) for sl in shipping_fields)
    applied = discounts.applications(f)
    discounts.check_allocations(
        [(li.path, i.discount_allocations) for li, i in zip(line_fields, items, strict=True)]
        + [(sf.path, s.discount_allocations) for sf, s in zip(shipping_fields, shipping_lines, strict=True)], applied)
    # What the customer pays for shipping: the lines after their discounts. The order's
    # total_shipping_price_set is before shipping discounts; it is the figure of last resort.
    if shipping_lines:
        total_shipping = sum((sl.discounted_price for sl in shipping_lines), Decimal("0"))
    else:
        total_shipping = f.shop_money("total_shipping_price_set") or Decimal("0")
    line_discounts = sum((i.total_discount for i in items), Decimal("0"))
    lines_total = sum((i.price * i.quantity for i in items), Decimal("0"))
    has = f.data.get
    number = f.str("order_number", max_len=40) or f.str("number", max_len=40)
    presentment = f.presentment_money("total_price_set")
    shop_id = f.id() or ""
    pickup_id, pickup_name = pickup.location(f)
    source = f.str("source_name", max_len=64)
    fulfilment = f.str("fulfillment_status", max_len=32)
    # A POS sale handed over at the counter: fulfilled when sold, at the POS location it names (REST
    # location_id is "the physical location where the order was processed", null for online orders).
    at_counter = f.id("location_id", required=False) if source == "pos" and fulfilment == "fulfilled" else None
    return Order(
        shopify_id=shop_id,
        name=f.str("name", max_len=100),
        number=number,
        email=f.str("email", max_len=320) or f.str("contact_email", max_len=320),
        customer=_customer(f.obj("customer")),
        financial_status=f.str("financial_status", max_len=32),
        fulfillment_status=f.str("fulfillment_status", max_len=32),
        currency=currency.upper(),
        # Bodies that leave a figure out get it worked out, so only figures Shopify sent can disagree.
        subtotal_price=(f.shop_amount("subtotal_price") if has("subtotal_price") is not None
                        else lines_total - line_discounts),
        total_discounts=(f.shop_amount("total_discounts") if has("total_discounts") is not None
                         else line_discounts + sum((s.discount for s in shipping_lines), Decimal("0"))),
        total_tax=f.shop_amount("total_tax"),
        total_shipping=total_shipping,
        total_price=f.shop_amount("total_price", required=True),
        tags=f.tags(),
        note=f.str("note", max_len=5000),
        cancel_reason=f.str("cancel_reason", max_len=64),
        cancelled_at=f.time("cancelled_at"),
        closed_at=f.time("closed_at"),
        created_at=created_at,
        updated_at=updated_at,
        items=items,
        shipping_address=_address(f.obj("shipping_address")),
        billing_address=_address(f.obj("billing_address")),
        shipping_lines=shipping_lines,
        source_name=f.str("source_name", max_len=64),
        channel_information=_channel_information(f.obj("channel_information")),
        discount_applications=applied,
        taxes_included=f.bool("taxes_included", False),
        total_line_items_price=(f.shop_amount("total_line_items_price")
                                if has("total_line_items_price") is not None else None),
        total_tip=f.money("total_tip_received"),
        total_duties=(Decimal("0") if f.bool("duties_included", False)
                      else f.shop_money("original_total_duties_set") or Decimal("0")),
        total_additional_fees=f.shop_money("original_total_additional_fees_set") or Decimal("0"),
        presentment_currency=(presentment[1] or "").upper() or None if presentment else None,
        presentment_total_price=presentment[0] if presentment else None,
        refunds=tuple(refund(r.data, notified_at, order_id=shop_id, path=r.path) for r in f.objs("refunds")),
        pickup_location=pickup_id,
        pickup_location_name=pickup_name,
        customer_locale=f.str("customer_locale", max_len=16),
        fulfilled_by="store" if at_counter else None,
        sold_at_location=at_counter or None,
        sold_at_location_name=f.str("location_name", max_len=255) if at_counter else None,
    )


def _line_item(f: Fields) -> LineItem:
    quantity = f.int("quantity", required=True)
    assert quantity is not None
    tax = sum((t.shop_amount("price") for t in f.objs("tax_lines")), Decimal("0"))
    fulfillable = f.int("fulfillable_quantity")
    allocated = discounts.allocations(f)
    return LineItem(
        shopify_id=f.id() or "",
        sku=f.str("sku") or None,
        title=f.str("title", required=True, max_len=500) or "",
        variant_title=f.str("variant_title", max_len=500),
        product_id=f.id("product_id", required=False),
        variant_id=f.id("variant_id", required=False),
        quantity=quantity,
        current_quantity=f.int("current_quantity"),
        fulfillable_quantity=quantity if fulfillable is None else fulfillable,
        fulfillment_status=f.str("fulfillment_status", max_len=32),
        price=f.shop_amount("price", required=True),
        total_discount=discounts.line_discount(f, allocated),
        tax=tax,
        requires_shipping=f.bool("requires_shipping", True),
        discount_allocations=allocated,
    )


def _shipping_line(f: Fields) -> ShippingLine:
    """Its discount is the sum of its allocations, like a line's: Shopify's discounted price has been seen
    to keep the full price beside a free-shipping allocation, so it is the figure of last resort."""
    price = f.shop_amount("price")
    allocated = discounts.allocations(f)
    if f.data.get("discount_allocations") is not None:
        discounted = price - sum((a.amount for a in allocated), Decimal("0"))
    else:
        discounted = f.shop_amount("discounted_price", default=str(price))
    return ShippingLine(
        shopify_id=f.id() or "",
        title=f.str("title", max_len=255) or "",
        code=f.str("code"),
        price=price,
        discounted_price=discounted,
        discount_allocations=allocated,
    )


def _channel_information(f: Fields | None) -> ChannelInformation | None:
    """The sales channel as the Admin API names it: orders read through GraphQL carry it under this key
    (graphql_orders.to_rest); webhook bodies never do."""
    if f is None:
        return None
    info = ChannelInformation(app_title=f.str("app_title"), handle=f.str("handle"),
                              channel_name=f.str("channel_name"), sub_channel_name=f.str("sub_channel_name"))
    return info if any((info.app_title, info.handle, info.channel_name, info.sub_channel_name)) else None


def _customer(f: Fields | None) -> Customer | None:
    if f is None or f.data.get("id") is None:
        return None
    return Customer(
        shopify_id=f.id() or "",
        email=f.str("email", max_len=320),
        first_name=f.str("first_name"),
        last_name=f.str("last_name"),
        phone=f.str("phone", max_len=64),
    )


def _address(f: Fields | None) -> Address | None:
    if f is None:
        return None
    country_code = f.str("country_code", max_len=2)
    return Address(
        name=f.str("name"),
        first_name=f.str("first_name"),
        last_name=f.str("last_name"),
        company=f.str("company"),
        address1=f.str("address1"),
        address2=f.str("address2"),
        city=f.str("city"),
        province=f.str("province"),
        province_code=f.str("province_code", max_len=16),
        zip=f.str("zip", max_len=32),
        country=f.str("country"),
        country_code=country_code.upper() if country_code else None,
        phone=f.str("phone", max_len=64),
        latitude=f.float("latitude"),
        longitude=f.float("longitude"),
    )


def refund(payload: Any, notified_at: datetime | None = None, *, order_id: str | None = None,
           path: str = "") -> Refund:
    """A refund, from refunds/create or from the ``refunds`` an order's body carries (``order_id`` then
    comes from the order when the refund leaves it out).

    Shopify's test notification sends ``created_at: null``: the refund is still real, so its time is the
    best one available (processed_at, its first transaction, or when the notification was sent), and
    ``time_source`` says which."""
    f = Fields(payload, path)
    lines = tuple(
        RefundLine(
            line_item_id=rl.id("line_item_id") or "",
            quantity=rl.int("quantity", required=True) or 0,
            subtotal=rl.shop_amount("subtotal"),
            restock_type=rl.str("restock_type", max_len=32),
        )
        for rl in f.objs("refund_line_items")
    )
    all_transactions = f.objs("transactions")
    transactions = [t for t in all_transactions if (t.str("kind") or "refund") == "refund"
                    and (t.str("status") or "success") == "success"]
    amount = sum((t.money("amount") for t in transactions), Decimal("0"))
    currency = next((t.str("currency", max_len=3) for t in transactions if t.data.get("currency")), None)
    created_at, time_source = _refund_time(f, all_transactions, notified_at)
    note = f.str("note", max_len=5000)
    return Refund(
        shopify_id=f.id() or "",
        order_id=f.id("order_id", required=order_id is None) or order_id or "",
        created_at=created_at,
        amount=amount,
        currency=currency,
        lines=lines,
        note=note,
        adjustments=tuple(RefundAdjustment(kind=a.str("kind", max_len=32) or "", amount=a.shop_amount("amount"),
                                           tax=a.shop_amount("tax_amount"), reason=a.str("reason"))
                          for a in f.objs("order_adjustments")),
        time_source=time_source,
        return_ref=return_ref(note),
    )


def _refund_time(f: Fields, transactions: list[Fields], notified_at: datetime | None) -> tuple[datetime, str]:
    for key in ("created_at", "processed_at"):
        at = f.time(key)
        if at is not None:
            return at, key
    times = [t for t in (t.time("processed_at") or t.time("created_at") for t in transactions) if t is not None]
    if times:
        return min(times), "transaction"
    if notified_at is not None:
        return notified_at, "notification"
    raise InvalidRecord(f.path_to("created_at"), "required field is missing, and the refund has no processed_at "
                        "nor transaction time to take instead")


def transaction(payload: Any) -> Transaction:
    f = Fields(payload)
    created_at = f.time("created_at", required=True)
    assert created_at is not None
    return Transaction(
        shopify_id=f.id() or "",
        order_id=f.id("order_id") or "",
        kind=f.str("kind", required=True, max_len=32) or "",
        status=f.str("status", max_len=32) or "success",
        amount=f.money("amount", required=True),
        currency=f.str("currency", max_len=3),
        gateway=f.str("gateway", max_len=100),
        created_at=created_at,
    )


def order_edit(payload: Any) -> OrderEdit:
    f = Fields(payload).obj("order_edit", required=True)
    assert f is not None
    line_items = f.obj("line_items")

    def deltas(kind: str) -> tuple[LineDelta, ...]:
        if line_items is None:
            return ()
        return tuple(LineDelta(d.id() or "", d.int("delta", required=True) or 0) for d in line_items.objs(kind))

    created_at = f.time("created_at", required=True)
    assert created_at is not None
    return OrderEdit(
        shopify_id=f.id() or "",
        order_id=f.id("order_id") or "",
        created_at=created_at,
        additions=deltas("additions"),
        removals=deltas("removals"),
    )


def product(payload: Any) -> Product:
    f = Fields(payload)
    updated_at = f.time("updated_at") or f.time("created_at", required=True)
    assert updated_at is not None
    return Product(
        shopify_id=f.id() or "",
        updated_at=updated_at,
        title=f.str("title", max_len=500),
        handle=f.str("handle"),
        vendor=f.str("vendor"),
        product_type=f.str("product_type"),
        status=f.str("status", max_len=16),
        tags=f.tags(),
        variants=tuple(
            Variant(
                shopify_id=v.id() or "",
                sku=v.str("sku") or None,
                title=v.str("title", max_len=500),
                price=v.money("price") if v.data.get("price") is not None else None,
                barcode=v.str("barcode"),
                inventory_item_id=v.id("inventory_item_id", required=False),
            )
            for v in f.objs("variants")
        ),
    )


def product_deletion(payload: Any, deleted_at: datetime) -> ProductDeletion:
    return ProductDeletion(shopify_id=Fields(payload).id() or "", deleted_at=deleted_at)


def inventory_level(payload: Any) -> InventoryLevel:
    f = Fields(payload)
    updated_at = f.time("updated_at", required=True)
    assert updated_at is not None
    return InventoryLevel(
        inventory_item_id=f.id("inventory_item_id") or "",
        location_id=f.id("location_id") or "",
        available=f.int("available"),
        updated_at=updated_at,
    )


def _customer_ref(f: Fields) -> tuple[str | None, str | None]:
    customer = f.obj("customer")
    if customer is None:
        return None, None
    return customer.id(required=False), customer.str("email", max_len=320)


def _order_ids(f: Fields, key: str) -> tuple[str, ...]:
    values = f.data.get(key) or []
    if not isinstance(values, list):
        raise InvalidRecord(key, "expected a list of order ids")
    return tuple(Fields({"id": v}, f"{key}[{i}]").id() or "" for i, v in enumerate(values))


def customer_redaction(payload: Any) -> CustomerRedaction:
    f = Fields(payload)
    customer_id, email = _customer_ref(f)
    return CustomerRedaction(customer_id=customer_id, email=email, order_ids=_order_ids(f, "orders_to_redact"))


def customer_data_request(payload: Any) -> CustomerDataRequest:
    f = Fields(payload)
    customer_id, email = _customer_ref(f)
    request = f.obj("data_request")
    return CustomerDataRequest(
        request_id=request.id(required=False) if request else None,
        customer_id=customer_id,
        email=email,
        order_ids=_order_ids(f, "orders_requested"),
    )


def shop_redaction(payload: Any) -> ShopRedaction:
    return ShopRedaction(shop_domain=Fields(payload).str("shop_domain", required=True) or "")


def app_uninstalled(payload: Any) -> AppUninstalled:
    f = Fields(payload)
    return AppUninstalled(shop_domain=f.str("myshopify_domain") or f.str("domain") or "")
