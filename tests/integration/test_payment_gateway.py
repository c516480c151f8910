"""orderhub's payment-gateway client against the running simulator: answers, retries, idempotency, secrets."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from orderhub.adapters.payments import (
    Authorization,
    PaymentAuthenticationFailed,
    PaymentDeclined,
    PaymentError,
    PaymentGateway,
    PaymentRejected,
    PaymentUnavailable,
)
from orderhub.simulators.payments.gateway import Gateway
from orderhub.simulators.payments.server import start_in_thread
from orderhub.testing.postgres import free_port

API_KEY = "sk_test_0rderhub_S3cret_Key"


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Gateway, str]]:
    gateway, url, stop = start_in_thread(API_KEY, port=0)
    yield gateway, url
    stop()


@pytest.fixture
def sim(_server: tuple[Gateway, str]) -> Gateway:
    gateway = _server[0]
    gateway.reset()
    gateway.configure({"magic_amounts": True, "rate_limit": 100.0, "burst": 100.0})
    return gateway


class Sleeps:
    """Records the client's waits (and really waits, so the simulator's clock moves on)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(_server: tuple[Gateway, str], sim: Gateway, sleeps: Sleeps) -> Iterator[PaymentGateway]:
    with PaymentGateway(_server[1], API_KEY, timeout=0.3, max_attempts=3, backoff=0.05, sleep=sleeps,
                        rng=random.Random(7)) as gateway:
        yield gateway


def rule(sim: Gateway, **body: Any) -> None:
    from orderhub.simulators.payments.rules import parse_rule

    sim.add_rule(parse_rule(body))


def posts(sim: Gateway) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["method"] == "POST"]


def test_authorize_get_capture_and_void(client: PaymentGateway, sim: Gateway) -> None:
    auth = client.authorize("#1001", Decimal("12.34"), "EUR", idempotency_key="k-1001")
    assert auth == Authorization(id=auth.id, status="authorized", amount=Decimal("12.34"), currency="EUR",
                                 reference="#1001")
    assert isinstance(auth.amount, Decimal)
    assert client.get(auth.id) == auth
    assert client.find("#1001") == [auth]
    voided = client.void(auth.id, idempotency_key="k-1001-void")
    assert voided.status == "voided" and voided.id == auth.id
    assert client.void(auth.id, idempotency_key="k-1001-void-again").status == "voided"

    other = client.authorize("#1002", Decimal("20"), "EUR", "k-1002")
    captured = client.capture(other.id, "k-1002-capture", amount=Decimal("15.50"))
    assert (captured.status, captured.amount_captured, captured.amount) == ("captured", Decimal("15.50"),
                                                                            Decimal("20.00"))
    assert [a["status"] for a in sim.authorizations()] == ["voided", "captured"]


def test_a_decline_is_raised_and_never_retried(client: PaymentGateway, sim: Gateway) -> None:
    rule(sim, match={"reference": "#1001"}, outcome="decline", decline_code="insufficient_funds")
    with pytest.raises(PaymentDeclined) as caught:
        client.authorize("#1001", Decimal("12.34"), "EUR", "k-declined")
    declined = caught.value
    assert (declined.code, declined.decline_code) == ("card_declined", "insufficient_funds")
    assert declined.reference == "#1001" and declined.authorization_id == sim.authorizations()[0]["id"]
    assert "#1001" in str(declined) and "insufficient_funds" in str(declined)
    assert len(posts(sim)) == 1
    assert [a["status"] for a in sim.authorizations()] == ["declined"]


def test_a_timed_out_authorization_is_retried_with_the_same_key_and_not_made_twice(
        client: PaymentGateway, sim: Gateway) -> None:
    rule(sim, match={"any": True}, outcome="timeout", delay_seconds=1.0, times=1)
    auth = client.authorize("#1001", Decimal("12.34"), "EUR", "k-timeout")
    stored = sim.authorizations()
    assert [a["id"] for a in stored] == [auth.id]
    sent = posts(sim)
    assert [r["idempotency_key"] for r in sent] == ["k-timeout", "k-timeout"]
    assert [r["replayed"] for r in sent] == [False, True]


def test_a_slow_gateway_holding_the_key_is_waited_out(sim: Gateway, _server: tuple[Gateway, str]) -> None:
    rule(sim, match={"any": True}, outcome="approve", delay_seconds=0.6, times=1)
    with PaymentGateway(_server[1], API_KEY, timeout=0.3, max_attempts=8, backoff=0.1) as client:
        auth = client.authorize("#1001", Decimal("12.34"), "EUR", "k-slow")
    assert [a["id"] for a in sim.authorizations()] == [auth.id]
    assert {r["idempotency_key"] for r in posts(sim)} == {"k-slow"}


def test_errors_twice_then_success_on_the_third_attempt(client: PaymentGateway, sim: Gateway,
                                                        sleeps: Sleeps) -> None:
    rule(sim, match={"any": True}, outcome="error", times=2)
    auth = client.authorize("#1001", Decimal("12.34"), "EUR", "k-errors")
    assert auth.status == "authorized"
    assert [r["status"] for r in posts(sim)] == [500, 500, 201]
    assert {r["idempotency_key"] for r in posts(sim)} == {"k-errors"}
    assert len(sleeps.waits) == 2
    assert len(sim.authorizations()) == 1


