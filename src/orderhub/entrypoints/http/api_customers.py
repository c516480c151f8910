"""The admin API for customer profiles (``/api/customers``): find a profile by an exact e-mail address, phone
number or loyalty id, read one (identities, orders from every channel, lifetime value, consent, merges) and who
read it, merge two and undo a merge, split an identity off, set a consent, and the keys that link each channel
kind's identities.

Everything here is a person's data or changes it: every route needs an admin token, and every read of a
person's data is kept in the profile's access log (``customer_access_log``) under the token's name. A profile
merged into another answers with the one it was merged into, and says so (``asked_for``, ``merged_into``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from orderhub.adapters.store import customer_access, customer_views
from orderhub.bootstrap import Hub
from orderhub.domain.customers import EVERYWHERE, KEYS, MAX_EMAIL, MAX_LOYALTY
from orderhub.entrypoints.http.api import MAX_INT, hub_of, require_role
from orderhub.services import customer_admin
from orderhub.services.customer_admin import Conflict, Invalid, NotFound

router = APIRouter(prefix="/api/customers", dependencies=[require_role("admin")], tags=["customers"])
HubDep = Annotated[Hub, Depends(hub_of)]
Id = Annotated[int, Path(ge=1, le=MAX_INT)]
T = TypeVar("T")
Reason = Annotated[str | None, Field(None, max_length=customer_admin.MAX_REASON)]


def _actor(request: Request) -> str:
    return f"api:{request.state.token_name}"


@contextmanager
def _answers() -> Iterator[None]:
    """A refusal as the status that says which: 404 not there, 409 its state does not allow it, 422 the request
    is wrong; the message names the record."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    except (Invalid, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None


def _write(hub: Hub, step: Callable[[Any], T]) -> T:
    with _answers(), hub.db.write() as conn:
        return step(conn)


# -- finding and reading -----------------------------------------------------------------------------------------


@router.get("")
def search_customers(request: Request, hub: HubDep,
                     email: Annotated[str | None, Query(max_length=MAX_EMAIL)] = None,
                     phone: Annotated[str | None, Query(max_length=64, description="any way of writing it")] = None,
                     region: Annotated[str | None, Query(min_length=2, max_length=2, description=(
                         "the country of a phone number given without its country code, e.g. DE"))] = None,
                     loyalty: Annotated[str | None, Query(max_length=MAX_LOYALTY)] = None) -> dict[str, Any]:
    """Profiles with an identity of exactly this e-mail address (any case), phone number or loyalty id (names
    are not searched). Each profile found is recorded as read."""
    with _answers():
        customer_views.check_search(email, phone, loyalty, region)
    with hub.db.read() as conn:
        found = customer_views.search(conn, email=email, phone=phone, loyalty=loyalty, region=region)
    if found:
        by = " or ".join(k for k, v in (("e-mail", email), ("phone", phone), ("loyalty id", loyalty)) if v)
        with hub.db.write() as conn:
            customer_access.record(conn, (s.id for s in found), _actor(request), "api", "search", f"by {by}")
    return {"profiles": [s.public() for s in found]}


@router.get("/rules")
def show_rules(hub: HubDep) -> dict[str, Any]:
    """The keys that link the identities of each channel kind."""
    with hub.db.read() as conn:
        return {"rules": customer_admin.rules_table(conn)}


class Rule(BaseModel):
    kind: str = Field(max_length=16, description="a channel kind: shopify, amazon, walmart, tiktok, pos")
    keys: list[str] = Field(max_length=len(KEYS), description=f"the keys it links by, of {', '.join(KEYS)}")


@router.put("/rules")
def set_rules(body: Rule, request: Request, hub: HubDep) -> dict[str, Any]:
    """Let one channel kind link by exactly these keys (an empty list: by none). Identities stored already keep
    their keys until `orderhub customer relink` works them out again."""
    def step(conn: Any) -> dict[str, list[str]]:
        customer_admin.set_rule(conn, body.kind, body.keys, actor=_actor(request))
        return customer_admin.rules_table(conn)

    rules = _write(hub, step)
    return {"kind": body.kind, "keys": rules[body.kind], "rules": rules,
            "note": "identities stored already keep their keys: run `orderhub customer relink` to link them again"}


