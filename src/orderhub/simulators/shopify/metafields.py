"""Metafields of products and product variants: how they are kept, checked and shown.

A shop keeps its metafields beside its REST records (REST product payloads carry none), by owner
(``("ProductVariant", id)``) and then by ``(namespace, key)``. Values are checked as Shopify
documents for ``MetafieldsSetInput``: a key of 2-64 and a namespace of 3-255 letters, digits,
hyphens and underscores (no namespace: the app's reserved one), and a value that fits its type.
``ProductVariant``/``Product`` show them with ``metafield(namespace:, key:)`` and
``metafields(first:, after:, namespace:, keys:)``; the mutations are in
:mod:`orderhub.simulators.shopify.metafield_mutations`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

import orjson
from graphql import GraphQLResolveInfo

from orderhub.simulators.shopify.pagination import connection
from orderhub.simulators.shopify.store import Shop, gid

APP_NAMESPACE = "app--1"  # Shopify's app-reserved namespace ("app--<app id>") when none is given
OWNER_TYPES = {"ProductVariant": "PRODUCTVARIANT", "Product": "PRODUCT"}
MAX_INTEGER = 9_007_199_254_740_991
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")

Owner = tuple[str, int]  # ("ProductVariant", 31000000000000001)


def _date(value: str) -> str | None:
    if _DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "Value must be a valid date in the YYYY-MM-DD format."


def _date_time(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    return None if parsed is not None and "T" in value else "Value must be in the YYYY-MM-DDTHH:MM:SS format."


def _integer(value: str) -> str | None:
    if not re.fullmatch(r"-?\d+", value):
        return "Value must be an integer."
    return None if abs(int(value)) <= MAX_INTEGER else f"Value must be between -{MAX_INTEGER} and {MAX_INTEGER}."


def _decimal(value: str) -> str | None:
    return None if _DECIMAL.fullmatch(value) else "Value must be a decimal number."


def _json(value: str) -> str | None:
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return "Value must be valid JSON."
    return None


def _url(value: str) -> str | None:
    parsed = urlparse(value)
    ok = parsed.scheme in ("http", "https") and bool(parsed.netloc) or parsed.scheme in ("mailto", "sms", "tel")
    return None if ok else "Value must be a valid URL with the http, https, mailto, sms or tel scheme."


# Each supported type and what is wrong with a value of it (None: nothing).
TYPES: dict[str, Callable[[str], str | None]] = {
    "single_line_text_field": lambda v: "Value must be a single line text string." if "\n" in v or "\r" in v
    else None,
    "multi_line_text_field": lambda v: None,
    "date": _date,
    "date_time": _date_time,
    "number_integer": _integer,
    "number_decimal": _decimal,
    "boolean": lambda v: None if v in ("true", "false") else "Value must be true or false.",
    "json": _json,
    "url": _url,
    "color": lambda v: None if _COLOR.fullmatch(v) else "Value must be a hex color code (#RRGGBB).",
}


def name_problem(value: str, low: int, high: int) -> tuple[str, str] | None:
    """(code, message) for a key or namespace that is not ``low``-``high`` letters, digits, ``-`` or ``_``."""
    if len(value) < low:
        return "TOO_SHORT", f"is too short (minimum is {low} characters)"
    if len(value) > high:
        return "TOO_LONG", f"is too long (maximum is {high} characters)"
    if not _NAME.fullmatch(value):
        return "INVALID", "can only contain alphanumeric characters, hyphens and underscores"
    return None


def find_owner(shop: Shop, kind: str, number: int) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """(product, variant or None) the owner is or belongs to; None when the shop has no such owner."""
    if kind == "Product":
        product = shop.products.get(number)
        return None if product is None else (product, None)
    if kind == "ProductVariant":
        for product in shop.products.values():
            for variant in product["variants"]:
                if variant["id"] == number:
                    return product, variant
    return None


def metafield_node(record: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "Metafield", "id": gid("Metafield", record["id"]), "legacyResourceId": record["id"],
            "namespace": record["namespace"], "key": record["key"], "type": record["type"],
            "value": record["value"], "ownerType": OWNER_TYPES[record["owner_type"]],
            "createdAt": record["created_at"], "updatedAt": record["updated_at"]}


def _of(info: GraphQLResolveInfo, owner: Owner) -> list[dict[str, Any]]:
    shop: Shop = info.context.shop
    with info.context.store.lock:
        return [dict(r) for r in shop.metafields.get(owner, {}).values()]


def metafield_field(kind: str, owner_id: int) -> Callable[..., dict[str, Any] | None]:
    """The ``metafield(namespace:, key:)`` field of an owner."""
    def resolve(info: GraphQLResolveInfo, key: str, namespace: str | None = None) -> dict[str, Any] | None:
        wanted = namespace or APP_NAMESPACE
        found = next((r for r in _of(info, (kind, owner_id)) if (r["namespace"], r["key"]) == (wanted, key)), None)
        return None if found is None else metafield_node(found)

    return resolve


def metafields_field(kind: str, owner_id: int) -> Callable[..., dict[str, Any]]:
    """The ``metafields(first:, after:, namespace:, keys:)`` connection of an owner; ``keys`` are
    ``namespace.key``."""
    def resolve(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
                namespace: str | None = None, keys: list[str] | None = None) -> dict[str, Any]:
        found = [r for r in _of(info, (kind, owner_id))
                 if (namespace is None or r["namespace"] == namespace)
                 and (keys is None or f"{r['namespace']}.{r['key']}" in keys)]
        return connection(found, lambda r: (r["id"], r["id"]), first=first, after=after, field_name="metafields",
                          node=metafield_node)

    return resolve
