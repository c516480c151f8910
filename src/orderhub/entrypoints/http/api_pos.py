"""The POS sync API, for store terminals (orderhub's own; any POS can speak it).

- ``POST /api/pos/enrol`` trades a one-time enrolment code for a device credential scoped to its store.
- ``POST /api/pos/sales`` takes a batch of sales made on the device (``Authorization: Bearer ohpos_...``):
  each sale is stored once before the answer, applied at once, and answered one by one
  (services/pos_sync.py). The body is read within ORDERHUB_POS_MAX_BATCH_BYTES, the deadline and the shared
  body budget (bodies.py); a batch that cannot be read as a whole gets 400 and nothing of it is stored.
- ``GET /api/pos/device`` tells a device what orderhub knows of it (it checks its credential this way).

A wrong, revoked or missing credential gets 401 before the body is read.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orderhub.adapters.store import pos_devices
from orderhub.adapters.store.pos_devices import Device, EnrolmentRefused
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.http import bodies
from orderhub.services.pos_sync import BadBatch, PosSync, read_batch

router = APIRouter()
NOT_AUTHENTICATED = "device not authenticated: missing, unknown or revoked device credential (Authorization: Bearer)"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status,
                    headers={"content-type": "application/json", **(headers or {})})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": message}, headers)


async def _body(request: Request, hub: Hub, limit: int) -> bytes | Response:
    try:
        return await bodies.read_within(request.headers, request.receive, request.app.state.body_budget, limit,
                                        hub.settings)
    except bodies.Refused as refused:
        return refused.response()
    except bodies.ClientGone:
        return _error(400, "the client disconnected before the body was complete", {"connection": "close"})


def _device(request: Request, hub: Hub) -> Device | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with hub.db.read() as conn:
        return pos_devices.identify(conn, token.strip())


def _sync(request: Request) -> PosSync:
    found = getattr(request.app.state, "pos_sync", None)
    if found is None:
        found = request.app.state.pos_sync = PosSync(request.app.state.hub.db)
    return found


class Enrolment(BaseModel):
    code: str = Field(..., min_length=1, max_length=40, description="the one-time code from `orderhub device code`")
    name: str = Field(..., min_length=1, max_length=pos_devices.NAME_MAX, description="the device's name in its store")
    version: str | None = Field(None, max_length=64, description="the POS software's version")


@router.post("/api/pos/enrol", tags=["pos"], openapi_extra={"x-orderhub-credential": "enrolment-code"})
async def enrol(request: Request) -> Response:
    """Enrol a device with a one-time code: the answer holds its credential, shown this once."""
    hub: Hub = request.app.state.hub
    body = await _body(request, hub, 4096)
    if isinstance(body, Response):
        return body
    try:
        given = Enrolment.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        return _error(400, f"not an enrolment: {problems[:500]}")

    def work() -> tuple[Device, str]:
        with hub.db.write() as conn:
            return pos_devices.enrol(conn, given.code, given.name, given.version)

    try:
        device, token = await run_in_threadpool(work)
    except EnrolmentRefused as exc:
        return _error(403, str(exc))
    except ValueError as exc:
        return _error(400, str(exc))
    return _json(201, {"device": {"id": device.id, "name": device.name, "store": device.store},
                       "credential": token, "sales_url": "/api/pos/sales"})


@router.post("/api/pos/sales", tags=["pos"], openapi_extra={"x-orderhub-credential": "device"})
async def sales(request: Request) -> Response:
    """Sync a batch of sales: ``{"device": {version, queue_length, oldest_queued_at}, "sales": [...]}``."""
    hub: Hub = request.app.state.hub
    device = await run_in_threadpool(_device, request, hub)
    if device is None:  # refused on the headers: the body is not read, the connection ends
        return _error(401, NOT_AUTHENTICATED, {"connection": "close", "www-authenticate": "Bearer"})
    body = await _body(request, hub, hub.settings.pos_max_batch_bytes)
    if isinstance(body, Response):
        return body
    try:
        batch, report = read_batch(body)
    except BadBatch as exc:
        return _error(400, f"batch from device {device.name} of {device.store} not taken, keep it and send it "
                           f"again once corrected: {exc}")
    sync = _sync(request)
    if not batch:
        await run_in_threadpool(sync.report_only, device, report)
        return _json(200, {"results": [], "server_time": utcnow().isoformat()})
    results = await run_in_threadpool(sync.take, device, batch, report)
    return _json(200, {"results": [r.public() for r in results], "server_time": utcnow().isoformat()})


@router.get("/api/pos/device", tags=["pos"], openapi_extra={"x-orderhub-credential": "device"})
async def whoami(request: Request) -> Response:
    """What orderhub knows of the calling device (its store, last sync, last sequence received)."""
    hub: Hub = request.app.state.hub
    device = await run_in_threadpool(_device, request, hub)
    if device is None:
        return _error(401, NOT_AUTHENTICATED, {"www-authenticate": "Bearer"})
    return _json(200, device.public())
