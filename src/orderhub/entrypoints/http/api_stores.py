"""The admin API for stores and their POS devices: each store's day of sales, devices, late and flagged sales
and oversells (``/api/stores``), a store's settings, one-time enrolment codes, and the devices themselves
(``/api/devices``).

Reading needs any token (viewer); changing a store's settings needs operator; making an enrolment code and
revoking a device need admin (they hand out and take back a store's credentials). The device-facing sync API
is another door (``/api/pos``), with the devices' own credentials.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import pos_devices, store_views, stores
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.http.api import MAX_INT, hub_of, require_role, require_token
from orderhub.services import pos_alerts

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], tags=["stores"])
HubDep = Annotated[Hub, Depends(hub_of)]
OPERATOR = [require_role("operator")]
ADMIN = [require_role("admin")]
Code = Annotated[str, Path(min_length=1, max_length=64)]
DeviceId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=store_views.MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
Day = Annotated[date | None, Query(description="the store's local day (YYYY-MM-DD); default today there")]


def _store(conn: Any, code: str) -> stores.Store:
    try:
        return stores.get(conn, code)
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None


@router.get("/stores")
def list_stores(hub: HubDep) -> dict[str, Any]:
    """Every store with its day of sales (the store's local day: its time zone), devices and silent devices, and
    its pickups waiting, ready and overdue (``pickups``; the overdue are among the ready)."""
    with hub.db.read() as conn:
        found = store_views.summaries(conn, utcnow(), pos_alerts.silent_after(hub.settings))
    return {"stores": [s.public() for s in found]}


@router.get("/stores/{code}")
def show_store(code: Code, hub: HubDep) -> dict[str, Any]:
    """One store: its day, its devices, its pickup counts, and its late and flagged sales and oversells of the
    last 7 days (50 of each at most; /sales and /variances page through all)."""
    now, threshold = utcnow(), pos_alerts.silent_after(hub.settings)
    since = now - store_views.RECENT
    with hub.db.read() as conn:
        store = _store(conn, code)
        summary = store_views.summary(conn, store, now, threshold)
        return summary.public() | {
            "devices": [d.public() for d in store_views.device_lines(conn, store.id, now, threshold)],
            "late_sales": [s.public() for s in store_views.sales(conn, store, late_after=threshold, since=since,
                                                                 late=True, limit=50)],
            "flagged_sales": [s.public() for s in store_views.sales(conn, store, late_after=threshold, since=since,
                                                                    flagged=True, limit=50)],
            "oversells": store_views.variances(conn, store.id, since=since, limit=50)}


class StoreSettings(BaseModel):
    online_safety_stock: int | None = Field(None, ge=0, le=facility_store.SAFETY_STOCK_MAX,
                                            description="units of every SKU kept back from online selling")
    timezone: Annotated[str, Field(max_length=stores.TIMEZONE_MAX)] | None = Field(
        None, description="IANA time zone of the store's day, e.g. Europe/Paris; null or '' for UTC")


@router.patch("/stores/{code}", dependencies=OPERATOR)
def change_store(code: Code, body: StoreSettings, hub: HubDep) -> dict[str, Any]:
    """Change the settings the body names (a field left out stays as it is)."""
    changes: dict[str, Any] = {}
    if "online_safety_stock" in body.model_fields_set and body.online_safety_stock is not None:
        changes["online_safety_stock"] = body.online_safety_stock
    if "timezone" in body.model_fields_set:
        changes["timezone_name"] = body.timezone or ""
    try:
        with hub.db.write() as conn:
            store, changed = stores.change(conn, code, **changes)
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return store.public() | {"listings_to_send": changed}


@router.get("/stores/{code}/sales")
def store_sales(code: Code, hub: HubDep, day: Day = None, late: bool = False, flagged: bool = False,
                limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The sales of one of the store's days, newest first; ``late`` and/or ``flagged`` keep only those."""
    with hub.db.read() as conn:
        store = _store(conn, code)
        wanted = day or store.day_of(utcnow())
        found = store_views.sales(conn, store, late_after=pos_alerts.silent_after(hub.settings), day=wanted,
                                  late=late, flagged=flagged, limit=limit, offset=offset)
    return {"store": store.code, "day": wanted.isoformat(), "sales": [s.public() for s in found]}


@router.get("/stores/{code}/variances")
def store_variances(code: Code, hub: HubDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The store's oversells, newest first."""
    with hub.db.read() as conn:
        store = _store(conn, code)
        return {"store": store.code, "variances": store_views.variances(conn, store.id, limit=limit, offset=offset)}


@router.post("/stores/{code}/device-codes", status_code=201, dependencies=ADMIN)
def new_device_code(code: Code, hub: HubDep, request: Request) -> dict[str, Any]:
    """A one-time code that enrols one POS device into the store, valid 24 hours. It is shown in this answer
    only (orderhub keeps its hash)."""
    with hub.db.write() as conn:
        store = _store(conn, code)
        enrolment, expires = pos_devices.new_code(conn, store.id, actor=f"api:{request.state.token_name}")
    return {"store": store.code, "code": enrolment, "expires_at": expires.isoformat()}


@router.get("/devices")
def list_devices(hub: HubDep, store: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                 silent: bool = False) -> dict[str, Any]:
    """POS devices (of one store with ``store``), with whether each is silent and how long its queue waits."""
    now, threshold = utcnow(), pos_alerts.silent_after(hub.settings)
    with hub.db.read() as conn:
        store_id = _store(conn, store).id if store else None
        lines = store_views.device_lines(conn, store_id, now, threshold, silent_only=silent)
    return {"devices": [d.public() for d in lines]}


def _device(conn: Any, device_id: int) -> pos_devices.Device:
    found = pos_devices.get(conn, device_id)
    if found is None:
        raise HTTPException(404, f"no POS device {device_id}; GET /api/devices lists them")
    return found


@router.get("/devices/{device_id}")
def show_device(device_id: DeviceId, hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return store_views.one_device_line(conn, _device(conn, device_id), utcnow(),
                                           pos_alerts.silent_after(hub.settings)).public()


@router.post("/devices/{device_id}/revoke", dependencies=ADMIN)
def revoke_device(device_id: DeviceId, hub: HubDep, request: Request) -> dict[str, Any]:
    """The device's credential stops working at once; a till enrolled again needs a new code."""
    with hub.db.write() as conn:
        found = _device(conn, device_id)
        if not pos_devices.revoke(conn, found.id, actor=f"api:{request.state.token_name}"):
            raise HTTPException(409, f"device {found.name} (id {found.id}) of store {found.store} was revoked "
                                     "already; enrol the till again with a new code")
        gone = pos_devices.get(conn, found.id)
        assert gone is not None
        return store_views.one_device_line(conn, gone, utcnow(), pos_alerts.silent_after(hub.settings)).public()
