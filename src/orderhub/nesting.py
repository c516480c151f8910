"""How deeply a JSON value nests, without recursion: anything an outsider sends may nest thousands deep.

Code that walks a payload recursively (pretty printers, encoders) would exhaust Python's stack on
such a value; it asks :func:`too_deep` first and shows the payload as the text that arrived instead.
"""

from __future__ import annotations

from typing import Any

MAX_WALKED_DEPTH = 100  # nesting beyond this is shown as text, never walked recursively


def depth(value: Any) -> int:
    """Levels of objects and arrays in ``value`` (a scalar is 0, ``{}`` and ``[]`` are 1)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def too_deep(value: Any, limit: int = MAX_WALKED_DEPTH) -> bool:
    return depth(value) > limit
