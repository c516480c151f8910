"""The payment-gateway simulator over real HTTP on loopback: API, errors, idempotency, rules, rate limit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from orderhub.simulators.payments.cli import add_cli
from orderhub.simulators.payments.gateway import Gateway
from orderhub.simulators.payments.server import start_in_thread
from tests.processes import wait_for

KEY = "sk_test_alpha"
OTHER_KEY = "sk_test_beta"
AUTH = {"Authorization": f"Bearer {KEY}"}
ORDER = {"amount": "12.34", "currency": "EUR", "reference": "#1001"}


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Gateway, str]]:
    gateway, url, stop = start_in_thread([KEY, OTHER_KEY], port=0)
    yield gateway, url
    stop()


@pytest.fixture
def gateway(_server: tuple[Gateway, str]) -> Gateway:
    """The module's gateway, emptied and back to its default settings."""
    gw = _server[0]
    gw.reset()
    gw.configure({"magic_amounts": True, "rate_limit": 100.0, "burst": 100.0})
    return gw


@pytest.fixture
def http(_server: tuple[Gateway, str], gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_server[1], timeout=10) as client:
        yield client


def post(http: httpx.Client, path: str, body: Any = None, key: str | None = None, **headers: str) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return http.post(path, json=body if body is not None else {}, headers={**AUTH, **extra, **headers})


def authorize(http: httpx.Client, key: str | None = None, **changes: Any) -> httpx.Response:
    return post(http, "/v1/authorizations", {**ORDER, **changes}, key)


def add_rule(http: httpx.Client, rule: dict[str, Any]) -> None:
    response = http.post("/_sim/rules", json=rule)
    assert response.status_code == 201, response.text


def test_authorize_void_and_capture(http: httpx.Client, gateway: Gateway) -> None:
    created = authorize(http, metadata={"channel": "web"})
    assert created.status_code == 201
    auth = created.json()
    assert auth["id"].startswith("auth_") and auth["object"] == "authorization"
    assert {k: auth[k] for k in ("status", "amount", "currency", "reference", "metadata")} == {
        "status": "authorized", "amount": "12.34", "currency": "EUR", "reference": "#1001",
        "metadata": {"channel": "web"}}
    assert isinstance(auth["created"], int)
    assert http.get(f"/v1/authorizations/{auth['id']}", headers=AUTH).json() == auth

    voided = post(http, f"/v1/authorizations/{auth['id']}/void")
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    again = post(http, f"/v1/authorizations/{auth['id']}/void")
    assert again.status_code == 200 and again.json()["status"] == "voided"

    second = authorize(http, amount="20", reference="#1002").json()
    assert second["amount"] == "20.00"
    too_much = post(http, f"/v1/authorizations/{second['id']}/capture", {"amount": "20.01"})
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount"
    captured = post(http, f"/v1/authorizations/{second['id']}/capture", {"amount": "15.5"})
    assert captured.status_code == 200
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("captured", "15.50")
    refused = post(http, f"/v1/authorizations/{second['id']}/void")
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["code"] == "authorization_captured"

    listed = http.get("/v1/authorizations", params={"reference": "#1002"}, headers=AUTH).json()
    assert listed["object"] == "list" and [a["id"] for a in listed["data"]] == [second["id"]]
    assert [a["status"] for a in gateway.authorizations()] == ["voided", "captured"]


def test_unknown_authorization_is_404_resource_missing(http: httpx.Client) -> None:
    for response in (http.get("/v1/authorizations/auth_nope", headers=AUTH),
                     post(http, "/v1/authorizations/auth_nope/void"),
                     post(http, "/v1/authorizations/auth_nope/capture")):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert response.json()["error"]["code"] == "resource_missing"


def test_a_decline_answers_402_and_stores_the_declined_authorization(http: httpx.Client, gateway: Gateway) -> None:
    add_rule(http, {"match": {"reference": "#1001"}, "outcome": "decline", "decline_code": "do_not_honor",
                    "times": 1})
    declined = authorize(http)
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined", "do_not_honor")
    assert error["message"]
    assert error["authorization"]["status"] == "declined"
    stored = http.get(f"/v1/authorizations/{error['authorization']['id']}", headers=AUTH).json()
    assert stored["status"] == "declined" and stored["decline_code"] == "do_not_honor"
    assert authorize(http).status_code == 201  # the rule's one use is spent
    assert authorize(http, reference="#other").status_code == 201
    assert http.get("/_sim/rules").json()["rules"][0]["used"] == 1


def test_amounts_ending_in_51_are_declined_unless_magic_amounts_is_off(http: httpx.Client) -> None:
    declined = authorize(http, amount="10.51")
    assert declined.status_code == 402
    assert declined.json()["error"]["decline_code"] == "insufficient_funds"
    assert authorize(http, amount="10.52").status_code == 201
    assert http.post("/_sim/config", json={"magic_amounts": False}).json()["magic_amounts"] is False
    assert authorize(http, amount="10.51").status_code == 201


