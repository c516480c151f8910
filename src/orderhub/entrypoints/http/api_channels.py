"""The admin API for channel accounts (Amazon, Walmart, TikTok Shop; Shopify shops are listed too), and the
SKUs each one lists (``/{name}/listings``: what orderhub sends it), and a TikTok Shop account's pending buyers'
cancellation requests (``/{name}/cancellations``: listed, and approved or rejected by a person).

Reading needs any token (viewer); adding, changing, enabling and disabling, listing and unlisting needs
admin. Secrets go in and are never given back: an account shows which of them are set, not their values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from orderhub.adapters.channels import ACCOUNT_FIELDS, account_values
from orderhub.adapters.store import accounts, channel_stock
from orderhub.adapters.store import facilities as facility_store
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable
from orderhub.entrypoints.http.api import hub_of, require_role, require_token
from orderhub.services.channel_listings import MAX_LOCATION, MAX_REF, MAX_SKU, MAX_SKUS, list_by_hand, unlist_by_hand
from orderhub.services.jobs import tiktok_cancellations

router = APIRouter(prefix="/api/channels/accounts", dependencies=[Depends(require_token)], tags=["channels"])
HubDep = Annotated[Hub, Depends(hub_of)]
ADMIN = [require_role("admin")]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Value = Annotated[str, Field(max_length=2000)]


class NewAccount(BaseModel):
    kind: str = Field(..., description=f"one of {', '.join(ACCOUNT_FIELDS)}")
    name: Name
    settings: dict[Annotated[str, Field(max_length=64)], Value] = Field(
        default_factory=dict, max_length=20, description="the kind's settings and secrets by name, as "
        "`orderhub channel add KIND --help` lists them (e.g. marketplace_id, client_id, client_secret)")
    sales_channel: Annotated[str, Field(max_length=32)] | None = None


Sku = Annotated[str, Field(min_length=1, max_length=MAX_SKU)]


class NewListings(BaseModel):
    skus: list[Sku] = Field(..., min_length=1, max_length=MAX_SKUS, description="SKUs orderhub knows")
    location: Annotated[str, Field(max_length=MAX_LOCATION)] = Field(
        "", description="the channel's warehouse or ship node; '' (default) is the account as a whole")
    refs: dict[Sku, Annotated[str, Field(max_length=MAX_REF)]] = Field(
        default_factory=dict, max_length=MAX_SKUS,
        description="the channel's own id of a SKU's listing, by SKU (TikTok Shop: PRODUCT_ID:SKU_ID)")


def _found(account: accounts.Account | None, name: str) -> dict[str, Any]:
    if account is None:
        raise HTTPException(404, f"no channel account {name}")
    return account.public()


@router.get("")
def list_accounts(hub: HubDep, kind: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {"accounts": [a.public() for a in accounts.all_accounts(conn, kind)]}


@router.get("/{name}")
def get_account(name: str, hub: HubDep) -> dict[str, Any]:
    with hub.db.read() as conn:
        return _found(accounts.get(conn, name, secrets=False), name)


@router.post("", status_code=201, dependencies=ADMIN)
def add_account(body: NewAccount, hub: HubDep) -> dict[str, Any]:
    """Add an account, or replace the settings and secrets of the one of that name."""
    try:
        settings, secrets = account_values(body.kind, dict(body.settings))
        with hub.db.write() as conn:
            if body.sales_channel and facility_store.get_channel(conn, body.sales_channel) is None:
                raise ValueError(f"no sales channel {body.sales_channel}")
            added = accounts.add(conn, body.kind, body.name, settings, secrets, sales_channel=body.sales_channel)
            return added.public()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _set_status(hub: Hub, name: str, status: str) -> dict[str, Any]:
    try:
        with hub.db.write() as conn:
            return accounts.set_status(conn, name, status).public()
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


@router.post("/{name}/disable", dependencies=ADMIN)
def disable_account(name: str, hub: HubDep) -> dict[str, Any]:
    return _set_status(hub, name, "disabled")


@router.post("/{name}/enable", dependencies=ADMIN)
def enable_account(name: str, hub: HubDep) -> dict[str, Any]:
    return _set_status(hub, name, "active")


@router.get("/{name}/listings")
def get_listings(name: str, hub: HubDep) -> dict[str, Any]:
    """Each SKU the account lists: the quantity wanted, the one the channel took, whether the latest is still
    to send, and the channel's last error."""
    with hub.db.read() as conn:
        account = accounts.get(conn, name, secrets=False)
        if account is None:
            raise HTTPException(404, f"no channel account {name}")
        return {"account": account.name, "kind": account.kind, "listings": channel_stock.listed(conn, account.id)}


@router.post("/{name}/listings", dependencies=ADMIN)
def add_listings(name: str, body: NewListings, hub: HubDep) -> dict[str, Any]:
    """List SKUs on the account: from now on orderhub sends it their stock."""
    try:
        with hub.db.write() as conn:
            account, new = list_by_hand(conn, name, body.skus, location=body.location, refs=dict(body.refs))
            return {"account": account.name, "listed": new, "pending": channel_stock.pending_count(conn, account.id)}
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/{name}/listings", dependencies=ADMIN)
def remove_listings(name: str, hub: HubDep,
                    sku: Annotated[list[Annotated[str, Field(max_length=MAX_SKU)]], Query(max_length=MAX_SKUS)],
                    location: Annotated[str | None, Query(max_length=MAX_LOCATION)] = None) -> dict[str, Any]:
    """Stop sending stock of the SKUs (``?sku=A&sku=B``; only at ``location`` when given)."""
    try:
        with hub.db.write() as conn:
            account, gone = unlist_by_hand(conn, name, sku, location=location)
            return {"account": account.name, "unlisted": gone}
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


class CancellationDecision(BaseModel):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=tiktok_cancellations.MAX_REASON)] | None = Field(
        None, description="why (on the order's timeline); a rejection sends it to TikTok as the seller's comment, "
                          "or as the reject reason when it is one of TikTok's names (seller_reject_...)")


CancelId = Annotated[str, Path(max_length=40, pattern=r"^[0-9]+$")]


def _tiktok_call(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """TikTok's answers and the request's mistakes as HTTP answers that say what was wrong."""
    try:
        return call()
    except LookupError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    except ChannelUnavailable as exc:
        raise HTTPException(503, f"{exc}; nothing was decided, try again later") from None
    except ChannelRefused as exc:
        raise HTTPException(409, f"TikTok refused: {exc}") from None


@router.get("/{name}/cancellations", dependencies=ADMIN)
def get_cancellations(name: str, hub: HubDep) -> dict[str, Any]:
    """A TikTok Shop account's pending buyers' cancellation requests, each with what the account's rule would do
    with it and why (read from TikTok: admin, like deciding them)."""
    return _tiktok_call(lambda: tiktok_cancellations.list_pending(hub, name))


@router.post("/{name}/cancellations/{cancel_id}", dependencies=ADMIN)
def decide_cancellation(name: str, cancel_id: CancelId, body: CancellationDecision, hub: HubDep,
                        request: Request) -> dict[str, Any]:
    """Approve or reject one pending request; the order's timeline names the token that decided."""
    return _tiktok_call(lambda: tiktok_cancellations.decide_by_hand(
        hub, name, cancel_id, body.decision, actor=f"api:{request.state.token_name}", reason=body.reason))
