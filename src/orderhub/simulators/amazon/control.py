"""The simulator's control API under ``/_sim``: not part of SP-API; how tests and the demo set the scene.

- ``POST /_sim/reset``; ``GET``/``POST /_sim/config`` (``visibility_delay_seconds``,
  ``order_items_page_size``, ``access_token_seconds``, ``restricted_token_seconds``,
  ``feed_queue_seconds``, ``feed_processing_seconds``, ``max_body_bytes``,
  ``notification_retry_schedule``, ``rate_limiting`` on/off, ``rate_limits``
  ``{"getOrders": {"rate": 1, "burst": 2}}``).
- ``GET``/``POST /_sim/clock``: ``{"advance": seconds}``, ``{"set": iso}``, ``{"frozen": bool}``.
- ``POST /_sim/orders`` ``{"seller_id", "count"}`` generated, or ``{"seller_id", "orders": [spec]}``
  explicit (lines with SKUs and quantities, status, channel, buyer); ``GET /_sim/orders``,
  ``GET /_sim/orders/{id}``; ``POST /_sim/orders/{id}/events`` ``{"event", "reason"}``.
- Recorded operations: ``GET /_sim/shipments``, ``GET /_sim/stock_updates``, ``GET /_sim/feeds``,
  ``GET /_sim/refunds`` (order adjustment feeds' refunds); an order's view shows each item's cancelled
  units and reason (``cancellations``);
  ``GET /_sim/listings`` (what Amazon shows per SKU), ``POST /_sim/listings`` to list SKUs.
- ``POST``/``GET``/``DELETE /_sim/failures`` (see :mod:`.faults`).
- ``POST /_sim/notifications`` ``{"order_id", "url", "authorization"}`` sends one ORDER_CHANGE now;
  ``POST``/``DELETE /_sim/destinations`` ``{"url", "authorization"}`` sends one on every change;
  ``GET /_sim/deliveries``; ``POST /_sim/wait_idle`` ``{"timeout"}``.
- ``GET /_sim/requests``; ``POST /_sim/tokens/expire`` forgets every token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.amazon.catalogue import Product, product
from orderhub.simulators.amazon.clock import iso, parse_iso
from orderhub.simulators.amazon.control_checks import bad, number, only, order_spec, text, whole
from orderhub.simulators.amazon.errors import SpApiError, json_response, not_found
from orderhub.simulators.amazon.faults import parse_rule
from orderhub.simulators.amazon.lifecycle import EVENTS, LifecycleError, apply_event
from orderhub.simulators.amazon.order_feeds import refunds
from orderhub.simulators.amazon.orders import Order, render_item, render_order
from orderhub.simulators.amazon.simulator import Simulator

Handler = Callable[[dict[str, Any], Request], Any]
FULL = frozenset({"buyerInfo", "shippingAddress"})


def _guard(sim: Simulator, handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise bad("body", f"is not valid JSON: {exc}.") from None
            if not isinstance(body, dict):
                raise bad("body", "must be a JSON object.")
            sim.tick()
            return json_response(handler(body, request), status)
        except SpApiError as exc:
            return json_response(exc.body(), exc.status)

    return endpoint


def _view(order: Order) -> dict[str, Any]:
    """An order as the control API shows it: everything, buyer data included, and its version."""
    return {"order": render_order(order, restricted=FULL), "version": order.version,
            "seller_id": order.seller_id, "cancel_reason": order.cancel_reason,
            "items": [render_item(i, order.currency, restricted=FULL) for i in order.items],
            "cancellations": [{"order_item_id": i.order_item_id, "quantity_ordered": i.quantity_ordered,
                               "quantity_cancelled": i.quantity_cancelled, "cancel_reason": i.cancel_reason}
                              for i in order.items if i.quantity_cancelled],
            "refunds": [dict(r, order_item_id=i.order_item_id) for i in order.items for r in i.refunds]}


class ControlApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        s, g = self.sim, self._get
        return [
            Route("/_sim/reset", _guard(s, lambda b, r: (s.reset(), {"reset": True})[1]), methods=["POST"]),
            Route("/_sim/config", _guard(s, lambda b, r: s.settings()), methods=["GET"]),
            Route("/_sim/config", _guard(s, self.configure), methods=["POST"]),
            Route("/_sim/clock", _guard(s, lambda b, r: s.settings()["clock"]), methods=["GET"]),
            Route("/_sim/clock", _guard(s, self.clock), methods=["POST"]),
            Route("/_sim/orders", _guard(s, self.add_orders, 201), methods=["POST"]),
            Route("/_sim/orders", _guard(s, lambda b, r: {"orders": [_view(o) for o in s.orders.all()]}),
                  methods=["GET"]),
            Route("/_sim/orders/{orderId}", _guard(s, lambda b, r: _view(self._order(r))), methods=["GET"]),
            Route("/_sim/orders/{orderId}/events", _guard(s, self.event), methods=["POST"]),
            Route("/_sim/shipments", g(lambda: {"shipments": s.orders.shipments()}), methods=["GET"]),
            Route("/_sim/refunds", g(lambda: {"refunds": refunds(s.orders.all())}), methods=["GET"]),
            Route("/_sim/stock_updates", g(lambda: {"stock_updates": s.listings.updates()}), methods=["GET"]),
            Route("/_sim/feeds", g(lambda: {"feeds": [dict(f.render(), seller_id=f.seller_id, report=f.report)
                                                      for f in s.feeds.feeds()]}), methods=["GET"]),
            Route("/_sim/listings", _guard(s, lambda b, r: {"listings": s.listings.shown(
                r.query_params.get("seller_id"))}), methods=["GET"]),
            Route("/_sim/listings", _guard(s, self.add_listings, 201), methods=["POST"]),
            Route("/_sim/failures", _guard(s, self.add_failure, 201), methods=["POST"]),
            Route("/_sim/failures", g(lambda: {"failures": s.faults.rules()}), methods=["GET"]),
            Route("/_sim/failures", _guard(s, lambda b, r: (s.faults.reset(), {"failures": []})[1]),
                  methods=["DELETE"]),
            Route("/_sim/notifications", _guard(s, self.notify, 202), methods=["POST"]),
            Route("/_sim/destinations", _guard(s, self.add_destination, 201), methods=["POST"]),
            Route("/_sim/destinations", _guard(s, lambda b, r: (s.destinations.clear(), {"destinations": []})[1]),
                  methods=["DELETE"]),
            Route("/_sim/deliveries", g(lambda: {"deliveries": s.sender.log()}), methods=["GET"]),
            Route("/_sim/wait_idle", _guard(s, self.wait_idle), methods=["POST"]),
            Route("/_sim/requests", g(lambda: {"requests": s.requests()}), methods=["GET"]),
            Route("/_sim/tokens/expire", _guard(s, lambda b, r: {"expired": s.tokens.expire_all()}),
                  methods=["POST"]),
        ]

    def _get(self, produce: Callable[[], Any]) -> Callable[[Request], Awaitable[Response]]:
        return _guard(self.sim, lambda b, r: produce())

    def _seller(self, body: dict[str, Any]) -> str:
        seller_id = text(body, "seller_id") or next(iter(self.sim.tokens.sellers))
        if seller_id not in self.sim.tokens.sellers:
            raise bad("seller_id", f"{seller_id} is not a configured seller; expected one of "
                                   f"{', '.join(self.sim.tokens.sellers)}.")
        return seller_id

    def _order(self, request: Request) -> Order:
        order = self.sim.orders.get(request.path_params["orderId"])
        if order is None:
            raise not_found(f"Order {request.path_params['orderId']} does not exist; create it with POST /_sim/orders.")
        return order

    def configure(self, body: dict[str, Any], request: Request) -> Any:
        sim = self.sim
        only(body, {"visibility_delay_seconds", "order_items_page_size", "access_token_seconds",
                    "restricted_token_seconds", "feed_queue_seconds", "feed_processing_seconds", "max_body_bytes",
                    "notification_retry_schedule", "rate_limiting", "rate_limits"})
        if (v := number(body, "visibility_delay_seconds")) is not None:
            sim.visibility_delay = v
        if (n := whole(body, "order_items_page_size", minimum=1, maximum=100)) is not None:
            sim.order_items_page_size = n
        if (n := whole(body, "access_token_seconds", minimum=1)) is not None:
            sim.tokens.lifetime = n
        if (n := whole(body, "restricted_token_seconds", minimum=1)) is not None:
            sim.restricted_token_seconds = n
        if (v := number(body, "feed_queue_seconds")) is not None:
            sim.feeds.queue_seconds = v
        if (v := number(body, "feed_processing_seconds")) is not None:
            sim.feeds.processing_seconds = v
        if (n := whole(body, "max_body_bytes", minimum=1)) is not None:
            sim.max_body_bytes = n
        if "notification_retry_schedule" in body:
            delays = body["notification_retry_schedule"]
            if not isinstance(delays, list) or not all(isinstance(d, (int, float)) and not isinstance(d, bool)
                                                       and d >= 0 for d in delays):
                raise bad("notification_retry_schedule", "must be a list of delays in seconds.")
            sim.sender.retry_schedule = [float(d) for d in delays]
        if "rate_limiting" in body:
            if not isinstance(body["rate_limiting"], bool):
                raise bad("rate_limiting", "must be true or false.")
            sim.limiter.enabled = body["rate_limiting"]
        for operation, plan in (body.get("rate_limits") or {}).items():
            if operation not in sim.limiter.plans or not isinstance(plan, dict):
                raise bad("rate_limits", f"{operation!r} is not an operation with a usage plan; expected one of "
                                         f"{', '.join(sorted(sim.limiter.plans))}.")
            only(plan, {"rate", "burst"})
            sim.limiter.configure(operation, number(plan, "rate"), whole(plan, "burst", minimum=1))
        return sim.settings()

    def clock(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"advance", "set", "frozen"})
        if "frozen" in body and not isinstance(body["frozen"], bool):
            raise bad("frozen", "must be true or false.")
        if "set" in body:
            moment = parse_iso(body["set"])
            if moment is None:
                raise bad("set", "must be an ISO 8601 date-time such as 2026-12-07T09:00:00Z.")
            self.sim.clock.set(moment, frozen=body.get("frozen"))
        elif "frozen" in body:
            self.sim.clock.freeze(body["frozen"])
        if (seconds := number(body, "advance")) is not None:
            self.sim.clock.advance(seconds)
        self.sim.tick()
        return self.sim.settings()["clock"]

    def add_orders(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"seller_id", "count", "orders", "marketplace_id"})
        seller_id = self._seller(body)
        if "orders" in body:
            specs = body["orders"]
            if not isinstance(specs, list) or not specs:
                raise bad("orders", "must be a non-empty list of order specs.")
            checked = [order_spec(spec, f"orders[{i}]") for i, spec in enumerate(specs)]
            try:
                made = [self.sim.create_order(seller_id, spec) for spec in checked]
            except ValueError as exc:
                raise bad("orders", str(exc)) from None
        else:
            count = whole(body, "count", minimum=1, maximum=1000) or 1
            made = self.sim.generate_orders(seller_id, count, text(body, "marketplace_id"))
        return {"order_ids": [o.amazon_order_id for o in made], "orders": [_view(o) for o in made]}

    def event(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"event", "reason"})
        event = text(body, "event", required=True)
        if event not in EVENTS:
            raise bad("event", f"must be one of {', '.join(EVENTS)}.")
        reason = text(body, "reason")
        order = self._order(request)
        change_type = "BuyerRequestedChange" if event == "buyer_cancel" else "OrderStatusChange"
        try:
            changed = self.sim.orders.change(order.amazon_order_id, lambda o: apply_event(o, event, reason),
                                             change_type, reason or event)
        except LifecycleError as exc:
            raise SpApiError(409, "InvalidState", str(exc)) from None
        return _view(changed)

    def add_listings(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"seller_id", "listings"})
        seller_id = self._seller(body)
        rows = body.get("listings")
        if not isinstance(rows, list) or not rows:
            raise bad("listings", "must be a non-empty list of {sku, quantity, title?, asin?}.")
        marketplace_id = self.sim.seller(seller_id).marketplace_ids[0]
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise bad(f"listings[{i}]", "must be an object {sku, quantity}.")
            only(row, {"sku", "quantity", "title", "asin"})
            sku = text(row, "sku", required=True)
            assert sku is not None
            quantity = whole(row, "quantity")
            known = product(sku)
            item = Product(sku, row.get("asin") or (known.asin if known else "B0" + sku.upper()[:8].ljust(8, "0")),
                           row.get("title") or (known.title if known else sku),
                           known.price if known else Decimal("0"),
                           known.product_type if known else "PRODUCT")
            self.sim.listings.seed(seller_id, marketplace_id, item, quantity)
        return {"listings": self.sim.listings.shown(seller_id)}

    def add_failure(self, body: dict[str, Any], request: Request) -> Any:
        operations = set(self.sim.limiter.plans) | {"lwaToken", "uploadFeedDocument", "downloadFeedDocument",
                                                    "cancelFeed"}
        rule = parse_rule(body, operations)
        return {"position": self.sim.faults.add(rule), "failures": self.sim.faults.rules()}

    def notify(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"order_id", "url", "authorization", "change_type", "reason"})
        order_id, url = text(body, "order_id", required=True), text(body, "url", required=True)
        assert order_id is not None and url is not None
        order = self.sim.orders.get(order_id)
        if order is None:
            raise not_found(f"Order {order_id} does not exist; create it with POST /_sim/orders.")
        change_type = body.get("change_type", "OrderStatusChange")
        if change_type not in ("BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange"):
            raise bad("change_type", "must be BuyerRequestedChange, DeliveryTipChange or OrderStatusChange.")
        event = self.sim.notify(order, url, text(body, "authorization"), change_type,
                                text(body, "reason") or "Order status changed")
        return {"event": event}

    def add_destination(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"url", "authorization"})
        self.sim.destinations.append({"url": text(body, "url", required=True),
                                      "authorization": text(body, "authorization")})
        return {"destinations": self.sim.destinations}

    def wait_idle(self, body: dict[str, Any], request: Request) -> Any:
        only(body, {"timeout"})
        return {"idle": self.sim.sender.wait_idle(number(body, "timeout") or 10.0), "at": iso(self.sim.clock.now())}
