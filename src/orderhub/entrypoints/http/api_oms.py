"""The order-management API: order actions, inventory, facilities, channels and routing.

Reading needs any token (viewer); working orders and inventory needs operator;
configuration needs admin. Every action is attributed to the token's name on the
order's timeline and in the inventory ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from orderhub.adapters.store import channel_stock, order_queries, routing_store
from orderhub.adapters.store import facilities as facility_store
from orderhub.bootstrap import Hub
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.domain.routing import RoutingConfigError
from orderhub.domain.sales_channels import BUILT_IN
from orderhub.entrypoints.http.api import MAX_INT, Ids, hub_of, require_role, require_token
from orderhub.services import approval, brokering, fulfilment, routing_run
from orderhub.services import inventory as inventory_service
from orderhub.services.fulfilment import Ctx, NotFound

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]
OPERATOR = [require_role("operator")]
ADMIN = [require_role("admin")]
T = TypeVar("T")
Text = Annotated[str, Field(max_length=500)]


def actor(request: Request) -> str:
    return f"api:{request.state.token_name}"


@contextmanager
def _problems() -> Iterator[None]:
    """Domain errors as HTTP answers that say what was wrong."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except IllegalTransition as exc:
        raise HTTPException(409, str(exc)) from None
    except (ValueError, RoutingConfigError) as exc:
        raise HTTPException(422, str(exc)) from None


def _order_action(hub: Hub, ref: str, shop: str | None, action: Callable[[Connection, int], T]) -> dict[str, Any]:
    with _problems(), hub.db.write() as conn:
        order_id = order_queries.require_order_id(conn, ref, shop)
        result = action(conn, order_id)
        order = order_queries.get_order(conn, order_id)
    assert order is not None
    return {"result": result, "order": order}


# -- orders --------------------------------------------------------------------------------------------

CHANNEL_FILTER = (f"only orders sold through this channel: {', '.join(BUILT_IN)}, or a code a shop maps its "
                  "source names to (`orderhub shop source-channel`)")


SEARCH = ("any part, 3 characters or more, of the order's name, channel order id, e-mail, note or buyer's name, "
          "in any case and any script; `%`, `_` and quotes are characters like any other. 1 or 2 characters find "
          "the orders of exactly that name or channel order id (`12` finds `#12`)")


@router.get("/orders")
def list_orders(hub: HubDep, shop: str | None = None, status: str | None = None,
                payment_status: str | None = None,
                channel: str | None = Query(None, max_length=32, description=CHANNEL_FILTER),
                q: str | None = Query(None, max_length=200, description=SEARCH),
                limit: int = Query(50, ge=1, le=500),
                cursor: int | None = Query(None, ge=1, le=MAX_INT, description="next_cursor of the previous page")
                ) -> dict[str, Any]:
    flt = order_queries.OrderFilter(shop=shop, status=status, payment_status=payment_status, search=q,
                                    channel=channel)
    with hub.db.read() as conn:
        rows = order_queries.list_orders(conn, flt, limit=limit, before_id=cursor)
    return {"orders": rows, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}


class Reason(BaseModel):
    reason: Text | None = None


