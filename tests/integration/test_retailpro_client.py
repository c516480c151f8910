"""orderhub's Retail Pro client against the Prism simulator over loopback HTTP: outcomes, retries, sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from orderhub.adapters import retailpro
from orderhub.adapters.retailpro import (
    RetailProClient,
    RetailProConfig,
    RetailProConfigError,
    RetailProError,
)
from orderhub.config import Settings
from orderhub.simulators.retailpro.faults import FailureRule
from orderhub.simulators.retailpro.server import start_in_thread
from orderhub.simulators.retailpro.simulator import Simulator
from orderhub.testing.postgres import free_port

USER, PASSWORD, WS = "clerk", "s3cret-ü-🔑", "WEB01"
INVOICE = "/api/v1/Document/Ordertoinvoice"
SLIP = "/api/v1/Transfer/Slip"
UPC_A, UPC_B = "8720116122558", "8720116122565"


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Simulator, str]]:
    simulator, url, stop = start_in_thread({USER: PASSWORD}, (WS,), port=0)
    yield simulator, url
    stop()


@pytest.fixture
def sim(_server: tuple[Simulator, str]) -> Simulator:
    """The module's simulator, emptied, with two stores stocked."""
    simulator = _server[0]
    simulator.reset()
    simulator.sessions.idle_seconds = 1800
    simulator.store.allow_negative = True
    simulator.store.seed(["SVA32", "SVA26"], [UPC_A, UPC_B],
                         [("SVA32", UPC_A, 10), ("SVA32", UPC_B, 3), ("SVA26", UPC_A, 4)])
    return simulator


@pytest.fixture
def config(_server: tuple[Simulator, str], sim: Simulator) -> RetailProConfig:
    return RetailProConfig(_server[1], USER, PASSWORD, WS, timeout=5.0, attempts=3, backoff_seconds=0)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(config: RetailProConfig, sleeps: list[float]) -> Iterator[RetailProClient]:
    with RetailProClient(config, sleep=sleeps.append) as rp:
        yield rp


def customer(**changes: Any) -> dict[str, Any]:
    return {"FirstName": "Alan", "LastName": "Ventura", "Email": "alan.ventura@example.com",
            "Address1": "Colonia San Francisco", "City": "San Salvador", "Country": "SV",
            "NoDocument": "04567891-2", **changes}


def order(**changes: Any) -> dict[str, Any]:
    return {"InvoicingStore": "SVA32", "OrderNo": "00000001", "CreatedDate": "2023-03-20T11:29:00",
            "DeliveryType": 1, "PaymentType": 1, "TotalAmt": Decimal("85.0000"), "ShippingAmt": Decimal("4.50"),
            "CustomerBilling": customer(), "CustomerShipping": customer(),
            "Items": [{"UPC": UPC_A, "OrigPrice": Decimal("50"), "OrigTax": Decimal("5.75"), "Price": Decimal("40"),
                       "Tax": Decimal("4.60"), "Qty": 2}],
            **changes}


def slip(**changes: Any) -> dict[str, Any]:
    return {"SlipNo": "00000005", "FromStore": "SVA26", "ToStore": "SVA32", "CreatedDate": "2023-03-20T11:29:00",
            "TotalQty": 3, "Items": [{"UPC": UPC_A, "Qty": 3}], **changes}


# -- documents --------------------------------------------------------------------------------------

def test_created_invoice_carries_its_sid_and_unicode_round_trips(client: RetailProClient, sim: Simulator) -> None:
    outcome = client.create_invoice(order(CustomerBilling=customer(FirstName="Zoë 🎉")))
    assert outcome.kind == "created", outcome.message
    stored = sim.store.invoices()
    assert len(stored) == 1 and outcome.sid == stored[0]["sid"] and outcome.document_number == 1
    assert stored[0]["CustomerBilling"]["FirstName"] == "Zoë 🎉"
    assert [(e.method, e.status) for e in outcome.exchanges] == [("POST", 201)]
    sent = outcome.exchanges[0].request_body
    assert sent["TotalAmt"] == "85.0000" and sent["CustomerBilling"]["FirstName"] == "Zoë 🎉"
    assert outcome.exchanges[0].response_body["data"][0]["sid"] == outcome.sid
    assert outcome.sid is not None and outcome.sid in outcome.message and "'00000001'" in outcome.message


def test_duplicate_returns_the_first_sid(client: RetailProClient, sim: Simulator) -> None:
    first = client.create_invoice(order())
    again = client.create_invoice(order())
    assert again.kind == "duplicate" and again.sid == first.sid and again.document_number == first.document_number
    assert again.errors[0].code == "DUPLICATE_DOCUMENT"
    assert len(sim.store.invoices()) == 1 and "nothing new was created" in again.message


