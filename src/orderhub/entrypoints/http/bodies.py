"""Bounded request bodies: a size cap, a deadline with a minimum rate, and a shared budget.

Every door that reads a body reads it through :func:`read_body`, so a crowd of slow or
oversized requests cannot hold more memory than ``max_body_bytes_in_flight`` nor a
connection for longer than the deadline: excess requests are refused (503 with
Retry-After) instead of buffered, slow ones get 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from orderhub.config import Settings
from orderhub.entrypoints.http import deadlines

Receive = Callable[[], Awaitable[dict[str, Any]]]
RETRY_AFTER_SECONDS = 5


class Refused(Exception):
    """A request answered without (or before finishing) reading its body; the connection closes."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = dict(headers or {})

    def response(self) -> Response:
        # The unread rest of the body is not drained: the connection is closed instead.
        return Response(orjson.dumps({"error": self.message}), status_code=self.status,
                        headers={"content-type": "application/json", "connection": "close", **self.headers})


class ClientGone(Exception):
    """The client disconnected before its body was complete: nothing to answer."""


@dataclass
class BodyBudget:
    """Bytes of request bodies the process holds at once, shared by every door.

    One event loop serves the process, so a plain counter is race-free; a request takes
    its declared length (or its cap, when the length is not declared) before reading.
    """

    limit: int
    in_flight: int = field(default=0)

    def take(self, size: int) -> bool:
        if self.in_flight + size > self.limit:
            return False
        self.in_flight += size
        return True

    def give(self, size: int) -> None:
        self.in_flight = max(0, self.in_flight - size)


def declared_length(headers: Mapping[str, str]) -> int | None:
    """Content-Length as a number; None when the body is chunked. Raises Refused when malformed."""
    raw = headers.get("content-length")
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isdigit():
        raise Refused(400, "Content-Length must be a number of bytes")
    return int(raw)


def has_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length")
    return headers.get("transfer-encoding") is not None or (length is not None and length.strip() != "0")


def check_length(declared: int | None, limit: int) -> None:
    """413 from the headers alone, before a byte of the body is read."""
    if declared is not None and declared > limit:
        raise Refused(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")


def reserve(budget: BodyBudget, declared: int | None, limit: int) -> int:
    """Take room for the body from the shared budget; 503 with Retry-After when there is none."""
    size = limit if declared is None else declared
    if not budget.take(size):
        raise Refused(503, "too many request bodies in flight; retry later",
                      {"retry-after": str(RETRY_AFTER_SECONDS)})
    return size


def deadline_seconds(settings: Settings, size: int) -> float:
    """Time allowed for a body of ``size`` bytes: a fixed allowance plus the minimum rate."""
    return settings.body_timeout_seconds + size / max(1, settings.body_min_bytes_per_second)


async def read_body(receive: Receive, declared: int | None, limit: int, settings: Settings) -> bytearray:
    """Read the whole body into one buffer, preallocated when its length is declared.

    One buffer (instead of many joined chunks) is freed in one piece, so the memory goes
    back to the allocator when the request is done. Raises :class:`Refused` (408, 413) or
    :class:`ClientGone`.
    """
    check_length(declared, limit)
    expected = limit if declared is None else declared
    buffer = bytearray(declared or 0)
    received = 0
    task = deadlines.arm(deadline_seconds(settings, expected))  # a watchdog's, not a timer per request
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            end = received + len(chunk)
            if end > limit or (declared is not None and end > declared):
                raise Refused(413, f"body exceeds the limit of {min(limit, expected)} bytes")
            if declared is None:
                buffer += chunk
            else:
                buffer[received:end] = chunk
            received = end
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if not deadlines.expired(task):
            raise
        raise Refused(408, f"the request body did not arrive in time (at least "
                           f"{settings.body_min_bytes_per_second} bytes per second)") from None
    finally:
        deadlines.disarm(task)
    if declared is not None and received != declared:
        raise Refused(400, f"body ended after {received} of the {declared} bytes declared")
    return buffer


async def read_within(headers: Mapping[str, str], receive: Receive, budget: BodyBudget, limit: int,
                      settings: Settings) -> bytes:
    """The whole body of a request, within ``limit``, the deadline and the shared budget (held while it is
    read). Raises :class:`Refused` or :class:`ClientGone`."""
    taken = 0
    try:
        declared = declared_length(headers)
        check_length(declared, limit)
        taken = reserve(budget, declared, limit)
        return bytes(await read_body(receive, declared, limit, settings))
    finally:
        budget.give(taken)
