"""Store pages: every store's day, its POS devices and which are silent, its pickups; one store's open pickups,
devices, late and flagged sales and oversells. Anyone signed in reads them; an admin makes enrolment codes
(shown once, on the page that answers the form) and revokes devices, as with the API. At the counter an
operator marks a pickup ready (its verification code shown once, on the answer, like an enrolment code) and
collects it with the customer's code; an admin resets a pickup locked by wrong codes. Each step goes through
services/pickups, as the CLI's and the API's do, attributed to ``console:<username>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from sqlalchemy import Connection
from starlette.responses import Response

from orderhub.adapters.store import pickup_store, pos_devices, stores
from orderhub.clock import utcnow
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.entrypoints.http.console import web
from orderhub.services import pickups, pos_alerts
from orderhub.services.console import stores_view
from orderhub.services.console.accounts import Session

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
MAX_ID = 2**63 - 1
MAX_CODE = 64  # longer than any verification code: refused before it is counted or hashed (as the API does)


def _store_url(code: str) -> str:
    return "/stores/" + quote(code, safe="")


@router.get("/stores")
def stores_page(request: Request, session: web.Viewer) -> Response:
    hub = web.hub_of(request)
    with hub.db.read() as conn:
        page = stores_view.list_page(conn, utcnow(), pos_alerts.silent_after(hub.settings))
    return web.render(request, "stores.html", **page)


def _render_store(request: Request, code: str, status: int = 200, **extra: Any) -> Response:
    hub = web.hub_of(request)
    with hub.db.read() as conn:
        page = stores_view.store_page(conn, code, utcnow(), pos_alerts.silent_after(hub.settings))
    if page is None:
        raise web.Refused(404, f"There is no store {code}; see the list of stores.")
    return web.render(request, "stores_store.html", status=status, **page, **extra)


@router.get("/stores/{code}")
def store_page(request: Request, session: web.Viewer, code: str) -> Response:
    return _render_store(request, code)


@router.post("/stores/{code}/device-codes")
def make_code(request: Request, session: web.Admin, code: str) -> Response:
    """The code is on this answer only: not in a redirect, a cookie or a log."""
    with web.hub_of(request).db.write() as conn:
        try:
            store = stores.get(conn, code)
        except LookupError:
            raise web.Refused(404, f"There is no store {code}; see the list of stores.") from None
        enrolment, expires = pos_devices.new_code(conn, store.id, actor=f"console:{session.username}")
    return _render_store(request, code, status=201, new_code=enrolment, new_code_expires=expires)


@router.post("/stores/{code}/devices/{device_id}/revoke")
def revoke(request: Request, session: web.Admin, code: str, device_id: int) -> Response:
    with web.hub_of(request).db.write() as conn:
        try:
            device = stores.find_device(conn, str(device_id), code)
        except LookupError:
            raise web.Refused(404, f"Store {code} has no device {device_id}; see the store's page.") from None
        done = pos_devices.revoke(conn, device.id, actor=f"console:{session.username}")
    said = "revoked: it can no longer sync" if done else "was revoked already"
    return web.go(request, _store_url(device.store), f"Device {device.name} of store {device.store} {said}.")


# -- pickups at the counter ------------------------------------------------------------------------------------

def _pickup_order(conn: Connection, code: str, ref: str) -> int:
    """The id of an order collected at store ``code``; anything else is a page that is not there."""
    try:
        store = stores.get(conn, code)
    except LookupError:
        raise web.Refused(404, f"There is no store {code}; see the list of stores.") from None
    if not ref.isdigit() or len(ref) > 18 or not 0 < int(ref) <= MAX_ID \
            or pickup_store.store_of_order(conn, int(ref)) != store.code:
        raise web.Refused(404, f"Store {store.code} has no pickup order {ref[:30]}; see its open pickups on "
                               "the store's page.")
    return int(ref)


def _at_counter(request: Request, code: str, ref: str, step: Callable[[Connection, int], T]) -> T | Response:
    """One pickup step in one transaction (committed when the step returns, a refused code's count too); the
    store's page again with why when the service refuses (nothing changed then)."""
    try:
        with web.hub_of(request).db.write() as conn:
            return step(conn, _pickup_order(conn, code, ref))
    except ValueError as exc:  # a step the pickup's or the order's state does not allow; a bad value
        refused = isinstance(exc, (pickups.PickupError, IllegalTransition))
        return _render_store(request, code, status=409 if refused else 422, problem=str(exc).strip("'\""))
    except LookupError as exc:
        raise web.Refused(404, str(exc).strip("'\"")) from None


def _actor(session: Session) -> str:
    return f"console:{session.username}"


def _sentence(said: str) -> str:
    return said[:1].upper() + said[1:] + "."


@router.post("/stores/{code}/pickups/{ref}/ready")
def pickup_ready(request: Request, session: web.Operator, code: str, ref: str) -> Response:
    """The verification code is on this answer only (the customer has it by e-mail): not in a redirect, a
    cookie or a log."""
    days = web.hub_of(request).settings.pickup_days
    done = _at_counter(request, code, ref, lambda conn, order_id: pickups.ready(
        conn, order_id, actor=_actor(session), default_days=days))
    if isinstance(done, Response):
        return done
    return _render_store(request, code, ready=done)


@router.post("/stores/{code}/pickups/{ref}/collect")
def pickup_collect(request: Request, session: web.Operator, code: str, ref: str,
                   verification_code: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    """The right code hands the order over; a wrong one is counted (403, with the tries left), and the
    pickup locks after too many (423). An empty or over-long code is refused without counting."""
    if not verification_code.strip() or len(verification_code) > MAX_CODE:
        with web.hub_of(request).db.read() as conn:
            _pickup_order(conn, code, ref)
        return _render_store(request, code, status=422, problem=(
            "Type the verification code the customer shows (8 letters and digits) to collect the order."))
    attempt = _at_counter(request, code, ref, lambda conn, order_id: pickups.collect(
        conn, order_id, verification_code, actor=_actor(session)))
    if isinstance(attempt, Response):
        return attempt
    if not attempt.collected:
        return _render_store(request, code, status=423 if attempt.locked else 403, problem=attempt.message)
    return web.go(request, _store_url(code), _sentence(attempt.message))


@router.post("/stores/{code}/pickups/{ref}/reset")
def pickup_reset(request: Request, session: web.Admin, code: str, ref: str) -> Response:
    said = _at_counter(request, code, ref, lambda conn, order_id: pickups.reset(conn, order_id,
                                                                               actor=_actor(session)))
    if isinstance(said, Response):
        return said
    return web.go(request, _store_url(code), _sentence(said))
