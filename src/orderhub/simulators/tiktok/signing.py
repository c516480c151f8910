"""TikTok Shop's request and webhook signatures.

Request: lowercase hex HMAC-SHA256, keyed by the app secret, over ``app_secret + path + k1v1k2v2...``
(query parameters sorted by key, ``sign`` and ``access_token`` left out) ``+ body`` (left out for
``multipart/form-data``) ``+ app_secret``. Webhook: lowercase hex HMAC-SHA256, keyed by the app secret,
over ``app_key + raw body``, sent as the ``Authorization`` header. Both checked against TikTok's
published examples and the tiktok-shop-api client (samples/README.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

EXCLUDED = frozenset({"sign", "access_token"})


def string_to_sign(app_secret: str, path: str, query: Iterable[tuple[str, str]], body: bytes,
                   content_type: str | None) -> str:
    pairs = sorted((kv for kv in query if kv[0] not in EXCLUDED), key=lambda kv: kv[0])
    text = app_secret + path + "".join(k + v for k, v in pairs)
    if not (content_type or "").lower().startswith("multipart/form-data"):
        text += body.decode("utf-8", errors="replace")
    return text + app_secret


def sign_request(app_secret: str, path: str, query: Iterable[tuple[str, str]], body: bytes = b"",
                 content_type: str | None = "application/json") -> str:
    text = string_to_sign(app_secret, path, query, body, content_type)
    return hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign_webhook(app_key: str, app_secret: str, body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
