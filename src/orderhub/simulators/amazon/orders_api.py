"""Orders API v0: getOrders, getOrder, getOrderItems, the buyer-info and address reads, confirmShipment.

Parameters, limits and answers follow ``samples/orders_v0_definitions.json`` and the getOrders
parameter notes: ``MarketplaceIds`` is required (at most 50); exactly one of ``CreatedAfter``
and ``LastUpdatedAfter``; the "before" dates at least two minutes before now;
``MaxResultsPerPage`` 1-100 (default 100); ``NextToken`` carries the query on and the other
filters are then not read again. getOrders sees each order as it was the visibility delay ago
(default 120 s) and says so in ``LastUpdatedBefore`` (or ``CreatedBefore``). A "before" date the
client gives is inclusive, as documented; the one the simulator fills in is exclusive, so a poller
that starts its next query at the answered ``LastUpdatedBefore`` sees every change exactly once.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from orderhub.simulators.amazon.clock import iso, parse_iso
from orderhub.simulators.amazon.errors import SpApiError, invalid_input, not_found
from orderhub.simulators.amazon.lifecycle import LifecycleError, confirm_shipment
from orderhub.simulators.amazon.models import check
from orderhub.simulators.amazon.operation import Context
from orderhub.simulators.amazon.orders import (
    CHANNELS,
    STATUSES,
    Order,
    render_address,
    render_item,
    render_item_buyer_info,
    render_order,
)

if TYPE_CHECKING:
    from orderhub.simulators.amazon.simulator import Simulator

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
MIN_BEFORE_GAP = timedelta(minutes=2)


def _csv(ctx: Context, name: str) -> list[str]:
    values: list[str] = []
    for raw in ctx.query.getlist(name):
        values += [v for v in raw.split(",") if v]
    return values


def _date(ctx: Context, name: str) -> datetime | None:
    text = ctx.query.get(name)
    if text is None:
        return None
    moment = parse_iso(text)
    if moment is None:
        raise invalid_input(f"{name} {text!r} is not an ISO 8601 date-time.", name)
    return moment


class NextTokens:
    """Opaque NextToken values and the query each carries on (the newest 10,000 kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def issue(self, state: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = state
            while len(self._tokens) > 10_000:
                self._tokens.popitem(last=False)
        return token

    def take(self, token: str, seller_id: str, kind: str) -> dict[str, Any]:
        with self._lock:
            state = self._tokens.get(token)
        if state is None or state["seller_id"] != seller_id or state["kind"] != kind:
            raise invalid_input("Invalid NextToken: it was not issued by a previous request of this operation.",
                                "NextToken")
        return state


class OrdersApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.next_tokens = NextTokens()

    def routes(self) -> list[Route]:
        base = "/orders/v0/orders"
        op = self.sim.operation
        return [
            Route(base, op("getOrders", self.get_orders, restricted=True), methods=["GET"]),
            Route(base + "/{orderId}", op("getOrder", self.get_order, restricted=True), methods=["GET"]),
            Route(base + "/{orderId}/orderItems", op("getOrderItems", self.get_order_items, restricted=True),
                  methods=["GET"]),
            Route(base + "/{orderId}/buyerInfo", op("getOrderBuyerInfo", self.get_buyer_info, restricted=True),
                  methods=["GET"]),
            Route(base + "/{orderId}/address", op("getOrderAddress", self.get_address, restricted=True),
                  methods=["GET"]),
            Route(base + "/{orderId}/orderItems/buyerInfo",
                  op("getOrderItemsBuyerInfo", self.get_items_buyer_info, restricted=True), methods=["GET"]),
            Route(base + "/{orderId}/shipmentConfirmation", op("confirmShipment", self.confirm_shipment),
                  methods=["POST"]),
        ]

    # -- getOrders

    def get_orders(self, ctx: Context) -> tuple[int, Any]:
        marketplaces = _csv(ctx, "MarketplaceIds")
        if not marketplaces:
            raise invalid_input("MarketplaceIds is required: give at least one marketplace id.", "MarketplaceIds")
        if len(marketplaces) > 50:
            raise invalid_input("MarketplaceIds takes at most 50 marketplace ids.", "MarketplaceIds")
        foreign = [m for m in marketplaces if m not in self.sim.seller(ctx.seller_id).marketplace_ids]
        if foreign:
            raise invalid_input(f"Invalid MarketplaceIds: the seller does not sell in {foreign[0]}.",
                                "MarketplaceIds")
        token = ctx.query.get("NextToken")
        if token:
            state = dict(self.next_tokens.take(token, ctx.seller_id, "orders"))
        else:
            state = self._new_query(ctx, marketplaces)
        return 200, {"payload": self._page(ctx, state)}

    def _new_query(self, ctx: Context, marketplaces: list[str]) -> dict[str, Any]:
        created_after, created_before = _date(ctx, "CreatedAfter"), _date(ctx, "CreatedBefore")
        updated_after, updated_before = _date(ctx, "LastUpdatedAfter"), _date(ctx, "LastUpdatedBefore")
        if created_after is None and updated_after is None:
            raise invalid_input("Either CreatedAfter or LastUpdatedAfter is required.", "CreatedAfter")
        if created_after is not None and (updated_after is not None or updated_before is not None):
            raise invalid_input("LastUpdatedAfter and LastUpdatedBefore cannot be set when CreatedAfter is set.")
        if updated_after is not None and created_before is not None:
            raise invalid_input("CreatedBefore cannot be set when LastUpdatedAfter is set.")
        now = self.sim.clock.now()
        for name, after, before in (("CreatedBefore", created_after, created_before),
                                    ("LastUpdatedBefore", updated_after, updated_before)):
            if before is not None and after is not None and before < after:
                raise invalid_input(f"{name} must be equal to or after the matching 'After' date.", name)
            if before is not None and before > now - MIN_BEFORE_GAP:
                raise invalid_input(f"{name} must be at least two minutes before the current time.", name)
        after_limit = created_after or updated_after
        assert after_limit is not None
        if after_limit > now:
            raise invalid_input("CreatedAfter / LastUpdatedAfter must not be in the future.")
        statuses = _csv(ctx, "OrderStatuses")
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise invalid_input(f"OrderStatuses: {bad[0]!r} is not one of {', '.join(STATUSES)}.", "OrderStatuses")
        channels = _csv(ctx, "FulfillmentChannels")
        bad = [c for c in channels if c not in CHANNELS]
        if bad:
            raise invalid_input(f"FulfillmentChannels: {bad[0]!r} is not MFN or AFN.", "FulfillmentChannels")
        order_ids = _csv(ctx, "AmazonOrderIds")
        if len(order_ids) > 50:
            raise invalid_input("AmazonOrderIds takes at most 50 order ids.", "AmazonOrderIds")
        size_text = ctx.query.get("MaxResultsPerPage", "100")
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            raise invalid_input("MaxResultsPerPage must be a whole number from 1 to 100.", "MaxResultsPerPage")
        as_of = now.replace(microsecond=0) - timedelta(seconds=self.sim.visibility_delay)
        by = "created" if created_after is not None else "updated"
        given = created_before or updated_before
        upper = min(given or as_of, as_of)
        return {"inclusive": given is not None and given <= as_of, "seller_id": ctx.seller_id, "kind": "orders",
                "marketplaces": marketplaces, "by": by,
                "after": after_limit.isoformat(), "before": upper.isoformat(), "as_of": as_of.isoformat(),
                "statuses": statuses, "channels": channels, "order_ids": order_ids, "size": int(size_text),
                "offset": 0}

    def _page(self, ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
        after, before = datetime.fromisoformat(state["after"]), datetime.fromisoformat(state["before"])
        orders = [o for o in self.sim.orders.visible(ctx.seller_id, datetime.fromisoformat(state["as_of"]))
                  if self._matches(o, state, after, before)]
        key = (lambda o: o.purchase_date) if state["by"] == "created" else (lambda o: o.last_update_date)
        orders.sort(key=lambda o: (key(o), o.amazon_order_id))
        start, size = state["offset"], state["size"]
        page = orders[start:start + size]
        payload: dict[str, Any] = {"Orders": [render_order(o, restricted=ctx.elements) for o in page]}
        if start + size < len(orders):
            payload["NextToken"] = self.next_tokens.issue(dict(state, offset=start + size))
        payload["CreatedBefore" if state["by"] == "created" else "LastUpdatedBefore"] = iso(before)
        return payload

    @staticmethod
    def _matches(order: Order, state: dict[str, Any], after: datetime, before: datetime) -> bool:
        moment = order.purchase_date if state["by"] == "created" else order.last_update_date
        below = moment <= before if state["inclusive"] else moment < before
        return (order.marketplace_id in state["marketplaces"] and after <= moment and below
                and (not state["statuses"] or order.status in state["statuses"])
                and (not state["channels"] or order.fulfillment_channel in state["channels"])
                and (not state["order_ids"] or order.amazon_order_id in state["order_ids"]))

    # -- one order

    def _order(self, ctx: Context) -> Order:
        order_id = ctx.params["orderId"]
        if not ORDER_ID.match(order_id):
            raise invalid_input(f"Invalid orderId {order_id!r}: an Amazon order id has the form 123-1234567-1234567.",
                                "orderId")
        order = self.sim.orders.get(order_id)
        if order is None or order.seller_id != ctx.seller_id:
            raise not_found(f"Order {order_id} was not found for this seller.")
        return order

    def get_order(self, ctx: Context) -> tuple[int, Any]:
        return 200, {"payload": render_order(self._order(ctx), restricted=ctx.elements)}

    def get_order_items(self, ctx: Context) -> tuple[int, Any]:
        order = self._order(ctx)
        start, token = 0, ctx.query.get("NextToken")
        if token:
            state = self.next_tokens.take(token, ctx.seller_id, "items")
            if state["order_id"] != order.amazon_order_id:
                raise invalid_input("Invalid NextToken: it belongs to another order.", "NextToken")
            start = state["offset"]
        size = self.sim.order_items_page_size
        payload: dict[str, Any] = {"AmazonOrderId": order.amazon_order_id, "OrderItems": [
            render_item(i, order.currency, restricted=ctx.elements) for i in order.items[start:start + size]]}
        if start + size < len(order.items):
            payload["NextToken"] = self.next_tokens.issue({"seller_id": ctx.seller_id, "kind": "items",
                                                           "order_id": order.amazon_order_id,
                                                           "offset": start + size})
        return 200, {"payload": payload}

    def get_buyer_info(self, ctx: Context) -> tuple[int, Any]:
        order = self._order(ctx)
        payload: dict[str, Any] = {"AmazonOrderId": order.amazon_order_id}
        if order.buyer and "buyerInfo" in ctx.elements:
            payload.update(order.buyer)
        return 200, {"payload": payload}

    def get_address(self, ctx: Context) -> tuple[int, Any]:
        order = self._order(ctx)
        payload: dict[str, Any] = {"AmazonOrderId": order.amazon_order_id}
        address = render_address(order, ctx.elements)
        if address is not None:
            payload["ShippingAddress"] = address
        return 200, {"payload": payload}

    def get_items_buyer_info(self, ctx: Context) -> tuple[int, Any]:
        order = self._order(ctx)
        unlocked = "buyerInfo" in ctx.elements
        items = [{"OrderItemId": i.order_item_id, **(render_item_buyer_info(i, order.currency) if unlocked else {})}
                 for i in order.items]
        return 200, {"payload": {"AmazonOrderId": order.amazon_order_id, "OrderItems": items}}

    # -- confirmShipment

    def confirm_shipment(self, ctx: Context) -> tuple[int, Any]:
        body = ctx.json()
        problems = check(body, "orders_v0", "ConfirmShipmentRequest")
        if problems:
            raise invalid_input("The request body does not match ConfirmShipmentRequest: " + "; ".join(problems[:5]))
        order = self._order(ctx)
        package = body["packageDetail"]
        if body["marketplaceId"] != order.marketplace_id:
            raise invalid_input(f"marketplaceId {body['marketplaceId']} is not the marketplace of order "
                                f"{order.amazon_order_id} ({order.marketplace_id}).", "marketplaceId")
        ship_date = parse_iso(package["shipDate"])
        if ship_date is None or "T" not in package["shipDate"]:
            raise invalid_input(f"shipDate {package['shipDate']!r} is not an ISO 8601 date-time.", "shipDate")
        if not package["orderItems"]:
            raise invalid_input("packageDetail.orderItems must name at least one item.", "orderItems")
        try:
            self.sim.orders.change(order.amazon_order_id, lambda o: confirm_shipment(o, package["orderItems"]),
                                   "OrderStatusChange", "Shipment confirmed")
        except LifecycleError as exc:
            raise SpApiError(400, "InvalidInput", str(exc)) from None
        self.sim.orders.record_shipment({
            "seller_id": ctx.seller_id, "amazon_order_id": order.amazon_order_id,
            "marketplace_id": body["marketplaceId"], "package_reference_id": str(package["packageReferenceId"]),
            "carrier_code": package["carrierCode"], "carrier_name": package.get("carrierName"),
            "shipping_method": package.get("shippingMethod"), "tracking_number": package["trackingNumber"],
            "ship_date": package["shipDate"],
            "items": [{"order_item_id": i["orderItemId"], "quantity": i["quantity"]} for i in package["orderItems"]],
            "at": iso(self.sim.clock.now())})
        return 204, None