@router.get("/{profile_id}")
def show_customer(profile_id: Id, request: Request, hub: HubDep,
                  orders: Annotated[int, Query(ge=1, le=customer_views.MAX_ORDERS, description=(
                      "at most this many of the newest orders"))] = 100) -> dict[str, Any]:
    """One profile: its identities, its newest orders from every channel (``orders_total`` counts them all),
    lifetime value by sales channel and currency (cancelled orders not counted, refunds taken off), consent in
    force and its history, and its merges. Recorded as read."""
    with hub.db.read() as conn:
        live = customer_views.live(conn, profile_id)
        found = None if live is None else customer_views.profile(conn, live, orders_limit=orders)
    if live is None or found is None:
        raise HTTPException(404, f"no customer profile {profile_id}; GET /api/customers?email=... finds one")
    with hub.db.write() as conn:
        customer_access.record(conn, [live], _actor(request), "api", "profile", f"GET /api/customers/{profile_id}")
    return found.public() | {"asked_for": profile_id, "merged_into": live if live != profile_id else None}


@router.get("/{profile_id}/access")
def who_read(profile_id: Id, hub: HubDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Who read the profile's data (and that of profiles merged into it), newest first."""
    with hub.db.read() as conn:
        live = customer_views.live(conn, profile_id)
        if live is None:
            raise HTTPException(404, f"no customer profile {profile_id}")
        rows = customer_access.of_profiles(conn, [live, *customer_views.merged_in(conn, live)], limit=limit)
    return {"profile_id": live, "access": [{"at": r.at.isoformat(), "profile_id": r.profile_id, "actor": r.actor,
                                            "via": r.via, "what": r.what, "detail": r.detail} for r in rows]}


# -- changes -----------------------------------------------------------------------------------------------------


class Merge(BaseModel):
    kept: int = Field(ge=1, le=MAX_INT, description="the profile that stays")
    merged: int = Field(ge=1, le=MAX_INT, description="the profile merged into it")
    reason: Reason


@router.post("/merge", status_code=201)
def merge_customers(body: Merge, request: Request, hub: HubDep) -> dict[str, Any]:
    """Merge one profile into another: its identities (their orders follow) and consent move. A person's merge
    also lifts an earlier keep-apart of the two."""
    merge_id = _write(hub, lambda conn: customer_admin.merge(conn, body.kept, body.merged, actor=_actor(request),
                                                             reason=body.reason))
    return {"merge_id": merge_id, "kept": body.kept, "merged": body.merged}


class Undo(BaseModel):
    reason: Reason


@router.post("/merges/{merge_id}/undo")
def undo_merge(merge_id: Id, request: Request, hub: HubDep, body: Undo | None = None) -> dict[str, Any]:
    """Undo a merge: what it moved goes back to the merged profile, which rules keep apart from the other."""
    kept, back = _write(hub, lambda conn: customer_admin.unmerge(conn, merge_id, actor=_actor(request),
                                                                 reason=body.reason if body else None))
    return {"merge_id": merge_id, "kept": kept, "restored": back}


@router.post("/identities/{identity_id}/split", status_code=201)
def split_identity(identity_id: Id, request: Request, hub: HubDep) -> dict[str, Any]:
    """Take one identity (and its orders) out of its profile into a new profile, kept apart from the old."""
    old, new = _write(hub, lambda conn: customer_admin.split(conn, identity_id, actor=_actor(request)))
    return {"identity_id": identity_id, "profile_id": new, "apart_from": old}


class Consent(BaseModel):
    purpose: str = Field(max_length=32, description="email_marketing, sms_marketing, personalisation or "
                                                    "third_party_sharing")
    state: str = Field(max_length=16, description="granted, pending, withdrawn or not_given")
    scope: str = Field(EVERYWHERE, max_length=255, description="* for every channel, or an account's name")
    note: Reason


@router.post("/{profile_id}/consent", status_code=201)
def set_consent(profile_id: Id, body: Consent, request: Request, hub: HubDep) -> dict[str, Any]:
    """Record the person's choice for one purpose, as they told the retailer; it is owed to the channels that
    keep that preference (``sent_to``). On a merged profile it is recorded on the one it was merged into."""
    done = _write(hub, lambda conn: customer_admin.set_consent(
        conn, profile_id, body.purpose, body.state, scope=body.scope, source="api", actor=_actor(request),
        note=body.note))
    return {"profile_id": done.profile_id, "asked_for": done.asked_for,
            "merged_into": done.profile_id if done.profile_id != profile_id else None, "recorded": done.recorded,
            "purpose": body.purpose, "state": body.state, "scope": body.scope, "sent_to": done.sent_to}
