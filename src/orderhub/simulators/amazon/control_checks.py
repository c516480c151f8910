"""Checks of ``/_sim`` request bodies: each problem answers 400 naming the key and what it must be."""

from __future__ import annotations

from typing import Any

from orderhub.simulators.amazon.errors import SpApiError
from orderhub.simulators.amazon.orders import CHANNELS, STATUSES


def bad(key: str, message: str) -> SpApiError:
    return SpApiError(400, "InvalidInput", f"{key}: {message}")


def only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad(unknown[0], f"unknown key; expected {', '.join(sorted(allowed))}.")


def number(body: dict[str, Any], key: str, *, minimum: float = 0.0) -> float | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise bad(key, f"must be a number of at least {minimum:g}.")
    return float(value)


def whole(body: dict[str, Any], key: str, *, minimum: int = 0, maximum: int | None = None) -> int | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
            (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise bad(key, f"must be a whole number of at least {minimum}{limit}.")
    return value


def text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise bad(key, "must be a non-empty string.")
    return value


def order_spec(spec: Any, where: str) -> dict[str, Any]:
    """An explicit order: ``lines`` [{sku, quantity, price?, title?, promotion_discount?, gift_message?}],
    ``status``, ``fulfillment_channel``, ``buyer`` (false: no buyer data), ``amazon_order_id``, ``marketplace_id``."""
    if not isinstance(spec, dict):
        raise bad(where, "must be an object with lines.")
    only(spec, {"lines", "status", "fulfillment_channel", "buyer", "amazon_order_id", "marketplace_id"})
    lines = spec.get("lines")
    if not isinstance(lines, list) or not lines:
        raise bad(f"{where}.lines", "must be a non-empty list of {sku, quantity}.")
    for i, line in enumerate(lines):
        here = f"{where}.lines[{i}]"
        if not isinstance(line, dict):
            raise bad(here, "must be an object {sku, quantity}.")
        only(line, {"sku", "quantity", "price", "title", "promotion_discount", "promotion_id", "gift_message"})
        text(line, "sku", required=True)
        whole(line, "quantity", minimum=1)
        if "quantity" not in line:
            raise bad(f"{here}.quantity", "is required.")
        for key in ("price", "promotion_discount"):
            if key in line and not isinstance(line[key], (str, int, float)) or isinstance(line.get(key), bool):
                raise bad(f"{here}.{key}", "must be a decimal amount such as \"12.50\".")
    if spec.get("status", "Unshipped") not in STATUSES:
        raise bad(f"{where}.status", f"must be one of {', '.join(STATUSES)}.")
    if spec.get("fulfillment_channel", "MFN") not in CHANNELS:
        raise bad(f"{where}.fulfillment_channel", "must be MFN or AFN.")
    if "buyer" in spec and not isinstance(spec["buyer"], bool):
        raise bad(f"{where}.buyer", "must be true or false (false: Amazon gives no buyer data).")
    return spec
