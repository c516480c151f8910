"""The TikTok Shop Partner API calls orderhub makes (202309 paths and operation ids), over :class:`TikTokClient`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from orderhub.adapters.tiktok.client import TikTokClient

PAGE_SIZE = 50
MAX_DETAIL_IDS = 50  # Get Order Detail takes at most 50 ids


def search_orders(client: TikTokClient, *, updated_since: datetime | None,
                  page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """Orders updated at or after ``updated_since`` (every order when None), oldest update first, a page at
    a time (``POST /order/202309/orders/search``)."""
    body: dict[str, Any] = {}
    if updated_since is not None:
        body["update_time_ge"] = max(0, int(updated_since.timestamp()))
    token = ""
    while True:
        query = {"page_size": str(page_size), "sort_field": "update_time", "sort_order": "ASC"}
        if token:
            query["page_token"] = token
        data = client.call("getOrderList", "POST", "/order/202309/orders/search", query=query, body=body) or {}
        yield list(data.get("orders") or [])
        token = str(data.get("next_page_token") or "")
        if not token:
            return


def order_details(client: TikTokClient, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The orders with these ids as ``GET /order/202309/orders`` has them (unknown ids are left out)."""
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), MAX_DETAIL_IDS):
        chunk = unique[start:start + MAX_DETAIL_IDS]
        data = client.call("getOrderDetail", "GET", "/order/202309/orders", query={"ids": ",".join(chunk)}) or {}
        found += list(data.get("orders") or [])
    return found


def warehouses(client: TikTokClient) -> list[dict[str, Any]]:
    data = client.call("getWarehouseList", "GET", "/logistics/202309/warehouses") or {}
    return list(data.get("warehouses") or [])


def shipping_providers(client: TikTokClient, warehouse_id: str) -> list[dict[str, Any]]:
    """Every shipping provider of the warehouse's delivery options (the ids a seller ships with)."""
    data = client.call("getWarehouseDeliveryOptions", "GET",
                       f"/logistics/202309/warehouses/{warehouse_id}/delivery_options") or {}
    providers: dict[str, dict[str, Any]] = {}
    for option in data.get("delivery_options") or []:
        found = client.call("getShippingProviders", "GET",
                            f"/logistics/202309/delivery_options/{option['id']}/shipping_providers") or {}
        for p in found.get("shipping_providers") or []:
            providers.setdefault(str(p.get("id")), p)
    return list(providers.values())


PRODUCTS_PAGE = 100
MAX_INVENTORY_IDS = 100


def search_products(client: TikTokClient, *, status: str = "ACTIVATE",
                    page_size: int = PRODUCTS_PAGE) -> Iterator[list[dict[str, Any]]]:
    """The shop's products in ``status`` with their SKUs, a page at a time (``POST
    /product/202502/products/search``)."""
    token = ""
    while True:
        query = {"page_size": str(page_size), **({"page_token": token} if token else {})}
        data = client.call("searchProducts", "POST", "/product/202502/products/search", query=query,
                           body={"status": status}) or {}
        yield list(data.get("products") or [])
        token = str(data.get("next_page_token") or "")
        if not token:
            return


