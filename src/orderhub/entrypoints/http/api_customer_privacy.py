"""The admin API of a person's privacy requests: ``POST /api/customers/{profile_id}/export`` answers a zip
archive of everything orderhub holds on them; ``POST /api/customers/{profile_id}/erase`` erases them (the body
confirms whom, by their name or profile id) and answers what was done. Both need an admin token, and both are
recorded in ``privacy_requests`` and the customer access log as the token's name (``api:<name>``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.api import hub_of, require_role, require_token
from orderhub.entrypoints.http.api_oms import actor
from orderhub.services.privacy import PrivacyError
from orderhub.services.privacy.erase import erase_person, who
from orderhub.services.privacy.export import export_person

router = APIRouter(prefix="/api/customers", dependencies=[Depends(require_token)], tags=["customers"])
HubDep = Annotated[Hub, Depends(hub_of)]
ADMIN = [require_role("admin")]
ProfileId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the person's customer profile")]


def _refused(exc: Exception) -> HTTPException:
    return HTTPException(404 if isinstance(exc, LookupError) else 409, str(exc).strip("'\""))


@router.post("/{profile_id}/export", dependencies=ADMIN, response_class=Response,
             responses={200: {"content": {"application/zip": {}},
                              "description": "the archive: manifest.json, person.json, tables/, raw/, files/, sftp/"}})
def export(profile_id: ProfileId, request: Request, hub: HubDep) -> Response:
    """Everything orderhub holds on the person, as a zip archive (admin)."""
    try:
        archive = export_person(hub, profile_id, actor=actor(request), via="api")
    except (LookupError, PrivacyError) as exc:
        raise _refused(exc) from None
    return Response(archive, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="customer-{profile_id}.zip"', "Cache-Control": "no-store"})


class Erasure(BaseModel):
    confirm: str = Field(min_length=1, max_length=300,
                         description="the person's name (as the profile shows it) or their profile id")
    reason: str | None = Field(None, max_length=500, description="why (kept with the request's record)")


@router.post("/{profile_id}/erase", dependencies=ADMIN)
def erase(profile_id: ProfileId, body: Erasure, request: Request, hub: HubDep) -> dict[str, Any]:
    """Erase the person everywhere orderhub holds them (admin); what the law keeps stays under a pseudonym. The
    body must name the person (or their profile id): a request about someone else is refused (422)."""
    try:
        with hub.db.read() as conn:
            person = who(conn, profile_id)
        if not person.confirms(body.confirm):
            raise HTTPException(422, f"'confirm' does not name the person of profile {profile_id}: give their name "
                                     "as the profile shows it, or the profile id")
        return erase_person(hub, profile_id, actor=actor(request), reason=body.reason, via="api").to_dict()
    except (LookupError, PrivacyError) as exc:
        raise _refused(exc) from None
