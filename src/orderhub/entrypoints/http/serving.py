"""How `orderhub serve` runs uvicorn: its socket bound before anything starts, connection limits and
timeouts chosen, not defaulted."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import socket
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


WILDCARDS = ("0.0.0.0", "::", "")  # every address of the machine
PATHS = "console /, API /api, webhooks /webhooks/shopify"


class CannotListen(Exception):
    """The address and port cannot be listened on; the message says why and what to do."""


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``, for uvicorn to serve on (``Server.run(sockets=[...])``).

    Bound before the server or the embedded worker starts, so a port in use is one line and nothing
    else has begun."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {host}: {exc.strerror}; give an address of this machine with --host "
                           "(127.0.0.1 for this machine only, 0.0.0.0 for every address)") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait
        if family == socket.AF_INET6 and host in WILDCARDS:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 too
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} on {host} is in use; pick another with --port") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise CannotListen(f"port {port} on {host} needs privileges this user does not have; pick one "
                               "above 1023 with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise CannotListen(f"{host} is not an address of this machine; pick one with --host") from None
        raise CannotListen(f"cannot listen on {host} port {port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _machine_addresses(ipv6: bool) -> list[str]:
    """This machine's addresses a browser could use, loopback first (best effort: the host name's)."""
    candidates = ["127.0.0.1"] + (["::1"] if ipv6 else [])
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM):
            candidates.append(str(info[4][0]))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # a documentation address: no packet is sent, the route names the address
        candidates.append(str(probe.getsockname()[0]))
    found: list[str] = []
    for addr in candidates:
        if (ipv6 or ":" not in addr) and addr not in found and not addr.startswith(("fe80", "0.")):
            found.append(addr)
    return found


def urls(host: str, sock: socket.socket) -> list[str]:
    """The URLs the server answers at: the host's, or every address's when it listens on all."""
    port = sock.getsockname()[1]
    hosts = _machine_addresses(sock.family == socket.AF_INET6) if host in WILDCARDS else [host]
    return [f"http://[{h}]:{port}" if ":" in h else f"http://{h}:{port}" for h in hosts]


def listening_line(host: str, sock: socket.socket) -> str:
    """``orderhub listening on http://127.0.0.1:8000 (console /, API /api, webhooks /webhooks/shopify)``"""
    return f"orderhub listening on {', '.join(urls(host, sock))} ({PATHS})"


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
