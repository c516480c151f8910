"""Root fields of the Admin GraphQL API for bulk operations.

``bulkOperationRunQuery`` and ``bulkOperationCancel`` (mutations),
``bulkOperation(id:)``, ``bulkOperations`` (from 2026-01) and the deprecated
``currentBulkOperation`` (queries); ``node(id:)`` reaches bulk operations too. The work is done by
:class:`orderhub.simulators.shopify.bulk_operations.BulkOperations`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.simulators.shopify.bulk_operations import BulkOperations
from orderhub.simulators.shopify.pagination import connection
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid


def _bulk(info: GraphQLResolveInfo) -> tuple[RequestContext, BulkOperations]:
    ctx: RequestContext = info.context
    if ctx.bulk is None:
        raise GraphQLError("Bulk operations are not available on this simulator")
    return ctx, ctx.bulk


def _run_query(info: GraphQLResolveInfo, query: str, groupObjects: bool = True) -> dict[str, Any]:
    """Start a bulk query; the simulator always groups children right after their parent."""
    ctx, bulk = _bulk(info)
    operation, errors = bulk.run_query(ctx.shop, query, api_version=ctx.api_version, base_url=ctx.base_url)
    return {"bulkOperation": operation, "userErrors": errors}


def _cancel(info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    ctx, bulk = _bulk(info)
    operation, errors = bulk.cancel(ctx.shop, parse_gid(id, "BulkOperation"))
    return {"bulkOperation": operation, "userErrors": errors}


def _bulk_operation(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx, bulk = _bulk(info)
    return bulk.get(ctx.shop, parse_gid(id, "BulkOperation"))


def _current(info: GraphQLResolveInfo, type: str = "QUERY") -> dict[str, Any] | None:
    ctx, bulk = _bulk(info)
    return bulk.current(ctx.shop, type)


_FILTERS = {"status": "status", "operation_type": "type"}


def _matcher(ctx: RequestContext, query: str | None) -> Callable[[dict[str, Any]], bool]:
    """``status:running operation_type:query id:123``; other terms are ignored with a search warning."""
    wanted: list[tuple[str, str]] = []
    for term in (query or "").split():
        name, _, value = term.partition(":")
        if name in _FILTERS and value:
            wanted.append((_FILTERS[name], value.upper()))
        elif name == "id" and value.isdigit():
            wanted.append(("id", f"gid://shopify/BulkOperation/{value}".upper()))
        else:
            warning = {"field": name, "message": f"Invalid search field for this query: {term}"}
            ctx.search.append({"path": ["bulkOperations"], "query": query, "warnings": [warning]})
    return lambda node: all(str(node.get(key) or "").upper() == value for key, value in wanted)


def _list(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None, query: str | None = None,
          sortKey: str = "CREATED_AT", reverse: bool = False) -> dict[str, Any]:
    """The shop's bulk operations, newest first by default, as Shopify lists them."""
    ctx, bulk = _bulk(info)
    matches = _matcher(ctx, query)
    field = "createdAt" if sortKey == "CREATED_AT" else "completedAt"
    found = [node for node in bulk.list(ctx.shop) if matches(node)]
    return connection(found, lambda n: (str(n.get(field) or ""), parse_gid(n["id"], "BulkOperation")),
                      first=first, after=after, field_name="bulkOperations", reverse=not reverse)


BULK_ROOT: dict[str, Any] = {
    "bulkOperationRunQuery": _run_query, "bulkOperationCancel": _cancel,
    "bulkOperation": _bulk_operation, "bulkOperations": _list, "currentBulkOperation": _current,
}
