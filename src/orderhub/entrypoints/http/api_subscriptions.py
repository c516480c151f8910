"""The admin API for outbound webhook subscriptions and their delivery log.

Reading needs any token (viewer); creating, enabling and disabling needs admin.
The signing secret is in the answer to the POST that creates a subscription, and
nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from orderhub.adapters.outbound import OutboundPolicy
from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.api import MAX_INT, RowId, hub_of, require_role, require_token

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]
ADMIN = [require_role("admin")]


class NewSubscription(BaseModel):
    url: str = Field(..., max_length=1000, description="http:// or https:// endpoint that receives POSTs")
    events: str | list[str] = Field(..., description="event types or patterns: 'order.*,inventory.changed'")
    rate_per_second: float | None = Field(None, gt=0)
    max_attempts: int | None = Field(None, ge=1, le=100)
    timeout_seconds: float | None = Field(None, gt=0, le=300)
    description: str | None = Field(None, max_length=255)


@router.get("/subscriptions")
def list_subscriptions(hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"subscriptions": [s.public() for s in subscription_store.all_subscriptions(conn)]}


@router.post("/subscriptions", status_code=201, dependencies=ADMIN)
def create_subscription(body: NewSubscription, hub: HubDep) -> dict[str, Any]:
    """Create a subscription. The answer holds its ``whsec_`` signing secret: the only time it is shown."""
    try:
        OutboundPolicy.from_env().check(body.url)
        with hub.db.write() as conn:
            sub = subscription_store.add(conn, body.url, body.events, rate_per_second=body.rate_per_second,
                                         max_attempts=body.max_attempts, timeout_seconds=body.timeout_seconds,
                                         description=body.description)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return sub.public() | {"secret": sub.secret}


def _set_enabled(hub: Hub, subscription_id: int, enabled: bool) -> dict[str, Any]:
    try:
        with hub.db.write() as conn:
            return subscription_store.set_enabled(conn, subscription_id, enabled).public()
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None


@router.post("/subscriptions/{subscription_id}/disable", dependencies=ADMIN)
def disable_subscription(subscription_id: RowId, hub: HubDep) -> dict[str, Any]:
    """New events are not queued for it; those already queued wait until it is enabled."""
    return _set_enabled(hub, subscription_id, False)


@router.post("/subscriptions/{subscription_id}/enable", dependencies=ADMIN)
def enable_subscription(subscription_id: RowId, hub: HubDep) -> dict[str, Any]:
    return _set_enabled(hub, subscription_id, True)


@router.get("/subscriptions/{subscription_id}/deliveries")
def list_deliveries(subscription_id: RowId, hub: HubDep, status: str | None = None,
                    order_id: int | None = Query(None, ge=1, le=MAX_INT),
                    limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT)) -> dict[str, Any]:
    flt = subscription_store.DeliveryFilter(subscription_id=subscription_id, status=status, order_id=order_id)
    with hub.db.read() as conn:
        if subscription_store.get(conn, subscription_id) is None:
            raise HTTPException(404, f"no subscription {subscription_id}")
        try:
            rows = subscription_store.deliveries(conn, flt, limit=limit, offset=offset)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
    return {"deliveries": rows}
