"""Standard Webhooks (standardwebhooks.com): signing what orderhub sends, verifying what a subscriber gets.

A message carries three headers: ``webhook-id`` (the same on every retry, so the
receiver can deduplicate), ``webhook-timestamp`` (integer seconds when sent) and
``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 over ``{id}.{timestamp}.{body}``
keyed with the base64-decoded part of the ``whsec_...`` secret. The signature
header may hold several space-separated signatures (during a secret rotation);
one valid ``v1`` signature is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300  # the spec's five minutes, either way
MASKED_SECRET = SECRET_PREFIX + "…"


class WebhookVerificationError(Exception):
    """The message is not authentic, or too old or too new to accept."""


def generate_secret(n_bytes: int = 24) -> str:
    """A new signing secret: ``whsec_`` + base64 of ``n_bytes`` random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after ``whsec_``."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers, signed now (or at ``timestamp``)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sign(secret, msg_id, ts, body)}


def _header(values: Mapping[str, str], name: str) -> str:
    found = values.get(name)
    if found is None:  # a plain dict with other capitalisation
        found = next((v for k, v in values.items() if k.lower() == name), None)
    if not found:
        raise WebhookVerificationError(f"missing {name} header")
    return found


def verify(secret: str, message_headers: Mapping[str, str], body: bytes, *,
           tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> str:
    """Check a received message; returns its ``webhook-id``.

    Raises :class:`WebhookVerificationError` when a header is missing, the timestamp
    is further than ``tolerance_seconds`` from ``now`` (replay protection), or no
    ``v1`` signature matches (compared in constant time).
    """
    msg_id = _header(message_headers, "webhook-id")
    raw_ts = _header(message_headers, "webhook-timestamp")
    signatures = _header(message_headers, "webhook-signature")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp {raw_ts!r} is not integer seconds") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise WebhookVerificationError("message timestamp too old")
    if timestamp > current + tolerance_seconds:
        raise WebhookVerificationError("message timestamp too new")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split():
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise WebhookVerificationError("no matching signature")
