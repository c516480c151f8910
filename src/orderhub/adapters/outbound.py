"""Where orderhub may send events: never to its own host or network unless an admin names the host.

Destinations and subscriptions are URLs an admin types; without a guard they let an admin account
reach services that are only reachable from orderhub's machine (cloud metadata, databases on
loopback, the private network) and probe ports through the delivery errors. A URL is refused when
its host is, or resolves to, a loopback, private, link-local, multicast, reserved or unspecified
address (the cloud metadata address is link-local), unless the host is in the allowed list
(``ORDERHUB_OUTBOUND_ALLOWED_HOSTS``, comma separated: for a subscriber on the private network).
It is checked when the URL is saved and again before every send, as DNS answers can change.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ENV_ALLOWED = "ORDERHUB_OUTBOUND_ALLOWED_HOSTS"
Resolver = Callable[[str], Iterable[str]]


class BlockedAddress(ValueError):
    """The URL is not one orderhub sends to; the message says why and how to allow it."""


def _resolve(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError):
        return []  # unknown here: the send will fail and say so; nothing internal is reached


def _kind(address: str) -> str | None:
    """What makes ``address`` internal (None when it is a public address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, test in (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast), ("private", ip.is_private),
                       ("reserved", ip.is_reserved)):
        if test:
            return kind
    return None


@dataclass(frozen=True)
class OutboundPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    resolve: Resolver = _resolve

    @classmethod
    def from_env(cls) -> "OutboundPolicy":
        names = os.environ.get(ENV_ALLOWED, "")
        return cls(frozenset(n.strip().lower().rstrip(".") for n in names.split(",") if n.strip()))

    def check(self, url: str) -> None:
        """Raise :class:`BlockedAddress` unless orderhub may send to ``url``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedAddress(f"{url[:200]!r}: use http:// or https://")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise BlockedAddress(f"{url[:200]!r} names no host")
        if host in self.allowed_hosts:
            return
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = list(self.resolve(host))
        for address in addresses:
            kind = _kind(address)
            if kind is not None:
                shown = host if address == host else f"{host} ({address})"
                raise BlockedAddress(f"{shown} is a {kind} address: orderhub sends events only to public "
                                     f"addresses, unless an admin names the host in {ENV_ALLOWED}")
