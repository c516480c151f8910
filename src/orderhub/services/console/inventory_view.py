"""Read models for the console's inventory pages: finding a SKU, one SKU across facilities with
its ledger, and the facilities.

The figures of a SKU come from :func:`orderhub.services.inventory.view` (the same call the API and
the CLI make), so the page shows what the core computes; this module only adds what a page needs
around them (names, titles, thresholds' sources, pages of the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, union

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.adapters.store.facilities import FacilityRecord
from orderhub.adapters.store.schema import facilities, inventory, inventory_ledger, orders, products, variants
from orderhub.clock import utcnow
from orderhub.services import inventory as inventory_service

SKU_PAGE = 50
LEDGER_PAGE = 50


@dataclass(frozen=True)
class SkuLine:
    """One SKU found by a search: its title in the catalogue and its totals over all facilities."""

    sku: str
    title: str | None
    facilities: int
    on_hand: int
    reserved: int
    atp: int


def _live_skus() -> Any:
    return select(variants.c.sku.label("sku")).where(variants.c.deleted_at.is_(None), variants.c.sku.is_not(None),
                                                     variants.c.sku != "")


def find_skus(conn: Connection, query: str, *, after: str | None = None,
              limit: int = SKU_PAGE) -> tuple[list[SkuLine], str | None]:
    """SKUs held in any facility or sold in the catalogue whose code contains ``query`` (any case), by
    SKU; returns the page and the SKU to continue after (None on the last page)."""
    skus = union(select(inventory.c.sku.label("sku")), _live_skus()).subquery()
    stmt = select(skus.c.sku)
    query = query.strip()
    if query:
        # SQLite's lower() folds ASCII only: an exact-case match covers other scripts.
        stmt = stmt.where(or_(skus.c.sku.contains(query, autoescape=True),
                              func.lower(skus.c.sku).contains(query.lower(), autoescape=True)))
    if after is not None:
        stmt = stmt.where(skus.c.sku > after)
    found = [r.sku for r in conn.execute(stmt.order_by(skus.c.sku).limit(limit + 1))]
    more = len(found) > limit
    found = found[:limit]
    positions = inventory_store.positions(conn, found)
    titles = catalogue_titles(conn, found)
    lines = []
    for sku in found:
        mine = [p for (s, _), p in positions.items() if s == sku]
        lines.append(SkuLine(sku, titles.get(sku), len(mine), sum(p.on_hand for p in mine),
                             sum(p.reserved for p in mine), sum(p.atp for p in mine)))
    return lines, (found[-1] if more else None)


def catalogue_titles(conn: Connection, skus: list[str]) -> dict[str, str]:
    """Each SKU's product and variant title in the catalogue (its first live variant)."""
    if not skus:
        return {}
    out: dict[str, str] = {}
    for r in conn.execute(select(variants.c.sku, products.c.title.label("product"), variants.c.title.label("variant"))
                          .join(products, (products.c.shop_id == variants.c.shop_id)
                                & (products.c.shopify_id == variants.c.product_shopify_id))
                          .where(variants.c.sku.in_(sorted(set(skus))), variants.c.deleted_at.is_(None))
                          .order_by(variants.c.id)):
        if r.sku not in out:
            variant = r.variant if r.variant and r.variant != "Default Title" else None
            out[r.sku] = " — ".join(t for t in (r.product, variant) if t) or r.sku
    return out


# -- one SKU -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FacilityLine:
    code: str
    name: str | None
    kind: str | None
    active: bool
    on_hand: int
    reserved: int
    safety_stock: int
    atp: int


@dataclass(frozen=True)
class ChannelLine:
    code: str
    name: str
    groups: tuple[str, ...]
    threshold: int
    threshold_from: str  # "channel default", "sku X", "category Y", "tag Z"
    may_sell: int


@dataclass(frozen=True)
class SkuView:
    sku: str
    title: str | None
    facilities: list[FacilityLine]
    on_hand: int
    reserved: int
    safety_stock: int
    atp: int
    channels: list[ChannelLine]
    known: bool  # held somewhere, in the catalogue, or in the ledger


