"""Run the Retail Pro simulator: in the foreground (``orderhub simulate retailpro``) or in a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from orderhub.simulators.retailpro.app import create_app
from orderhub.simulators.retailpro.defaults import DEFAULT_PASSWORD, DEFAULT_PORT, DEFAULT_USER, DEFAULT_WORKSTATION
from orderhub.simulators.retailpro.simulator import Simulator
from orderhub.testing.server import ServerThread


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT, user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD, workstation: str = DEFAULT_WORKSTATION, **options: Any) -> None:
    """Serve a simulator until interrupted. ``options`` are :class:`Simulator` keywords."""
    simulator = Simulator({user: password}, [workstation], **options)
    base = f"http://{host}:{port}"
    print(f"Simulated Retail Pro Prism at {base} (user {user!r}, workstation {workstation!r})", flush=True)
    print(f"Sign in: GET {base}/v1/rest/auth, then ?usr=&pwd= with Auth-Nonce-Response, then "
          f"GET {base}/v1/rest/sit?ws={workstation}", flush=True)
    print(f"Invoices: POST {base}/api/v1/Document/Ordertoinvoice; transfers: POST {base}/api/v1/Transfer/Slip",
          flush=True)
    print(f"Control API: {base}/_sim/...  (e.g. POST {base}/_sim/seed "
          '{"inventory": [{"store": "S1", "upc": "0001", "qty": 5}]})', flush=True)
    uvicorn.run(create_app(simulator), host=host, port=port, log_level="warning")


def start_in_thread(users: dict[str, str] | None = None, workstations: tuple[str, ...] = (DEFAULT_WORKSTATION,),
                    *, port: int = 0, **options: Any) -> tuple[Simulator, str, Callable[[], None]]:
    """A simulator served on loopback in a background thread: (simulator, base URL, stop function).

    ``port=0`` picks a free port; ``options`` are :class:`Simulator` keywords.
    """
    simulator = Simulator(users, workstations, **options)
    server = ServerThread(create_app(simulator), port=port or None).start()
    return simulator, server.url, server.stop
