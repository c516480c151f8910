"""Inventory pages: a SKU across facilities with its ledger, and the facilities.

Anyone signed in reads them; an admin changes a facility (what ``orderhub facility set`` changes),
through the same store function the CLI and the API call.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from orderhub.adapters.store import facilities as facility_store
from orderhub.entrypoints.http.console import web
from orderhub.services.console import inventory_view

router = APIRouter(include_in_schema=False)

MAX_SKU = 255
MAX_CAPACITY = 10_000_000
MAX_SEQUENCE = 1_000_000


@router.get("/inventory")
def find_sku(request: Request, session: web.Viewer, q: str = Query("", max_length=MAX_SKU),
             after: str | None = Query(None, max_length=MAX_SKU)) -> Response:
    with web.hub_of(request).db.read() as conn:
        lines, next_after = inventory_view.find_skus(conn, q, after=after)
    return web.render(request, "inventory.html", q=q, lines=lines, after=after, next_after=next_after)


# -- facilities (before /inventory/{sku}: a SKU is any text) ---------------------------------------------------

@router.get("/inventory/facilities")
def facilities_page(request: Request, session: web.Viewer) -> Response:
    with web.hub_of(request).db.read() as conn:
        rows = inventory_view.facility_rows(conn)
    return web.render(request, "inventory_facilities.html", rows=rows)


def _facility_or_404(request: Request, code: str) -> inventory_view.FacilityRow:
    with web.hub_of(request).db.read() as conn:
        row = inventory_view.facility(conn, code)
    if row is None:
        raise web.Refused(404, f"There is no facility {code}; see the list of facilities.")
    return row


@router.get("/inventory/facilities/{code:path}")
def facility_page(request: Request, session: web.Viewer, code: str) -> Response:
    row = _facility_or_404(request, code)
    return web.render(request, "inventory_facility.html", row=row, values=_current(row), version=_version(row),
                      problem=None)


def _current(row: inventory_view.FacilityRow) -> dict[str, str]:
    f = row.record
    return {"name": f.name, "daily_capacity": "" if f.daily_capacity is None else str(f.daily_capacity),
            "sequence": str(f.sequence), "active": "yes" if f.active else "no",
            "pos_store_code": f.pos_store_code or ""}


def _version(row: inventory_view.FacilityRow) -> str:
    """What the form was filled from: a save from an older page is refused, not applied over a newer change."""
    return hashlib.sha256(json.dumps(_current(row), sort_keys=True).encode()).hexdigest()[:16]


def _whole(text: str, code: str, label: str, low: int, high: int) -> int:
    """A whole number typed in the form, within what the API accepts too (a negative capacity is left to
    the store's own check, which says so)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"facility {code}: {label} must be a whole number (got {text.strip()!r})") from None
    if not low <= value <= high:
        raise ValueError(f"facility {code}: {label} must be between {low:,} and {high:,} (got {value:,})")
    return value


def _changes(row: inventory_view.FacilityRow, values: dict[str, str]) -> dict[str, Any]:
    """What the form changes, as :func:`facilities.change` takes it. The form sends every field (an empty
    field and a missing one look the same to the server): an empty capacity is unlimited, an empty POS
    store code is the facility's own code."""
    f, code = row.record, row.record.code
    if not values["name"].strip():
        raise ValueError(f"facility {code}: the name must not be empty")
    if values["active"] not in ("yes", "no"):
        raise ValueError(f"facility {code}: active must be yes or no (got {values['active']!r})")
    capacity = values["daily_capacity"]
    wanted: dict[str, Any] = {
        "name": values["name"].strip(),
        "daily_capacity": _whole(capacity, code, "the daily capacity", -MAX_CAPACITY, MAX_CAPACITY)
        if capacity.strip() else None,
        "sequence": _whole(values["sequence"], code, "the sequence", -MAX_SEQUENCE, MAX_SEQUENCE),
        "active": values["active"] == "yes",
        "pos_store_code": values["pos_store_code"].strip() or None,
    }
    return {k: v for k, v in wanted.items() if getattr(f, k) != v}


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@router.post("/inventory/facilities/{code:path}")
def change_facility(request: Request, session: web.Admin, code: str,
                    name: str = Form("", max_length=255), daily_capacity: str = Form("", max_length=20),
                    sequence: str = Form("", max_length=20), active: str = Form("", max_length=3),
                    pos_store_code: str = Form("", max_length=32), version: str = Form("", max_length=64)
                    ) -> Response:
    values = {"name": name, "daily_capacity": daily_capacity, "sequence": sequence, "active": active,
              "pos_store_code": pos_store_code}
    try:
        with web.hub_of(request).db.write() as conn:
            row = inventory_view.facility(conn, code, for_update=True)
            if row is None:
                raise LookupError(f"There is no facility {code}; see the list of facilities.")
            if version != _version(row):
                raise web.Refused(409, f"Facility {code} was changed by someone else since this page was shown; "
                                       "reload it and make your change again.")
            changes = _changes(row, values)
            if changes:
                facility_store.change(conn, code, **changes)
    except ValueError as problem:
        return web.render(request, "inventory_facility.html", status=422, row=row, values=values, version=version,
                          problem=str(problem))
    except LookupError as gone:
        raise web.Refused(404, str(gone).strip("'\"")) from None
    if not changes:
        return web.go(request, "/inventory/facilities", f"Facility {code}: nothing changed.")
    labels = {"name": "name", "daily_capacity": "daily capacity", "sequence": "sequence", "active": "active",
              "pos_store_code": "POS store code"}
    said = ", ".join(f"{labels[k]} {_shown(getattr(row.record, k))} → {_shown(v)}" for k, v in changes.items())
    return web.go(request, "/inventory/facilities", f"Facility {code} changed: {said}.")


# -- one SKU ------------------------------------------------------------------------------------------------------

@router.get("/inventory/{sku:path}")
def sku_page(request: Request, session: web.Viewer, sku: str,
             before: int | None = Query(None, ge=1, le=2**63 - 1)) -> Response:
    if not sku or len(sku) > MAX_SKU:
        raise web.Refused(404, "A SKU is 1 to 255 characters; search for it on the inventory page.")
    with web.hub_of(request).db.read() as conn:
        view = inventory_view.sku_view(conn, sku)
        ledger, next_before = inventory_view.ledger_page(conn, sku, before=before)
    if not view.known:
        raise web.Refused(404, f"No SKU {sku} is held in any facility, sold in the catalogue or in the "
                               "inventory ledger; search for it on the inventory page.")
    return web.render(request, "inventory_sku.html", view=view, ledger=ledger, before=before,
                      next_before=next_before)
