"""Run the payment-gateway simulator: in the foreground (``orderhub simulate payments``) or in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import uvicorn

from orderhub.simulators.payments.app import create_app
from orderhub.simulators.payments.defaults import DEFAULT_API_KEY, DEFAULT_PORT
from orderhub.simulators.payments.gateway import Gateway
from orderhub.testing.server import ServerThread


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT, api_key: str = DEFAULT_API_KEY, **options: Any) -> None:
    """Serve a gateway until interrupted. ``options`` are :class:`Gateway` keywords."""
    gateway = Gateway(api_key, **options)
    base = f"http://{host}:{port}"
    print(f"Simulated payment gateway at {base}/v1/authorizations (Authorization: Bearer <api key>)", flush=True)
    print(f"Control API: {base}/_sim/...  (e.g. POST {base}/_sim/rules "
          '{"match": {"any": true}, "outcome": "decline", "times": 1})', flush=True)
    if gateway.magic_amounts:
        print("Amounts ending in .51 are declined with insufficient_funds.", flush=True)
    uvicorn.run(create_app(gateway), host=host, port=port, log_level="warning")


def start_in_thread(api_keys: str | Iterable[str] = DEFAULT_API_KEY, *, port: int = 0,
                    **options: Any) -> tuple[Gateway, str, Callable[[], None]]:
    """A gateway served on loopback in a background thread: (gateway, base URL, stop function).

    ``api_keys`` is one key or several (one account); ``port=0`` picks a free port.
    ``options`` are :class:`Gateway` keywords.
    """
    gateway = Gateway(api_keys, **options)
    server = ServerThread(create_app(gateway), port=port or None).start()
    return gateway, server.url, server.stop
