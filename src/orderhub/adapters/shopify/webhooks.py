"""Shopify webhook conventions: topics, headers, HMAC signatures and record identity."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from starlette.datastructures import Headers

from orderhub.adapters.fields import numeric_id, parse_time
from orderhub.domain.errors import InvalidRecord

ORDER_TOPICS = frozenset({
    "orders/create", "orders/updated", "orders/cancelled", "orders/paid",
    "orders/fulfilled", "orders/partially_fulfilled",
})
SUPPORTED_TOPICS = ORDER_TOPICS | frozenset({
    "orders/edited", "refunds/create", "order_transactions/create", "inventory_levels/update",
    "products/create", "products/update", "products/delete",
    "app/uninstalled", "customers/data_request", "customers/redact", "shop/redact",
    "bulk_operations/finish",
    "customers/create", "customers/update", "customers/delete",
    "customers_email_marketing_consent/update", "customers_marketing_consent/update",
})

HEADER_TOPIC = "x-shopify-topic"
HEADER_HMAC = "x-shopify-hmac-sha256"
HEADER_SHOP = "x-shopify-shop-domain"
HEADER_API_VERSION = "x-shopify-api-version"
HEADER_WEBHOOK_ID = "x-shopify-webhook-id"
HEADER_EVENT_ID = "x-shopify-event-id"
HEADER_TRIGGERED_AT = "x-shopify-triggered-at"
REQUIRED_HEADERS = (HEADER_TOPIC, HEADER_SHOP, HEADER_WEBHOOK_ID)


def sign(secret: str | bytes, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, raw body)), as Shopify puts in X-Shopify-Hmac-Sha256."""
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.digest(key, body, "sha256")).decode()  # one-shot: OpenSSL, no Python object


def verify(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """Constant-time comparison of the expected and the presented signature."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode())


class WebhookHeaders(NamedTuple):  # a tuple: made once per webhook on the door's path, where a dataclass costs more
    topic: str
    shop_domain: str
    webhook_id: str
    hmac: str | None
    api_version: str | None
    event_id: str | None
    triggered_at: datetime | None


class MissingHeaders(ValueError):
    pass


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:limit] if value else None


def read_headers(headers: Mapping[str, str], *, lowered: bool = False) -> WebhookHeaders:
    """Reads X-Shopify-* headers, whatever their case (``lowered``: the names are lower-case already).
    Raises :class:`MissingHeaders`."""
    # Starlette's Headers already match case-insensitively; plain mappings are folded here.
    lower = headers if lowered or isinstance(headers, Headers) else {k.lower(): v for k, v in headers.items()}
    topic, shop, webhook_id = (_clean(lower.get(h), 255) for h in REQUIRED_HEADERS)
    if not (topic and shop and webhook_id):
        missing = [h for h in REQUIRED_HEADERS if not (lower.get(h) or "").strip()]
        raise MissingHeaders("missing required header(s): " + ", ".join(missing))
    triggered = lower.get(HEADER_TRIGGERED_AT)
    triggered_at = None
    if triggered:
        try:
            triggered_at = parse_time(triggered.strip(), "X-Shopify-Triggered-At")
        except InvalidRecord as exc:
            raise MissingHeaders(str(exc)) from None
    return WebhookHeaders(
        topic=topic[:100].lower(),
        shop_domain=shop.lower(),
        webhook_id=webhook_id[:100],
        hmac=_clean(lower.get(HEADER_HMAC), 200),
        api_version=_clean(lower.get(HEADER_API_VERSION), 16),
        event_id=_clean(lower.get(HEADER_EVENT_ID), 100),
        triggered_at=triggered_at,
    )


def _version(payload: dict[str, Any], key: str = "updated_at") -> str:
    return parse_time(payload[key]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def identity(topic: str, payload: Any, webhook_id: str | None, raw: bytes | str | None = None) -> str:
    """The content identity of an inbound record.

    The same version of the same resource has the same identity whichever way it
    arrived (webhook, EventBridge, batch poll) and whichever order topic carried
    it, so the inbox stores it once. Anything without an id and version of its own
    (app/uninstalled, the privacy topics, a malformed body) is known by a digest of
    its body: a signed body replayed under fresh webhook ids is still one record.
    ``raw`` is the body as it arrived, where the caller has it (its digest is then the body's own).
    Only a delivery with no body to go by falls back to its webhook id.
    """
    try:
        if isinstance(payload, dict):
            if topic in ORDER_TOPICS:
                return f"order:{numeric_id(payload['id'], 'id')}@{_version(payload)}"
            if topic == "refunds/create":
                return f"refund:{numeric_id(payload['id'], 'id')}"
            if topic == "order_transactions/create":
                return f"transaction:{numeric_id(payload['id'], 'id')}"
            if topic == "orders/edited":
                return f"order_edit:{numeric_id(payload['order_edit']['id'], 'id')}"
            if topic in ("products/create", "products/update"):
                return f"product:{numeric_id(payload['id'], 'id')}@{_version(payload)}"
            if topic == "products/delete":
                return f"product_delete:{numeric_id(payload['id'], 'id')}"
            if topic in ("customers/create", "customers/update"):
                return f"customer:{numeric_id(payload['id'], 'id')}@{_version(payload)}"
            if topic == "customers/delete":
                return f"customer_delete:{numeric_id(payload['id'], 'id')}"
            if topic in _CONSENT_TOPICS:
                return _consent_identity(topic, payload)
            if topic == "inventory_levels/update":
                item = numeric_id(payload["inventory_item_id"], "inventory_item_id")
                location = numeric_id(payload["location_id"], "location_id")
                return f"inventory_level:{item}:{location}@{_version(payload)}"
    except (KeyError, TypeError, InvalidRecord):
        pass  # malformed: known by its body; the processor reports what is wrong
    digest = _digest(payload, raw)
    if digest is not None:
        return f"body:{topic[:40]}:{digest}"
    if not webhook_id:
        raise ValueError(f"{topic} record has neither a versioned identity nor a webhook id")
    return f"webhook:{webhook_id}"


# consent topic -> (the record's name, the key of the customer's id, the key of the consent)
_CONSENT_TOPICS = {
    "customers_email_marketing_consent/update": ("email_consent", "customer_id", "email_marketing_consent"),
    "customers_marketing_consent/update": ("sms_consent", "id", "sms_marketing_consent"),
}


def _consent_identity(topic: str, payload: dict[str, Any]) -> str:
    """A consent change is known by its customer, state and time; one Shopify never dated has no time to go by and
    raises (its body is its identity then)."""
    name, id_key, consent_key = _CONSENT_TOPICS[topic]
    consent = payload[consent_key]
    state = str(consent["state"]).lower()[:20]
    return f"{name}:{numeric_id(payload[id_key], id_key)}:{state}@{_version(consent, 'consent_updated_at')}"


def _digest(payload: Any, raw: bytes | str | None) -> str | None:
    if raw is not None:
        return hashlib.sha256(raw.encode() if isinstance(raw, str) else raw).hexdigest()
    if payload is None:
        return None
    try:
        return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except TypeError:  # nested deeper than orjson writes: no digest without the body's text
        return None
