"""What a Shopify shop lists for the real-time stock pusher: its variants at the one location the operator
named (``orderhub shop stock-location``), kept in the shop's settings JSON.

A listing is a SKU at that location, its ``channel_ref`` the variant's inventory item id: every live variant
with a SKU and an inventory item that orderhub knows (the products and variants tables, filled by
``sync-products``, the initial load and the products webhooks). Products stored later list their new variants
in the same transaction (order_store.apply_product calls :func:`sync_product`); a variant deleted, or whose SKU
changed, stops being listed, so no two listings ever set one inventory item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, and_, delete, or_, select, update

from orderhub.adapters.store import channel_stock
from orderhub.adapters.store.schema import channel_listings, shops, variants
from orderhub.adapters.store.schema import channel_stock as channel_stock_table

SETTING = "stock_location"  # key in shops.settings: {"id": location id, "name": its name in Shopify}
LIST_CHUNK = 1000  # SKUs listed per call


@dataclass(frozen=True)
class StockLocation:
    id: str  # Shopify's numeric location id
    name: str


def _settings(conn: Connection, shop_id: int) -> dict[str, object]:
    raw = conn.execute(select(shops.c.settings).where(shops.c.id == shop_id)).scalar_one_or_none()
    found = orjson.loads(raw) if raw else {}
    return found if isinstance(found, dict) else {}


def stock_location(conn: Connection, shop_id: int) -> StockLocation | None:
    """The location whose ``available`` the stock pusher sets for this shop, or None (no real-time stock)."""
    found = _settings(conn, shop_id).get(SETTING)
    if not isinstance(found, dict) or not str(found.get("id") or "").isdigit():
        return None
    return StockLocation(str(found["id"]), str(found.get("name") or ""))


def set_stock_location(conn: Connection, shop_id: int, location: StockLocation | None) -> int:
    """Feed ``location`` from the pusher from now on (None: stop). The shop's variants are listed there and
    listings anywhere else end. Returns how many listings the shop has now."""
    settings = _settings(conn, shop_id)
    if location is None:
        settings.pop(SETTING, None)
    else:
        settings[SETTING] = {"id": location.id, "name": location.name}
    conn.execute(update(shops).where(shops.c.id == shop_id).values(settings=orjson.dumps(settings).decode()))
    return sync_shop(conn, shop_id)


def _live(conn: Connection, shop_id: int, skus: Iterable[str] | None = None) -> dict[str, str]:
    """SKU -> inventory item id of the shop's live variants (with these SKUs). Two variants with one SKU: the
    first by Shopify id (a listing is one SKU at one location)."""
    stmt = (select(variants.c.sku, variants.c.inventory_item_id)
            .where(variants.c.shop_id == shop_id, variants.c.deleted_at.is_(None), variants.c.sku.is_not(None),
                   variants.c.sku != "", variants.c.inventory_item_id.is_not(None))
            .order_by(variants.c.sku, variants.c.shopify_id))
    if skus is not None:
        stmt = stmt.where(variants.c.sku.in_(sorted(set(skus))))
    found: dict[str, str] = {}
    for r in conn.execute(stmt):
        found.setdefault(r.sku, r.inventory_item_id)
    return found


def _unlist(conn: Connection, shop_id: int, keys: Iterable[tuple[str, str]]) -> None:
    """End these (SKU, location) listings: nothing more is sent for them, nothing pending stays."""
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for table in (channel_listings, channel_stock_table):
            conn.execute(delete(table).where(table.c.account_id == shop_id, or_(*[
                and_(table.c.sku == sku, table.c.location == location) for sku, location in chunk])))


def _listed(conn: Connection, shop_id: int, refs: Iterable[str] | None = None) -> dict[tuple[str, str], str | None]:
    """(SKU, location) -> channel_ref of the shop's listings (those pointing at these inventory items)."""
    stmt = (select(channel_listings.c.sku, channel_listings.c.location, channel_listings.c.channel_ref)
            .where(channel_listings.c.account_id == shop_id))
    if refs is not None:
        stmt = stmt.where(channel_listings.c.channel_ref.in_(sorted(set(refs))))
    return {(r.sku, r.location): r.channel_ref for r in conn.execute(stmt)}


def sync_shop(conn: Connection, shop_id: int) -> int:
    """List every live variant of the shop at its stock location and end every other listing of the shop.
    Returns how many listings it has."""
    location = stock_location(conn, shop_id)
    live = {} if location is None else _live(conn, shop_id)
    keep = {(sku, location.id) for sku in live} if location is not None else set()
    _unlist(conn, shop_id, [key for key in _listed(conn, shop_id) if key not in keep])
    if location is not None:
        skus = sorted(live)
        for start in range(0, len(skus), LIST_CHUNK):  # a shop's whole catalogue: within the bind-parameter limits
            chunk = skus[start:start + LIST_CHUNK]
            channel_stock.list_skus(conn, shop_id, chunk, location=location.id, refs={s: live[s] for s in chunk})
    return len(keep)


def sync_product(conn: Connection, shop_id: int, product_id: str) -> None:
    """After a product (or its deletion) was stored: list its live variants at the shop's stock location, and
    move or end the listings that pointed at its inventory items under a SKU it no longer has."""
    location = stock_location(conn, shop_id)
    if location is None:
        return
    mine = conn.execute(select(variants.c.sku, variants.c.inventory_item_id, variants.c.deleted_at).where(
        variants.c.shop_id == shop_id, variants.c.product_shopify_id == product_id)).all()
    items = {r.inventory_item_id for r in mine if r.inventory_item_id}
    if not items:
        return
    before = _listed(conn, shop_id, items)
    # The SKUs this product has, and those its items were listed under (another variant may hold one now).
    live = _live(conn, shop_id, {r.sku for r in mine if r.sku and r.deleted_at is None}
                 | {sku for sku, _location in before})
    _unlist(conn, shop_id, [(sku, loc) for (sku, loc) in before if sku not in live or loc != location.id])
    if live:
        channel_stock.list_skus(conn, shop_id, live, location=location.id, refs=live)
