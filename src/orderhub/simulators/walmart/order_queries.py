"""``GET /v3/orders/released`` and ``GET /v3/orders``: filters, limits and the ``nextCursor``.

As the Orders API documents them: ``limit`` defaults to 100 and "cannot be larger than 200";
``createdStartDate`` defaults to seven days ago; only orders of the last 180 days are served
and asking for more than 20000 at once is an error; ``shipNodeType`` defaults to
``SellerFulfilled`` (WFS orders only with ``WFSFulfilled``). Released orders are those with a
line still ``Created``. ``status`` keeps orders with a line in that status;
``lastModifiedStartDate`` keeps orders changed *after* it (strictly, so a poller that passes
the newest ``statusDate`` it saw gets each change once).

``list.meta.nextCursor`` is a query string to append to the same path, as in the published
example (``?limit=10&hasMoreElements=true&soIndex=...&poIndex=...&partnerId=...&sellerId=...
&createdStartDate=...&createdEndDate=...``); it freezes the end of the window so orders
created or changed while a client pages do not shift the pages, and ``poIndex`` names the
last purchase order served. A query that matches nothing answers 404 ``CONTENT_NOT_FOUND``,
as Walmart does (client libraries carry workarounds for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from orderhub.simulators.walmart.clock import iso_ms, parse_date_param
from orderhub.simulators.walmart.defaults import (
    CREATED_START_DEFAULT_DAYS,
    ORDERS_DEFAULT_LIMIT,
    ORDERS_MAX_AGE_DAYS,
    ORDERS_MAX_LIMIT,
)
from orderhub.simulators.walmart.errors import ORDERS, bad_param, not_found
from orderhub.simulators.walmart.model import CREATED, SELLER_FULFILLED, Order

STATUSES = ("Created", "Acknowledged", "Shipped", "Delivered", "Cancelled")
SHIP_NODE_TYPES = ("SellerFulfilled", "WFSFulfilled", "3PLFulfilled")
MAX_RESULTS = 20000
DAY_MS = 86_400_000
_CURSOR_KEYS = ("hasMoreElements", "soIndex", "poIndex", "partnerId", "sellerId")
_FILTER_KEYS = ("sku", "customerOrderId", "purchaseOrderId", "status", "createdStartDate", "createdEndDate",
                "fromExpectedShipDate", "toExpectedShipDate", "lastModifiedStartDate", "lastModifiedEndDate",
                "shipNodeType", "productInfo", "replacementInfo", "orderType", "shippingProgramType")


@dataclass
class Query:
    released: bool
    limit: int
    params: dict[str, str]
    created_start: int
    created_end: int
    modified_start: int | None
    modified_end: int | None
    ship_from: int | None
    ship_to: int | None
    after_po: str | None


def _date(params: dict[str, str], key: str) -> int | None:
    if key not in params:
        return None
    value = parse_date_param(params[key])
    if value is None:
        raise bad_param(ORDERS, key, f"{key} {params[key]!r} is not a date; use '2020-03-16' or "
                                     "'2020-03-16T10:30:15Z'.")
    return value


def parse_query(raw: dict[str, str], *, released: bool, now_ms: int) -> Query:
    params = dict(raw)
    cursor = params.pop("nextCursor", None)
    if cursor:  # some clients pass the cursor itself as a parameter
        params.update(dict(parse_qsl(cursor.lstrip("?"), keep_blank_values=True)))
    try:
        limit = int(params.get("limit", ORDERS_DEFAULT_LIMIT))
    except ValueError:
        raise bad_param(ORDERS, "limit", f"limit {params['limit']!r} is not a number; use 1 to 200.") from None
    if not 1 <= limit <= ORDERS_MAX_LIMIT:
        raise bad_param(ORDERS, "limit", f"limit {limit} is out of range; it cannot be larger than 200.")
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise bad_param(ORDERS, "status", f"status {status!r} is not valid; valid statuses are "
                                          f"{', '.join(STATUSES)}.")
    if params.get("shipNodeType", SELLER_FULFILLED) not in SHIP_NODE_TYPES:
        raise bad_param(ORDERS, "shipNodeType", f"shipNodeType must be one of {', '.join(SHIP_NODE_TYPES)}.")
    start = _date(params, "createdStartDate")
    end = _date(params, "createdEndDate")
    if released and status is not None:
        raise bad_param(ORDERS, "status", "Released orders are always Created; status is not a filter here "
                                          "(use GET /v3/orders?status=...).")
    return Query(released=released, limit=limit, params=params,
                 created_start=start if start is not None else now_ms - CREATED_START_DEFAULT_DAYS * DAY_MS,
                 created_end=end if end is not None else now_ms,
                 modified_start=_date(params, "lastModifiedStartDate"),
                 modified_end=_date(params, "lastModifiedEndDate"),
                 ship_from=_date(params, "fromExpectedShipDate"), ship_to=_date(params, "toExpectedShipDate"),
                 after_po=params.get("poIndex") if params.get("hasMoreElements") == "true" else None)


def _matches(order: Order, q: Query, now_ms: int) -> bool:
    p = q.params
    if order.order_date < now_ms - ORDERS_MAX_AGE_DAYS * DAY_MS:
        return False
    if not q.created_start <= order.order_date <= q.created_end:
        return False
    if order.ship_node_type != p.get("shipNodeType", SELLER_FULFILLED):
        return False
    if q.released and not order.has_status(CREATED):
        return False
    if p.get("status") and not order.has_status(p["status"]):
        return False
    if p.get("sku") and not any(ln.sku == p["sku"] for ln in order.lines):
        return False
    if p.get("customerOrderId") and order.customer_order_id != p["customerOrderId"]:
        return False
    if p.get("purchaseOrderId") and order.purchase_order_id != p["purchaseOrderId"]:
        return False
    if q.ship_from is not None and order.expected_ship_date() < q.ship_from:
        return False
    if q.ship_to is not None and order.expected_ship_date() > q.ship_to:
        return False
    if q.modified_start is not None and order.last_modified <= q.modified_start:
        return False
    return q.modified_end is None or order.last_modified <= q.modified_end


def run_query(orders: list[Order], q: Query, *, now_ms: int, seller_id: str) -> dict[str, Any]:
    """The ``PurchaseOrderTypeV3`` answer for ``orders`` (sorted oldest first), or a 404/400."""
    if q.modified_start is not None and q.modified_end is None:
        q.modified_end = now_ms  # frozen in the cursor: changes made while paging come in the next poll
    matching = [o for o in orders if _matches(o, q, now_ms)]
    if len(matching) > MAX_RESULTS:
        raise bad_param(ORDERS, "createdStartDate", f"{len(matching)} orders match; at most {MAX_RESULTS} can be "
                                                    "fetched at a time. Narrow the dates.")
    remaining = matching
    if q.after_po is not None:
        last = next((o for o in matching if o.purchase_order_id == q.after_po), None)
        key = (last.order_date, last.purchase_order_id) if last else None
        remaining = [o for o in matching if key is None or (o.order_date, o.purchase_order_id) > key]
    if not remaining:
        raise not_found(ORDERS, "purchaseOrderId", "No orders found for the given query parameters.")
    page = remaining[:q.limit]
    meta: dict[str, Any] = {"totalCount": len(matching), "limit": q.limit}
    if len(remaining) > q.limit:
        meta["nextCursor"] = _cursor(q, page[-1].purchase_order_id, len(matching), seller_id)
    return {"list": {"meta": meta, "elements": {"order": [o.render() for o in page]}}}


def _cursor(q: Query, last_po: str, total: int, seller_id: str) -> str:
    params: dict[str, str] = {"limit": str(q.limit), "hasMoreElements": "true", "soIndex": str(total),
                              "poIndex": last_po, "partnerId": seller_id, "sellerId": seller_id}
    for key in _FILTER_KEYS:
        if key in q.params and key not in _CURSOR_KEYS:
            params[key] = q.params[key]
    params["createdStartDate"] = iso_ms(q.created_start)
    params["createdEndDate"] = iso_ms(q.created_end)
    if q.modified_start is not None:
        params["lastModifiedStartDate"] = iso_ms(q.modified_start)
    if q.modified_end is not None:
        params["lastModifiedEndDate"] = iso_ms(q.modified_end)
    return "?" + urlencode(params)
