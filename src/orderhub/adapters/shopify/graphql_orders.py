"""The orders query used by the batch backup, and its result in webhook (REST) shape.

Polled orders are stored in the inbox in the same shape a webhook delivers, so
the processor has one translator and the same order version deduplicates.
"""

from __future__ import annotations

import functools
from typing import Any

from orderhub.adapters.fields import numeric_id
from orderhub.adapters.shopify import api_versions

# Lines beyond this page are fetched with MORE_LINES_QUERY; a small page keeps the query cost low.
LINES_PER_ORDER = 10
SHIPPING_LINES_PER_ORDER = 5

_MONEY = "shopMoney { amount currencyCode }"
_ADDRESS = ("name firstName lastName company address1 address2 city province provinceCode zip country "
            "countryCodeV2 phone latitude longitude")

# A line's or shipping line's discounts: what fell on it, and which of the order's applications it came from.
_ALLOCATIONS = ("discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } } "
                "discountApplication { index } }")

_LINE_FIELDS = f"""
          id sku title variantTitle quantity currentQuantity requiresShipping
          originalUnitPriceSet {{ shopMoney {{ amount currencyCode }} }}
          {_ALLOCATIONS}
          taxLines {{ priceSet {{ shopMoney {{ amount currencyCode }} }} rate title }}
          variant {{ id }} product {{ id }}
"""

_SHIPPING_LINE_FIELDS = (f"id title code isRemoved originalPriceSet {{ {_MONEY} }} "
                         f"discountedPriceSet {{ {_MONEY} }} {_ALLOCATIONS}")

# Where the order was sold: the sales channel's app and, when the app defines them, its channel and
# sub-channel (Admin API ChannelInformation, ChannelDefinition and App objects).
_CHANNEL_INFORMATION = "channelDefinition { handle channelName subChannelName } app { title }"

# Orders carry few discount applications; an order with more has the rest fetched with MORE_DISCOUNTS_QUERY.
DISCOUNTS_PER_ORDER = 5

_DISCOUNT_APPLICATION_FIELDS = """
    __typename index allocationMethod targetSelection targetType
    value { __typename ... on MoneyV2 { amount currencyCode } ... on PricingPercentageValue { percentage } }
    ... on DiscountCodeApplication { code }
    ... on AutomaticDiscountApplication { title }
    ... on ManualDiscountApplication { title description }
    ... on ScriptDiscountApplication { title }
"""

_DISCOUNT_APPLICATIONS = f"""
discountApplications(first: {DISCOUNTS_PER_ORDER}) {{
  pageInfo {{ hasNextPage endCursor }}
  nodes {{ {_DISCOUNT_APPLICATION_FIELDS} }}
}}
"""

@functools.cache
def order_fields(version: str) -> str:
    """An order's own fields on Admin API ``version`` (its lines, shipping lines and discount applications
    are asked for apart: paged here, flat in bulk)."""
    return f"""
id name email createdAt updatedAt processedAt cancelledAt cancelReason closedAt currencyCode
displayFinancialStatus displayFulfillmentStatus tags note sourceName
channelInformation {{ {_CHANNEL_INFORMATION} }} retailLocation {{ id name }}
taxesIncluded dutiesIncluded presentmentCurrencyCode
subtotalPriceSet {{ {_MONEY} }} totalPriceSet {{ {_MONEY} presentmentMoney {{ amount currencyCode }} }}
totalTaxSet {{ {_MONEY} }} totalDiscountsSet {{ {_MONEY} }} totalShippingPriceSet {{ {_MONEY} }}
totalTipReceivedSet {{ {_MONEY} }} originalTotalDutiesSet {{ {_MONEY} }}
originalTotalAdditionalFeesSet {{ {_MONEY} }}
customer {{ {api_versions.customer_selection(version)} }}
shippingAddress {{ {_ADDRESS} }}
billingAddress {{ {_ADDRESS} }}
"""


@functools.cache
def order_selection(version: str) -> str:
    """Everything the poll asks of one order on ``version``: the order and the first page of its parts."""
    return f"""
      {order_fields(version)}
      {_DISCOUNT_APPLICATIONS}
      lineItems(first: {LINES_PER_ORDER}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {_LINE_FIELDS} }}
      }}
      shippingLines(first: {SHIPPING_LINES_PER_ORDER}) {{
        nodes {{ {_SHIPPING_LINE_FIELDS} }}
      }}
"""


