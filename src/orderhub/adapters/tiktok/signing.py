"""TikTok Shop's signatures, as its Partner Center documents them ("Sign your API request", "Webhooks").

Request: lowercase hex HMAC-SHA256, keyed by the app secret, over ``app_secret + path + k1v1k2v2...``
(query parameters sorted by key, ``sign`` and ``access_token`` left out) ``+ body`` (left out for
``multipart/form-data``) ``+ app_secret``. Webhook: lowercase hex HMAC-SHA256, keyed by the app secret,
over ``app_key + raw body``, sent in the ``Authorization`` header.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

UNSIGNED = frozenset({"sign", "access_token"})


def request_signature(app_secret: str, path: str, query: Iterable[tuple[str, str]], body: bytes = b"",
                      content_type: str = "application/json") -> str:
    pairs = sorted((kv for kv in query if kv[0] not in UNSIGNED), key=lambda kv: kv[0])
    text = app_secret + path + "".join(k + v for k, v in pairs)
    if not content_type.lower().startswith("multipart/form-data"):
        text += body.decode("utf-8")
    text += app_secret
    return hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def webhook_valid(app_key: str, app_secret: str, body: bytes, given: str) -> bool:
    """Whether ``given`` (the Authorization header) signs ``body``; compared in constant time."""
    expected = webhook_signature(app_key, app_secret, body)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace"))
