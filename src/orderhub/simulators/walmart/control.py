"""The simulator's control API under ``/_sim``: set the scene, move time, read what sellers did.

Not part of Walmart; no token needed; errors answer in Walmart's error shape.

- ``POST /_sim/reset``; ``GET``/``POST /_sim/config`` (``token_ttl``, ``ack_deadline``,
  ``max_body_bytes``, ``feed_in_progress_after``, ``feed_processed_after``, ``throttling``).
- ``POST /_sim/accounts`` ``{"client_id", "client_secret", "name"?, "seller_id"?}`` adds a seller.
- ``GET``/``POST /_sim/clock`` ``{"advance": seconds}`` moves the simulated clock forward.
- ``POST /_sim/orders`` ``{"seller"?, "count": n, "kind"?}`` generates orders (kinds in
  :data:`.generator.KINDS`), or ``{"seller"?, "order": {"lines": [{"sku", "quantity",
  "unitPrice"?, "productName"?, "shipping"?, "discount"?}], "status"?: "Created" |
  "Acknowledged", "shipNodeType"?, "purchaseOrderId"?, "customerName"?}}``; answers 201 with
  ``purchaseOrderIds``.
- ``GET /_sim/orders`` every order with its bookkeeping; ``GET /_sim/orders/overdue`` orders
  not acknowledged within the deadline.
- ``POST /_sim/orders/{purchaseOrderId}/events`` ``{"event": "buyer_cancel" | "auto_cancel" |
  "delivered", "lines"?: ["1"], "seller"?}``.
- ``GET /_sim/operations?kind=&seller=&purchaseOrderId=`` recorded acknowledgements,
  shipments, cancellations, refunds, inventory updates.
- ``GET /_sim/inventory?seller=`` listed quantities; ``POST /_sim/inventory`` ``{"seller"?,
  "sku", "quantity", "shipNode"?}`` adds or sets a SKU.
- ``GET /_sim/feeds``; ``GET``/``POST /_sim/throttle`` ``{"operation", "limit", "period"}`` or
  ``{"enabled": false}``; ``GET``/``POST``/``DELETE /_sim/failures`` (see :mod:`.faults`);
  ``POST /_sim/tokens/expire``; ``GET /_sim/requests``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.walmart.errors import WalmartError, bad_param, json_response
from orderhub.simulators.walmart.faults import parse_rule
from orderhub.simulators.walmart.generator import KINDS, explicit_order
from orderhub.simulators.walmart.model import ACKNOWLEDGED, CREATED, SHIP_NODE_TYPES_CONTROL
from orderhub.simulators.walmart.simulator import Simulator, account

SIM = "SIMULATOR_CONTROL"
Handler = Callable[[dict[str, Any], Request], Any]


def _guard(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        raw = await request.body()
        try:
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise bad_param(SIM, "body", f"The request body is not valid JSON: {exc}.") from None
            if not isinstance(body, dict):
                raise bad_param(SIM, "body", "The request body must be a JSON object.")
            return json_response(handler(body, request), status)
        except WalmartError as exc:
            return json_response(exc.body(), exc.status)

    return run


def _number(body: dict[str, Any], key: str, minimum: float = 0) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise bad_param(SIM, key, f"{key} must be a number of at least {minimum:g}.")
    return float(value)


class ControlApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        g = _guard
        return [
            Route("/_sim/reset", g(self.reset), methods=["POST"]),
            Route("/_sim/config", g(lambda b, r: self.sim.settings()), methods=["GET"]),
            Route("/_sim/config", g(self.configure), methods=["POST"]),
            Route("/_sim/accounts", g(self.add_account, 201), methods=["POST"]),
            Route("/_sim/clock", g(lambda b, r: {"now": self.sim.clock.now_ms()}), methods=["GET"]),
            Route("/_sim/clock", g(self.advance), methods=["POST"]),
            Route("/_sim/orders", g(self.create_orders, 201), methods=["POST"]),
            Route("/_sim/orders", g(self.list_orders), methods=["GET"]),
            Route("/_sim/orders/overdue", g(lambda b, r: {"orders": self.sim.orders.overdue(self.sim.ack_deadline)}),
                  methods=["GET"]),
            Route("/_sim/orders/{purchaseOrderId}/events", g(self.event), methods=["POST"]),
            Route("/_sim/operations", g(self.operations), methods=["GET"]),
            Route("/_sim/inventory", g(self.inventory), methods=["GET"]),
            Route("/_sim/inventory", g(self.set_inventory), methods=["POST"]),
            Route("/_sim/feeds", g(lambda b, r: {"feeds": self.sim.feeds.describe()}), methods=["GET"]),
            Route("/_sim/throttle", g(lambda b, r: {"enabled": self.sim.throttle.enabled,
                                                    "limits": self.sim.throttle.describe()}), methods=["GET"]),
            Route("/_sim/throttle", g(self.throttle), methods=["POST"]),
            Route("/_sim/failures", g(self.add_failure, 201), methods=["POST"]),
            Route("/_sim/failures", g(lambda b, r: {"failures": self.sim.faults.rules()}), methods=["GET"]),
            Route("/_sim/failures", g(self.clear_failures), methods=["DELETE"]),
            Route("/_sim/tokens/expire", g(lambda b, r: {"expired": self.sim.accounts.expire_all()}),
                  methods=["POST"]),
            Route("/_sim/requests", g(lambda b, r: {"requests": self.sim.requests()}), methods=["GET"]),
        ]

    def _seller(self, value: Any) -> str:
        if value is None:
            return self.sim.accounts.all()[0].client_id
        if not isinstance(value, str) or self.sim.accounts.get(value) is None:
            known = ", ".join(a.client_id for a in self.sim.accounts.all())
            raise bad_param(SIM, "seller", f"seller {value!r} is not a configured client id; known: {known}.")
        return value

    def reset(self, body: dict[str, Any], request: Request) -> Any:
        self.sim.reset()
        return self.sim.settings()

    def configure(self, body: dict[str, Any], request: Request) -> Any:
        keys = {"token_ttl", "ack_deadline", "max_body_bytes", "feed_in_progress_after", "feed_processed_after",
                "throttling"}
        unknown = sorted(set(body) - keys)
        if unknown:
            raise bad_param(SIM, unknown[0], f"Unknown key {unknown[0]!r}; expected {', '.join(sorted(keys))}.")
        if "token_ttl" in body:
            self.sim.accounts.token_ttl = _number(body, "token_ttl", 1)
        if "ack_deadline" in body:
            self.sim.ack_deadline = _number(body, "ack_deadline")
        if "max_body_bytes" in body:
            self.sim.max_body_bytes = int(_number(body, "max_body_bytes", 1))
        if "feed_in_progress_after" in body:
            self.sim.feeds.in_progress_after = _number(body, "feed_in_progress_after")
        if "feed_processed_after" in body:
            self.sim.feeds.processed_after = _number(body, "feed_processed_after")
        if "throttling" in body:
            if not isinstance(body["throttling"], bool):
                raise bad_param(SIM, "throttling", "throttling must be true or false.")
            self.sim.throttle.enabled = body["throttling"]
        return self.sim.settings()

    def add_account(self, body: dict[str, Any], request: Request) -> Any:
        for key in ("client_id", "client_secret"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise bad_param(SIM, key, f"{key} is required (a non-empty string).")
        acct = account(body["client_id"], body["client_secret"], body.get("name"), body.get("seller_id"))
        self.sim.accounts.add(acct)
        self.sim.stock_catalogue()
        return {"client_id": acct.client_id, "seller_id": acct.seller_id, "name": acct.name}

    def advance(self, body: dict[str, Any], request: Request) -> Any:
        if "advance" not in body:
            raise bad_param(SIM, "advance", 'Send {"advance": seconds}.')
        now = self.sim.clock.advance(_number(body, "advance"))
        self.sim.feeds.settle()
        return {"now": int(now * 1000)}

    def create_orders(self, body: dict[str, Any], request: Request) -> Any:
        seller = self._seller(body.get("seller"))
        now = self.sim.clock.now_ms()
        if "order" in body:
            spec = _order_spec(body["order"])
            orders = [explicit_order(seller, now, spec, self.sim.ids)]
        else:
            count = body.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
                raise bad_param(SIM, "count", "count must be a whole number from 1 to 1000.")
            kind = body.get("kind")
            if kind is not None and kind not in KINDS:
                raise bad_param(SIM, "kind", f"kind must be one of {', '.join(KINDS)}.")
            orders = self.sim.generator.orders(seller, now, count, kind)
        for order in orders:
            self.sim.orders.add(order)
        return {"purchaseOrderIds": [o.purchase_order_id for o in orders]}

    def list_orders(self, body: dict[str, Any], request: Request) -> Any:
        seller = request.query_params.get("seller")
        return {"orders": [{"seller": o.seller, "releasedAt": o.released_at, "acknowledgedAt": o.acknowledged_at,
                            "lastModified": o.last_modified, "shipNodeType": o.ship_node_type, "order": o.render()}
                           for o in self.sim.orders.snapshot(seller)]}

    def event(self, body: dict[str, Any], request: Request) -> Any:
        event = body.get("event")
        if event not in ("buyer_cancel", "auto_cancel", "delivered"):
            raise bad_param(SIM, "event", "event must be buyer_cancel, auto_cancel or delivered.")
        lines = body.get("lines")
        if lines is not None and (not isinstance(lines, list) or not all(isinstance(x, str) for x in lines)):
            raise bad_param(SIM, "lines", 'lines must be a list of line numbers such as ["1"].')
        return {"order": self.sim.orders.channel_event(self._seller(body.get("seller")),
                                                       request.path_params["purchaseOrderId"], event, lines)}

    def operations(self, body: dict[str, Any], request: Request) -> Any:
        q = request.query_params
        return {"operations": self.sim.operations.list(q.get("kind"), q.get("seller"), q.get("purchaseOrderId"))}

    def inventory(self, body: dict[str, Any], request: Request) -> Any:
        self.sim.feeds.settle()
        return {"inventory": self.sim.inventory.listing(request.query_params.get("seller"))}

    def set_inventory(self, body: dict[str, Any], request: Request) -> Any:
        seller = self._seller(body.get("seller"))
        sku = body.get("sku")
        if not isinstance(sku, str) or not sku:
            raise bad_param(SIM, "sku", "sku is required (a non-empty string).")
        quantity = body.get("quantity", 0)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise bad_param(SIM, "quantity", "quantity must be a whole number of at least 0.")
        node = body.get("shipNode") or ""
        self.sim.inventory.add_sku(seller, sku, quantity, node)
        return {"seller": seller, "sku": sku, "shipNode": node or None, "quantity": quantity}

    def throttle(self, body: dict[str, Any], request: Request) -> Any:
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise bad_param(SIM, "enabled", "enabled must be true or false.")
            self.sim.throttle.enabled = body["enabled"]
        if "operation" in body:
            if not isinstance(body["operation"], str) or not body["operation"]:
                raise bad_param(SIM, "operation", "operation must be an operationId such as getAllReleasedOrders.")
            limit = body.get("limit")
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise bad_param(SIM, "limit", "limit must be a whole number of at least 1.")
            self.sim.throttle.configure(body["operation"], limit, _number(body, "period", 1))
        return {"enabled": self.sim.throttle.enabled, "limits": self.sim.throttle.describe()}

    def add_failure(self, body: dict[str, Any], request: Request) -> Any:
        rule = parse_rule(body)
        return {"position": self.sim.faults.add(rule), "failures": self.sim.faults.rules()}

    def clear_failures(self, body: dict[str, Any], request: Request) -> Any:
        self.sim.faults.reset()
        return {"failures": []}


def _order_spec(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise bad_param(SIM, "order", "order must be an object with lines.")
    lines = spec.get("lines")
    if not isinstance(lines, list) or not lines:
        raise bad_param(SIM, "order.lines", "order.lines must be a non-empty list of {sku, quantity}.")
    for i, line in enumerate(lines):
        if not (isinstance(line, dict) and isinstance(line.get("sku"), str) and line["sku"]
                and isinstance(line.get("quantity"), int) and not isinstance(line["quantity"], bool)
                and line["quantity"] >= 1):
            raise bad_param(SIM, f"order.lines[{i}]", f"order.lines[{i}] must be {{sku, quantity >= 1}}.")
        for key in ("unitPrice", "shipping", "discount"):
            if key in line and (isinstance(line[key], bool) or not isinstance(line[key], (int, float, str))):
                raise bad_param(SIM, f"order.lines[{i}].{key}", f"{key} must be a decimal number.")
    if spec.get("status", CREATED) not in (CREATED, ACKNOWLEDGED):
        raise bad_param(SIM, "order.status", "order.status must be Created or Acknowledged; move it further "
                                             "through the API or POST /_sim/orders/{id}/events.")
    if spec.get("shipNodeType", "SellerFulfilled") not in SHIP_NODE_TYPES_CONTROL:
        raise bad_param(SIM, "order.shipNodeType", "order.shipNodeType must be SellerFulfilled or WFSFulfilled.")
    return spec
