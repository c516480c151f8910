"""Resolvers of the Admin GraphQL API: the store's REST-shape records as GraphQL objects.

Each root field is a function ``(info, **args)`` in the root value; objects are
plain dicts with GraphQL field names, and fields that take arguments (nested
connections) are functions too, which graphql-core's default resolver calls.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.simulators.shopify import discount_nodes, sales_channels
from orderhub.simulators.shopify.catalogue_search import parse_catalogue
from orderhub.simulators.shopify.clock import utc_z
from orderhub.simulators.shopify.customers import customer_node
from orderhub.simulators.shopify.money import dec, money_set
from orderhub.simulators.shopify.pagination import SortKey, connection
from orderhub.simulators.shopify.product_nodes import available_units, shop_product_node, variant_node
from orderhub.simulators.shopify.schema import TOPIC_ENUMS, TOPICS
from orderhub.simulators.shopify.search import parse as parse_search
from orderhub.simulators.shopify.store import (
    DuplicateSubscription,
    Shop,
    Store,
    Subscription,
    gid,
)

if TYPE_CHECKING:
    from orderhub.simulators.shopify.bulk_operations import BulkOperations

_FINANCIAL = {"pending": "PENDING", "authorized": "AUTHORIZED", "partially_paid": "PARTIALLY_PAID", "paid": "PAID",
              "partially_refunded": "PARTIALLY_REFUNDED", "refunded": "REFUNDED", "voided": "VOIDED",
              "expired": "EXPIRED"}
_FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED",
                "restocked": "RESTOCKED"}
PRODUCT_SORT = {"ID": lambda p: p["id"], "TITLE": lambda p: str(p.get("title") or ""),
                "UPDATED_AT": lambda p: utc_z(p["updated_at"]), "CREATED_AT": lambda p: utc_z(p["created_at"]),
                "PRODUCT_TYPE": lambda p: str(p.get("product_type") or ""),
                "VENDOR": lambda p: str(p.get("vendor") or "")}
ORDER_SORT = {"ID": lambda o: o["id"], "CREATED_AT": lambda o: utc_z(o["created_at"]),
               "UPDATED_AT": lambda o: utc_z(o["updated_at"]), "PROCESSED_AT": lambda o: utc_z(o["processed_at"]),
               "ORDER_NUMBER": lambda o: o["order_number"]}


@dataclass
class RequestContext:
    """What one GraphQL request runs against; resolvers add search warnings for ``extensions.search``."""

    store: Store
    shop: Shop
    api_version: str
    search: list[dict[str, Any]] = field(default_factory=list)
    bulk: BulkOperations | None = None  # the simulator's bulk operations
    base_url: str = ""  # where the simulator is served ("http://127.0.0.1:8700"), for result URLs
    emit: Callable[[Shop, list[tuple[str, dict[str, Any]]]], None] | None = None  # fires a mutation's webhooks


def parse_gid(value: str, kind: str) -> int:
    prefix = f"gid://shopify/{kind}/"
    tail = value[len(prefix):] if value.startswith(prefix) else ""
    if not tail.isdigit():
        raise GraphQLError(f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"})
    return int(tail)


# -- REST records as GraphQL objects ----------------------------------------------------------------

_money, _bag = discount_nodes.money, discount_nodes.bag


def _scaled_bag(rest_set: dict[str, Any], factor: int) -> dict[str, Any]:
    monies = (("shopMoney", rest_set["shop_money"]), ("presentmentMoney", rest_set["presentment_money"]))
    return {key: {"amount": str(Decimal(money["amount"]) * factor), "currencyCode": money["currency_code"]}
            for key, money in monies}


def _address(rest: Any) -> dict[str, Any] | None:
    """A MailingAddress. A malformed (non-object) address of a *bad* order shows as an empty one."""
    if rest is None:
        return None
    if not isinstance(rest, dict):
        rest = {}
    return {"name": rest.get("name"), "firstName": rest.get("first_name"), "lastName": rest.get("last_name"),
            "company": rest.get("company"), "address1": rest.get("address1"), "address2": rest.get("address2"),
            "city": rest.get("city"), "province": rest.get("province"), "provinceCode": rest.get("province_code"),
            "zip": rest.get("zip"), "country": rest.get("country"), "countryCodeV2": rest.get("country_code"),
            "phone": rest.get("phone"), "latitude": rest.get("latitude"), "longitude": rest.get("longitude")}


def _tax_lines(rest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"priceSet": _bag(t.get("price_set")), "rate": t.get("rate"),
             "ratePercentage": None if t.get("rate") is None else round(float(t["rate"]) * 100, 4),
             "title": t.get("title")} for t in rest]


def _line_item(rest: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    variant_title = rest.get("variant_title")
    return {
        "id": gid("LineItem", rest["id"]), "name": rest.get("name") or rest["title"], "title": rest["title"],
        "variantTitle": variant_title, "sku": rest.get("sku"), "vendor": rest.get("vendor"),
        "quantity": rest["quantity"], "currentQuantity": rest["current_quantity"],
        "unfulfilledQuantity": rest["fulfillable_quantity"], "requiresShipping": rest["requires_shipping"],
        "taxable": rest.get("taxable", True), "originalUnitPriceSet": _bag(rest["price_set"]),
        "originalTotalSet": _scaled_bag(rest["price_set"], rest["quantity"]),
        "totalDiscountSet": _bag(rest["total_discount_set"]),
        "discountAllocations": lambda _info: discount_nodes.allocations(rest, order),
        "taxLines": lambda _info, first=None: _tax_lines(rest["tax_lines"])[:first],
        "variant": None if rest.get("variant_id") is None else lambda info: _line_variant(info, rest),
        "product": None if rest.get("product_id") is None else lambda info: _line_product(info, rest),
    }


def _line_product(info: GraphQLResolveInfo, rest: dict[str, Any]) -> dict[str, Any] | None:
    """The line's product as the shop has it now; null once the product is deleted, as on Shopify."""
    ctx: RequestContext = info.context
    with ctx.store.lock:
        product = ctx.shop.products.get(rest["product_id"])
        return None if product is None else shop_product_node(ctx.store, ctx.shop, product)


