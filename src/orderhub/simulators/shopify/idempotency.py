"""The ``@idempotent(key: "...")`` directive on mutations, as Shopify documents it.

A mutation sent again with the same key and the same arguments is not run again: the
answer is the first request's result, and nothing changes (no second adjustment, no
second webhook). The same key with different arguments gets the user error
``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``. Keys are kept per shop (the newest
:data:`KEEP` of them), and requests of a shop run one at a time under the store's lock,
so two concurrent requests with one key never both run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from graphql import GraphQLResolveInfo
from graphql.execution.values import get_directive_values

from orderhub.simulators.shopify.store import Shop, Store

KEEP = 10_000
MISMATCH = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def key_of(info: GraphQLResolveInfo) -> str | None:
    """The key of the ``@idempotent`` directive on the field being resolved, if it has one."""
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return None if not values else str(values["key"])


def _fingerprint(field_name: str, arguments: dict[str, Any]) -> str:
    return orjson.dumps({"field": field_name, "arguments": arguments}, option=orjson.OPT_SORT_KEYS,
                        default=str).decode()


def run_once(store: Store, shop: Shop, info: GraphQLResolveInfo, arguments: dict[str, Any],
             run: Callable[[], dict[str, Any]], mismatch: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """``run()`` the mutation, or replay the result of the first request with this request's key.

    ``mismatch(message)`` builds the payload that reports a key reused with other arguments.
    """
    key = key_of(info)
    if key is None:
        return run()
    fingerprint = _fingerprint(info.field_name, arguments)
    with store.lock:
        seen = shop.idempotency.get(key)
        if seen is not None:
            first_fingerprint, result = seen
            if first_fingerprint != fingerprint:
                return mismatch("The same idempotency key cannot be used with different operation parameters.")
            return result
        result = run()
        shop.idempotency[key] = (fingerprint, result)
        while len(shop.idempotency) > KEEP:
            del shop.idempotency[next(iter(shop.idempotency))]
        return result
