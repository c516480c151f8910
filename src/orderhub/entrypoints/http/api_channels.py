"""The admin API for channel accounts (Amazon, Walmart, TikTok Shop; Shopify shops are listed too).

Reading needs any token (viewer); adding, changing, enabling and disabling needs admin. Secrets go in
and are never given back: an account shows which of them are set, not their values.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from orderhub.adapters.channels import ACCOUNT_FIELDS, account_values
from orderhub.adapters.store import accounts
from orderhub.adapters.store import facilities as facility_store
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.api import hub_of, require_role, require_token

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