@functools.cache
def orders_query(version: str) -> str:
    """The batch poll's query on Admin API ``version``: orders updated since, oldest first."""
    return f"""
query OrdersUpdatedSince($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {order_selection(version)} }}
  }}
}}
"""


def _rest_of(name: str, connection: str, fields: str) -> str:
    """The query for an order's ``connection`` from ``$after`` on: for the rare order with more lines or
    discount applications than one page of the orders query carries."""
    return f"""
query {name}($id: ID!, $after: String) {{
  order(id: $id) {{
    {connection}(first: 100, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {fields} }}
    }}
  }}
}}
"""


MORE_LINES_QUERY = _rest_of("OrderLines", "lineItems", _LINE_FIELDS)
MORE_DISCOUNTS_QUERY = _rest_of("OrderDiscounts", "discountApplications", _DISCOUNT_APPLICATION_FIELDS)


def _amount(money_set: Any) -> str | None:
    if not money_set:
        return None
    return (money_set.get("shopMoney") or {}).get("amount")


def _money(money: Any) -> dict[str, Any] | None:
    return None if not money else {"amount": money.get("amount"), "currency_code": money.get("currencyCode")}


def _shop_set(money_set: Any) -> dict[str, Any] | None:
    return None if not money_set else {"shop_money": _money(money_set.get("shopMoney"))}


def _gid(value: Any) -> str | None:
    return None if value is None else numeric_id(value, "id")


def _ref_id(obj: Any) -> str | None:
    return None if not obj else _gid(obj.get("id"))


_FINANCIAL = {"PENDING": "pending", "AUTHORIZED": "authorized", "PARTIALLY_PAID": "partially_paid",
              "PAID": "paid", "PARTIALLY_REFUNDED": "partially_refunded", "REFUNDED": "refunded",
              "VOIDED": "voided", "EXPIRED": "expired"}
_FULFILLMENT = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled",
                "RESTOCKED": "restocked", "ON_HOLD": None, "SCHEDULED": None, "IN_PROGRESS": None,
                "PENDING_FULFILLMENT": None, "OPEN": None}


def _allocations(line: Any) -> list[dict[str, Any]]:
    return [{"amount": _amount(a.get("allocatedAmountSet")),
             "discount_application_index": (a.get("discountApplication") or {}).get("index")}
            for a in line.get("discountAllocations") or []]


_APPLICATION_TYPES = {"DiscountCodeApplication": "discount_code", "AutomaticDiscountApplication": "automatic",
                      "ManualDiscountApplication": "manual", "ScriptDiscountApplication": "script"}


def _application(a: Any) -> dict[str, Any]:
    """A DiscountApplication node as the REST body's discount_applications entry."""
    value = a.get("value") or {}
    percentage = value.get("percentage")
    return {"type": _APPLICATION_TYPES.get(a.get("__typename") or "", (a.get("__typename") or "").lower() or None),
            "code": a.get("code"), "title": a.get("title"), "description": a.get("description"),
            "value": str(percentage) if percentage is not None else value.get("amount"),
            "value_type": "percentage" if percentage is not None else "fixed_amount",
            "allocation_method": (a.get("allocationMethod") or "").lower() or None,
            "target_selection": (a.get("targetSelection") or "").lower() or None,
            "target_type": (a.get("targetType") or "").lower() or None}


def _index_ordered(applications: list[Any]) -> list[Any]:
    """Allocations point at an application by its index: the REST list is in index order."""
    return sorted(applications, key=lambda a: a.get("index") if isinstance(a.get("index"), int) else 0)


def _address(a: Any) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"name": a.get("name"), "first_name": a.get("firstName"), "last_name": a.get("lastName"),
            "company": a.get("company"), "address1": a.get("address1"), "address2": a.get("address2"),
            "city": a.get("city"), "province": a.get("province"), "province_code": a.get("provinceCode"),
            "zip": a.get("zip"), "country": a.get("country"), "country_code": a.get("countryCodeV2"),
            "phone": a.get("phone"), "latitude": a.get("latitude"), "longitude": a.get("longitude")}


def _nodes(connection: Any) -> list[Any]:
    if not connection:
        return []
    if "nodes" in connection:
        return list(connection["nodes"] or [])
    return [e["node"] for e in connection.get("edges") or []]