def test_a_gateway_that_keeps_failing_is_unavailable_after_max_attempts(client: PaymentGateway,
                                                                        sim: Gateway) -> None:
    rule(sim, match={"any": True}, outcome="error", status=503)
    with pytest.raises(PaymentUnavailable) as caught:
        client.authorize("#1001", Decimal("12.34"), "EUR", "k-down")
    assert caught.value.attempts == 3 and caught.value.reference == "#1001"
    assert "#1001" in str(caught.value) and "k-down" in str(caught.value)
    assert [r["status"] for r in posts(sim)] == [503, 503, 503]
    assert sim.authorizations() == []


def test_a_failing_void_is_retried_and_unavailable_names_the_authorization(client: PaymentGateway,
                                                                           sim: Gateway) -> None:
    auth = client.authorize("#1001", Decimal("5"), "EUR", "k-a")
    rule(sim, match={"any": True, "operation": "void"}, outcome="error")
    with pytest.raises(PaymentUnavailable) as caught:
        client.void(auth.id, "k-void")
    assert caught.value.authorization_id == auth.id and auth.id in str(caught.value)
    sim.clear_rules()
    assert client.void(auth.id, "k-void").status == "voided"


def test_rate_limiting_is_honoured(client: PaymentGateway, sim: Gateway, sleeps: Sleeps) -> None:
    sim.configure({"rate_limit": 1.0, "burst": 1})
    first = client.authorize("#1001", Decimal("1"), "EUR", "k-first")
    second = client.authorize("#1002", Decimal("2"), "EUR", "k-second")
    assert first.id != second.id
    assert [r["status"] for r in posts(sim)] == [201, 429, 201]
    assert sleeps.waits and sleeps.waits[0] >= 1.0  # the Retry-After of the 429


def test_a_retry_after_beyond_the_cap_is_unavailable_at_once(client: PaymentGateway, sim: Gateway) -> None:
    sim.configure({"rate_limit": 0.01, "burst": 1})
    client.authorize("#1001", Decimal("1"), "EUR", "k-first")
    with pytest.raises(PaymentUnavailable) as caught:
        client.authorize("#1002", Decimal("2"), "EUR", "k-second")
    assert caught.value.retry_after is not None and caught.value.retry_after > client.max_retry_after
    assert [r["status"] for r in posts(sim)] == [201, 429]


def test_invalid_requests_are_rejected_and_not_retried(client: PaymentGateway, sim: Gateway) -> None:
    with pytest.raises(PaymentRejected) as caught:
        client.authorize("#1001", Decimal("12.345"), "EUR", "k-bad")
    assert (caught.value.status, caught.value.param) == (400, "amount")
    with pytest.raises(PaymentRejected) as missing:
        client.void("auth_missing", "k-missing")
    assert (missing.value.status, missing.value.code) == (404, "resource_missing")
    assert "auth_missing" in str(missing.value)
    assert len(posts(sim)) == 2


def test_the_same_key_with_other_parameters_is_rejected(client: PaymentGateway, sim: Gateway) -> None:
    client.authorize("#1001", Decimal("12.34"), "EUR", "k-same")
    with pytest.raises(PaymentRejected) as caught:
        client.authorize("#1001", Decimal("99.99"), "EUR", "k-same")
    assert caught.value.code == "idempotency_key_in_use"
    assert len(sim.authorizations()) == 1


def test_money_must_be_decimal(client: PaymentGateway, sim: Gateway) -> None:
    with pytest.raises(TypeError):
        client.authorize("#1001", 12.34, "EUR", "k-float")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.authorize("#1001", Decimal("12.34"), "EUR", "")
    assert sim.requests() == []


def test_the_api_key_never_appears_in_errors_or_repr(_server: tuple[Gateway, str], sim: Gateway) -> None:
    errors: list[PaymentError] = []
    with PaymentGateway(_server[1], API_KEY + "-wrong", timeout=0.3, backoff=0.01) as wrong:
        with pytest.raises(PaymentAuthenticationFailed) as caught:
            wrong.authorize("#1001", Decimal("1"), "EUR", "k-auth")
        errors.append(caught.value)
        assert API_KEY not in repr(wrong)
    assert len(posts(sim)) == 1  # a refused key is not retried
    with PaymentGateway(f"http://127.0.0.1:{free_port()}", API_KEY, timeout=0.3, backoff=0.01) as nowhere:
        with pytest.raises(PaymentUnavailable) as unreachable:
            nowhere.authorize("#1001", Decimal("1"), "EUR", "k-nowhere")
        errors.append(unreachable.value)
        assert API_KEY not in repr(nowhere)
    rule(sim, match={"any": True}, outcome="decline")
    with PaymentGateway(_server[1], API_KEY, timeout=0.3) as right:
        with pytest.raises(PaymentDeclined) as declined:
            right.authorize("#1001", Decimal("1"), "EUR", "k-declined")
        errors.append(declined.value)
    for error in errors:
        assert isinstance(error, PaymentError)
        assert API_KEY not in str(error) and API_KEY not in repr(error)
        assert API_KEY not in repr(error.__cause__) and API_KEY not in repr(error.__context__)


def test_a_connection_refused_is_unavailable(sim: Gateway) -> None:
    with PaymentGateway(f"http://127.0.0.1:{free_port()}", API_KEY, max_attempts=2, backoff=0.01) as nowhere:
        with pytest.raises(PaymentUnavailable) as caught:
            nowhere.get("auth_x")
    assert caught.value.attempts == 2 and "auth_x" in str(caught.value)
    assert isinstance(caught.value.__cause__, (type(None), httpx.HTTPError))
