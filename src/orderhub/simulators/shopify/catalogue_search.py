"""Shopify's search syntax for ``products``, ``collections`` and ``inventoryItems``.

The same grammar as the orders search (:mod:`orderhub.simulators.shopify.search`), with the
fields these connections know: times (``updated_at:>='2026-11-23T10:00:00Z'``), ``id``,
``title``, ``product_type``, ``vendor``, ``status``, ``tag`` and ``sku``. Records are REST-shape
dicts (a product, ``{"id", "title", "updated_at", ...}`` for a collection, or an inventory item
with its ``sku``). Unknown fields are ignored with a warning, as Shopify does.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from orderhub.simulators.shopify.search import Predicate, parse, time_term

_TIMES = ("created_at", "updated_at")
_TEXT = ("title", "product_type", "vendor", "status", "handle", "sku")
_OPS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def _text(record: dict[str, Any], field: str) -> str:
    if field == "sku" and "variants" in record:  # a product matches the SKU of any of its variants
        return " ".join(str(v.get("sku") or "") for v in record["variants"]).lower()
    return str(record.get(field) or "").lower()


def _field_term(field: str, op: str, value: str, tz: timezone) -> Predicate | None:
    lowered = value.lower()
    if field in _TIMES:
        return time_term(field, op, value, tz)
    if field == "id":
        number = int(value.rsplit("/", 1)[-1])
        compare = _OPS.get(op, lambda a, b: a == b)
        return lambda r: compare(int(r["id"]), number)
    if field == "sku":
        return lambda r: lowered in _text(r, "sku").split()
    if field in _TEXT:
        return lambda r: _text(r, field) == lowered
    if field == "tag":
        return lambda r: lowered in [t.strip().lower() for t in str(r.get("tags") or "").split(",") if t.strip()]
    return None


def _word(value: str) -> Predicate:
    lowered = value.lower()
    return lambda r: any(lowered in _text(r, k) for k in ("title", "sku", "product_type", "vendor"))


def parse_catalogue(query: str | None, tz: timezone) -> tuple[Predicate, list[dict[str, str]]]:
    """A predicate over REST-shape products, collections or inventory items, and warnings for ignored terms."""
    return parse(query, tz, _field_term, _word)