def _channel_information(info: Any) -> dict[str, Any] | None:
    """Order.channelInformation, kept beside the REST fields (REST has no such field; the translator
    reads it under this key)."""
    if not info:
        return None
    definition, app = info.get("channelDefinition") or {}, info.get("app") or {}
    return {"app_title": app.get("title"), "handle": definition.get("handle"),
            "channel_name": definition.get("channelName"), "sub_channel_name": definition.get("subChannelName")}


def to_rest(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL Order node as the REST/webhook order payload (and its channel information)."""
    customer = node.get("customer")
    contact = api_versions.customer_contact(customer)  # defaultEmailAddress where the version has it
    name = node.get("name") or ""
    return {
        "id": int(numeric_id(node["id"], "id")),
        "name": name,
        "order_number": name.lstrip("#") or None,
        "email": node.get("email"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": (node.get("cancelReason") or "").lower() or None,
        "closed_at": node.get("closedAt"),
        "currency": node.get("currencyCode"),
        "financial_status": _FINANCIAL.get(node.get("displayFinancialStatus") or "", None),
        "fulfillment_status": _FULFILLMENT.get(node.get("displayFulfillmentStatus") or "", None),
        "tags": ", ".join(node.get("tags") or []),
        "note": node.get("note"),
        "source_name": node.get("sourceName"),
        "channel_information": _channel_information(node.get("channelInformation")),
        # REST's location_id: where a POS order was sold (its name beside it, which REST does not give)
        "location_id": (numeric_id(node["retailLocation"]["id"], "retailLocation.id")
                        if isinstance(node.get("retailLocation"), dict) and node["retailLocation"].get("id") else None),
        "location_name": (node.get("retailLocation") or {}).get("name"),
        "subtotal_price": _amount(node.get("subtotalPriceSet")),
        "total_price": _amount(node.get("totalPriceSet")),
        "total_tax": _amount(node.get("totalTaxSet")),
        "total_discounts": _amount(node.get("totalDiscountsSet")),
        "total_shipping_price_set": {"shop_money": {"amount": _amount(node.get("totalShippingPriceSet")) or "0"}},
        "taxes_included": bool(node.get("taxesIncluded")),
        "duties_included": bool(node.get("dutiesIncluded")),
        "total_tip_received": _amount(node.get("totalTipReceivedSet")),
        "original_total_duties_set": _shop_set(node.get("originalTotalDutiesSet")),
        "original_total_additional_fees_set": _shop_set(node.get("originalTotalAdditionalFeesSet")),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "total_price_set": node.get("totalPriceSet") and {
            "shop_money": _money(node["totalPriceSet"].get("shopMoney")),
            "presentment_money": _money(node["totalPriceSet"].get("presentmentMoney"))},
        "discount_applications": [_application(a) for a in _index_ordered(_nodes(node.get("discountApplications")))],
        "customer": None if not customer else {
            "id": int(numeric_id(customer["id"], "customer.id")), "email": contact[0],
            "first_name": customer.get("firstName"), "last_name": customer.get("lastName"), "phone": contact[1]},
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "line_items": [{
            "id": int(numeric_id(li["id"], "line_items.id")),
            "sku": li.get("sku"), "title": li.get("title"), "variant_title": li.get("variantTitle"),
            "quantity": li.get("quantity"), "current_quantity": li.get("currentQuantity"),
            "requires_shipping": li.get("requiresShipping", True),
            "price": _amount(li.get("originalUnitPriceSet")),
            "discount_allocations": _allocations(li),
            "tax_lines": [{"price": _amount(t.get("priceSet")), "rate": t.get("rate"), "title": t.get("title")}
                          for t in li.get("taxLines") or []],
            "variant_id": _ref_id(li.get("variant")), "product_id": _ref_id(li.get("product")),
        } for li in _nodes(node.get("lineItems"))],
        "shipping_lines": [{
            "id": int(numeric_id(s["id"], "shipping_lines.id")), "title": s.get("title"), "code": s.get("code"),
            "price": _amount(s.get("originalPriceSet")), "discounted_price": _amount(s.get("discountedPriceSet")),
            "is_removed": bool(s.get("isRemoved")), "discount_allocations": _allocations(s),
        } for s in _nodes(node.get("shippingLines"))],
    }
