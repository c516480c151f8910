"""How `orderhub serve` runs uvicorn: connection limits and timeouts chosen, not defaulted."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from typing import Any

from orderhub.config import Settings

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_MMAP_THRESHOLD_BYTES = 256 * 1024


_HEAD_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def head_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with a deadline for the first
    request head: uvicorn has none, so a connection that never finishes its headers would hold
    one of the ``max_connections`` places for ever (slowloris). Later requests on a keep-alive
    connection are covered by ``timeout_keep_alive`` until their first byte.
    """
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    base: Any = AutoHTTPProtocol

    class HeadDeadline(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._head_timer = self.loop.call_later(seconds, self._head_expired)

        def _head_expired(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self.transport.write(_HEAD_TIMEOUT)
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None:
                self._head_timer.cancel()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_timer.cancel()
            super().connection_lost(exc)

    return HeadDeadline


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options from the settings (see the Configuration table in the README)."""
    return {
        "http": head_deadline_protocol(settings.head_timeout_seconds),
        # Past this many connections (or requests in progress) uvicorn answers 503 at once.
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # The client's address (and whether it came over TLS) is decided by ORDERHUB_TRUSTED_PROXIES.
        "proxy_headers": False,
    }


def return_freed_memory() -> bool:
    """Make glibc serve large buffers (request bodies) from mmap, so freeing one returns it to the OS.

    glibc otherwise raises its mmap threshold after the first large free, and later bodies
    land on the heap, which rarely shrinks: the memory a burst took would stay taken.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
