"""Run the TikTok Shop simulator: in the foreground (``orderhub simulate tiktok``) or in a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from orderhub.simulators.tiktok.app import create_app
from orderhub.simulators.tiktok.defaults import DEFAULT_PORT
from orderhub.simulators.tiktok.simulator import Simulator
from orderhub.testing.server import ServerThread


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT, orders: int = 0, **options: Any) -> None:
    """Serve a simulator until interrupted. ``options`` are :class:`Simulator` keywords."""
    sim = Simulator(**options).start()
    if orders:
        sim.generate(orders)
    base = f"http://{host}:{port}"
    app_key = next(iter(sim.apps))
    print(f"Simulated TikTok Shop Partner API (202309) at {base} (app_key {app_key!r})", flush=True)
    for seller in sim.accounts.sellers:
        tokens = [t["access_token"] for t in sim.accounts.describe()["tokens"] if t["seller"] == seller.name]
        for shop in seller.shops:
            print(f"  shop {shop.id} {shop.name!r}: shop_cipher={shop.cipher} x-tts-access-token={tokens[0]}",
                  flush=True)
    print(f"Tokens: GET {base}/api/v2/token/get?app_key=&app_secret=&auth_code=&grant_type=authorized_code", flush=True)
    print(f"Control API: {base}/_sim/...  (e.g. POST {base}/_sim/orders {{\"generate\": 10}})", flush=True)
    try:
        uvicorn.run(create_app(sim), host=host, port=port, log_level="warning")
    finally:
        sim.stop()


def start_in_thread(apps: dict[str, str] | None = None, sellers: list[dict[str, Any]] | None = None, *,
                    port: int = 0, **options: Any) -> tuple[Simulator, str, Callable[[], None]]:
    """A simulator on loopback in a background thread: (simulator, base URL, stop function)."""
    sim = Simulator(apps, sellers, **options).start()
    server = ServerThread(create_app(sim), port=port or None).start()

    def stop() -> None:
        server.stop()
        sim.stop()

    return sim, server.url, stop
