"""Tokens API 2021-03-01: createRestrictedDataToken, the key to buyer data in the Orders API.

The body is a ``CreateRestrictedDataTokenRequest`` (``restrictedResources``: ``method``, ``path``,
``dataElements``); the answer is ``restrictedDataToken`` and ``expiresIn``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from orderhub.simulators.amazon.errors import invalid_input
from orderhub.simulators.amazon.models import check
from orderhub.simulators.amazon.operation import Context

if TYPE_CHECKING:
    from orderhub.simulators.amazon.simulator import Simulator

DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")


class TokensApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [Route("/tokens/2021-03-01/restrictedDataToken",
                      self.sim.operation("createRestrictedDataToken", self.create), methods=["POST"])]

    def create(self, ctx: Context) -> tuple[int, Any]:
        body = ctx.json()
        problems = check(body, "tokens_2021_03_01", "CreateRestrictedDataTokenRequest")
        if problems:
            raise invalid_input("; ".join(problems))
        resources = body["restrictedResources"]
        if not resources or len(resources) > 50:
            raise invalid_input("restrictedResources must name 1 to 50 resources.")
        for resource in resources:
            unknown = [e for e in resource.get("dataElements") or [] if e not in DATA_ELEMENTS]
            if unknown:
                raise invalid_input(f"dataElements {unknown[0]!r} is not one of {', '.join(DATA_ELEMENTS)}.")
        token = self.sim.tokens.restricted(ctx.seller_id, resources, self.sim.restricted_token_seconds)
        return 200, {"restrictedDataToken": token.value, "expiresIn": self.sim.restricted_token_seconds}
