"""The admin API for reconciliation: run one (operator), list reports and read one (any token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from orderhub.adapters.shopify.graphql import AuthError, ShopifyError
from orderhub.adapters.store.shops import by_domain
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.api import hub_of, require_role, require_token
from orderhub.services import reconcile as service

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]


class NewReconciliation(BaseModel):
    shop: str = Field(..., min_length=1, max_length=255, description="the shop's domain")
    since: str = Field("24h", min_length=1, max_length=64,
                       description="a duration (6h, 2d, 90m) or an ISO 8601 time; not in the future")
    reingest: bool = Field(True, description="put missing and stale orders in the inbox")


@router.post("/reconciliations", status_code=201, dependencies=[require_role("operator")])
def run_reconciliation(body: NewReconciliation, request: Request, hub: HubDep) -> dict[str, Any]:
    """Run a reconciliation now and answer with its report (findings included)."""
    with hub.db.read() as conn:
        shop = by_domain(conn, body.shop)
    if shop is None:
        raise HTTPException(404, f"no shop {body.shop.strip().lower()}; add it with `orderhub shop add`")
    try:
        since = service.parse_since(body.since)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    actor = f"api:{getattr(request.state, 'token_name', '?')}"
    try:
        report = service.reconcile(hub, shop.domain, since, actor=actor, reingest=body.reingest)
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except ValueError as exc:  # no access token, uninstalled
        raise HTTPException(409, str(exc)) from None
    except AuthError as exc:
        raise HTTPException(502, f"Shopify refused orderhub: {exc}") from None
    except ShopifyError as exc:
        raise HTTPException(502, f"Shopify: {exc}") from None
    return report.to_json()


@router.get("/reconciliations")
def list_reconciliations(hub: HubDep, shop: str | None = Query(None, max_length=255),
                         limit: int = Query(50, ge=1, le=500),
                         offset: int = Query(0, ge=0, le=2**63 - 1)) -> dict[str, Any]:
    """Reports, newest first, without their findings."""
    with hub.db.read() as conn:
        return {"total": service.count_reports(conn, shop=shop),
                "reconciliations": [r.to_json(with_findings=False)
                                    for r in service.list_reports(conn, shop=shop, limit=limit, offset=offset)]}


@router.get("/reconciliations/{reconciliation_id}")
def show_reconciliation(hub: HubDep, reconciliation_id: int = Path(..., ge=1, le=2**63 - 1)) -> dict[str, Any]:
    with hub.db.read() as conn:
        report = service.get_report(conn, reconciliation_id)
    if report is None:
        raise HTTPException(404, f"no reconciliation {reconciliation_id}")
    return report.to_json()