def test_rejected_lists_every_field_error_and_is_not_retried(client: RetailProClient, sim: Simulator) -> None:
    body = order(Items=[{"UPC": "123", "OrigPrice": 1, "OrigTax": 0, "Price": 1, "Tax": 0, "Qty": 1},
                        {"UPC": "456", "OrigPrice": 1, "OrigTax": 0, "Price": 1, "Tax": 0, "Qty": 1}])
    del body["CustomerBilling"]["Email"]
    outcome = client.create_invoice(body)
    assert outcome.kind == "rejected" and outcome.sid is None
    assert {(e.field, e.code) for e in outcome.errors} == {
        ("Items[0].UPC", "UPC_UNKNOWN"), ("Items[1].UPC", "UPC_UNKNOWN"), ("CustomerBilling.Email", "FIELD_REQUIRED")}
    assert "(400): " in outcome.message
    assert "Items[0].UPC: UPC '123' is not in the Retail Pro catalogue." in outcome.message
    assert "Items[1].UPC" in outcome.message and "CustomerBilling.Email" in outcome.message
    assert len(outcome.exchanges) == 1 and sim.store.invoices() == []


def test_slip_created_then_duplicate(client: RetailProClient, sim: Simulator) -> None:
    created = client.create_slip(slip())
    assert created.kind == "created" and created.sid == sim.store.slips()[0]["sid"]
    again = client.create_slip(slip())
    assert again.kind == "duplicate" and again.sid == created.sid
    assert client.inventory("SVA26")[UPC_A] == 1


# -- retries ----------------------------------------------------------------------------------------

def test_one_503_then_success_is_one_outcome_with_two_exchanges(client: RetailProClient, sim: Simulator,
                                                                 sleeps: list[float]) -> None:
    sim.faults.add(FailureRule(path=INVOICE, times=1, status=503))
    outcome = client.create_invoice(order())
    assert outcome.kind == "created"
    assert [e.status for e in outcome.exchanges] == [503, 201]
    assert outcome.exchanges[0].response_body["errors"][0]["errorcode"] == "SIMULATED_FAILURE"
    assert len(sleeps) == 1 and len(sim.store.invoices()) == 1


def test_every_attempt_failing_is_unavailable(client: RetailProClient, sim: Simulator, sleeps: list[float]) -> None:
    sim.faults.add(FailureRule(path=INVOICE, times=5, status=503))
    outcome = client.create_invoice(order())
    assert outcome.kind == "unavailable" and outcome.sid is None
    assert [e.status for e in outcome.exchanges] == [503, 503, 503]
    assert outcome.message.startswith("Retail Pro unavailable")
    assert "HTTP 503 SIMULATED_FAILURE" in outcome.message and "after 3 attempts" in outcome.message
    assert outcome.errors[0].code == "SIMULATED_FAILURE"
    assert len(sleeps) == 2 and sim.store.invoices() == []


def test_timeout_after_the_work_then_retry_finds_the_first_invoice(config: RetailProConfig,
                                                                   sim: Simulator) -> None:
    sim.faults.add(FailureRule(path=INVOICE, outcome="timeout", seconds=3.0, process=True))
    with RetailProClient(RetailProConfig(config.base_url, USER, PASSWORD, WS, timeout=0.5, backoff_seconds=0)) as rp:
        outcome = rp.create_invoice(order())
    assert outcome.kind == "duplicate", outcome.message
    assert outcome.sid == sim.store.invoices()[0]["sid"] and len(sim.store.invoices()) == 1
    first, second = outcome.exchanges
    assert first.status is None and first.error is not None and "no answer within" in first.error
    assert second.status == 409


def test_timeout_doing_nothing_then_retry_creates(config: RetailProConfig, sim: Simulator) -> None:
    sim.faults.add(FailureRule(path=INVOICE, outcome="timeout", seconds=3.0))
    with RetailProClient(RetailProConfig(config.base_url, USER, PASSWORD, WS, timeout=0.5, backoff_seconds=0)) as rp:
        outcome = rp.create_invoice(order())
    assert outcome.kind == "created" and [e.status for e in outcome.exchanges] == [None, 201]