def _line_variant(info: GraphQLResolveInfo, rest: dict[str, Any]) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    with ctx.store.lock:
        product = ctx.shop.products.get(rest.get("product_id"))  # type: ignore[arg-type]
        variant = next((v for v in (product or {}).get("variants", []) if v["id"] == rest["variant_id"]), None)
        return None if variant is None else variant_node(variant, available_units(ctx.store, ctx.shop))


def _shipping_line(rest: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    return {"id": gid("ShippingLine", rest["id"]), "title": rest["title"], "code": rest.get("code"),
            "source": rest.get("source"), "originalPriceSet": _bag(rest["price_set"]),
            "discountedPriceSet": _bag(rest["discounted_price_set"]), "taxLines": _tax_lines(rest["tax_lines"]),
            "isRemoved": bool(rest.get("is_removed")),
            "discountAllocations": lambda _info: discount_nodes.allocations(rest, order)}


def _by_id(item: dict[str, Any]) -> SortKey:
    return (item["id"], item["id"])


def order_node(rest: dict[str, Any], sales_channel: str | None = None) -> dict[str, Any]:
    """An Order object from an order in REST shape, sold through ``sales_channel`` (the shop records it
    for each order it takes; else the one the order's source_name names)."""
    customer = rest.get("customer")
    lines, shipping = rest["line_items"], rest["shipping_lines"]
    return {
        "id": gid("Order", rest["id"]), "legacyResourceId": rest["id"], "name": rest["name"],
        "email": rest.get("email"), "phone": rest.get("phone"), "note": rest.get("note"),
        "tags": [t.strip() for t in (rest.get("tags") or "").split(",") if t.strip()],
        "test": rest.get("test", False), "closed": rest.get("closed_at") is not None,
        "discountCodes": [d["code"] for d in rest.get("discount_codes") or []], "sourceName": rest.get("source_name"),
        "createdAt": rest["created_at"], "updatedAt": rest["updated_at"], "processedAt": rest["processed_at"],
        "cancelledAt": rest.get("cancelled_at"), "closedAt": rest.get("closed_at"),
        "cancelReason": (rest.get("cancel_reason") or "").upper() or None,
        "currencyCode": rest["currency"], "presentmentCurrencyCode": rest["presentment_currency"],
        "displayFinancialStatus": _FINANCIAL.get(rest.get("financial_status") or ""),
        "displayFulfillmentStatus": _FULFILLMENT.get(rest.get("fulfillment_status"), "UNFULFILLED"),
        "subtotalPriceSet": _bag(rest.get("subtotal_price_set")), "totalPriceSet": _bag(rest["total_price_set"]),
        "totalTaxSet": _bag(rest.get("total_tax_set")), "totalDiscountsSet": _bag(rest.get("total_discounts_set")),
        "totalShippingPriceSet": _bag(rest["total_shipping_price_set"]),
        "taxesIncluded": bool(rest.get("taxes_included")), "dutiesIncluded": bool(rest.get("duties_included")),
        "totalTipReceivedSet": _bag(money_set(dec(rest.get("total_tip_received") or "0"), rest["currency"],
                                              rest["presentment_currency"])),
        "originalTotalDutiesSet": _bag(rest.get("original_total_duties_set")),
        "originalTotalAdditionalFeesSet": _bag(rest.get("original_total_additional_fees_set")),
        "discountApplications": lambda _info, first=None, after=None: discount_nodes.applications_connection(
            rest, first, after),
        "currentTotalPriceSet": _bag(rest["current_total_price_set"]),
        "currentSubtotalPriceSet": _bag(rest["current_subtotal_price_set"]),
        "customer": None if not customer else customer_node(customer),
        "shippingAddress": _address(rest.get("shipping_address")),
        "billingAddress": _address(rest.get("billing_address")),
        "lineItems": lambda _info, first=None, after=None: connection(
            lines, _by_id, first=first, after=after, field_name="lineItems", node=lambda li: _line_item(li, rest)),
        "shippingLines": lambda _info, first=None, after=None: connection(
            shipping, _by_id, first=first, after=after, field_name="shippingLines",
            node=lambda sl: _shipping_line(sl, rest)),
        "refunds": lambda _info, first=None: _refunds(rest, first),
        "transactions": lambda info, first=None: _transactions(info, rest, first),
        "suggestedRefund": lambda info, **args: _suggested_refund(info, rest, **args),
        "channelInformation": sales_channels.channel_information(sales_channel or sales_channels.key_of(rest)),
        # Where a POS order was sold (the REST body's location_id; Admin API 2024-07 and later).
        "retailLocation": lambda info: _retail_location(info, rest),
    }


def _retail_location(info: GraphQLResolveInfo, rest: dict[str, Any]) -> dict[str, Any] | None:
    from orderhub.simulators.shopify.inventory_nodes import location

    ctx: RequestContext = info.context
    return None if rest.get("location_id") is None else location(ctx.shop, int(rest["location_id"]))


def _refunds(rest: dict[str, Any], first: int | None) -> list[dict[str, Any]]:
    from orderhub.simulators.shopify.refund_nodes import refund_nodes  # it shows refunded lines with _line_item

    return refund_nodes(rest, first)


def _transactions(info: GraphQLResolveInfo, rest: dict[str, Any], first: int | None) -> list[dict[str, Any]]:
    from orderhub.simulators.shopify import payments

    ctx: RequestContext = info.context
    with ctx.store.lock:
        return payments.nodes(ctx.shop, rest, first)


def _suggested_refund(info: GraphQLResolveInfo, rest: dict[str, Any], **args: Any) -> dict[str, Any]:
    from orderhub.simulators.shopify.refund_create import suggested_refund  # it builds on this module

    return suggested_refund(info, rest, **args)


def subscription_node(sub: Subscription) -> dict[str, Any]:
    return {"__typename": "WebhookSubscription",
            "id": sub.gid, "legacyResourceId": sub.id, "topic": TOPIC_ENUMS[sub.topic], "format": sub.format,
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.callback_url},
            "callbackUrl": sub.callback_url, "uri": sub.callback_url, "createdAt": sub.created_at,
            "updatedAt": sub.created_at}


