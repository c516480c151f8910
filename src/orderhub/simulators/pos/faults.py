"""Injected network failures for the till (``--fail-rate``): an httpx transport that, now and then, refuses
the connection before the request leaves (nothing reached orderhub) or loses the answer after orderhub
took the request (it stored the sales; the till does not know, and sends them again).
"""

from __future__ import annotations

import random
import threading

import httpx


class FlakyTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, rate: float, rng: random.Random) -> None:
        self.inner = inner
        self.rate = rate
        self.rng = rng
        self.refused = 0  # connections refused before sending
        self.lost = 0  # answers lost after orderhub took the request
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            fail = self.rate > 0 and self.rng.random() < self.rate
            lose_answer = fail and self.rng.random() < 0.5
        if fail and not lose_answer:
            self.refused += 1
            raise httpx.ConnectError("injected: connection refused", request=request)
        response = self.inner.handle_request(request)
        if lose_answer:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadTimeout("injected: the answer was lost (timed out)", request=request)
        return response

    def close(self) -> None:
        self.inner.close()
