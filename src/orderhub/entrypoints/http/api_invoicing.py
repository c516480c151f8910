"""The admin API of invoicing in Retail Pro: where orders are, one order's calls, turning it on."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from orderhub.bootstrap import Hub
from orderhub.domain.errors import message
from orderhub.entrypoints.http.api import RowId, hub_of, require_role, require_token
from orderhub.services.invoicing import setup

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]
Params = Annotated[dict[str, str | int | bool], Field(default_factory=dict, max_length=50)]


class SetupBody(BaseModel):
    recipients: str = Field(..., min_length=3, max_length=2000)
    every: str = Field("every-15-minutes", max_length=100)
    transform_delay: str = Field("3m", max_length=16)
    send_delay: str = Field("3m", max_length=16)
    report_delay: str = Field("5m", max_length=16)
    feed_params: Params
    transform_params: Params


@router.get("/invoicing")
def invoicing_status(hub: HubDep) -> dict[str, Any]:
    """Orders and transfer slips by invoicing status, and the open error-log entries of invoicing."""
    return setup.status(hub)


@router.get("/invoicing/orders/{order_id}")
def invoicing_order(order_id: RowId, hub: HubDep) -> dict[str, Any]:
    """One order's invoicing: status, invoice id, slips and every request and response."""
    try:
        return setup.order_view(hub, order_id)
    except LookupError as exc:
        raise HTTPException(404, message(exc)) from None


@router.post("/invoicing/setup", dependencies=[require_role("admin")])
def invoicing_setup(body: SetupBody, hub: HubDep) -> dict[str, Any]:
    """Schedule the feed and chain transform (+3m), send (+3m) and the failure report (+5m, after any run)."""
    plan = setup.Plan(every=body.every, recipients=body.recipients, transform_delay=body.transform_delay,
                      send_delay=body.send_delay, report_delay=body.report_delay,
                      feed_params=dict(body.feed_params), transform_params=dict(body.transform_params))
    try:
        return {"set_up": setup.install(hub, plan)}
    except LookupError as exc:
        raise HTTPException(404, message(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, message(exc)) from None