def sku_view(conn: Connection, sku: str) -> SkuView:
    """The SKU as :func:`inventory_service.view` reports it, with facility names and where each
    channel's threshold comes from."""
    core = inventory_service.view(conn, sku)
    facs = {f.code: f for f in facility_store.all_facilities(conn)}
    lines = [FacilityLine(r["facility"], facs[r["facility"]].name if r["facility"] in facs else None,
                          facs[r["facility"]].kind if r["facility"] in facs else None,
                          facs[r["facility"]].active if r["facility"] in facs else False,
                          r["on_hand"], r["reserved"], r["safety_stock"], r["atp"]) for r in core["facilities"]]
    known_channels = [c for c in (facility_store.get_channel(conn, code) for code in core["channels"]) if c]
    applied = threshold_store.applicable(conn, threshold_store.catalogue_item(conn, sku),
                                         {c.code: c.threshold for c in known_channels})
    channels = [ChannelLine(c.code, c.name, c.groups, applied[c.code].threshold, applied[c.code].reason,
                            core["channels"][c.code]) for c in known_channels]
    title = catalogue_titles(conn, [sku]).get(sku)
    known = bool(lines) or title is not None or conn.execute(
        select(inventory_ledger.c.id).where(inventory_ledger.c.sku == sku).limit(1)).first() is not None
    return SkuView(sku, title, lines, sum(x.on_hand for x in lines), sum(x.reserved for x in lines),
                   sum(x.safety_stock for x in lines), core["atp"], channels, known)


@dataclass(frozen=True)
class LedgerLine:
    id: int
    at: datetime
    facility: str
    reason: str
    on_hand_before: int
    on_hand_after: int
    reserved_before: int
    reserved_after: int
    order_id: int | None
    order_name: str | None
    unit_id: int | None
    actor: str
    note: str | None

    @property
    def on_hand_change(self) -> int:
        return self.on_hand_after - self.on_hand_before

    @property
    def reserved_change(self) -> int:
        return self.reserved_after - self.reserved_before


def ledger_page(conn: Connection, sku: str, *, before: int | None = None,
                limit: int = LEDGER_PAGE) -> tuple[list[LedgerLine], int | None]:
    """The SKU's ledger newest first, a page at a time (``before``: the last id of the previous page);
    returns the page and the id to continue before (None on the last page)."""
    codes = {f.id: f.code for f in facility_store.all_facilities(conn)}
    led = inventory_ledger
    stmt = (select(led, orders.c.name.label("order_name")).outerjoin(orders, orders.c.id == led.c.order_id)
            .where(led.c.sku == sku))
    if before is not None:
        stmt = stmt.where(led.c.id < before)
    rows = conn.execute(stmt.order_by(led.c.id.desc()).limit(limit + 1)).all()
    lines = [LedgerLine(r.id, r.at, codes.get(r.facility_id, str(r.facility_id)), r.reason, r.on_hand_before,
                        r.on_hand_after, r.reserved_before, r.reserved_after, r.order_id, r.order_name, r.unit_id,
                        r.actor, r.note) for r in rows[:limit]]
    return lines, (lines[-1].id if len(rows) > limit else None)


# -- facilities ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FacilityRow:
    record: FacilityRecord
    orders_today: int  # orders given units there today (UTC), what the daily capacity limits


def facility_rows(conn: Connection) -> list[FacilityRow]:
    today = facility_store.orders_today(conn, utcnow().date().isoformat())
    return [FacilityRow(f, today.get(f.id, 0)) for f in facility_store.all_facilities(conn)]


def facility(conn: Connection, code: str, *, for_update: bool = False) -> FacilityRow | None:
    """One facility; ``for_update`` locks its row until the transaction ends (on PostgreSQL: SQLite's
    writer holds the whole database already), so a change checked against it cannot interleave."""
    if for_update and conn.dialect.name == "postgresql":
        conn.execute(select(facilities.c.id).where(facilities.c.code == code).with_for_update()).first()
    return next((row for row in facility_rows(conn) if row.record.code == code), None)
