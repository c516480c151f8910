"""The orders query used by the batch backup, and its result in webhook (REST) shape.

Polled orders are stored in the inbox in the same shape a webhook delivers, so
the processor has one translator and the same order version deduplicates.
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters.shopify.fields import shopify_id

# Lines beyond this page are fetched with MORE_LINES_QUERY; a small page keeps the query cost low.
LINES_PER_ORDER = 10
SHIPPING_LINES_PER_ORDER = 5

_MONEY = "shopMoney { amount currencyCode }"
_ADDRESS = ("name firstName lastName company address1 address2 city province provinceCode zip country "
            "countryCodeV2 phone latitude longitude")

_LINE_FIELDS = """
          id sku title variantTitle quantity currentQuantity requiresShipping
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          totalDiscountSet { shopMoney { amount currencyCode } }
          taxLines { priceSet { shopMoney { amount currencyCode } } rate title }
          variant { id } product { id }
"""

# An order's own fields (its lines and shipping lines are asked for apart: paged here, flat in bulk).
ORDER_FIELDS = f"""
id name email createdAt updatedAt processedAt cancelledAt cancelReason closedAt currencyCode
displayFinancialStatus displayFulfillmentStatus tags note sourceName
subtotalPriceSet {{ {_MONEY} }} totalPriceSet {{ {_MONEY} }} totalTaxSet {{ {_MONEY} }}
totalDiscountsSet {{ {_MONEY} }} totalShippingPriceSet {{ {_MONEY} }}
customer {{ id email firstName lastName phone }}
shippingAddress {{ {_ADDRESS} }}
billingAddress {{ {_ADDRESS} }}
"""

ORDERS_QUERY = f"""
query OrdersUpdatedSince($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {ORDER_FIELDS}
      lineItems(first: {LINES_PER_ORDER}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {_LINE_FIELDS} }}
      }}
      shippingLines(first: {SHIPPING_LINES_PER_ORDER}) {{
        nodes {{ id title code originalPriceSet {{ {_MONEY} }} discountedPriceSet {{ {_MONEY} }} }}
      }}
    }}
  }}
}}
"""

# For the rare order with more lines than one page of the orders query carries.
MORE_LINES_QUERY = """
query OrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { %s }
    }
  }
}
""" % _LINE_FIELDS


def _amount(money_set: Any) -> str | None:
    if not money_set:
        return None
    return (money_set.get("shopMoney") or {}).get("amount")


def _gid(value: Any) -> str | None:
    return None if value is None else shopify_id(value, "id")


def _ref_id(obj: Any) -> str | None:
    return None if not obj else _gid(obj.get("id"))


_FINANCIAL = {"PENDING": "pending", "AUTHORIZED": "authorized", "PARTIALLY_PAID": "partially_paid",
              "PAID": "paid", "PARTIALLY_REFUNDED": "partially_refunded", "REFUNDED": "refunded",
              "VOIDED": "voided", "EXPIRED": "expired"}
_FULFILLMENT = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled",
                "RESTOCKED": "restocked", "ON_HOLD": None, "SCHEDULED": None, "IN_PROGRESS": None,
                "PENDING_FULFILLMENT": None, "OPEN": None}


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


def to_rest(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL Order node as the REST/webhook order payload."""
    customer = node.get("customer")
    name = node.get("name") or ""
    return {
        "id": int(shopify_id(node["id"], "id")),
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
        "subtotal_price": _amount(node.get("subtotalPriceSet")),
        "total_price": _amount(node.get("totalPriceSet")),
        "total_tax": _amount(node.get("totalTaxSet")),
        "total_discounts": _amount(node.get("totalDiscountsSet")),
        "total_shipping_price_set": {"shop_money": {"amount": _amount(node.get("totalShippingPriceSet")) or "0"}},
        "customer": None if not customer else {
            "id": int(shopify_id(customer["id"], "customer.id")), "email": customer.get("email"),
            "first_name": customer.get("firstName"), "last_name": customer.get("lastName"),
            "phone": customer.get("phone")},
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "line_items": [{
            "id": int(shopify_id(li["id"], "line_items.id")),
            "sku": li.get("sku"), "title": li.get("title"), "variant_title": li.get("variantTitle"),
            "quantity": li.get("quantity"), "current_quantity": li.get("currentQuantity"),
            "requires_shipping": li.get("requiresShipping", True),
            "price": _amount(li.get("originalUnitPriceSet")),
            "total_discount": _amount(li.get("totalDiscountSet")) or "0",
            "tax_lines": [{"price": _amount(t.get("priceSet")), "rate": t.get("rate"), "title": t.get("title")}
                          for t in li.get("taxLines") or []],
            "variant_id": _ref_id(li.get("variant")), "product_id": _ref_id(li.get("product")),
        } for li in _nodes(node.get("lineItems"))],
        "shipping_lines": [{
            "id": int(shopify_id(s["id"], "shipping_lines.id")), "title": s.get("title"), "code": s.get("code"),
            "price": _amount(s.get("originalPriceSet")), "discounted_price": _amount(s.get("discountedPriceSet")),
        } for s in _nodes(node.get("shippingLines"))],
    }
