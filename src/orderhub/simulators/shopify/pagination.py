"""Relay connections with Shopify's opaque cursors and page-size rules.

A cursor is base64 of ``{"last_id": ..., "last_value": ...}``: the sort value and
id of the last item seen. The next page holds the items sorting strictly after
it, so paging stays exact while items are added.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graphql import GraphQLError

MAX_PAGE_SIZE = 250
T = TypeVar("T")
SortKey = tuple[Any, int]  # (sort value, id)


def bad_request(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_REQUEST"})


def encode_cursor(key: SortKey) -> str:
    value, item_id = key
    return base64.b64encode(json.dumps({"last_id": item_id, "last_value": value}).encode()).decode()


def decode_cursor(cursor: str, sample: SortKey | None) -> SortKey:
    """The key a cursor stands for; fails like Shopify on garbage or a cursor of another sort."""
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        key = (data["last_value"], int(data["last_id"]))
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise bad_request("Invalid cursor for current pagination sort.") from None
    if sample is not None and type(key[0]) is not type(sample[0]):
        raise bad_request("Invalid cursor for current pagination sort.")
    return key


def check_page_size(first: int | None, field_name: str) -> int:
    if first is None:
        raise bad_request("you must provide one of first or last")
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"Argument 'first' on Field '{field_name}' has an invalid value ({first}). "
                           f"Expected a page size from 0 to {MAX_PAGE_SIZE}.",
                           extensions={"code": "argumentLiteralsIncompatible"})
    return first


def connection(items: Sequence[T], key: Callable[[T], SortKey], *, first: int | None, after: str | None,
               field_name: str, reverse: bool = False,
               node: Callable[[T], Any] = lambda item: item) -> dict[str, Any]:
    """One page of ``items`` (any order) as ``{edges, nodes, pageInfo}``."""
    size = check_page_size(first, field_name)
    ordered = sorted(items, key=key, reverse=reverse)
    start = 0
    if after is not None:
        mark = decode_cursor(after, key(ordered[0]) if ordered else None)
        start = next((i for i, item in enumerate(ordered) if (key(item) < mark if reverse else key(item) > mark)),
                     len(ordered))
    page = ordered[start:start + size]
    cursors = [encode_cursor(key(item)) for item in page]
    nodes = [node(item) for item in page]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {"hasNextPage": start + size < len(ordered), "hasPreviousPage": start > 0,
                     "startCursor": cursors[0] if cursors else None,
                     "endCursor": cursors[-1] if cursors else None},
    }