def test_unreachable_service_is_unavailable(sleeps: list[float]) -> None:
    config = RetailProConfig(f"http://127.0.0.1:{free_port()}", USER, PASSWORD, WS, backoff_seconds=0)
    with RetailProClient(config, sleep=sleeps.append) as rp:
        outcome = rp.create_invoice(order())
        assert outcome.kind == "unavailable" and "could not reach" in outcome.message
        assert len(outcome.exchanges) == 3 and all(e.status is None for e in outcome.exchanges)
        with pytest.raises(RetailProError, match="'SVA32'"):
            rp.inventory("SVA32")


# -- sessions ---------------------------------------------------------------------------------------

def test_expired_session_is_renewed_transparently(client: RetailProClient, sim: Simulator,
                                                  _server: tuple[Simulator, str]) -> None:
    assert client.create_invoice(order()).kind == "created"
    assert sim.sessions.expire_all() == 1
    outcome = client.create_invoice(order(OrderNo="00000002"))
    assert outcome.kind == "created" and [e.status for e in outcome.exchanges] == [401, 201]
    assert httpx.post(f"{_server[1]}/_sim/sessions/expire").json() == {"expired": 1}
    assert client.inventory("SVA32")[UPC_A] == 6
    assert len(sim.sessions.sessions()) == 1


def test_wrong_password_is_unavailable_naming_the_settings(config: RetailProConfig, sim: Simulator) -> None:
    wrong = "wrong-🔑-horse"
    with RetailProClient(RetailProConfig(config.base_url, USER, wrong, WS)) as rp:
        outcome = rp.create_invoice(order())
        assert outcome.kind == "unavailable" and outcome.errors[0].code == "LOGIN_FAILED"
        assert "ORDERHUB_RETAILPRO_PASSWORD" in outcome.message and "ORDERHUB_RETAILPRO_USER" in outcome.message
        assert wrong not in outcome.message and wrong not in repr(outcome)
        assert [e.status for e in outcome.exchanges] == [200, 401]  # the nonce, then the refusal; no retry
        with pytest.raises(RetailProError, match="ORDERHUB_RETAILPRO_PASSWORD") as raised:
            rp.inventory("SVA32")
        assert wrong not in str(raised.value)
    assert sim.store.invoices() == []


def test_unknown_workstation_is_unavailable_naming_the_setting(config: RetailProConfig, sim: Simulator) -> None:
    with RetailProClient(RetailProConfig(config.base_url, USER, PASSWORD, "NOPE")) as rp:
        outcome = rp.create_slip(slip())
    assert outcome.kind == "unavailable" and outcome.errors[0].code == "WORKSTATION_UNKNOWN"
    assert "ORDERHUB_RETAILPRO_WORKSTATION" in outcome.message and "'NOPE'" in outcome.message


# -- inventory --------------------------------------------------------------------------------------

def test_inventory_reads_a_store(client: RetailProClient, sim: Simulator) -> None:
    assert client.inventory("SVA32") == {UPC_A: 10, UPC_B: 3}
    assert client.create_invoice(order()).kind == "created"
    assert client.inventory("SVA32") == {UPC_A: 8, UPC_B: 3}
    assert client.inventory("SVA26") == {UPC_A: 4, UPC_B: 0}


def test_inventory_of_an_unknown_store_names_it(client: RetailProClient, sim: Simulator) -> None:
    with pytest.raises(RetailProError, match="'XX999'.*STORE_UNKNOWN"):
        client.inventory("XX999")


# -- answers that are not Retail Pro's --------------------------------------------------------------

