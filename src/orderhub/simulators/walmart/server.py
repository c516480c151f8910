"""Run the Walmart simulator: in the foreground (``orderhub simulate walmart``) or in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import uvicorn

from orderhub.simulators.walmart.app import create_app
from orderhub.simulators.walmart.auth import Account
from orderhub.simulators.walmart.defaults import DEFAULT_PORT
from orderhub.simulators.walmart.simulator import Simulator
from orderhub.testing.server import ServerThread


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT, accounts: Iterable[Account] | None = None,
        orders: int = 0, **options: Any) -> None:
    """Serve a simulator until interrupted. ``options`` are :class:`Simulator` keywords."""
    simulator = Simulator(accounts, **options)
    for acct in simulator.accounts.all():
        if orders:
            for order in simulator.generator.orders(acct.client_id, simulator.clock.now_ms(), orders):
                simulator.orders.add(order)
    base = f"http://{host}:{port}"
    print(f"Simulated Walmart Marketplace API at {base}/v3", flush=True)
    for acct in simulator.accounts.all():
        print(f"  seller {acct.name!r}: client id {acct.client_id!r}, client secret {acct.client_secret!r}",
              flush=True)
    print(f"Token: POST {base}/v3/token (Basic clientId:clientSecret, grant_type=client_credentials, "
          "WM_SVC.NAME, WM_QOS.CORRELATION_ID)", flush=True)
    print(f"Control API: {base}/_sim/...  (e.g. POST {base}/_sim/orders " '{"count": 5})', flush=True)
    uvicorn.run(create_app(simulator), host=host, port=port, log_level="warning")


def start_in_thread(accounts: Iterable[Account] | None = None, *, port: int = 0,
                    **options: Any) -> tuple[Simulator, str, Callable[[], None]]:
    """A simulator served on loopback in a background thread: (simulator, base URL, stop function).

    ``port=0`` picks a free port; ``options`` are :class:`Simulator` keywords.
    """
    simulator = Simulator(accounts, **options)
    server = ServerThread(create_app(simulator), port=port or None).start()
    return simulator, server.url, server.stop