def test_an_approve_rule_wins_over_the_magic_amount(http: httpx.Client) -> None:
    add_rule(http, {"match": {"amount": "0.51"}, "outcome": "approve"})
    assert authorize(http, amount="0.51").status_code == 201


@pytest.mark.parametrize(("changes", "param", "code"), [
    ({"amount": 12.34}, "amount", "parameter_invalid"),
    ({"amount": "0"}, "amount", "amount_too_small"),
    ({"amount": "-1"}, "amount", "amount_too_small"),
    ({"amount": "1.234"}, "amount", "parameter_invalid"),
    ({"amount": "12.5", "currency": "JPY"}, "amount", "parameter_invalid"),
    ({"amount": "NaN"}, "amount", "parameter_invalid"),
    ({"amount": "twelve"}, "amount", "parameter_invalid"),
    ({"amount": "1000000.00"}, "amount", "amount_too_large"),
    ({"amount": None}, "amount", "parameter_missing"),
    ({"currency": "EURO"}, "currency", "parameter_invalid"),
    ({"currency": "ZZZ"}, "currency", "parameter_invalid"),
    ({"reference": ""}, "reference", "parameter_invalid"),
    ({"reference": None}, "reference", "parameter_missing"),
    ({"metadata": {"size": 3}}, "metadata[size]", "parameter_invalid"),
    ({"customer": "x"}, "customer", "parameter_unknown"),
])
def test_validation_errors_name_the_parameter(http: httpx.Client, gateway: Gateway, changes: dict[str, Any],
                                              param: str, code: str) -> None:
    body = {k: v for k, v in {**ORDER, **changes}.items() if v is not None}
    response = post(http, "/v1/authorizations", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["message"]
    assert gateway.authorizations() == []


def test_amounts_are_exact_for_each_currency(http: httpx.Client) -> None:
    assert authorize(http, amount="1500", currency="jpy").json()["amount"] == "1500"
    assert authorize(http, amount="1.234", currency="KWD").json()["amount"] == "1.234"
    assert authorize(http, amount="0.1", currency="EUR").json()["amount"] == "0.10"
    assert authorize(http, amount="999999.99").json()["amount"] == "999999.99"


def test_a_body_that_is_not_json_is_a_400(http: httpx.Client) -> None:
    response = http.post("/v1/authorizations", content=b"amount=12.34", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_retry_with_the_same_key_replays_the_first_answer(http: httpx.Client, gateway: Gateway) -> None:
    first = authorize(http, key="order-1001-authorize")
    retry = post(http, "/v1/authorizations", {"reference": "#1001", "currency": "EUR", "amount": "12.34"},
                 "order-1001-authorize")
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Original-Request"] == first.headers["Request-Id"]
    assert "Idempotent-Replayed" not in first.headers
    assert len(gateway.authorizations()) == 1

    changed = authorize(http, key="order-1001-authorize", amount="99.00")
    assert changed.status_code == 400
    assert changed.json()["error"]["type"] == "idempotency_error"
    assert len(gateway.authorizations()) == 1


def test_declines_are_replayed_too(http: httpx.Client, gateway: Gateway) -> None:
    first = authorize(http, key="k-declined", amount="3.51")
    retry = authorize(http, key="k-declined", amount="3.51")
    assert (first.status_code, retry.status_code) == (402, 402)
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    assert len(gateway.authorizations()) == 1


def test_keys_are_scoped_per_api_key_and_endpoint(http: httpx.Client, gateway: Gateway) -> None:
    mine = authorize(http, key="shared-key").json()
    theirs = http.post("/v1/authorizations", json=ORDER,
                       headers={"Authorization": f"Bearer {OTHER_KEY}", "Idempotency-Key": "shared-key"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine["id"]
    voided = post(http, f"/v1/authorizations/{mine['id']}/void", key="shared-key")
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert len(gateway.authorizations()) == 2


def test_a_key_still_in_progress_gets_409(http: httpx.Client, gateway: Gateway) -> None:
    add_rule(http, {"match": {"any": True}, "outcome": "approve", "delay_seconds": 1.0, "times": 1})
    answers: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: answers.append(authorize(http, key="k-slow")))
    slow.start()
    wait_for(lambda: gateway.rules()[0]["used"] == 1, timeout=5, what="the slow request to start")
    concurrent = authorize(http, key="k-slow")
    slow.join(timeout=10)
    assert concurrent.status_code == 409
    assert concurrent.json()["error"]["type"] == "idempotency_error"
    assert answers[0].status_code == 201
    retry = authorize(http, key="k-slow")
    assert retry.json()["id"] == answers[0].json()["id"] and retry.headers["Idempotent-Replayed"] == "true"
    assert len(gateway.authorizations()) == 1


def test_a_timeout_creates_the_authorization_first_and_a_retry_returns_it(http: httpx.Client,
                                                                          gateway: Gateway) -> None:
    add_rule(http, {"match": {"reference": "#1001"}, "outcome": "timeout", "delay_seconds": 1.0, "times": 1})
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/authorizations", json=ORDER, headers={**AUTH, "Idempotency-Key": "k-timeout"}, timeout=0.3)
    stored = gateway.authorizations()
    assert [a["status"] for a in stored] == ["authorized"]
    retry = authorize(http, key="k-timeout")
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == stored[0]["id"]
    assert len(gateway.authorizations()) == 1


def test_an_error_rule_creates_nothing_and_saves_nothing_for_the_key(http: httpx.Client, gateway: Gateway) -> None:
    add_rule(http, {"match": {"any": True}, "outcome": "error", "status": 503, "times": 1})
    failed = authorize(http, key="k-error")
    assert failed.status_code == 503 and failed.json()["error"]["type"] == "api_error"
    assert gateway.authorizations() == []
    retry = authorize(http, key="k-error")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert len(gateway.authorizations()) == 1


def test_rules_for_void_and_capture(http: httpx.Client, gateway: Gateway) -> None:
    auth = authorize(http).json()
    add_rule(http, {"match": {"any": True, "operation": "void"}, "outcome": "error", "times": 1})
    assert post(http, f"/v1/authorizations/{auth['id']}/void", key="v").status_code == 500
    assert gateway.authorizations()[0]["status"] == "authorized"
    assert post(http, f"/v1/authorizations/{auth['id']}/void", key="v").json()["status"] == "voided"
    refused = http.post("/_sim/rules", json={"match": {"any": True, "operation": "void"}, "outcome": "decline"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "outcome"


def test_over_the_rate_limit_is_429_with_retry_after(http: httpx.Client) -> None:
    http.post("/_sim/config", json={"rate_limit": 0.5, "burst": 2})
    assert [authorize(http).status_code for _ in range(2)] == [201, 201]
    limited = authorize(http)
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["Retry-After"]) >= 1
    other = http.post("/v1/authorizations", json=ORDER, headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert other.status_code == 201  # each API key has its own bucket


@pytest.mark.parametrize("header", [None, f"Bearer {KEY}x", f"Basic {KEY}", "Bearer"])
def test_a_missing_or_wrong_api_key_is_401(http: httpx.Client, gateway: Gateway, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for response in (http.post("/v1/authorizations", json=ORDER, headers=headers),
                     http.get("/v1/authorizations", headers=headers)):
        assert response.status_code == 401
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
        assert KEY not in response.text
    assert gateway.authorizations() == []


def test_unicode_reference_and_metadata_round_trip(http: httpx.Client, gateway: Gateway) -> None:
    reference = "Заказ #1001 🦄 — ünïcödé 注文"
    metadata = {"note": "🎁 gift wrap, 礼物", "ключ": "значение ✓"}
    created = authorize(http, reference=reference, metadata=metadata).json()
    assert (created["reference"], created["metadata"]) == (reference, metadata)
    fetched = http.get(f"/v1/authorizations/{created['id']}", headers=AUTH).json()
    assert (fetched["reference"], fetched["metadata"]) == (reference, metadata)
    listed = http.get("/v1/authorizations", params={"reference": reference}, headers=AUTH).json()["data"]
    assert [a["id"] for a in listed] == [created["id"]]
    assert gateway.authorizations()[0]["metadata"] == metadata


def test_every_answer_carries_a_request_id(http: httpx.Client) -> None:
    answers = [authorize(http), authorize(http, amount="x"), http.get("/v1/authorizations"),
               http.get("/v1/nowhere", headers=AUTH), http.get("/_sim/authorizations")]
    ids = [a.headers["Request-Id"] for a in answers]
    assert all(i.startswith("req_") for i in ids) and len(set(ids)) == len(ids)


def test_the_control_api(http: httpx.Client, gateway: Gateway) -> None:
    bad = http.post("/_sim/rules", json={"match": {"any": True}, "outcome": "explode"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "outcome"
    add_rule(http, {"match": {"reference": "#1", "amount": "5.00"}, "outcome": "decline"})
    assert http.get("/_sim/rules").json()["rules"][0]["match"] == {"operation": "authorize", "reference": "#1",
                                                                   "amount": "5.00"}
    assert authorize(http, reference="#1", amount="5").status_code == 402
    assert authorize(http, reference="#1", amount="6").status_code == 201
    assert http.delete("/_sim/rules").json() == {"rules": []}
    assert len(http.get("/_sim/authorizations").json()["authorizations"]) == 2
    assert [r["status"] for r in http.get("/_sim/requests").json()["requests"]] == [402, 201]
    assert http.post("/_sim/reset").status_code == 200
    assert http.get("/_sim/authorizations").json()["authorizations"] == []


def test_add_cli_registers_the_payments_command() -> None:
    @click.group()
    def simulate() -> None:
        pass

    add_cli(simulate)
    result = CliRunner().invoke(simulate, ["payments", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "8710", "--api-key", "sk_test_demo"):
        assert option in result.output
