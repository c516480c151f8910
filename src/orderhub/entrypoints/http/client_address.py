"""The address a request came from, for throttling and the session record.

The peer address is the client unless the peer is a configured trusted proxy: only then is
X-Forwarded-For read, right to left, skipping the trusted hops. Anyone can write the header,
so honouring it from anywhere would let an attacker pick the address they are throttled as.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The client's address: the peer's, or the first untrusted hop behind trusted proxies."""
    peer = request.client.host if request.client else ""
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for line in request.headers.getlist("x-forwarded-for") for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy passed on something that is no address: do not trust it
    return peer


def over_tls(scheme: str, peer: str, forwarded_proto: str | None, trusted_proxies: tuple[str, ...] = ()) -> bool:
    """Whether the client's request came over TLS: to orderhub itself, or to a trusted proxy that says so in
    X-Forwarded-Proto (its last value: the one the nearest proxy wrote)."""
    if scheme == "https":
        return True
    if not forwarded_proto or not _trusted(peer, _networks(trusted_proxies)):
        return False
    return forwarded_proto.split(",")[-1].strip().lower() == "https"
