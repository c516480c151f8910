"""The admin REST API under /api. Every route needs a bearer token of scope ``api``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, model_validator

from orderhub import nesting
from orderhub.adapters.store import customer_access, error_log, order_queries, tokens
from orderhub.bootstrap import Hub
from orderhub.clock import as_utc
from orderhub.entrypoints.http.auth import bearer_identity
from orderhub.services import errors as error_service


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def require_token(request: Request) -> None:
    """Any valid token of scope ``api`` reads (viewer); the role is kept for :func:`require_role`."""
    identity = bearer_identity(request, hub_of(request), "api")
    if identity is None:
        raise HTTPException(401, "missing or invalid bearer token; create one with `orderhub token create`",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.token_name, request.state.role = identity


def require_role(needed: str) -> Any:
    """A dependency refusing (403) tokens whose role is below ``needed`` (admin > operator > viewer)."""
    def check(request: Request) -> None:
        require_token(request)
        if not tokens.allows(request.state.role, needed):
            raise HTTPException(403, f"this needs a token with role {needed} or above; "
                                     f"this token's role is {request.state.role}")
    return Depends(check)


router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
# Ids and counts the databases can hold: anything larger is refused with 422, not a crash.
MAX_INT = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_INT)]
Ids = Annotated[int, Field(ge=1, le=MAX_INT)]
HubDep = Annotated[Hub, Depends(hub_of)]


@router.get("/orders/{ref}")
def show_order(ref: str, request: Request, hub: HubDep, shop: str | None = None) -> dict[str, Any]:
    """By orderhub id, or by Shopify id or name (``#1001`` or ``1001``) — add ``?shop=`` when several shops
    share it. It shows its customer: the read is kept in the customer's access log."""
    with hub.db.read() as conn:
        try:
            order = order_queries.get_order(conn, order_queries.require_order_id(conn, ref, shop))
        except LookupError as exc:
            raise HTTPException(404, str(exc).strip("'\"")) from None
    assert order is not None
    order["customer_profile_id"] = None
    if order["customer_id"] is not None:
        with hub.db.write() as conn:
            order["customer_profile_id"] = customer_access.record_for_identity(
                conn, int(order["customer_id"]), f"api:{request.state.token_name}", "api", "order",
                f"order {order['name'] or order['id']}")
    return order


def _entry_json(row: Any, full: bool = False) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row._asdict().items()}
    out["attempts"] = orjson.loads(row.attempts)
    if not full:
        out.pop("payload")
    else:
        try:
            parsed = orjson.loads(row.payload)
        except orjson.JSONDecodeError:
            return out  # kept as the text that arrived
        if nesting.too_deep(parsed):  # too deep to encode as an object: kept as the text that arrived
            out["payload_nesting"] = nesting.depth(parsed)
        else:
            out["payload"] = parsed
    return out


def utc_query(value: datetime | None, name: str) -> datetime | None:
    """A time from the query string as an aware UTC time: without an offset (or without a time) it is
    taken as UTC; one outside what can be compared (year 9999 at -12:00) is a 422 naming the parameter."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


def _filter(shop: str | None = None, topic: str | None = None, kind: str | None = None,
            status: str | None = None,
            since: datetime | None = Query(None, description="an ISO 8601 time; without an offset it is UTC"),
            until: datetime | None = Query(None, description="an ISO 8601 time; without an offset it is UTC"),
            q: str | None = Query(None, max_length=200)) -> error_log.ErrorFilter:
    return error_log.ErrorFilter(shop=shop, topic=topic, kind=kind, status=status, since=utc_query(since, "since"),
                                 until=utc_query(until, "until"), search=q)


FilterDep = Annotated[error_log.ErrorFilter, Depends(_filter)]


@router.get("/errors")
def list_errors(hub: HubDep, flt: FilterDep, limit: int = Query(100, ge=1, le=1000),
                offset: int = Query(0, ge=0, le=MAX_INT)) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"total": error_log.count(conn, flt),
                "errors": [_entry_json(r) for r in error_log.list_entries(conn, flt, limit=limit, offset=offset)]}


@router.get("/errors/{entry_id}")
def show_error(entry_id: RowId, hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        row = error_log.get(conn, entry_id)
    if row is None:
        raise HTTPException(404, f"no error-log entry {entry_id}")
    return _entry_json(row, full=True)


class RetryBody(BaseModel):
    payload: Any = Field(None, description="a corrected payload (JSON) to process instead of the stored one")


@router.post("/errors/{entry_id}/retry", dependencies=[require_role("operator")])
def retry_error(entry_id: RowId, hub: HubDep, body: RetryBody | None = None) -> dict[str, Any]:
    payload = None if body is None or body.payload is None else orjson.dumps(body.payload).decode()
    try:
        error_service.retry(hub.db, entry_id, payload, settings=hub.settings)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except error_service.NotRetryable as exc:
        raise HTTPException(409, str(exc)) from None
    return {"id": entry_id, "status": "retrying"}


class DismissBody(BaseModel):
    """Who dismissed is the token's name, never a field of the request: a token cannot record
    someone else as having dismissed an entry."""

    reason: str = Field(..., min_length=1, max_length=2000)

    @model_validator(mode="before")
    @classmethod
    def _no_by(cls, data: Any) -> Any:
        if isinstance(data, dict) and "by" in data:
            raise ValueError("`by` is not accepted: the dismissal is recorded as the bearer token's name "
                             "(api:<name>); send only the reason")
        return data


@router.post("/errors/{entry_id}/dismiss", dependencies=[require_role("operator")])
def dismiss_error(entry_id: RowId, body: DismissBody, hub: HubDep, request: Request) -> dict[str, Any]:
    with hub.db.read() as conn:
        row = error_log.get(conn, entry_id)
    if row is None:
        raise HTTPException(404, f"no error-log entry {entry_id}")
    by = f"api:{request.state.token_name}"
    if error_service.dismiss(hub.db, [entry_id], by=by, reason=body.reason) == 0:
        raise HTTPException(409, f"error {entry_id} is {row.status}; only open entries can be dismissed")
    return {"id": entry_id, "status": "dismissed", "by": by}


@router.post("/errors/retry", dependencies=[require_role("operator")])
def retry_errors(hub: HubDep, flt: FilterDep) -> dict[str, Any]:
    """Bulk retry of every open entry matching the filter."""
    ids = error_service.retry_many(hub.db, flt)
    return {"retried": len(ids), "ids": ids}
