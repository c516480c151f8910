"""The client address of a request: the peer's, unless the peer is a trusted proxy."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from orderhub.entrypoints.http.client_address import client_address


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", f.encode()) for f in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1234)})


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("203.0.113.9", ("10.0.0.1",), (), "203.0.113.9"),  # no trusted proxy: the header means nothing
    ("203.0.113.9", ("10.0.0.1",), ("127.0.0.1",), "203.0.113.9"),  # the peer is not the proxy
    ("127.0.0.1", ("198.51.100.7",), ("127.0.0.1",), "198.51.100.7"),
    ("10.0.0.2", ("6.6.6.6, 198.51.100.7, 10.0.0.3",), ("10.0.0.0/8",), "198.51.100.7"),  # rightmost untrusted
    ("10.0.0.2", ("6.6.6.6", "198.51.100.7"), ("10.0.0.0/8",), "198.51.100.7"),  # several header lines
    ("127.0.0.1", ("not-an-address",), ("127.0.0.1",), "127.0.0.1"),
    ("127.0.0.1", (), ("127.0.0.1",), "127.0.0.1"),
    ("::1", ("2001:db8::7",), ("::1",), "2001:db8::7"),
])
def test_client_address(peer: str, forwarded: tuple[str, ...], trusted: tuple[str, ...], expected: str) -> None:
    assert client_address(_request(peer, *forwarded), trusted) == expected


def test_a_bad_trusted_proxy_setting_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from orderhub.config import Settings

    monkeypatch.setenv("ORDERHUB_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(SystemExit, match="'proxy.example' is not an address or network"):
        Settings.from_env()
    monkeypatch.setenv("ORDERHUB_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    assert Settings.from_env().trusted_proxies == ("10.0.0.0/8", "::1")
