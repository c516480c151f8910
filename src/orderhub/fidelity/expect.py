"""What a fixture says Shopify means, beside what orderhub stored, field by field.

A fixture's ``expected`` was written by hand from Shopify's field definitions (see the
fixture set's README), never from orderhub's code, so a difference here is orderhub's to explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_NONE = object()


@dataclass(frozen=True)
class Difference:
    field: str
    shopify: Any  # what Shopify means
    orderhub: Any  # what orderhub has


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, datetime) or isinstance(b, datetime):  # one instant, whatever its offset
        return _instant(a) == _instant(b)
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except InvalidOperation:
        return str(a) == str(b)


class _Diff:
    def __init__(self) -> None:
        self.found: list[Difference] = []

    def check(self, field: str, shopify: Any, orderhub: Any) -> None:
        if shopify is _NONE:
            return
        if orderhub is _NONE:
            self.found.append(Difference(field, shopify, "(not kept)"))
        elif not _same(shopify, orderhub):
            self.found.append(Difference(field, shopify, orderhub))


def _rows(d: _Diff, label: str, expected: list[dict[str, Any]] | None, kept: dict[str, dict[str, Any]],
          key: str, fields: tuple[tuple[str, str], ...]) -> None:
    """Each expected row against the kept row of the same ``key`` (as text), field by field:
    ``fields`` pairs the fixture's name of a field with orderhub's."""
    for row in expected or []:
        where = f"{label}[{row.get(key)}]"
        found = kept.get(str(row.get(key)))
        if found is None:
            d.check(where, "present", None)
            continue
        for name, column in fields:
            d.check(f"{where}.{name}", row.get(name, _NONE), found.get(column, _NONE))


def _instant(value: Any) -> datetime | None:
    try:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _sum(values: list[Any]) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal("0"))


def order(expected: dict[str, Any], stored: dict[str, Any]) -> list[Difference]:
    """An order fixture's ``expected`` against :func:`order_queries.get_order`'s view of it."""
    d = _Diff()
    for key, column in (("currency", "currency"), ("taxes_included", "taxes_included")):
        d.check(key, expected.get(key, _NONE), stored.get(column))
    _rows(d, "line_items", expected.get("line_items"), {i["shopify_id"]: i for i in stored["items"]}, "id",
          (("quantity", "quantity"), ("unit_price", "price"), ("discount", "total_discount"), ("tax", "tax")))
    _rows(d, "shipping_lines", expected.get("shipping_lines"),
          {s["shopify_id"]: s for s in stored["shipping_lines"]}, "id",
          (("price", "price"), ("discount", "discount"), ("discounted_price", "discounted_price")))
    _rows(d, "discount_applications", expected.get("discount_applications"),
          {str(r["position"]): r for r in stored["discounts"]}, "index",
          tuple((k, k) for k in ("type", "code", "title", "value", "value_type", "target_type", "target_selection",
                                 "allocation_method", "allocated")))
    totals = expected.get("totals") or {}
    kept_totals = {
        "line_items": _sum([Decimal(i["price"]) * i["quantity"] for i in stored["items"]]),
        "line_discounts": _sum([i["total_discount"] for i in stored["items"]]),
        "subtotal": stored["subtotal_price"],
        "shipping": _sum([s["price"] for s in stored["shipping_lines"]]),
        "shipping_discounts": _sum([s["discount"] for s in stored["shipping_lines"]]),
        "tax": stored["total_tax"], "tips": stored["total_tip"], "duties": stored["total_duties"],
        "total_discounts": stored["total_discounts"], "total": stored["total_price"],
    }
    for key, value in kept_totals.items():
        d.check(f"totals.{key}", totals.get(key, _NONE), value)
    presentment = expected.get("presentment")
    if presentment:
        d.check("presentment.currency", presentment.get("currency", _NONE), stored.get("presentment_currency"))
        d.check("presentment.total", presentment.get("total", _NONE), stored.get("presentment_total_price"))
    refunds = {r["shopify_id"]: r for r in stored["refunds"]}
    for r in expected.get("refunds") or []:
        d.found += refund(r, refunds.get(str(r["id"])), prefix=f"refunds[{r['id']}]")
    return d.found


def refund(expected: dict[str, Any], stored: dict[str, Any] | None, prefix: str = "refund") -> list[Difference]:
    """A refund fixture's ``expected`` against the stored refund (a row of the refunds table, lines as JSON)."""
    d = _Diff()
    if stored is None:
        d.check(prefix, "a refund", None)
        return d.found
    d.check(f"{prefix}.amount", expected.get("amount", _NONE), stored["amount"])
    if expected.get("created_at") is None:  # Shopify sent none: orderhub says where its time came from
        d.check(f"{prefix}.created_at taken from", "anything but created_at",
                "created_at" if stored["time_source"] == "created_at" else "anything but created_at")
    _rows(d, f"{prefix}.lines", expected.get("lines"), {str(li["line_item_id"]): li for li in stored["lines"]},
          "line_item_id", (("quantity", "quantity"), ("restock_type", "restock_type"), ("subtotal", "subtotal")))
    kept_adjustments = stored.get("adjustments") or []
    for n, adj in enumerate(expected.get("adjustments") or []):
        kept = kept_adjustments[n] if n < len(kept_adjustments) else None
        if kept is None:
            d.check(f"{prefix}.adjustments[{n}]", adj.get("kind"), None)
            continue
        for key in ("kind", "amount"):
            d.check(f"{prefix}.adjustments[{n}].{key}", adj.get(key, _NONE), kept.get(key))
    return d.found


def inventory_level(expected: dict[str, Any], stored: dict[str, Any] | None) -> list[Difference]:
    """An inventory level fixture against the stored level (a row of inventory_levels)."""
    d = _Diff()
    if stored is None:
        d.check("inventory level", "a level", None)
        return d.found
    for key, column in (("inventory_item_id", "inventory_item_id"), ("location_id", "location_id"),
                        ("available", "available"), ("updated_at", "source_updated_at")):
        d.check(key, expected.get(key, _NONE), stored[column])
    return d.found


def product(expected: dict[str, Any], stored: dict[str, Any] | None,
            variants: list[dict[str, Any]]) -> list[Difference]:
    """A product fixture against the stored product and its variants (what orderhub keeps of them)."""
    d = _Diff()
    if stored is None:
        d.check("product", expected.get("title"), None)
        return d.found
    for key, column in (("title", "title"), ("status", "status"), ("updated_at", "source_updated_at")):
        d.check(key, expected.get(key, _NONE), stored[column])
    _rows(d, "variants", expected.get("variants"), {v["shopify_id"]: v for v in variants}, "id",
          (("sku", "sku"), ("price", "price"), ("inventory_item_id", "inventory_item_id")))
    return d.found


def order_edit(expected: dict[str, Any], stored: dict[str, Any] | None) -> list[Difference]:
    """An orders/edited fixture against the stored edit: each line's change of quantity."""
    d = _Diff()
    if stored is None:
        d.check("order edit", expected.get("order_edit_id"), None)
        return d.found
    d.check("order_id", expected.get("order_id", _NONE), stored["order_shopify_id"])
    d.check("committed_at", expected.get("committed_at", _NONE), stored["source_created_at"])
    changes: dict[str, int] = {}
    for key, sign in (("line_item_additions", 1), ("line_item_removals", -1)):
        for change in expected.get(key) or []:
            changes[str(change["id"])] = changes.get(str(change["id"]), 0) + sign * int(change["delta"])
    kept = stored["changes"]
    for line_id, delta in changes.items():
        d.check(f"line {line_id} quantity change", delta, kept.get(line_id, _NONE))
    return d.found
