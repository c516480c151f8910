"""A person's privacy page, ``/customers/{profile_id}/privacy``: download everything orderhub holds on them, or
erase them with a form that names them (typed back: their name or profile id). Admins only, reading as well as
acting: the page itself shows whom it is about. Both go through services/privacy, as the CLI's and the API's do,
recorded as ``console:<username>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from orderhub.entrypoints.http.console import web
from orderhub.services.console.accounts import Session
from orderhub.services.privacy import PrivacyError
from orderhub.services.privacy.erase import Who, erase_person, who
from orderhub.services.privacy.export import export_person

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1


def _admin(session: Session) -> None:
    if not session.may("admin"):
        raise web.Refused(403, f"Your role ({session.role}) may not see a person's privacy page; it needs admin.")


def _person(request: Request, profile_id: int) -> Who:
    if not 0 < profile_id <= MAX_ID:
        raise web.Refused(404, f"There is no customer profile {profile_id}.")
    try:
        with web.hub_of(request).db.read() as conn:
            return who(conn, profile_id)
    except LookupError as exc:
        raise web.Refused(404, str(exc).strip("'\"")) from None
    except PrivacyError as exc:
        raise web.Refused(409, str(exc)) from None


def _page(request: Request, person: Who, status: int = 200, **extra: object) -> Response:
    return web.render(request, "customer_privacy.html", status=status, person=person, **extra)


@router.get("/customers/{profile_id}/privacy")
def privacy_page(request: Request, session: web.Viewer, profile_id: int) -> Response:
    _admin(session)
    return _page(request, _person(request, profile_id))


@router.post("/customers/{profile_id}/privacy/export")
def export(request: Request, session: web.Admin, profile_id: int) -> Response:
    """The archive, downloaded (never cached)."""
    person = _person(request, profile_id)
    try:
        archive = export_person(web.hub_of(request), person.profile_id, actor=f"console:{session.username}",
                                via="console")
    except PrivacyError as exc:
        return _page(request, person, status=409, problem=str(exc))
    return web.secured(Response(archive, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="customer-{profile_id}.zip"', "Cache-Control": "no-store"}))


@router.post("/customers/{profile_id}/privacy/erase")
def erase(request: Request, session: web.Admin, profile_id: int,
          confirm: Annotated[str, Form(max_length=1000)] = "",
          reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    person = _person(request, profile_id)
    if not person.confirms(confirm):
        return _page(request, person, status=422, problem=(
            f"To erase, type the person's name ({person.name}) or their profile id ({profile_id}) exactly."))
    try:
        report = erase_person(web.hub_of(request), profile_id, actor=f"console:{session.username}",
                              reason=reason.strip()[:500] or None, via="console")
    except PrivacyError as exc:
        return _page(request, person, status=409, problem=str(exc))
    return web.render(request, "customer_erased.html", report=report, profile_id=profile_id)
