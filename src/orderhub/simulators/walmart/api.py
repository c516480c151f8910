"""Walmart Marketplace API routes (``/v3/...``), each run through :mod:`.pipeline`.

Paths and operation names are those of Walmart's published OpenAPI documents (Auth,
Orders, Inventory, Feeds): ``tokenAPI``, ``getAllReleasedOrders``, ``getAllOrders``,
``getAnOrder``, ``acknowledgeOrders``, ``shippingUpdates``, ``cancelOrderLines``,
``refundOrderLines``, ``getAllItems``, ``getInventory``, ``updateInventoryForAnItem``, ``updateBulkInventory``
(``updateBulkInventoryMultiNode`` for ``feedType=MP_INVENTORY``), ``getAllFeedStatuses`` and
``getFeedItemStatus``. Answers are JSON (the Token API answers XML unless asked for JSON,
as its reference shows both).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.walmart import order_queries, order_requests
from orderhub.simulators.walmart.auth import Account, token_xml
from orderhub.simulators.walmart.defaults import FEED_DETAILS_MAX_LIMIT
from orderhub.simulators.walmart.errors import (
    FEEDS,
    INVENTORY,
    ITEMS,
    ORDERS,
    bad_content,
    bad_param,
    json_response,
    not_found,
)
from orderhub.simulators.walmart.feeds import check_feed_size
from orderhub.simulators.walmart.inventory import DEFAULT_NODE, parse_quantity
from orderhub.simulators.walmart.item_pages import page_of_items
from orderhub.simulators.walmart.pipeline import endpoint, json_body
from orderhub.simulators.walmart.simulator import Simulator


def _seller(account: Account | None) -> Account:
    assert account is not None  # the pipeline authenticated every non-token call
    return account


def _whole(value: str | None, key: str, default: int, service: str, maximum: int | None = None) -> int:
    if value is None:
        return default
    if not value.isdigit() or (maximum is not None and int(value) > maximum):
        limit = f" up to {maximum}" if maximum is not None else ""
        raise bad_param(service, key, f"{key} must be a whole number{limit}; got {value!r}.")
    return int(value)


class WalmartApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        sim = self.sim
        return [
            Route("/v3/token", endpoint(sim, "tokenAPI", self.token, token_call=True), methods=["POST"]),
            Route("/v3/orders/released", endpoint(sim, "getAllReleasedOrders", self.released), methods=["GET"]),
            Route("/v3/orders", endpoint(sim, "getAllOrders", self.all_orders), methods=["GET"]),
            Route("/v3/orders/{purchaseOrderId}", endpoint(sim, "getAnOrder", self.one_order), methods=["GET"]),
            Route("/v3/orders/{purchaseOrderId}/acknowledge", endpoint(sim, "acknowledgeOrders", self.acknowledge),
                  methods=["POST"]),
            Route("/v3/orders/{purchaseOrderId}/shipping", endpoint(sim, "shippingUpdates", self.ship),
                  methods=["POST"]),
            Route("/v3/orders/{purchaseOrderId}/cancel", endpoint(sim, "cancelOrderLines", self.cancel),
                  methods=["POST"]),
            Route("/v3/orders/{purchaseOrderId}/refund", endpoint(sim, "refundOrderLines", self.refund),
                  methods=["POST"]),
            Route("/v3/items", endpoint(sim, "getAllItems", self.all_items), methods=["GET"]),
            Route("/v3/inventory", endpoint(sim, "getInventory", self.get_inventory), methods=["GET"]),
            Route("/v3/inventory", endpoint(sim, "updateInventoryForAnItem", self.put_inventory), methods=["PUT"]),
            Route("/v3/feeds", endpoint(sim, _feed_operation, self.submit_feed), methods=["POST"]),
            Route("/v3/feeds", endpoint(sim, "getAllFeedStatuses", self.feed_records), methods=["GET"]),
            Route("/v3/feeds/{feedId}", endpoint(sim, "getFeedItemStatus", self.feed_status), methods=["GET"]),
        ]

    # -- auth ---------------------------------------------------------------------------------------

    async def token(self, request: Request, _account: Account | None, raw: bytes) -> Response:
        form = await request.form()
        grant = form.get("grant_type")
        token = self.sim.accounts.issue(request.headers.get("authorization"), grant if isinstance(grant, str)
                                        else None)
        ttl = int(self.sim.accounts.token_ttl)
        if "application/json" in request.headers.get("accept", ""):
            return json_response({"access_token": token.value, "token_type": "Bearer", "expires_in": ttl})
        return Response(token_xml(token, ttl), media_type="application/xml")

    # -- orders -------------------------------------------------------------------------------------

    async def released(self, request: Request, account: Account | None, raw: bytes) -> Any:
        return self._list(request, _seller(account), released=True)

    async def all_orders(self, request: Request, account: Account | None, raw: bytes) -> Any:
        return self._list(request, _seller(account), released=False)

    def _list(self, request: Request, seller: Account, *, released: bool) -> Any:
        now = self.sim.clock.now_ms()
        query = order_queries.parse_query(dict(request.query_params), released=released, now_ms=now)
        return order_queries.run_query(self.sim.orders.snapshot(seller.client_id), query, now_ms=now,
                                       seller_id=seller.seller_id)

    async def one_order(self, request: Request, account: Account | None, raw: bytes) -> Any:
        order = self.sim.orders.get(_seller(account).client_id, request.path_params["purchaseOrderId"])
        return {"order": order.render()}

    async def acknowledge(self, request: Request, account: Account | None, raw: bytes) -> Any:
        return {"order": self.sim.orders.acknowledge(_seller(account).client_id,
                                                     request.path_params["purchaseOrderId"])}

    async def ship(self, request: Request, account: Account | None, raw: bytes) -> Any:
        lines = order_requests.parse_shipment(json_body(raw, ORDERS))
        return {"order": self.sim.orders.ship(_seller(account).client_id, request.path_params["purchaseOrderId"],
                                              lines)}

    async def cancel(self, request: Request, account: Account | None, raw: bytes) -> Any:
        lines = order_requests.parse_cancellation(json_body(raw, ORDERS))
        return {"order": self.sim.orders.cancel(_seller(account).client_id, request.path_params["purchaseOrderId"],
                                                lines)}

    async def refund(self, request: Request, account: Account | None, raw: bytes) -> Any:
        po = request.path_params["purchaseOrderId"]
        lines = order_requests.parse_refund(json_body(raw, ORDERS), po)
        return {"order": self.sim.orders.refund(_seller(account).client_id, po, lines)}

    # -- items and inventory ------------------------------------------------------------------------

    async def all_items(self, request: Request, account: Account | None, raw: bytes) -> Any:
        items = self.sim.inventory.items(_seller(account).client_id)
        sku = request.query_params.get("sku")
        if sku is not None:
            items = [i for i in items if i["sku"] == sku]
            if not items:
                raise not_found(ITEMS, "sku", f"No item with SKU {sku!r}.")
        return page_of_items(items, dict(request.query_params))

    async def get_inventory(self, request: Request, account: Account | None, raw: bytes) -> Any:
        sku = _sku(request)
        self.sim.feeds.settle()
        node = request.query_params.get("shipNode", DEFAULT_NODE)
        amount = self.sim.inventory.get(_seller(account).client_id, sku, node)
        return {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}

    async def put_inventory(self, request: Request, account: Account | None, raw: bytes) -> Any:
        sku = _sku(request)
        body = json_body(raw, INVENTORY)
        if not isinstance(body, dict):
            raise bad_content(INVENTORY, "body", 'The body must be {"sku": ..., "quantity": {"unit": "EACH", '
                                                 '"amount": N}}.')
        if body.get("sku") != sku:
            raise bad_content(INVENTORY, "sku", f"The body's sku {body.get('sku')!r} differs from the sku "
                                                f"parameter {sku!r}.")
        amount = parse_quantity(body.get("quantity"), "quantity")
        self.sim.feeds.settle()
        node = request.query_params.get("shipNode", DEFAULT_NODE)
        self.sim.inventory.set(_seller(account).client_id, sku, amount, node, via="api")
        return {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}

    # -- feeds --------------------------------------------------------------------------------------

    async def submit_feed(self, request: Request, account: Account | None, raw: bytes) -> Any:
        feed_type = request.query_params.get("feedType")
        content = raw
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_files=1, max_fields=10)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise bad_content(FEEDS, "file", "Send the feed file as the multipart part named 'file'.")
            content = await upload.read()
        check_feed_size(feed_type or "inventory", len(content))
        feed_id = self.sim.feeds.submit(_seller(account).client_id, feed_type,
                                        request.query_params.get("shipNode", DEFAULT_NODE), content)
        return {"feedId": feed_id}

    async def feed_status(self, request: Request, account: Account | None, raw: bytes) -> Any:
        q = request.query_params
        return self.sim.feeds.status(_seller(account).client_id, request.path_params["feedId"],
                                     q.get("includeDetails", "false").lower() == "true",
                                     _whole(q.get("offset"), "offset", 0, FEEDS),
                                     _whole(q.get("limit"), "limit", FEED_DETAILS_MAX_LIMIT, FEEDS,
                                            FEED_DETAILS_MAX_LIMIT))

    async def feed_records(self, request: Request, account: Account | None, raw: bytes) -> Any:
        q = request.query_params
        return self.sim.feeds.records(_seller(account).client_id, q.get("feedId"),
                                      _whole(q.get("offset"), "offset", 0, FEEDS),
                                      _whole(q.get("limit"), "limit", 50, FEEDS, 50))


def _sku(request: Request) -> str:
    sku = request.query_params.get("sku", "")
    if not sku.strip():
        raise bad_param(INVENTORY, "sku", "The sku query parameter is required (URL-encode special characters).")
    return sku


def _feed_operation(request: Request) -> str:
    return "updateBulkInventoryMultiNode" if request.query_params.get("feedType") == "MP_INVENTORY" \
        else "updateBulkInventory"
