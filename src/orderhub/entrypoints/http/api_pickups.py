"""The pickup in store API: list a store's pickups, mark an order ready, collect it with the customer's code,
unlock a pickup locked by wrong codes. Reading needs any token; the counter's steps need operator; unlocking
(a manager's step) needs admin. Steps are attributed to the token's name on the order's timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from orderhub.adapters.store import order_queries
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.api import hub_of, require_role, require_token
from orderhub.entrypoints.http.api_oms import _problems, actor
from orderhub.services import pickups

router = APIRouter(prefix="/api/pickups", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]
STATUS = f"one of {', '.join(pickups.LIST_STATUSES)}"


@router.get("")
def list_pickups(hub: HubDep, store: str | None = Query(None, max_length=64, description="a store's facility code"),
                 status: str | None = Query(None, max_length=16, description=STATUS),
                 limit: int = Query(100, ge=1, le=500)) -> dict[str, Any]:
    with _problems(), hub.db.read() as conn:
        return {"pickups": pickups.list_pickups(conn, store=store, status=status, limit=limit)}


@router.post("/{ref}/ready", dependencies=[require_role("operator")])
def ready(ref: str, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    """Every unit is picked at the store: the answer carries the verification code (shown this once; the
    customer is e-mailed it)."""
    with _problems(), hub.db.write() as conn:
        order_id = order_queries.require_order_id(conn, ref, shop)
        done = pickups.ready(conn, order_id, actor=actor(request), default_days=hub.settings.pickup_days)
    return {"order_id": order_id, "order": done.order, "store": done.store, "code": done.code,
            "collect_by": done.collect_by.isoformat()}


class Code(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="the verification code the customer shows")


@router.post("/{ref}/collect", dependencies=[require_role("operator")])
def collect(ref: str, body: Code, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    """The right code hands the order over (200); a wrong one is refused (403) and counted; the pickup locks
    (423) after too many."""
    with _problems():
        with hub.db.write() as conn:  # a wrong code's count is committed before the refusal is answered
            order_id = order_queries.require_order_id(conn, ref, shop)
            attempt = pickups.collect(conn, order_id, body.code, actor=actor(request))
        if not attempt.collected:
            raise HTTPException(423 if attempt.locked else 403, attempt.message)
    return {"order_id": order_id, "collected": True, "message": attempt.message}


@router.post("/{ref}/reset", dependencies=[require_role("admin")])
def reset(ref: str, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    with _problems(), hub.db.write() as conn:
        order_id = order_queries.require_order_id(conn, ref, shop)
        return {"order_id": order_id, "message": pickups.reset(conn, order_id, actor=actor(request))}
