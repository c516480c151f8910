"""Paging of ``GET /v3/items`` (getAllItems), as its description in Walmart's Item Management document says:
either ``nextCursor`` (``*`` for the first page; the answer's ``nextCursor`` for the next; none when no item
is left) or ``offset`` and ``limit``; ``limit`` is 20 unless given, and "cannot be more than 50". The
cursor's text is the simulator's own (the offset of the next page, so a cursor keeps working while items
are added)."""

from __future__ import annotations

import base64
from typing import Any

from orderhub.simulators.walmart.errors import ITEMS, bad_param

DEFAULT_LIMIT, MAX_LIMIT = 20, 50
_PREFIX = "sim-items:"


def _cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def _offset_of(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    if not text.startswith(_PREFIX) or not text[len(_PREFIX):].isdigit():
        raise bad_param(ITEMS, "nextCursor", "nextCursor is not one this API returned; start again with *.")
    return int(text[len(_PREFIX):])


def _whole(query: dict[str, str], key: str, default: int, maximum: int | None = None) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    if not raw.isdigit() or (maximum is not None and not 1 <= int(raw) <= maximum):
        limit = f" from 1 to {maximum}" if maximum is not None else ""
        raise bad_param(ITEMS, key, f"{key} must be a whole number{limit}; got {raw!r}.")
    return int(raw)


def page_of_items(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of ``items`` (``ItemResponses``: ``ItemResponse``, ``totalItems``, ``nextCursor``)."""
    limit = _whole(query, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    cursor = query.get("nextCursor")
    offset = _offset_of(cursor) if cursor not in (None, "", "*") else _whole(query, "offset", 0)
    chunk = items[offset:offset + limit]
    answer: dict[str, Any] = {"ItemResponse": chunk, "totalItems": len(items)}
    if offset + limit < len(items):
        answer["nextCursor"] = _cursor(offset + limit)
    return answer
