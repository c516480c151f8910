"""The Admin GraphQL API endpoint: auth, parsing, validation, query cost and throttling, execution.

``POST /admin/api/{version}/graphql.json`` serves the default (first) shop;
``POST /shops/{shop}/admin/api/{version}/graphql.json`` serves the named one
(the simulator has no per-shop host names on loopback). As on Shopify: a wrong
``X-Shopify-Access-Token`` gets 401; every costed response reports
``extensions.cost``; a query costing more than 1000 is refused with
MAX_COST_EXCEEDED, and one costing more than the shop's bucket holds right now
is refused with THROTTLED (HTTP 200) without running.

Versions as on Shopify (https://shopify.dev/docs/api/usage/versioning): each request is
answered with the schema of the version that serves it, named by ``X-Shopify-API-Version``;
a version no longer supported on the simulator's day falls forward to the oldest supported
one; a malformed or unreleased version answers 404. A field the version lacks fails
validation; a deprecated one is answered, and ``X-Shopify-API-Deprecated-Reason`` lists what
the request used that is deprecated.
"""

from __future__ import annotations

import hmac
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    FragmentDefinitionNode,
    GraphQLSyntaxError,
    execute_sync,
    get_operation_ast,
    parse,
)
from graphql.execution.values import get_variable_values
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orderhub.adapters.shopify.api_versions import DEPRECATION_HEADER, VERSION_HEADER
from orderhub.simulators.shopify import variable_errors, versions
from orderhub.simulators.shopify.bulk_resolvers import BULK_ROOT
from orderhub.simulators.shopify.collection_roots import COLLECTION_ROOT
from orderhub.simulators.shopify.cost import query_cost
from orderhub.simulators.shopify.customer_roots import CUSTOMER_ROOT
from orderhub.simulators.shopify.inventory_mutations import INVENTORY_MUTATIONS
from orderhub.simulators.shopify.inventory_nodes import INVENTORY_ROOT
from orderhub.simulators.shopify.metafield_mutations import METAFIELD_MUTATIONS
from orderhub.simulators.shopify.order_cancel import ORDER_CANCEL_ROOT
from orderhub.simulators.shopify.refund_create import REFUND_MUTATIONS
from orderhub.simulators.shopify.resolvers import ROOT, RequestContext
from orderhub.simulators.shopify.schema import build
from orderhub.simulators.shopify.store import Shop, UnknownShop
from orderhub.simulators.shopify.tag_mutations import TAG_MUTATIONS
from orderhub.simulators.shopify.validation import validate_document

if TYPE_CHECKING:
    from orderhub.simulators.shopify.simulator import Simulator

MAX_QUERY_COST = 1000
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_ROOT = {**ROOT, **BULK_ROOT, **COLLECTION_ROOT, **INVENTORY_ROOT, **INVENTORY_MUTATIONS, **ORDER_CANCEL_ROOT,
         **METAFIELD_MUTATIONS, **TAG_MUTATIONS, **REFUND_MUTATIONS, **CUSTOMER_ROOT}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json")


class GraphQLApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def endpoint(self, request: Request) -> Response:
        try:
            shop = self.sim.store.shop(request.path_params.get("shop"))
        except UnknownShop:
            return json_response({"errors": "Not Found"}, 404)
        version = versions.serving(request.path_params["version"], self.sim.store.clock.today())
        if version is None:
            return json_response({"errors": "Not Found"}, 404)
        headers = {"X-Request-Id": str(uuid.uuid4()), VERSION_HEADER: version}
        token = request.headers.get("x-shopify-access-token") or ""
        if not shop.installed or not hmac.compare_digest(token.encode(), shop.access_token.encode()):
            return json_response({"errors": INVALID_TOKEN}, 401, headers)
        if self.sim.inject_graphql_failure():
            return json_response({"errors": "Service Unavailable"}, 503, headers)
        body = await request.body()
        graphql_type = request.headers.get("content-type", "").startswith("application/graphql")
        base_url = str(request.base_url).rstrip("/")
        status, payload, deprecated = await run_in_threadpool(self.run, shop, version, body, graphql_type, base_url)
        if deprecated:
            headers[DEPRECATION_HEADER] = ", ".join(deprecated)
        return json_response(payload, status, headers)

    def run(self, shop: Shop, version: str, body: bytes, graphql_type: bool = False,
            base_url: str = "") -> tuple[int, dict[str, Any], list[str]]:
        """One request body against one shop on the version serving it: (HTTP status, response JSON,
        the deprecated parts it used, for the deprecation header)."""
        schema = build(version)
        if graphql_type:
            request: Any = {"query": body.decode("utf-8", "replace")}
        else:
            try:
                request = orjson.loads(body)
            except orjson.JSONDecodeError:
                return 400, {"errors": "Invalid JSON in request body"}, []
        query = request.get("query") if isinstance(request, dict) else None
        if not isinstance(query, str) or not query.strip():
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}, []
        raw_variables = request.get("variables") or {}
        operation_name = request.get("operationName") or None
        if not isinstance(raw_variables, dict) or not isinstance(operation_name, str | None):
            return 400, {"errors": {"variables": "must be a JSON object; operationName must be a string"}}, []
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            return 200, {"errors": [exc.formatted]}, []
        errors = validate_document(schema, document)
        if errors:
            return 200, {"errors": errors}, []
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (f'No operation named "{operation_name}"' if operation_name
                       else "An operation name is required when the document has more than one operation")
            return 200, {"errors": [{"message": message}]}, []
        problems = variable_errors.check(schema, operation, raw_variables)
        if problems:
            return 200, {"errors": problems}, []
        variables = get_variable_values(schema, operation.variable_definitions or (), raw_variables)
        if isinstance(variables, list):
            return 200, {"errors": [e.formatted for e in variables]}, []
        deprecated = versions.deprecations(schema, document, operation, raw_variables)
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        requested = query_cost(schema, fragments, operation, variables)
        if requested > MAX_QUERY_COST:
            return 200, {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                           f"({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST,
                               "documentation": RATE_LIMITS_DOC}}],
                "extensions": {"cost": self._cost(shop, requested, None)}}, deprecated
        if not shop.bucket.take(requested):
            shop.throttled += 1
            return 200, {"errors": [{"message": "Throttled",
                                     "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC}}],
                         "extensions": {"cost": self._cost(shop, requested, None)}}, deprecated
        context = RequestContext(self.sim.store, shop, version, bulk=self.sim.bulk, base_url=base_url,
                                 emit=self.sim.emit)
        result = execute_sync(schema, document, root_value=_ROOT, context_value=context,
                              variable_values=raw_variables, operation_name=operation_name)
        actual = query_cost(schema, fragments, operation, variables, result.data)
        shop.bucket.give_back(requested - actual)
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["data"] = result.data
        payload["extensions"] = {"cost": self._cost(shop, requested, actual)}
        if context.search:
            payload["extensions"]["search"] = context.search
        return 200, payload, deprecated

    @staticmethod
    def _cost(shop: Shop, requested: int, actual: int | None) -> dict[str, Any]:
        return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": shop.bucket.status()}