# -- root fields ------------------------------------------------------------------------------------

def _orders(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None, query: str | None = None,
            sortKey: str = "ID", reverse: bool = False) -> dict[str, Any]:
    ctx: RequestContext = info.context
    matches, warnings = parse_search(query, ctx.shop.tz)
    if warnings:
        ctx.search.append({"path": ["orders"], "query": query, "warnings": warnings})
    with ctx.store.lock:
        found = [copy.deepcopy(o) for o in ctx.shop.orders.values() if matches(o)]
    value = ORDER_SORT[sortKey]
    sold = dict(ctx.shop.sales_channels)
    return connection(found, lambda o: (value(o), o["id"]), first=first, after=after, field_name="orders",
                      reverse=reverse, node=lambda o: order_node(o, sold.get(o["id"])))


def _order(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    with ctx.store.lock:
        rest = ctx.shop.orders.get(parse_gid(id, "Order"))
        return None if rest is None else order_node(copy.deepcopy(rest), ctx.shop.sales_channels.get(rest["id"]))


def _products(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
              reverse: bool = False, query: str | None = None, sortKey: str = "ID") -> dict[str, Any]:
    ctx: RequestContext = info.context
    matches, warnings = parse_catalogue(query, ctx.shop.tz)
    if warnings:
        ctx.search.append({"path": ["products"], "query": query, "warnings": warnings})
    available = available_units(ctx.store, ctx.shop)
    value = PRODUCT_SORT[sortKey]
    with ctx.store.lock:
        found = [p for p in ctx.shop.products.values() if matches(p)]
        return connection(found, lambda p: (value(p), p["id"]), first=first, after=after, field_name="products",
                          reverse=reverse, node=lambda p: shop_product_node(ctx.store, ctx.shop, p, available))


def _product(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    with ctx.store.lock:
        rest = ctx.shop.products.get(parse_gid(id, "Product"))
        return None if rest is None else shop_product_node(ctx.store, ctx.shop, rest)


def _node(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    """Any object by its global id; null for a well-formed id of something the shop does not have."""
    ctx: RequestContext = info.context
    kind = id.split("/")[3] if id.startswith("gid://shopify/") and id.count("/") == 4 else ""
    if kind == "Order":
        order = _order(info, id)
        return None if order is None else {**order, "__typename": "Order"}
    if kind == "Product":
        return _product(info, id)
    if kind == "WebhookSubscription":
        return _webhook_subscription(info, id)
    if kind == "BulkOperation":
        number = parse_gid(id, kind)
        return None if ctx.bulk is None else ctx.bulk.get(ctx.shop, number)
    if kind in ("Location", "InventoryItem"):
        from orderhub.simulators.shopify.inventory_nodes import inventory_item, location  # they import this module

        number = parse_gid(id, kind)
        return location(ctx.shop, number) if kind == "Location" else inventory_item(ctx.store, ctx.shop, number)
    if kind == "Customer":
        from orderhub.simulators.shopify.customer_roots import customer  # it imports this module

        return customer(ctx, parse_gid(id, kind))
    if kind == "Collection":
        from orderhub.simulators.shopify.collection_roots import collection

        return collection(ctx.store, ctx.shop, parse_gid(id, kind))
    parse_gid(id, kind or "Node")  # a malformed id is an error; one of a kind not simulated is not found
    return None


def _webhook_subscriptions(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
                           topics: list[str] | None = None, callbackUrl: str | None = None,
                           uri: str | None = None) -> dict[str, Any]:
    ctx: RequestContext = info.context
    wanted = None if topics is None else {TOPICS[t] for t in topics}
    address = uri if uri is not None else callbackUrl
    with ctx.store.lock:
        subs = [copy.copy(s) for s in ctx.shop.subscriptions.values()
                if (wanted is None or s.topic in wanted) and (address is None or s.callback_url == address)]
    return connection(subs, lambda s: (s.id, s.id), first=first, after=after, field_name="webhookSubscriptions",
                      node=subscription_node)


def _webhook_subscription(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    with ctx.store.lock:
        sub = ctx.shop.subscriptions.get(parse_gid(id, "WebhookSubscription"))
        return None if sub is None else subscription_node(sub)


def _user_error(field_path: list[str], message: str) -> dict[str, Any]:
    return {"field": field_path, "message": message}


def _subscription_create(info: GraphQLResolveInfo, topic: str, webhookSubscription: dict[str, Any]
                         ) -> dict[str, Any]:
    ctx: RequestContext = info.context
    field = "uri" if webhookSubscription.get("uri") is not None else "callbackUrl"  # uri from 2025-10
    url = webhookSubscription.get(field) or ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return {"webhookSubscription": None,
                "userErrors": [_user_error(["webhookSubscription", field], "Address is invalid")]}
    if (webhookSubscription.get("format") or "JSON") != "JSON":
        return {"webhookSubscription": None, "userErrors": [_user_error(
            ["webhookSubscription", "format"], "The simulator delivers JSON webhooks only")]}
    try:
        sub = ctx.store.add_subscription(ctx.shop, TOPICS[topic], url, ctx.api_version)
    except DuplicateSubscription as exc:
        return {"webhookSubscription": None,
                "userErrors": [_user_error(["webhookSubscription", field], str(exc))]}
    return {"webhookSubscription": subscription_node(sub), "userErrors": []}


def _subscription_delete(info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    ctx: RequestContext = info.context
    if ctx.store.remove_subscription(ctx.shop, parse_gid(id, "WebhookSubscription")):
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}
    return {"deletedWebhookSubscriptionId": None,
            "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}


ROOT: dict[str, Any] = {
    "orders": _orders, "order": _order, "products": _products, "product": _product, "node": _node,
    "webhookSubscriptions": _webhook_subscriptions, "webhookSubscription": _webhook_subscription,
    "webhookSubscriptionCreate": _subscription_create, "webhookSubscriptionDelete": _subscription_delete,
}
