"""The simulator as one ASGI app: the Admin GraphQL API, bulk result files and the ``/_sim`` control API.

The app's lifespan starts and stops the simulator's webhook senders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route

from orderhub.simulators.shopify import bulk_download
from orderhub.simulators.shopify.control import ControlApi
from orderhub.simulators.shopify.graphql_api import GraphQLApi
from orderhub.simulators.shopify.simulator import Simulator

GRAPHQL_PATH = "/admin/api/{version}/graphql.json"


def create_app(sim: Simulator) -> Starlette:
    graphql = GraphQLApi(sim)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        sim.start()
        try:
            yield
        finally:
            sim.stop()

    routes = [Route(GRAPHQL_PATH, graphql.endpoint, methods=["POST"]),
              Route("/shops/{shop}" + GRAPHQL_PATH, graphql.endpoint, methods=["POST"]),
              *bulk_download.routes(sim.bulk), *ControlApi(sim).routes()]
    return Starlette(routes=routes, lifespan=lifespan)
