"""Inventory thresholds by SKU, category or tag per channel, and the catalogue facts they apply to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, insert, or_, select, update

from orderhub.adapters.store.schema import inventory_thresholds, products, variants
from orderhub.clock import utcnow
from orderhub.domain.planning import (
    AppliedThreshold,
    ThresholdBook,
    ThresholdRule,
    product_tags,
    selector_value,
)

t = inventory_thresholds


def save(conn: Connection, kind: str, value: str, channel: str, threshold: int, *, actor: str) -> str:
    """Create or change one threshold; returns ``created``, ``updated`` or ``unchanged``."""
    if threshold < 0:
        raise ValueError(f"{kind} {value!r} in channel {channel}: a threshold cannot be negative (got {threshold})")
    value = selector_value(kind, value)
    key = and_(t.c.selector_kind == kind, t.c.selector_value == value, t.c.channel_code == channel)
    current = conn.execute(select(t.c.id, t.c.threshold).where(key)).first()
    if current is None:
        conn.execute(insert(t).values(selector_kind=kind, selector_value=value, channel_code=channel,
                                      threshold=threshold, updated_by=actor, updated_at=utcnow()))
        return "created"
    if current.threshold == threshold:
        return "unchanged"
    conn.execute(update(t).where(t.c.id == current.id).values(threshold=threshold, updated_by=actor,
                                                               updated_at=utcnow()))
    return "updated"


def rules(conn: Connection, channel: str | None = None) -> list[ThresholdRule]:
    """Every threshold (of one channel), by channel, kind and value."""
    stmt = select(t).order_by(t.c.channel_code, t.c.selector_kind, t.c.selector_value)
    if channel is not None:
        stmt = stmt.where(t.c.channel_code == channel)
    return [ThresholdRule(r.selector_kind, r.selector_value, r.channel_code, r.threshold) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class CatalogueItem:
    """A SKU of the catalogue with what thresholds select it by."""

    sku: str
    category: str | None
    tags: frozenset[str]


def _catalogue_query() -> Select[Any]:
    return (select(variants.c.sku, products.c.product_type, products.c.tags)
            .join(products, (products.c.shop_id == variants.c.shop_id)
                  & (products.c.shopify_id == variants.c.product_shopify_id))
            .where(variants.c.deleted_at.is_(None), products.c.deleted_at.is_(None),
                   variants.c.sku.is_not(None), variants.c.sku != ""))


def catalogue_page(conn: Connection, *, after: str | None = None, limit: int = 1000) -> list[CatalogueItem]:
    """SKUs of live variants after ``after``, by SKU (a SKU sold in several shops once: its first variant)."""
    stmt = _catalogue_query().order_by(variants.c.sku, variants.c.id).limit(limit)
    if after is not None:
        stmt = stmt.where(variants.c.sku > after)
    out: list[CatalogueItem] = []
    for r in conn.execute(stmt):
        if not out or out[-1].sku != r.sku:
            out.append(CatalogueItem(r.sku, r.product_type, product_tags(r.tags)))
    return out


def catalogue_item(conn: Connection, sku: str) -> CatalogueItem:
    """One SKU's category and tags (none when it is not in the catalogue)."""
    row = conn.execute(_catalogue_query().where(variants.c.sku == sku).order_by(variants.c.id).limit(1)).first()
    if row is None:
        return CatalogueItem(sku, None, frozenset())
    return CatalogueItem(sku, row.product_type, product_tags(row.tags))


def applicable(conn: Connection, item: CatalogueItem, defaults: Mapping[str, int]) -> dict[str, AppliedThreshold]:
    """The threshold each channel (code -> its own default threshold) holds back of one product."""
    if not defaults:
        return {}
    cat = item.category.strip().casefold() if item.category and item.category.strip() else None
    wanted = [and_(t.c.selector_kind == "sku", t.c.selector_value == item.sku)]
    if cat:
        wanted.append(and_(t.c.selector_kind == "category", t.c.selector_value == cat))
    if item.tags:
        wanted.append(and_(t.c.selector_kind == "tag", t.c.selector_value.in_(sorted(item.tags))))
    found = [ThresholdRule(r.selector_kind, r.selector_value, r.channel_code, r.threshold)
             for r in conn.execute(select(t).where(or_(*wanted), t.c.channel_code.in_(sorted(defaults))))]
    book = ThresholdBook(found)
    return {code: book.applicable(code, sku=item.sku, category=item.category, tags=item.tags, default=default)
            for code, default in defaults.items()}
