"""Money bags and discounts of an order as GraphQL objects, from the order's REST body.

Shopify's Order lists ``discountApplications`` (an interface: code, automatic, manual or
script application); lines and shipping lines list ``discountAllocations``, each with the
amount that fell on it and the application it came from.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.shopify.pagination import connection


def money(rest: dict[str, Any]) -> dict[str, Any]:
    return {"amount": rest["amount"], "currencyCode": rest["currency_code"]}


def bag(rest_set: Any) -> dict[str, Any] | None:
    if not isinstance(rest_set, dict):
        return None
    return {"shopMoney": money(rest_set["shop_money"]), "presentmentMoney": money(rest_set["presentment_money"])}


_TYPENAMES = {"discount_code": "DiscountCodeApplication", "automatic": "AutomaticDiscountApplication",
              "manual": "ManualDiscountApplication", "script": "ScriptDiscountApplication"}


def application_node(index: int, rest: dict[str, Any], currency: str) -> dict[str, Any]:
    percentage = rest["value_type"] == "percentage"
    value = ({"__typename": "PricingPercentageValue", "percentage": float(rest["value"])} if percentage
             else {"__typename": "MoneyV2", "amount": rest["value"], "currencyCode": currency})
    return {"__typename": _TYPENAMES[rest["type"]], "index": index,
            "allocationMethod": rest["allocation_method"].upper(),
            "targetSelection": rest["target_selection"].upper(), "targetType": rest["target_type"].upper(),
            "value": value, "code": rest.get("code"), "title": rest.get("title"),
            "description": rest.get("description")}


def applications(order: dict[str, Any]) -> list[dict[str, Any]]:
    currency = order["presentment_currency"]  # a fixed amount is in the currency the customer saw
    return [application_node(i, a, currency) for i, a in enumerate(order.get("discount_applications") or [])]


def applications_connection(order: dict[str, Any], first: int | None, after: str | None) -> dict[str, Any]:
    nodes = applications(order)
    return connection(nodes, lambda n: (n["index"], n["index"]), first=first, after=after,
                      field_name="discountApplications")


def allocations(line: dict[str, Any], order: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = applications(order)
    return [{"allocatedAmountSet": bag(a["amount_set"]), "discountApplication": nodes[a["discount_application_index"]]}
            for a in line.get("discount_allocations") or []]
