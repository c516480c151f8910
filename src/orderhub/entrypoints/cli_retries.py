"""Say on standard error why a command is waiting while a Shopify client retries, instead of
waiting in silence (a client retries for up to ~45 s before it gives up)."""

from __future__ import annotations

import time
from collections.abc import Callable

import click
import httpx

from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.store.shops import Shop
from orderhub.services.jobs.import_orders import admin_client


class _Watched(httpx.BaseTransport):
    """Remembers why the last request failed (an exception, or an answer the client retries)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.failure: str | None = None
        self.failures = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.HTTPError as exc:
            self._failed(f"unreachable ({type(exc).__name__})")
            raise
        if response.status_code == 429 or response.status_code >= 500:
            self._failed(f"answered {response.status_code}")
        else:
            self.failure, self.failures = None, 0
        return response

    def _failed(self, why: str) -> None:
        self.failure, self.failures = why, self.failures + 1

    def close(self) -> None:
        self.inner.close()


def reporting_client(shop: Shop, sleep: Callable[[float], None] | None = None) -> AdminClient:
    """The shop's Admin API client, printing ``Shopify unreachable (ConnectError), retrying in 4 s
    (attempt 3 of 8)`` before each wait that follows a failure. Close ``.client`` when done."""
    client = admin_client(shop)
    watched = _Watched(httpx.HTTPTransport())
    client.client.close()
    client.client = httpx.Client(timeout=client.client.timeout, transport=watched)
    def reporting_sleep(seconds: float) -> None:
        if watched.failure is not None:
            shown = f"{seconds:.0f}" if seconds >= 1 else f"{seconds:.1f}"
            click.echo(f"Shopify {watched.failure}, retrying in {shown} s (attempt {watched.failures + 1} of "
                       f"{client.max_attempts})", err=True)
        (sleep or time.sleep)(seconds)

    client.sleep = reporting_sleep
    return client
