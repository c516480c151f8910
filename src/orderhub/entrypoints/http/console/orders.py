"""The order pages: search, an order with its items, addresses, payments and timeline, and the
actions of the order management core.

Every action is a POST that needs an operator (``web.Operator`` checks the session, the CSRF
token, the origin and the role) and goes through the same service the API and the CLI call,
attributed to ``console:<username>`` on the order's timeline. A move the order's state does
not allow is refused by the service; the order page then says why, with status 409.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from sqlalchemy import Connection
from starlette.responses import Response

from orderhub.adapters.store import customer_access, order_queries
from orderhub.adapters.store import facilities as facility_store
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.entrypoints.http.console import web
from orderhub.services import approval, fulfilment
from orderhub.services.console import orders_view
from orderhub.services.console.accounts import Session
from orderhub.services.fulfilment import Ctx

router = APIRouter(include_in_schema=False)

MAX_ID = 2**63 - 1
MAX_AMOUNT = Decimal(10) ** 14  # money columns keep 20 digits, 4 of them decimals
Reason = Annotated[str, Form(max_length=500)]
UnitIds = Annotated[list[int], Form(max_length=10_000)]
Tracking = Annotated[str, Form(max_length=255)]
Carrier = Annotated[str, Form(max_length=100)]


def _id(ref: str) -> int:
    """An orderhub order id from the URL (anything else is a page that is not there)."""
    if not ref.isdigit() or len(ref) > 18 or not 0 < int(ref) <= MAX_ID:
        raise web.Refused(404, f"There is no order {ref!r}: order pages are /orders/<orderhub id>.")
    return int(ref)


# -- search ---------------------------------------------------------------------------------------------

def _cursor(text: str | None) -> int | None:
    """A page cursor from the query string; anything but an id starts from the newest."""
    return int(text) if text and text.isdigit() and len(text) <= 18 and 0 < int(text) <= MAX_ID else None


@router.get("/orders")
def orders_page(request: Request, session: web.Viewer) -> Response:
    params = {k: v[:200] for k, v in request.query_params.items()}
    before, after = _cursor(params.get("before")), _cursor(params.get("after"))
    per = params.get("per", "")
    per_page = int(per) if per.isdigit() and int(per) in orders_view.PAGE_SIZES else 50
    problem, results = None, None
    try:
        search = orders_view.Search.parse(params)
    except orders_view.SearchProblem as exc:
        search, problem = orders_view.Search(), str(exc)
    with web.hub_of(request).db.read() as conn:
        choices = orders_view.choices(conn)
        if problem is None:
            results = orders_view.search(conn, search, before=before, after=after, per_page=per_page)
    raw = {k: params.get(k, "") for k in orders_view.FILTERS} | {"q": params.get("q") or params.get("customer", "")}
    keep = search.query() | ({"per": str(per_page)} if per_page != 50 else {})
    if results is not None and results.rows:  # the list shows its orders' customers: kept
        with web.hub_of(request).db.write() as conn:
            customer_access.record(conn, (r["profile_id"] for r in results.rows), f"console:{session.username}",
                                   "console", "order_list", f"/orders?{urlencode(keep)}" if keep else "/orders")
    return web.render(request, "orders.html", status=400 if problem else 200, search=search, raw=raw,
                      problem=problem, results=results, choices=choices, keep=keep, per_page=per_page,
                      paged=before is not None or after is not None, money=orders_view.money)


# -- one order -------------------------------------------------------------------------------------------

def _order_page(request: Request, order_id: int, *, status: int = 200, problem: str | None = None) -> Response:
    with web.hub_of(request).db.read() as conn:
        page = orders_view.order_page(conn, order_id)
    if page is None:
        raise web.Refused(404, f"There is no order with orderhub id {order_id}; find it from the order list.")
    profile_id = None
    session = web.current_session(request)
    if page.order["customer_id"] is not None and session is not None:  # the page shows the customer: kept
        with web.hub_of(request).db.write() as conn:
            profile_id = customer_access.record_for_identity(
                conn, int(page.order["customer_id"]), f"console:{session.username}", "console", "order",
                f"order {page.order['name'] or order_id}")
    return web.render(request, "orders_order.html", status=status, page=page, o=page.order, problem=problem,
                      money=orders_view.money, customer_profile=profile_id)


@router.get("/orders/{ref}")
def order_page(ref: str, request: Request, session: web.Viewer) -> Response:
    """By orderhub id; a name (#1001) or Shopify id is looked up and sent to the order's own address."""
    with web.hub_of(request).db.read() as conn:
        found = order_queries.find_order_id(conn, ref[:100])
    if found is None:
        raise web.Refused(404, f"There is no order {ref[:100]!r} (or more than one shop has one by that name); "
                               "search for it in the order list.")
    if str(found) != ref:
        return web.go(request, f"/orders/{found}")
    return _order_page(request, found)


def _act(request: Request, ref: str, action: Callable[[Connection, int], str]) -> Response:
    """Run one action on an order in one transaction; back to the order page with what happened,
    or the order page again with why the service refused (nothing is changed then)."""
    order_id = _id(ref)
    try:
        with web.hub_of(request).db.write() as conn:
            if orders_view.header(conn, order_id) is None:
                raise web.Refused(404, f"There is no order with orderhub id {order_id}.")
            done = action(conn, order_id)
    except IllegalTransition as exc:
        return _order_page(request, order_id, status=409, problem=str(exc))
    except (LookupError, ValueError) as exc:  # a unit, line or facility that is not there; a bad value
        return _order_page(request, order_id, status=422, problem=str(exc).strip("'\""))
    return web.go(request, f"/orders/{order_id}", done)


def _ctx(session: Session, reason: str | None = None) -> Ctx:
    return Ctx(f"console:{session.username}", (reason or "").strip() or None)


def _label(conn: Connection, order_id: int) -> str:
    order = orders_view.header(conn, order_id)
    return f"Order {order.name or order.shopify_id}" if order else f"Order {order_id}"


def _done(conn: Connection, order_id: int, what: str) -> str:
    order = orders_view.header(conn, order_id)
    return f"{_label(conn, order_id)}: {what}; it is now {order.status if order else 'gone'}."


@router.post("/orders/{ref}/approve")
def approve(ref: str, request: Request, session: web.Operator) -> Response:
    def act(conn: Connection, order_id: int) -> str:
        order = orders_view.header(conn, order_id)
        label = f"order {order.name or order.shopify_id}"
        if order.status not in ("created", "held"):
            raise IllegalTransition(label, order.status, "approved", "only a created order waits for approval")
        if not approval.approve(conn, [order_id], actor=_ctx(session).actor):
            order = orders_view.header(conn, order_id)  # the rules that failed are its status reason now
            raise IllegalTransition(label, order.status, "approved", order.status_reason or "the approval rules failed")
        approval.announce_approved(conn, [order_id])
        return _done(conn, order_id, "approved")
    return _act(request, ref, act)


@router.post("/orders/{ref}/hold")
def hold(ref: str, request: Request, session: web.Operator, reason: Reason = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        fulfilment.hold(conn, order_id, _ctx(session, reason))
        return _done(conn, order_id, "put on hold")
    return _act(request, ref, act)


@router.post("/orders/{ref}/release")
def release(ref: str, request: Request, session: web.Operator, reason: Reason = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        fulfilment.release(conn, order_id, _ctx(session, reason))
        return _done(conn, order_id, "released from hold")
    return _act(request, ref, act)


@router.post("/orders/{ref}/cancel")
def cancel(ref: str, request: Request, session: web.Operator, reason: Reason = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        if not reason.strip():
            raise ValueError(f"{_label(conn, order_id)}: say why it is cancelled (the reason goes on its timeline)")
        fulfilment.cancel(conn, order_id, _ctx(session, reason))
        return _done(conn, order_id, "cancelled")
    return _act(request, ref, act)


@router.post("/orders/{ref}/cancel-item")
def cancel_item(ref: str, request: Request, session: web.Operator,
                line: Annotated[int, Form(ge=1, le=MAX_ID)], quantity: Annotated[int, Form(ge=1, le=100_000)],
                reason: Reason = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        item_id = fulfilment.line_of(conn, order_id, str(line))
        fulfilment.cancel(conn, order_id, _ctx(session, reason), item_id=item_id, quantity=quantity)
        return _done(conn, order_id, f"{quantity} unit(s) of line {item_id} cancelled")
    return _act(request, ref, act)


def _chosen(units: list[int], what: str) -> list[int]:
    if not units:
        raise ValueError(f"choose the units to {what}")
    return units


@router.post("/orders/{ref}/pick")
def pick(ref: str, request: Request, session: web.Operator, units: UnitIds = []) -> Response:  # noqa: B006
    def act(conn: Connection, order_id: int) -> str:
        fulfilment.pick(conn, order_id, _ctx(session), _chosen(units, "pick"))
        return _done(conn, order_id, f"{len(units)} unit(s) picked")
    return _act(request, ref, act)


@router.post("/orders/{ref}/pack")
def pack(ref: str, request: Request, session: web.Operator, units: UnitIds = [],  # noqa: B006
         tracking_number: Tracking = "", carrier: Carrier = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        _, shipments = fulfilment.pack(conn, order_id, _ctx(session), _chosen(units, "pack"),
                                       tracking_number=tracking_number.strip() or None,
                                       carrier=carrier.strip() or None)
        return _done(conn, order_id, f"packed into shipment {', '.join(map(str, shipments))}")
    return _act(request, ref, act)


@router.post("/orders/{ref}/ship")
def ship(ref: str, request: Request, session: web.Operator,
         shipment: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
         tracking_number: Tracking = "", carrier: Carrier = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        fulfilment.ship(conn, order_id, _ctx(session), shipment_id=shipment,
                        tracking_number=tracking_number.strip() or None, carrier=carrier.strip() or None)
        return _done(conn, order_id, f"shipment {shipment} shipped" if shipment else "packed shipments shipped")
    return _act(request, ref, act)


@router.post("/orders/{ref}/return")
def return_units(ref: str, request: Request, session: web.Operator,
                 line: Annotated[list[int], Form(max_length=1000)] = [],  # noqa: B006
                 quantity: Annotated[list[int], Form(max_length=1000)] = [],  # noqa: B006
                 reason: Reason = "", disposition: Annotated[str, Form(max_length=16)] = "restock",
                 restock_at: Annotated[str, Form(max_length=64)] = "",
                 refund: Annotated[str, Form(max_length=32)] = "") -> Response:
    def act(conn: Connection, order_id: int) -> str:
        if len(line) != len(quantity) or any(not 0 <= q <= 100_000 for q in quantity):
            raise ValueError("give a quantity from 0 up to what shipped for each line")
        wanted = {item: q for item, q in zip(line, quantity, strict=True) if q > 0}
        if not wanted:
            raise ValueError(f"{_label(conn, order_id)}: give the quantity to return of at least one line")
        if disposition not in ("restock", "damaged"):
            raise ValueError(f"disposition must be restock or damaged, not {disposition!r}")
        try:
            amount = Decimal(refund.strip()) if refund.strip() else None
        except InvalidOperation:
            raise ValueError(f"refund: {refund!r} is not an amount (e.g. 12.50)") from None
        if amount is not None and not (amount.is_finite() and abs(amount) < MAX_AMOUNT
                                       and amount == amount.quantize(Decimal("0.0001"))):
            raise ValueError(f"refund: {refund!r} is not an amount orderhub can keep (e.g. 12.50; "
                             "at most 4 decimals)")
        for item_id in wanted:
            fulfilment.line_of(conn, order_id, str(item_id))  # a line of this order, or NotFound naming it
        facility = facility_store.id_of(conn, restock_at) if restock_at and disposition == "restock" else None
        unit_ids = orders_view.units_to_return(conn, order_id, wanted)
        _, return_id = fulfilment.return_units(conn, order_id, _ctx(session, reason), unit_ids=unit_ids,
                                               restock_facility_id=facility, damaged=disposition == "damaged",
                                               refund=amount)
        return _done(conn, order_id, f"return {return_id} recorded ({len(unit_ids)} unit(s))")
    return _act(request, ref, act)
