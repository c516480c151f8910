"""orderhub sends events only to public addresses unless an admin names the host."""

from __future__ import annotations

import pytest

from orderhub.adapters.outbound import BlockedAddress, OutboundPolicy
from orderhub.services import http_attempts

DNS = {"hooks.example.com": ["93.184.216.34"], "rebound.example.com": ["93.184.216.34", "10.1.2.3"],
       "metadata.example.com": ["169.254.169.254"], "v6.example.com": ["2606:2800:220:1::1"]}
POLICY = OutboundPolicy(resolve=lambda host: DNS.get(host, []))


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1:5432/", "loopback"), ("http://[::1]/x", "loopback"), ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://10.0.0.5/", "private"), ("https://192.168.1.1/", "private"), ("http://172.16.0.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"), ("http://metadata.example.com/", "link-local"),
    ("http://rebound.example.com/", "private"), ("http://0.0.0.0/", "unspecified"), ("http://224.0.0.1/", "multicast"),
])
def test_internal_addresses_are_refused_saying_why(url: str, kind: str) -> None:
    with pytest.raises(BlockedAddress, match=f"is a {kind} address.*ORDERHUB_OUTBOUND_ALLOWED_HOSTS"):
        POLICY.check(url)


@pytest.mark.parametrize("url", ["https://hooks.example.com/orders", "http://v6.example.com:8080/",
                                 "http://93.184.216.34/", "https://unknown.example.org/"])
def test_public_addresses_are_sent_to(url: str) -> None:
    POLICY.check(url)


def test_a_named_host_is_allowed_whatever_it_resolves_to() -> None:
    allowed = OutboundPolicy(frozenset({"erp.internal"}), resolve=lambda host: ["10.9.9.9"])
    allowed.check("https://erp.internal/hooks")
    with pytest.raises(BlockedAddress):
        allowed.check("https://other.internal/hooks")


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "file:///etc/passwd", "http:///nohost"])
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(BlockedAddress):
        POLICY.check(url)


def test_the_allowed_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_OUTBOUND_ALLOWED_HOSTS", " ERP.internal. , hooks.lan ")
    assert OutboundPolicy.from_env().allowed_hosts == {"erp.internal", "hooks.lan"}


def test_a_refused_address_is_never_contacted() -> None:
    class Refusing:
        def post(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("contacted")

    attempt = http_attempts.post(Refusing(), "http://rebound.example.com/", b"{}", {}, 5.0,  # type: ignore[arg-type]
                                 POLICY)
    assert attempt.status is None and attempt.error and attempt.error.startswith("not sent: rebound.example.com")
