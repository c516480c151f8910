"""Run the Amazon simulator: in the foreground (``orderhub simulate amazon``) or in a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from orderhub.simulators.amazon.app import create_app
from orderhub.simulators.amazon.defaults import DEFAULT_PORT
from orderhub.simulators.amazon.simulator import Simulator
from orderhub.testing.server import ServerThread


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT, orders: int = 0, **options: Any) -> None:
    """Serve a simulator until interrupted. ``options`` are :class:`Simulator` keywords."""
    simulator = Simulator(**options).start()
    for seller_id in simulator.tokens.sellers:
        if orders:
            simulator.generate_orders(seller_id, orders)
    base = f"http://{host}:{port}"
    app_id, secret = next(iter(simulator.tokens.apps.items()))
    print(f"Simulated Amazon Selling Partner API at {base}", flush=True)
    print(f"Login with Amazon: POST {base}/auth/o2/token (client_id {app_id!r}, client_secret {secret!r})",
          flush=True)
    for seller in simulator.tokens.sellers.values():
        print(f"  seller {seller.seller_id}: refresh_token {seller.refresh_token!r}, marketplaces "
              f"{', '.join(seller.marketplace_ids)}", flush=True)
    print(f"Orders: GET {base}/orders/v0/orders; listings: PATCH {base}/listings/2021-08-01/items/...; "
          f"feeds: {base}/feeds/2021-06-30/...", flush=True)
    print(f"Control API: {base}/_sim/...  (e.g. POST {base}/_sim/orders {{\"count\": 5}}, "
          f"POST {base}/_sim/clock {{\"advance\": 120}})", flush=True)
    try:
        uvicorn.run(create_app(simulator), host=host, port=port, log_level="warning")
    finally:
        simulator.stop()


def start_in_thread(sellers: list[dict[str, Any]] | None = None, apps: dict[str, str] | None = None, *,
                    port: int = 0, **options: Any) -> tuple[Simulator, str, Callable[[], None]]:
    """A simulator served on loopback in a background thread: (simulator, base URL, stop function).

    ``sellers`` are ``{"seller_id", "refresh_token", "marketplace_ids"}``; ``apps`` maps LWA client ids to
    secrets; ``port=0`` picks a free port; ``options`` are :class:`Simulator` keywords.
    """
    simulator = Simulator(sellers, apps, **options).start()
    server = ServerThread(create_app(simulator), port=port or None).start()

    def stop() -> None:
        server.stop()
        simulator.stop()

    return simulator, server.url, stop
