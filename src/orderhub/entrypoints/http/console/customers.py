"""Customer pages: find a profile by an exact e-mail address, phone number or loyalty id; a profile's page with
its identities, orders from every channel, lifetime value, consent and merges, and who read it. Anyone signed in
reads them (each read is kept in the profile's access log); an admin merges profiles, undoes a merge, splits an
identity off and sets a consent, through services/customer_admin as the CLI and the API do, attributed to
``console:<username>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import Connection
from starlette.responses import Response

from orderhub.adapters.store import customer_access, customer_views
from orderhub.entrypoints.http.console import web
from orderhub.services import customer_admin
from orderhub.services.console import customers_view
from orderhub.services.console.accounts import Session

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1
Reason = Annotated[str, Form(max_length=customer_admin.MAX_REASON)]
Short = Annotated[str, Form(max_length=255)]


def _actor(session: Session) -> str:
    return f"console:{session.username}"


def _id(ref: str, what: str = "customer profile") -> int:
    if not ref.isdigit() or len(ref) > 19 or not 0 < int(ref) <= MAX_ID:
        raise web.Refused(404, f"There is no {what} {ref[:30]!r}; find a customer by e-mail, phone or loyalty id.")
    return int(ref)


def _url(profile_id: int) -> str:
    return f"/customers/{profile_id}"


@router.get("/customers")
def customers_page(request: Request, session: web.Viewer) -> Response:
    found = customers_view.parse({k: v[:320] for k, v in request.query_params.items()})
    if found.asked:
        hub = web.hub_of(request)
        with hub.db.read() as conn:
            customers_view.search(conn, found)
        if found.results:
            with hub.db.write() as conn:
                customer_access.record(conn, (s.id for s in found.results), _actor(session), "console", "search",
                                       customers_view.searched_by(found))
    return web.render(request, "customers.html", status=422 if found.problem else 200, search=found)


def _render_profile(request: Request, session: Session, profile_id: int, status: int = 200,
                    **extra: Any) -> Response:
    hub = web.hub_of(request)
    with hub.db.read() as conn:
        page = customers_view.profile_page(conn, profile_id)
    if page is None:
        raise web.Refused(404, f"There is no customer profile {profile_id}; find one by e-mail, phone or loyalty id.")
    with hub.db.write() as conn:  # the page shows the person's data: kept in the access log
        customer_access.record(conn, [profile_id], _actor(session), "console", "profile", _url(profile_id))
        page["access"] = customer_access.of_profiles(conn, [profile_id, *page["p"].merged_in],
                                                     limit=customers_view.ACCESS_ROWS)  # this read among them
    return web.render(request, "customers_profile.html", status=status, **page, **extra)


@router.get("/customers/{ref}")
def profile_page(ref: str, request: Request, session: web.Viewer) -> Response:
    """A profile merged into another is the other's page, saying so."""
    profile_id = _id(ref)
    with web.hub_of(request).db.read() as conn:
        live = customer_views.live(conn, profile_id)
    if live is None:
        raise web.Refused(404, f"There is no customer profile {profile_id}; find one by e-mail, phone or loyalty id.")
    if live != profile_id:
        return web.go(request, _url(live), f"Customer profile {profile_id} was merged into profile {live}: "
                                           f"this is {live}.")
    return _render_profile(request, session, live)


def _change(request: Request, session: Session, back: int, step: Callable[[Connection], tuple[int, str]]) -> Response:
    """One change in one transaction; then the profile it leaves to look at, with what happened - or the page it
    was asked from, saying why it was refused (409 or 422; nothing changed)."""
    try:
        with web.hub_of(request).db.write() as conn:
            target, message = step(conn)
    except customer_admin.NotFound as exc:
        raise web.Refused(404, str(exc)) from None
    except ValueError as exc:  # Conflict, Invalid
        status = 409 if isinstance(exc, customer_admin.Conflict) else 422
        with web.hub_of(request).db.read() as conn:
            live = customer_views.live(conn, back)
        if live is None:
            raise web.Refused(status, str(exc)) from None
        return _render_profile(request, session, live, status=status, problem=str(exc))
    return web.go(request, _url(target), message)


@router.post("/customers/{ref}/merge")
def merge(request: Request, session: web.Admin, ref: str, other: Short = "", reason: Reason = "") -> Response:
    """Merge profile ``other`` into this one."""
    kept = _id(ref)
    if not other.strip().isdigit() or len(other.strip()) > 19:
        return _render_profile(request, session, kept, status=422,
                               problem="Give the number of the customer profile to merge into this one.")

    def step(conn: Connection) -> tuple[int, str]:
        merged = int(other.strip())
        merge_id = customer_admin.merge(conn, kept, merged, actor=_actor(session), reason=reason)
        return kept, f"Profile {merged} merged into this one (merge {merge_id}); undo it below if it was a mistake."

    return _change(request, session, kept, step)


@router.post("/customers/merges/{ref}/undo")
def undo(request: Request, session: web.Admin, ref: str, back: Short = "", reason: Reason = "") -> Response:
    merge_id = _id(ref, "customer merge")

    def step(conn: Connection) -> tuple[int, str]:
        kept, restored = customer_admin.unmerge(conn, merge_id, actor=_actor(session), reason=reason)
        return kept, f"Merge {merge_id} undone: profile {restored} is apart from this one again."

    return _change(request, session, int(back) if back.isdigit() and len(back) <= 19 else 0, step)


@router.post("/customers/identities/{ref}/split")
def split(request: Request, session: web.Admin, ref: str, back: Short = "") -> Response:
    identity_id = _id(ref, "customer identity")

    def step(conn: Connection) -> tuple[int, str]:
        old, new = customer_admin.split(conn, identity_id, actor=_actor(session))
        return new, f"Identity {identity_id} is this profile now" + (f", kept apart from profile {old}." if old
                                                                      else ".")

    return _change(request, session, int(back) if back.isdigit() and len(back) <= 19 else 0, step)


@router.post("/customers/{ref}/consent")
def consent(request: Request, session: web.Admin, ref: str, purpose: Short = "", state: Short = "",
            scope: Short = "*", note: Reason = "") -> Response:
    profile_id = _id(ref)

    def step(conn: Connection) -> tuple[int, str]:
        done = customer_admin.set_consent(conn, profile_id, purpose, state, scope=scope, source="console",
                                          actor=_actor(session), note=note)
        where = "every channel" if scope.strip() in ("", "*") else scope.strip()
        if not done.recorded:
            return done.profile_id, "That consent was recorded already; nothing changed."
        told = ", ".join(done.sent_to) if done.sent_to else "no channel (none of the person's accounts keeps it)"
        return done.profile_id, f"Consent to {purpose.replace('_', ' ')} set to {state} on {where}; sent to {told}."

    return _change(request, session, profile_id, step)
