"""Serve an ASGI app with uvicorn on a loopback port, in a background thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from orderhub.testing.postgres import free_port


class ServerThread:
    def __init__(self, app: Any, port: int | None = None, **options: Any) -> None:
        """``options`` go to uvicorn.Config (e.g. ``serving.server_options(settings)``)."""
        self.port = port or free_port()
        # As orderhub serves: forwarded headers are orderhub's to judge (ORDERHUB_TRUSTED_PROXIES), not uvicorn's.
        options = {"proxy_headers": False} | options
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False, lifespan="on", **options))
        self.thread = threading.Thread(target=self.server.run, name=f"http-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"HTTP server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
