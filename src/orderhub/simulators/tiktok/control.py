"""The simulator's control API under ``/_sim`` (not part of TikTok: how tests and the demo set the scene).

- ``POST /_sim/reset``; ``GET /_sim/accounts`` apps, sellers, shops (with ciphers), tokens.
- ``POST /_sim/auth_codes`` ``{"seller": 0}`` a fresh auth code; ``POST /_sim/tokens/expire`` ``{"access_token"?}``.
- ``POST /_sim/clock`` ``{"advance": s}`` or ``{"set": unix}``; ``GET /_sim/clock``. Moving the clock
  releases on-hold orders, cancels long-unpaid ones and makes due webhook retries go out.
- ``POST /_sim/orders`` one order ``{"shop_id"?, "lines": [{"seller_sku"|"sku_id", "quantity", ...}], "status",
  "buyer" (null: restricted), "fulfillment_type", "packages", ...}`` or ``{"generate": n, "seed"?}``.
- ``GET /_sim/orders/{id}``; ``POST /_sim/orders/{id}/events`` ``{"event": "pay" | "release_hold" |
  "buyer_cancel" | "auto_cancel" | "collect" | "deliver" | "complete", "reason"?}``.
- ``POST /_sim/products`` ``{"shop_id"?, "title", "skus": [{"seller_sku", "name", "price"}], "stock"?}``;
  ``GET /_sim/stock?shop_id=`` what the channel shows, per SKU and warehouse.
- ``GET /_sim/operations?kind=&shop_id=`` shipments, cancellations, refunds, stock updates made through the API.
- ``GET``/``POST /_sim/rate_limits`` ``{"operation"?: id or "*", "qps": n}`` (0 turns a limit off).
- ``POST /_sim/failures`` a rule (:mod:`.faults`); ``GET`` lists; ``DELETE`` clears.
- ``PUT /_sim/webhooks`` ``{"shop_id"?, "event_type", "address", "app_key"?}``; ``POST /_sim/webhooks/config``
  ``{"retry_schedule", "duplicate_all", "hold"}``; ``POST /_sim/webhooks/release`` ``{"order": "reverse"|"fifo"}``;
  ``POST /_sim/webhooks/redeliver`` ``{"notification_id"}``; ``GET /_sim/webhooks/deliveries``;
  ``POST /_sim/webhooks/wait`` ``{"timeout"}``.
- ``GET /_sim/requests`` every API request answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.tiktok.catalog import add_product
from orderhub.simulators.tiktok.errors import (
    BAD_FIELD,
    NOT_FOUND,
    TikTokError,
    envelope,
    error_response,
    fail,
    json_response,
)
from orderhub.simulators.tiktok.faults import parse_rule
from orderhub.simulators.tiktok.render import order_json
from orderhub.simulators.tiktok.simulator import Simulator
from orderhub.simulators.tiktok.store import ShopData

Handler = Callable[[dict[str, Any], Request], Any]


def _guard(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise fail(BAD_FIELD, f"The request body is not valid JSON: {exc}.") from None
            if not isinstance(body, dict):
                raise fail(BAD_FIELD, "The request body must be a JSON object.")
            return json_response(envelope(handler(body, request)))
        except TikTokError as exc:
            return error_response(exc)

    return endpoint


class ControlApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        s = self.sim
        table: list[tuple[str, str, Handler]] = [
            ("POST", "/_sim/reset", lambda b, r: s.reset() or {"reset": True}),
            ("GET", "/_sim/accounts", lambda b, r: s.accounts.describe()),
            ("POST", "/_sim/auth_codes", lambda b, r: {"auth_code": s.accounts.new_auth_code(int(b.get("seller", 0)))}),
            ("POST", "/_sim/tokens/expire", lambda b, r: {"expired": s.accounts.expire(b.get("access_token"))}),
            ("GET", "/_sim/clock", lambda b, r: {"now": s.clock.now()}),
            ("POST", "/_sim/clock", self.clock),
            ("POST", "/_sim/orders", self.orders),
            ("GET", "/_sim/orders/{order_id}", lambda b, r: order_json(self._order(r))),
            ("POST", "/_sim/orders/{order_id}/events", self.order_event),
            ("POST", "/_sim/products", self.product),
            ("GET", "/_sim/stock", self.stock),
            ("GET", "/_sim/operations", lambda b, r: {"operations": s.store.operations(
                r.query_params.get("kind"), r.query_params.get("shop_id"))}),
            ("GET", "/_sim/rate_limits", lambda b, r: s.rates.describe()),
            ("POST", "/_sim/rate_limits", self.rate_limits),
            ("POST", "/_sim/failures", lambda b, r: {"in_force": s.faults.add(parse_rule(b)),
                                                     "failures": s.faults.rules()}),
            ("GET", "/_sim/failures", lambda b, r: {"failures": s.faults.rules()}),
            ("DELETE", "/_sim/failures", lambda b, r: s.faults.clear() or {"failures": []}),
            ("PUT", "/_sim/webhooks", self.webhook),
            ("POST", "/_sim/webhooks/config", self.webhook_config),
            ("POST", "/_sim/webhooks/release",
             lambda b, r: {"released": s.webhooks.release(b.get("order", "reverse"))}),
            ("POST", "/_sim/webhooks/redeliver", lambda b, r: {"queued": s.webhooks.redeliver(str(b.get(
                "notification_id", "")))}),
            ("GET", "/_sim/webhooks/deliveries", lambda b, r: {"deliveries": s.webhooks.deliveries(),
                                                               "pending": s.webhooks.pending()}),
            ("POST", "/_sim/webhooks/wait", lambda b, r: {"idle": s.webhooks.wait_idle(float(b.get("timeout", 5)))}),
            ("GET", "/_sim/requests", lambda b, r: {"requests": s.requests()}),
        ]
        return [Route(path, _guard(handler), methods=[method]) for method, path, handler in table]

    def _shop(self, shop_id: Any) -> ShopData:
        shop = self.sim.store.shops.get(self.sim.shop_id(shop_id))
        if shop is None:
            raise fail(NOT_FOUND, f"Shop {shop_id} is not configured; GET /_sim/accounts lists the shops.")
        return shop

    def _order(self, request: Request) -> Any:
        order = self.sim.store.order(request.path_params["order_id"])
        if order is None:
            raise fail(NOT_FOUND, f"Order {request.path_params['order_id']} does not exist.")
        return order

    def clock(self, body: dict[str, Any], request: Request) -> Any:
        if "advance" in body:
            seconds = body["advance"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise fail(BAD_FIELD, "advance must be a number of seconds, 0 or more.")
            return {"now": self.sim.clock.advance(seconds)}
        if isinstance(body.get("set"), (int, float)) and not isinstance(body.get("set"), bool):
            return {"now": self.sim.clock.set(body["set"])}
        raise fail(BAD_FIELD, "Give {\"advance\": seconds} or {\"set\": unix_time}.")

    def orders(self, body: dict[str, Any], request: Request) -> Any:
        if "generate" in body:
            count = body["generate"]
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 500:
                raise fail(BAD_FIELD, "generate must be a whole number from 1 to 500.")
            seed = body.get("seed")
            orders = self.sim.generate(count, self._shop(body.get("shop_id")).shop_id,
                                       seed if isinstance(seed, int) else None)
            return {"order_ids": [o.id for o in orders]}
        with self.sim.store.lock:
            order = self.sim.create_order({k: v for k, v in body.items() if k != "shop_id"},
                                          self._shop(body.get("shop_id")).shop_id)
            return {"order_ids": [order.id], "order": order_json(order)}

    def order_event(self, body: dict[str, Any], request: Request) -> Any:
        event, reason = body.get("event"), str(body.get("reason", "No longer needed"))
        with self.sim.store.lock:
            order = self._order(request)
            life, cancels = self.sim.lifecycle, self.sim.cancellations
            result: dict[str, Any] = {}
            if event == "pay":
                life.pay(order)
            elif event == "release_hold":
                life.release_hold(order)
            elif event == "buyer_cancel":
                result["cancel_id"] = cancels.by_buyer(order, reason).id
            elif event == "auto_cancel":
                life.cancel(order, "SYSTEM", body.get("reason", "Payment overdue"), None)
            elif event in ("collect", "deliver", "complete"):
                life.carrier(order, event)
            else:
                raise fail(BAD_FIELD, "event must be pay, release_hold, buyer_cancel, auto_cancel, collect, deliver "
                                      "or complete.")
            return result | {"order": order_json(order)}

    def product(self, body: dict[str, Any], request: Request) -> Any:
        skus = body.get("skus")
        if not isinstance(body.get("title"), str) or not isinstance(skus, list) or not skus or not all(
                isinstance(s, dict) and isinstance(s.get("seller_sku"), str) for s in skus):
            raise fail(BAD_FIELD, "Give {title, skus: [{seller_sku, name?, price?}], stock?: {warehouse_id: qty}}.")
        with self.sim.store.lock:
            shop = self._shop(body.get("shop_id"))
            product = add_product(self.sim.store, shop, body["title"],
                                  [(s["seller_sku"], str(s.get("name", s["seller_sku"])), str(s.get("price", "10.00")))
                                   for s in skus], self.sim.clock.now(), body.get("stock"))
            return {"product_id": product.id, "sku_ids": {s.seller_sku: s.id for s in product.skus}}

    def stock(self, body: dict[str, Any], request: Request) -> Any:
        with self.sim.store.lock:
            shop = self._shop(request.query_params.get("shop_id"))
            return {"stock": [{"product_id": p.id, "sku_id": s.id, "seller_sku": s.seller_sku,
                               "inventory": dict(sorted(s.inventory.items())), "total": sum(s.inventory.values())}
                              for p in shop.products.values() for s in p.skus]}

    def rate_limits(self, body: dict[str, Any], request: Request) -> Any:
        qps = body.get("qps")
        if isinstance(qps, bool) or not isinstance(qps, (int, float)) or qps < 0:
            raise fail(BAD_FIELD, "qps must be a number, 0 or more (0 turns the limit off).")
        self.sim.rates.configure(body.get("operation"), float(qps))
        return self.sim.rates.describe()

    def webhook(self, body: dict[str, Any], request: Request) -> Any:
        with self.sim.store.lock:
            shop = self._shop(body.get("shop_id"))
            now = self.sim.clock.now()
            if not isinstance(body.get("address"), str) or not isinstance(body.get("event_type"), str):
                raise fail(BAD_FIELD, "Give {event_type, address, shop_id?, app_key?}.")
            shop.webhooks[body["event_type"]] = {"address": body["address"],
                                                 "app_key": body.get("app_key") or next(iter(self.sim.apps)),
                                                 "create_time": now, "update_time": now}
            return {"webhooks": shop.webhooks}

    def webhook_config(self, body: dict[str, Any], request: Request) -> Any:
        hooks = self.sim.webhooks
        if "retry_schedule" in body:
            schedule = body["retry_schedule"]
            if not isinstance(schedule, list) or not all(isinstance(x, (int, float)) and x >= 0 for x in schedule):
                raise fail(BAD_FIELD, "retry_schedule must be a list of seconds.")
            hooks.retry_schedule = [float(x) for x in schedule]
        if "duplicate_all" in body:
            hooks.duplicate_all = bool(body["duplicate_all"])
        if "hold" in body:
            hooks.holding = bool(body["hold"])
        return {"retry_schedule": hooks.retry_schedule, "duplicate_all": hooks.duplicate_all, "hold": hooks.holding}
