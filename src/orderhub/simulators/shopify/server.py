"""Run the Shopify simulator: in the foreground (``orderhub simulate shopify``) or in a background thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import uvicorn

from orderhub.simulators.shopify.app import create_app
from orderhub.simulators.shopify.simulator import ShopSpec, Simulator
from orderhub.testing.server import ServerThread


def run(host: str = "127.0.0.1", port: int = 8700, shops: Iterable[ShopSpec] = (),
        retry_schedule: Iterable[float] | None = None, seed: int | None = None, **options: Any) -> None:
    """Serve a simulator until interrupted. ``options`` are :class:`Simulator` keywords."""
    sim = Simulator(shops, retry_schedule=retry_schedule, seed=seed, **options)
    base = f"http://{host}:{port}"
    for shop in sim.store.shops.values():
        print(f"Simulated shop {shop.domain}: GraphQL at {base}/shops/{shop.domain}/admin/api/"
              f"{shop.api_version}/graphql.json", flush=True)
    print(f"Control API: {base}/_sim/...  (e.g. POST {base}/_sim/orders {{\"count\": 10}})", flush=True)
    uvicorn.run(create_app(sim), host=host, port=port, log_level="warning")


def start_in_thread(shops: Iterable[ShopSpec] = (), *, port: int = 0, retry_schedule: Iterable[float] | None = None,
                    seed: int | None = None, **options: Any) -> tuple[Simulator, str, Callable[[], None]]:
    """A simulator served on loopback in a background thread: (simulator, base URL, stop function).

    ``port=0`` picks a free port. ``options`` are :class:`Simulator` keywords.
    """
    sim = Simulator(shops, retry_schedule=retry_schedule, seed=seed, **options)
    server = ServerThread(create_app(sim), port=port or None).start()
    return sim, server.url, server.stop