def _scripted(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    """Signs in like Prism, then answers each document or inventory call with the next of ``answers``."""
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/rest/auth" and "usr" not in request.url.params:
            return httpx.Response(200, json={"data": [], "errors": None}, headers={"Auth-Nonce": "1300"})
        if request.url.path == "/v1/rest/auth":
            return httpx.Response(200, json={"data": [], "errors": None}, headers={"Auth-Session": "TOKEN"})
        if request.url.path == "/v1/rest/sit":
            return httpx.Response(200, json={"data": [], "errors": None})
        seen.append(request)
        return answers.pop(0)
    return httpx.MockTransport(handle)


def test_retry_after_is_honoured_and_capped(sleeps: list[float]) -> None:
    busy = {"data": None, "errors": [{"errorcode": "BUSY", "errormsg": "Busy.", "field": None}]}
    answers = [httpx.Response(503, json=busy, headers={"Retry-After": "7"}),
               httpx.Response(429, json=busy, headers={"Retry-After": "3600"}),
               httpx.Response(201, json={"data": [{"sid": "1", "document_number": 1}], "errors": None})]
    seen: list[httpx.Request] = []
    config = RetailProConfig("http://prism.test", USER, PASSWORD, WS, backoff_seconds=0.5)
    with RetailProClient(config, transport=_scripted(answers, seen), sleep=sleeps.append) as rp:
        outcome = rp.create_invoice(order())
    assert outcome.kind == "created" and sleeps == [7.0, 30.0]
    assert seen[0].headers["Content-Type"] == "application/json" and seen[0].headers["Accept"] == "application/json"
    assert seen[0].headers["Auth-Session"] == "TOKEN"


def test_an_answer_that_is_not_json_is_unavailable_and_quoted(sleeps: list[float]) -> None:
    page = "<html>" + "x" * 500 + "</html>"
    config = RetailProConfig("http://prism.test", USER, PASSWORD, WS)
    with RetailProClient(config, transport=_scripted([httpx.Response(200, text=page)], []),
                         sleep=sleeps.append) as rp:
        outcome = rp.create_invoice(order())
    assert outcome.kind == "unavailable" and "'<html>xxx" in outcome.message
    assert "ORDERHUB_RETAILPRO_URL" in outcome.message
    assert "</html>" not in outcome.message and len(outcome.exchanges) == 1 and sleeps == []


def test_a_sign_in_answer_echoing_the_password_is_masked() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        if "usr" not in request.url.params:
            return httpx.Response(200, json={"data": [], "errors": None}, headers={"Auth-Nonce": "1300"})
        return httpx.Response(403, text=f"Forbidden: {request.url} ({request.url.params['pwd']})")
    config = RetailProConfig("http://prism.test", USER, PASSWORD, WS)
    with RetailProClient(config, transport=httpx.MockTransport(echo)) as rp:
        outcome = rp.create_invoice(order())
    text = outcome.message + repr(outcome)
    assert outcome.kind == "unavailable" and "Forbidden" in text and "***" in text
    assert PASSWORD not in text and "s3cret-%C3%BC" not in text and "s3cret-%c3%bc" not in text


# -- configuration and secrets ----------------------------------------------------------------------

def test_from_settings_names_the_missing_variables() -> None:
    with pytest.raises(RetailProConfigError) as raised:
        RetailProConfig.from_settings(Settings(retailpro_url="http://prism:8080", retailpro_user="clerk"))
    assert "ORDERHUB_RETAILPRO_PASSWORD" in str(raised.value) and "ORDERHUB_RETAILPRO_WORKSTATION" in str(raised.value)
    assert "ORDERHUB_RETAILPRO_URL" not in str(raised.value) and "ORDERHUB_RETAILPRO_USER" not in str(raised.value)
    config = RetailProConfig.from_settings(Settings(retailpro_url="http://prism:8080", retailpro_user="clerk",
                                                    retailpro_password=PASSWORD, retailpro_workstation=WS,
                                                    retailpro_timeout=12.5))
    assert (config.base_url, config.user, config.password, config.workstation, config.timeout) == (
        "http://prism:8080", "clerk", PASSWORD, WS, 12.5)


class _TokenSpy(httpx.HTTPTransport):
    """A real transport that remembers every Auth-Session token the service hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if "Auth-Session" in response.headers:
            self.tokens.append(response.headers["Auth-Session"])
        return response


def test_password_and_session_token_never_reach_repr_logs_or_exchanges(config: RetailProConfig, sim: Simulator,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert PASSWORD not in repr(config)
    spy = _TokenSpy()
    sim.faults.add(FailureRule(path=INVOICE, times=1, status=500))
    with capture_logs() as logs:
        # orderhub's logging caches loggers on first use: a fresh one is bound to the capture.
        monkeypatch.setattr(retailpro, "log", structlog.get_logger("orderhub.adapters.retailpro"))
        rp = RetailProClient(config, transport=spy, sleep=lambda _: None)
        outcomes = [rp.create_invoice(order())]
        sim.sessions.expire_all()
        outcomes.append(rp.create_invoice(order(OrderNo="00000002")))
        rp.inventory("SVA32")
        with RetailProClient(RetailProConfig(config.base_url, USER, "not-" + PASSWORD, WS)) as wrong:
            outcomes.append(wrong.create_invoice(order()))
        rp.close()
        text = repr(logs) + repr(outcomes) + repr(rp) + repr(wrong)
    assert [o.kind for o in outcomes] == ["created", "created", "unavailable"]
    assert len(spy.tokens) >= 2 and logs
    assert all(line["event"] == "retail pro exchange" and "path" in line and "elapsed_ms" in line for line in logs)
    assert PASSWORD not in text
    assert all(token not in text for token in spy.tokens)
    assert any("pwd=%2A%2A%2A" in e.url for e in outcomes[2].exchanges)
