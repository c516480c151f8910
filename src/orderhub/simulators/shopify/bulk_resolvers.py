"""Root fields of the Admin GraphQL API for bulk operations.

``bulkOperationRunQuery`` and ``bulkOperationCancel`` (mutations),
``bulkOperation(id:)`` and ``currentBulkOperation`` (queries); ``node(id:)``
reaches bulk operations too. The work is done by
:class:`orderhub.simulators.shopify.bulk_operations.BulkOperations`.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.simulators.shopify.bulk_operations import BulkOperations
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


BULK_ROOT: dict[str, Any] = {
    "bulkOperationRunQuery": _run_query, "bulkOperationCancel": _cancel,
    "bulkOperation": _bulk_operation, "currentBulkOperation": _current,
}