def inventory(client: TikTokClient, sku_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The per-warehouse stock of these SKUs (``POST /product/202309/inventory/search``), by product."""
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(sku_ids))
    for start in range(0, len(unique), MAX_INVENTORY_IDS):
        data = client.call("inventorySearch", "POST", "/product/202309/inventory/search",
                           body={"sku_ids": unique[start:start + MAX_INVENTORY_IDS]}) or {}
        found += list(data.get("inventory") or [])
    return found


def update_inventory(client: TikTokClient, product_id: str, skus: Sequence[tuple[str, str, int]]) -> None:
    """Set the quantities of SKUs of one product: (sku id, warehouse id, quantity)."""
    by_sku: dict[str, list[dict[str, Any]]] = {}
    for sku_id, warehouse_id, quantity in skus:
        by_sku.setdefault(sku_id, []).append({"warehouse_id": warehouse_id, "quantity": quantity})
    client.call("updateInventory", "POST", f"/product/202309/products/{product_id}/inventory/update",
                body={"skus": [{"id": s, "inventory": levels} for s, levels in by_sku.items()]})


def ship_package(client: TikTokClient, package_id: str, *, tracking: str | None, provider_id: str | None,
                 attempts: int | None = None) -> None:
    body: dict[str, Any] = {"handover_method": "PICKUP"}
    if tracking and provider_id:
        body["self_shipment"] = {"tracking_number": tracking, "shipping_provider_id": provider_id}
    client.call("shipPackage", "POST", f"/fulfillment/202309/packages/{package_id}/ship", body=body,
                attempts=attempts)


def cancel_order(client: TikTokClient, order_id: str, reason: str, line_item_ids: Sequence[str], *,
                 attempts: int | None = None) -> dict[str, Any]:
    return client.call("cancelOrder", "POST", "/return_refund/202309/cancellations",
                       body={"order_id": order_id, "cancel_reason": reason,
                             "order_line_item_ids": list(line_item_ids)}, attempts=attempts) or {}


def cancellation(client: TikTokClient, order_id: str, cancel_id: str) -> dict[str, Any] | None:
    data = client.call("searchCancellations", "POST", "/return_refund/202309/cancellations/search",
                       query={"page_size": "50"}, body={"order_ids": [order_id], "cancel_ids": [cancel_id]}) or {}
    return next(iter(data.get("cancellations") or []), None)


def search_cancellations(client: TikTokClient, *, statuses: Sequence[str] = (), order_ids: Sequence[str] = (),
                         cancel_ids: Sequence[str] = (), page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """Cancellations with these statuses (and orders or ids, when given), oldest first, a page at a time
    (``POST /return_refund/202309/cancellations/search``; the filters are Search Cancellations' request body)."""
    body: dict[str, Any] = {}
    for key, values in (("cancel_status", statuses), ("order_ids", order_ids), ("cancel_ids", cancel_ids)):
        if values:
            body[key] = list(values)
    token = ""
    while True:
        query = {"page_size": str(page_size), "sort_field": "create_time", "sort_order": "ASC"}
        if token:
            query["page_token"] = token
        data = client.call("searchCancellations", "POST", "/return_refund/202309/cancellations/search", query=query,
                           body=body) or {}
        yield list(data.get("cancellations") or [])
        token = str(data.get("next_page_token") or "")
        if not token:
            return


def approve_cancellation(client: TikTokClient, cancel_id: str, *, attempts: int | None = None) -> None:
    client.call("approveCancellation", "POST", f"/return_refund/202309/cancellations/{cancel_id}/approve", body={},
                attempts=attempts)


def reject_cancellation(client: TikTokClient, cancel_id: str, reason: str, comment: str | None, *,
                        attempts: int | None = None) -> None:
    body: dict[str, Any] = {"reject_reason": reason}
    if comment:
        body["comment"] = comment
    client.call("rejectCancellation", "POST", f"/return_refund/202309/cancellations/{cancel_id}/reject", body=body,
                attempts=attempts)


def create_return(client: TikTokClient, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Create Return (``POST /return_refund/202309/returns``): a seller-initiated refund or return. The key makes
    a repeat answer the first request's answer, so the call is safe to send again."""
    return client.call("createReturn", "POST", "/return_refund/202309/returns",
                       query={"idempotency_key": idempotency_key}, body=body) or {}


def order_returns(client: TikTokClient, order_id: str) -> list[dict[str, Any]]:
    """Every return of one order (``POST /return_refund/202309/returns/search``)."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        query = {"page_size": str(PAGE_SIZE), **({"page_token": token} if token else {})}
        data = client.call("searchReturns", "POST", "/return_refund/202309/returns/search", query=query,
                           body={"order_ids": [order_id]}) or {}
        found += list(data.get("return_orders") or [])
        token = str(data.get("next_page_token") or "")
        if not token:
            return found
