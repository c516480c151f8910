"""``page_size`` / ``page_token`` paging: a token is the offset of the next page, bound to the search
it came from, so a token from another search is refused rather than silently misread."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from orderhub.simulators.tiktok.errors import BAD_FIELD, fail


def page_size(query: dict[str, str], maximum: int) -> int:
    raw = query.get("page_size", "")
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise fail(BAD_FIELD, f"invalid param error: page_size is required and must be 1 to {maximum}.")
    return int(raw)


def _fingerprint(search: Any) -> str:
    return hashlib.sha256(orjson.dumps(search, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def page(items: list[Any], query: dict[str, str], search: Any, maximum: int) -> tuple[list[Any], str]:
    size = page_size(query, maximum)
    token = query.get("page_token", "")
    offset = 0
    if token:
        try:
            decoded = orjson.loads(base64.urlsafe_b64decode(token.encode()))
            offset, bound = int(decoded["o"]), str(decoded["f"])
        except (ValueError, KeyError, TypeError):
            raise fail(BAD_FIELD, "invalid param error: page_token is not one this search returned.") from None
        if bound != _fingerprint(search) or offset < 0:
            raise fail(BAD_FIELD, "invalid param error: page_token belongs to a different search.")
    chunk = items[offset:offset + size]
    more = offset + size < len(items)
    next_token = base64.urlsafe_b64encode(orjson.dumps({"o": offset + size, "f": _fingerprint(search)})).decode() \
        if more else ""
    return chunk, next_token
