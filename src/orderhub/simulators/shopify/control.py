"""The simulator's control API under ``/_sim``: make shops, orders and changes, inspect deliveries.

Not part of Shopify: it is how tests and the demo play the merchant and the
customers. Bodies and answers are JSON; ``shop`` may be left out to mean the
first shop. Errors answer ``{"error": "..."}`` with 400 (bad input), 404
(unknown shop, order or product) or 409 (a change the record's state forbids).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.shopify import customers
from orderhub.simulators.shopify.actions import ActionError
from orderhub.simulators.shopify.graphql_api import json_response
from orderhub.simulators.shopify.simulator import Simulator
from orderhub.simulators.shopify.store import UnknownCustomer, UnknownOrder, UnknownShop

Handler = Callable[[Request, dict[str, Any]], Awaitable[Any]]


def _guard(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """Parse the JSON body, run the handler, and turn its errors into JSON answers."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise TypeError("the request body must be a JSON object")
            return json_response(await handler(request, body), status)
        except (UnknownShop, UnknownOrder, UnknownCustomer) as exc:
            return json_response({"error": exc.args[0]}, 404)
        except ActionError as exc:
            return json_response({"error": str(exc)}, 409)
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)

    return endpoint


class ControlApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/shops", _guard(self.list_shops), methods=["GET"]),
            Route("/_sim/shops", _guard(self.add_shop, 201), methods=["POST"]),
            Route("/_sim/shops/{domain}/uninstall", _guard(self.uninstall), methods=["POST"]),
            Route("/_sim/orders", _guard(self.list_orders), methods=["GET"]),
            Route("/_sim/orders", _guard(self.place_orders, 201), methods=["POST"]),
            Route("/_sim/orders/{order_id:int}", _guard(self.get_order), methods=["GET"]),
            Route("/_sim/orders/{order_id:int}/{action}", _guard(self.change_order), methods=["POST"]),
            Route("/_sim/customers", _guard(self.list_customers), methods=["GET"]),
            Route("/_sim/customers", _guard(self.create_customer, 201), methods=["POST"]),
            Route("/_sim/customers/{customer_id:int}", _guard(self.get_customer), methods=["GET"]),
            Route("/_sim/customers/{customer_id:int}", _guard(self.update_customer), methods=["POST"]),
            Route("/_sim/customers/{customer_id:int}/consent", _guard(self.customer_consent), methods=["POST"]),
            Route("/_sim/customers/{customer_id:int}/delete", _guard(self.delete_customer), methods=["POST"]),
            Route("/_sim/products", _guard(self.list_products), methods=["GET"]),
            Route("/_sim/products", _guard(self.change_product), methods=["POST"]),
            Route("/_sim/inventory_levels", _guard(self.set_inventory_level), methods=["POST"]),
            Route("/_sim/locations", _guard(self.list_locations), methods=["GET"]),
            Route("/_sim/locations", _guard(self.add_location, 201), methods=["POST"]),
            Route("/_sim/subscriptions", _guard(self.list_subscriptions), methods=["GET"]),
            Route("/_sim/deliveries", _guard(self.list_deliveries), methods=["GET"]),
            Route("/_sim/config", _guard(self.get_config), methods=["GET"]),
            Route("/_sim/config", _guard(self.set_config), methods=["POST"]),
            Route("/_sim/wait_idle", _guard(self.wait_idle), methods=["POST"]),
            Route("/_sim/bulk_catalogue", _guard(self.get_bulk_catalogue), methods=["GET"]),
            Route("/_sim/bulk_catalogue", _guard(self.set_bulk_catalogue), methods=["POST"]),
            Route("/_sim/bulk_operations", _guard(self.list_bulk_operations), methods=["GET"]),
        ]

    # -- shops --------------------------------------------------------------------------------------

    async def list_shops(self, request: Request, body: dict[str, Any]) -> Any:
        with self.sim.store.lock:
            return {"shops": [shop.describe() for shop in self.sim.store.shops.values()]}

    async def add_shop(self, request: Request, body: dict[str, Any]) -> Any:
        keys = ("domain", "api_secret", "access_token", "api_version", "currency", "utc_offset", "taxes_included")
        shop = self.sim.add_shop(**{k: body[k] for k in keys if k in body})
        return {"shop": shop.describe()}

    async def uninstall(self, request: Request, body: dict[str, Any]) -> Any:
        self.sim.uninstall(request.path_params["domain"])
        return {"uninstalled": request.path_params["domain"]}

    # -- orders -------------------------------------------------------------------------------------

    async def list_orders(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        with self.sim.store.lock:
            return {"orders": copy.deepcopy(list(shop.orders.values()))}

    async def place_orders(self, request: Request, body: dict[str, Any]) -> Any:
        bad = {str(kind): int(n) for kind, n in (body.get("bad") or {}).items()}
        seed = body.get("seed")
        skus = body.get("skus")
        good, broken = self.sim.place_orders(body.get("shop"), int(body.get("count", 1)),
                                             seed=None if seed is None else int(seed), bad=bad,
                                             skus=None if skus is None else [str(s) for s in skus],
                                             sales_channel=body.get("sales_channel"))
        return {"order_ids": good, "bad_order_ids": broken}

    async def get_order(self, request: Request, body: dict[str, Any]) -> Any:
        _shop, order = self.sim.store.order(request.path_params["order_id"], request.query_params.get("shop"))
        with self.sim.store.lock:
            return {"order": copy.deepcopy(order)}

    async def change_order(self, request: Request, body: dict[str, Any]) -> Any:
        params = {k: v for k, v in body.items() if k != "shop"}
        return self.sim.change_order(request.path_params["order_id"], request.path_params["action"], params,
                                     body.get("shop"))

    # -- products and inventory ---------------------------------------------------------------------

    async def list_products(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        with self.sim.store.lock:
            return {"products": copy.deepcopy(list(shop.products.values())), "locations": list(shop.locations),
                    "inventory_levels": copy.deepcopy(list(shop.inventory_levels.values()))}

    async def change_product(self, request: Request, body: dict[str, Any]) -> Any:
        action, shop = body.get("action", "create"), body.get("shop")
        fields = {k: v for k, v in body.items() if k not in ("action", "shop", "id")}
        if action == "create":
            return {"product": self.sim.create_product(shop, fields)}
        if action == "update":
            self.sim.update_product(shop, body["id"], fields)
        elif action == "delete":
            self.sim.delete_product(shop, body["id"])
        else:
            raise ValueError(f"unknown product action {action!r}; expected create, update or delete")
        return {"product_id": int(body["id"])}

    async def list_locations(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        with self.sim.store.lock:
            return {"locations": [{"id": i, "name": shop.location_names.get(i)} for i in shop.locations]}

    async def add_location(self, request: Request, body: dict[str, Any]) -> Any:
        return {"location": self.sim.add_location(body.get("shop"), str(body.get("name") or ""))}

    async def set_inventory_level(self, request: Request, body: dict[str, Any]) -> Any:
        self.sim.set_inventory_level(body.get("shop"), body["inventory_item_id"], body["location_id"],
                                     body.get("available"))
        return {"ok": True}

    # -- webhooks and settings ----------------------------------------------------------------------

    async def list_subscriptions(self, request: Request, body: dict[str, Any]) -> Any:
        wanted = request.query_params.get("shop")
        shops = [self.sim.store.shop(wanted)] if wanted else list(self.sim.store.shops.values())
        with self.sim.store.lock:
            return {"subscriptions": [dict(sub.describe(), shop=shop.domain)
                                      for shop in shops for sub in shop.subscriptions.values()]}

    async def list_deliveries(self, request: Request, body: dict[str, Any]) -> Any:
        filters = {k: v for k, v in request.query_params.items() if k in ("shop", "topic", "webhook_id", "outcome")}
        log = [e for e in self.sim.store.delivery_log() if all(str(e.get(k)) == v for k, v in filters.items())]
        return {"deliveries": log, "pending": self.sim.sender.pending()}

    async def get_config(self, request: Request, body: dict[str, Any]) -> Any:
        return self.sim.settings()

    async def set_config(self, request: Request, body: dict[str, Any]) -> Any:
        return self.sim.configure(body)

    # -- customers ----------------------------------------------------------------------------------

    async def list_customers(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        with self.sim.store.lock:
            return {"customers": [customers.describe(shop, c) for c in shop.customers.values()]}

    async def create_customer(self, request: Request, body: dict[str, Any]) -> Any:
        """A customer signs up: {shop, email, phone, first_name, last_name, note, tags, address,
        email_marketing_consent: {state, opt_in_level, consent_updated_at}, sms_marketing_consent: {...}}."""
        return {"customer": self.sim.create_customer(body.get("shop"), body)}

    async def get_customer(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        with self.sim.store.lock:
            return {"customer": customers.describe(
                shop, customers.find(self.sim.store, shop, request.path_params["customer_id"]))}

    async def update_customer(self, request: Request, body: dict[str, Any]) -> Any:
        return {"customer": self.sim.update_customer(body.get("shop"), request.path_params["customer_id"], body)}

    async def customer_consent(self, request: Request, body: dict[str, Any]) -> Any:
        """The customer changes their consent in the shop: {shop, channel: email | sms, state, opt_in_level,
        consent_updated_at}."""
        given = {k: body[k] for k in ("state", "opt_in_level", "consent_updated_at") if k in body}
        return {"customer": self.sim.set_customer_consent(body.get("shop"), request.path_params["customer_id"],
                                                          str(body.get("channel", "email")), given)}

    async def delete_customer(self, request: Request, body: dict[str, Any]) -> Any:
        self.sim.delete_customer(body.get("shop"), request.path_params["customer_id"])
        return {"deleted": request.path_params["customer_id"]}

    # -- bulk operations ----------------------------------------------------------------------------

    async def get_bulk_catalogue(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        return {"shop": shop.domain, **self.sim.bulk.catalogue(shop).describe()}

    async def set_bulk_catalogue(self, request: Request, body: dict[str, Any]) -> Any:
        """Synthetic orders and products that the shop's bulk queries cover (besides its own), made from a seed."""
        shop = self.sim.store.shop(body.get("shop"))
        catalogue = self.sim.bulk.set_catalogue(shop, int(body.get("orders", 0)), int(body.get("products", 0)),
                                                int(body.get("seed", self.sim.seed or 0)))
        return {"shop": shop.domain, **catalogue.describe()}

    async def list_bulk_operations(self, request: Request, body: dict[str, Any]) -> Any:
        shop = self.sim.store.shop(request.query_params.get("shop"))
        return {"bulk_operations": self.sim.bulk.list(shop)}

    async def wait_idle(self, request: Request, body: dict[str, Any]) -> Any:
        idle = await run_in_threadpool(self.sim.sender.wait_idle, float(body.get("timeout", 10.0)))
        return {"idle": idle, "pending": self.sim.sender.pending()}