@router.post("/orders/{ref}/approve", dependencies=OPERATOR)
def approve_order(ref: str, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    def act(conn: Connection, order_id: int) -> Any:
        if not approval.approve(conn, [order_id], actor=actor(request)):
            order = order_queries.get_order(conn, order_id)
            raise IllegalTransition(f"order {ref}", order["status"] if order else "?", "approved",
                                    (order or {}).get("status_reason") or "approval rules failed")
        approval.announce_approved(conn, [order_id])
        return "approved"
    return _order_action(hub, ref, shop, act)


@router.post("/orders/{ref}/hold", dependencies=OPERATOR)
def hold_order(ref: str, body: Reason, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    return _order_action(hub, ref, shop, lambda c, o: fulfilment.hold(c, o, Ctx(actor(request), body.reason)))


@router.post("/orders/{ref}/release", dependencies=OPERATOR)
def release_order(ref: str, body: Reason, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    return _order_action(hub, ref, shop, lambda c, o: fulfilment.release(c, o, Ctx(actor(request), body.reason)))


@router.post("/orders/{ref}/cancel", dependencies=OPERATOR)
def cancel_order(ref: str, body: Reason, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    return _order_action(hub, ref, shop, lambda c, o: fulfilment.cancel(c, o, Ctx(actor(request), body.reason)))


class CancelItem(BaseModel):
    quantity: int | None = Field(None, ge=1, le=100_000)
    reason: Text | None = None


@router.post("/orders/{ref}/items/{line}/cancel", dependencies=OPERATOR)
def cancel_item(ref: str, line: str, body: CancelItem, request: Request, hub: HubDep,
                shop: str | None = None) -> dict[str, Any]:
    def act(conn: Connection, order_id: int) -> Any:
        return fulfilment.cancel(conn, order_id, Ctx(actor(request), body.reason),
                                 item_id=fulfilment.line_of(conn, order_id, line), quantity=body.quantity)
    return _order_action(hub, ref, shop, act)


class Units(BaseModel):
    units: list[Ids] | None = Field(None, max_length=10_000, description="unit ids; default: every eligible unit")
    reason: Text | None = None


@router.post("/orders/{ref}/pick", dependencies=OPERATOR)
def pick(ref: str, body: Units, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    return _order_action(hub, ref, shop,
                         lambda c, o: fulfilment.pick(c, o, Ctx(actor(request), body.reason), body.units))


class Pack(Units):
    tracking_number: str | None = Field(None, min_length=1, max_length=255, description="label printed at packing")
    carrier: str | None = Field(None, min_length=1, max_length=100)


@router.post("/orders/{ref}/pack", dependencies=OPERATOR)
def pack(ref: str, body: Pack, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    def act(conn: Connection, order_id: int) -> Any:
        status, shipment_ids = fulfilment.pack(conn, order_id, Ctx(actor(request), body.reason), body.units,
                                               tracking_number=body.tracking_number, carrier=body.carrier)
        return {"status": status, "shipments": shipment_ids}
    return _order_action(hub, ref, shop, act)


class Ship(BaseModel):
    shipment_id: Ids | None = None
    tracking_number: Annotated[str, Field(max_length=255)] | None = None
    carrier: Annotated[str, Field(max_length=100)] | None = None
    reason: Text | None = None


@router.post("/orders/{ref}/ship", dependencies=OPERATOR)
def ship(ref: str, body: Ship, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    return _order_action(hub, ref, shop, lambda c, o: fulfilment.ship(
        c, o, Ctx(actor(request), body.reason), shipment_id=body.shipment_id,
        tracking_number=body.tracking_number, carrier=body.carrier))


class Reject(BaseModel):
    units: list[Ids] = Field(min_length=1, max_length=10_000)
    not_in_stock: bool = True
    reason: Text | None = None


@router.post("/orders/{ref}/reject-items", dependencies=OPERATOR)
def reject_items(ref: str, body: Reject, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    """A facility cannot fulfil units: not in stock (its on hand becomes 0) or damaged (ATP lowered)."""
    return _order_action(hub, ref, shop, lambda c, o: fulfilment.reject_item(
        c, o, body.units, Ctx(actor(request), body.reason), not_in_stock=body.not_in_stock))


class Return(BaseModel):
    units: list[Ids] | None = Field(None, max_length=10_000)
    line: Annotated[str, Field(max_length=40)] | None = None
    quantity: int | None = Field(None, ge=1, le=100_000)
    restock_facility: Annotated[str, Field(max_length=64)] | None = None
    damaged: bool = False
    refund: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=4)
    reason: Text | None = None


@router.post("/orders/{ref}/return", dependencies=OPERATOR)
def return_order(ref: str, body: Return, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    def act(conn: Connection, order_id: int) -> Any:
        item_id = fulfilment.line_of(conn, order_id, body.line) if body.line else None
        facility = facility_store.id_of(conn, body.restock_facility) if body.restock_facility else None
        status, return_id = fulfilment.return_units(
            conn, order_id, Ctx(actor(request), body.reason), unit_ids=body.units, item_id=item_id,
            quantity=body.quantity, restock_facility_id=facility, damaged=body.damaged, refund=body.refund)
        return {"status": status, "return_id": return_id}
    return _order_action(hub, ref, shop, act)


@router.get("/orders/{ref}/brokering-preview")
def brokering_preview(ref: str, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    """Where the active routing run would send this order's waiting units now; changes nothing."""
    with _problems(), hub.db.read() as conn:
        return brokering.preview(conn, [order_queries.require_order_id(conn, ref, shop)])


# -- inventory ----------------------------------------------------------------------------------------------

@router.get("/inventory/{sku}")
def inventory_view(sku: str, hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return inventory_service.view(conn, sku)


@router.get("/inventory/{sku}/ledger")
def inventory_ledger(sku: str, hub: HubDep, limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"sku": sku, "entries": inventory_service.ledger(conn, sku, limit=limit)}


class Adjust(BaseModel):
    facility: Annotated[str, Field(max_length=64)]
    delta: int | None = Field(None, ge=-10_000_000, le=10_000_000)
    on_hand: int | None = Field(None, ge=0, le=10_000_000)
    safety_stock: int | None = Field(None, ge=0, le=10_000_000)
    reason: Annotated[str, Field(max_length=24)] = "adjusted"
    note: Text | None = None


@router.post("/inventory/{sku}/adjust", dependencies=OPERATOR)
def inventory_adjust(sku: str, body: Adjust, request: Request, hub: HubDep) -> dict[str, Any]:
    with _problems(), hub.db.write() as conn:
        change = inventory_service.adjust(conn, sku, body.facility, actor=actor(request), reason=body.reason,
                                          delta=body.delta, on_hand=body.on_hand, safety_stock=body.safety_stock,
                                          note=body.note)
        view = inventory_service.view(conn, sku)
    return {"before": vars(change.before), "after": vars(change.after), "inventory": view}


# -- facilities and channels -------------------------------------------------------------------------------

@router.get("/facilities")
def list_facilities(hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"facilities": [vars(f) for f in facility_store.all_facilities(conn)]}


class FacilityBody(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=255)]
    kind: Annotated[str, Field(max_length=16)] = "warehouse"
    address1: Annotated[str, Field(max_length=255)] | None = None
    city: Annotated[str, Field(max_length=255)] | None = None
    province: Annotated[str, Field(max_length=255)] | None = None
    zip: Annotated[str, Field(max_length=32)] | None = None
    country_code: Annotated[str, Field(min_length=2, max_length=2)] | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    daily_capacity: int | None = Field(None, ge=0, le=10_000_000)
    ship_from_store: bool = False
    sequence: int = Field(0, ge=-1_000_000, le=1_000_000)
    groups: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)


@router.post("/facilities", dependencies=ADMIN, status_code=201)
def add_facility(body: FacilityBody, hub: HubDep) -> dict[str, Any]:
    values = body.model_dump(exclude={"code", "name", "kind", "groups"})
    with _problems(), hub.db.write() as conn:
        facility_store.add(conn, body.code, body.name, body.kind, **values)
        for group in body.groups:
            facility_store.add_to_group(conn, group, body.code)
        return {"facility": next(vars(f) for f in facility_store.all_facilities(conn) if f.code == body.code)}


class ChannelBody(BaseModel):
    name: Annotated[str, Field(max_length=255)] | None = None
    threshold: int | None = Field(None, ge=0, le=10_000_000)
    groups: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=50)
    last_units: int | None = Field(None, ge=0, le=10_000_000, description="the last N units of every SKU offered "
                                   "on this channel only: every other channel shows N fewer")


@router.get("/channels")
def list_channels(hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"channels": [vars(facility_store.get_channel(conn, c)) for c in facility_store.channel_codes(conn)]}


@router.put("/channels/{code}", dependencies=ADMIN)
def set_channel(code: str, body: ChannelBody, hub: HubDep) -> dict[str, Any]:
    with _problems(), hub.db.write() as conn:
        facility_store.set_channel(conn, code, name=body.name, threshold=body.threshold, last_units=body.last_units,
                                   groups=tuple(body.groups) if body.groups is not None else None)
        channel_stock.refresh_all(conn)  # every listing's quantity, under the channel's new terms
        return {"channel": vars(facility_store.get_channel(conn, code))}


# -- routing ----------------------------------------------------------------------------------------------------

@router.get("/routing")
def get_routing(hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"runs": routing_store.all_runs(conn), "active": routing_store.active_name(conn)}


@router.put("/routing/{name}", dependencies=ADMIN)
def put_routing(name: str, body: dict[str, Any], hub: HubDep) -> dict[str, Any]:
    """Replace a routing run (routings and rules) from its JSON form; it is validated first."""
    with _problems(), hub.db.write() as conn:
        routing_store.save_run(conn, body | {"name": name}, active=bool(body.get("active", True)))
        return {"run": routing_store.get_run(conn, name)}


@router.post("/routing/run", dependencies=OPERATOR)
def run_routing(request: Request, hub: HubDep, dry_run: bool = False) -> dict[str, Any]:
    """Broker every approved order waiting in a queue now (or only show where they would go)."""
    return routing_run.run(hub.db, actor=actor(request), dry_run=dry_run)
