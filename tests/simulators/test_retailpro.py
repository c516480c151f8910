"""The Retail Pro Prism simulator over real HTTP on loopback: sign-in, invoices, transfers, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from orderhub.domain.retailpro_documents import CUSTOMER_FIELDS, INVOICE_FIELDS, max_length
from orderhub.simulators.retailpro.auth import nonce_response
from orderhub.simulators.retailpro.cli import add_cli
from orderhub.simulators.retailpro.server import start_in_thread
from orderhub.simulators.retailpro.simulator import Simulator

USER, PASSWORD, WS = "clerk", "s3cret-ü", "WEB01"
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
def http(_server: tuple[Simulator, str], sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_server[1], timeout=10) as client:
        yield client


def sign_in(http: httpx.Client, workstation: str = WS) -> dict[str, str]:
    """The Prism dance; returns the headers an API call needs."""
    nonce = http.get("/v1/rest/auth").headers["Auth-Nonce"]
    login = http.get("/v1/rest/auth", params={"usr": USER, "pwd": PASSWORD},
                     headers={"Auth-Nonce": nonce, "Auth-Nonce-Response": str(nonce_response(int(nonce)))})
    assert login.status_code == 200, login.text
    headers = {"Auth-Session": login.headers["Auth-Session"]}
    seated = http.get("/v1/rest/sit", params={"ws": workstation}, headers=headers)
    assert seated.status_code == 200, seated.text
    return headers


@pytest.fixture
def auth(http: httpx.Client) -> dict[str, str]:
    return sign_in(http)


def customer(**changes: Any) -> dict[str, Any]:
    return {"FirstName": "Alan", "LastName": "Ventura", "Email": "alan.ventura@example.com",
            "Address1": "Colonia San Francisco", "Address2": "Calle las Camelias, #75", "City": "San Salvador",
            "Country": "SV", "NoDocument": "04567891-2", "Phone": "+50322223333", **changes}


def order(**changes: Any) -> dict[str, Any]:
    return {"InvoicingStore": "SVA32", "OrderNo": "00000001", "CreatedDate": "2023-03-20T11:29:00",
            "DeliveryType": 1, "PaymentType": 1, "TotalAmt": 85.0, "TotalDiscAmt": 10, "ShippingAmt": "4.5000",
            "CustomerBilling": customer(), "CustomerShipping": customer(),
            "Items": [{"UPC": UPC_A, "OrigPrice": 50, "OrigTax": 5.75, "Price": 40, "Tax": 4.60, "Qty": 2,
                       "StoreOrig": "SVA32", "StoreDest": "SVA32"},
                      {"UPC": UPC_B, "OrigPrice": 5, "OrigTax": 0, "Price": 5, "Tax": 0, "Qty": 1}],
            **changes}


def slip(**changes: Any) -> dict[str, Any]:
    return {"SlipNo": "00000005", "FromStore": "SVA26", "ToStore": "SVA32", "CreatedDate": "2023-03-20T11:29:00",
            "TotalQty": 3, "Items": [{"UPC": UPC_A, "Qty": 3}], **changes}


def error_fields(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert body["data"] is None
    return {e["field"]: e["errorcode"] for e in body["errors"]}


# -- sign-in ----------------------------------------------------------------------------------------

def test_sign_in_dance_gives_a_seated_session(http: httpx.Client, sim: Simulator) -> None:
    headers = sign_in(http)
    session = http.get("/v1/rest/session", headers=headers)
    assert session.status_code == 200
    assert session.json()["data"][0]["user"] == USER and session.json()["data"][0]["workstation"] == WS
    assert len(headers["Auth-Session"]) == 32


def test_wrong_nonce_response_is_refused_and_the_nonce_is_spent(http: httpx.Client, sim: Simulator) -> None:
    nonce = http.get("/v1/rest/auth").headers["Auth-Nonce"]
    wrong = http.get("/v1/rest/auth", params={"usr": USER, "pwd": PASSWORD},
                     headers={"Auth-Nonce": nonce, "Auth-Nonce-Response": str(nonce_response(int(nonce)) + 1)})
    assert wrong.status_code == 401 and "Auth-Session" not in wrong.headers
    assert wrong.json()["errors"][0]["errorcode"] == "NONCE_RESPONSE_INVALID"
    again = http.get("/v1/rest/auth", params={"usr": USER, "pwd": PASSWORD},
                     headers={"Auth-Nonce": nonce, "Auth-Nonce-Response": str(nonce_response(int(nonce)))})
    assert again.status_code == 401 and again.json()["errors"][0]["errorcode"] == "NONCE_UNKNOWN"


def test_wrong_password_and_unknown_workstation_are_refused(http: httpx.Client, sim: Simulator) -> None:
    nonce = http.get("/v1/rest/auth").headers["Auth-Nonce"]
    bad = http.get("/v1/rest/auth", params={"usr": USER, "pwd": "nope"},
                   headers={"Auth-Nonce": nonce, "Auth-Nonce-Response": str(nonce_response(int(nonce)))})
    assert bad.status_code == 401 and bad.json()["errors"][0]["errorcode"] == "LOGIN_FAILED"
    nonce = http.get("/v1/rest/auth").headers["Auth-Nonce"]
    token = http.get("/v1/rest/auth", params={"usr": USER, "pwd": PASSWORD},
                     headers={"Auth-Nonce": nonce, "Auth-Nonce-Response": str(nonce_response(int(nonce)))}
                     ).headers["Auth-Session"]
    unseated = http.post(INVOICE, json=order(), headers={"Auth-Session": token})
    assert unseated.status_code == 401 and unseated.json()["errors"][0]["errorcode"] == "SESSION_NOT_SEATED"
    sit = http.get("/v1/rest/sit", params={"ws": "NOPE"}, headers={"Auth-Session": token})
    assert sit.status_code == 400 and error_fields(sit) == {"ws": "WORKSTATION_UNKNOWN"}


def test_calls_without_a_session_are_401_in_the_error_shape(http: httpx.Client, sim: Simulator) -> None:
    for response in (http.post(INVOICE, json=order()), http.post(SLIP, json=slip()),
                     http.get("/api/v1/Inventory", params={"store": "SVA32"}),
                     http.get("/api/v1/Inventory", params={"store": "SVA32"}, headers={"Auth-Session": "F00"})):
        assert response.status_code == 401
        assert response.json()["data"] is None
        assert response.json()["errors"][0]["errorcode"] in ("AUTH_REQUIRED", "SESSION_INVALID")
    assert sim.store.invoices() == [] and sim.store.slips() == []


def test_idle_session_expires(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    assert http.post("/_sim/config", json={"session_idle_seconds": 0.2}).status_code == 200
    time.sleep(0.35)
    expired = http.get("/api/v1/Inventory", params={"store": "SVA32"}, headers=auth)
    assert expired.status_code == 401 and expired.json()["errors"][0]["errorcode"] == "SESSION_EXPIRED"
    fresh = sign_in(http)
    assert http.get("/api/v1/Inventory", params={"store": "SVA32"}, headers=fresh).status_code == 200
    assert http.post("/_sim/sessions/expire").json() == {"expired": 1}
    assert http.get("/v1/rest/session", headers=fresh).status_code == 401


# -- invoices ---------------------------------------------------------------------------------------

def test_invoice_is_accepted_and_deducts_the_invoicing_store(http: httpx.Client, sim: Simulator,
                                                             auth: dict[str, str]) -> None:
    created = http.post(INVOICE, json=order(), headers=auth)
    assert created.status_code == 201, created.text
    invoice = created.json()["data"][0]
    assert created.json()["errors"] is None
    assert invoice["sid"].isdigit() and len(invoice["sid"]) == 18
    assert invoice["OrderNo"] == "00000001" and invoice["TotalAmt"] == "85.0" and invoice["Items"][1]["Tax"] == "0"
    stock = http.get("/api/v1/Inventory", params={"store": "SVA32"}, headers=auth).json()["data"]
    assert {row["UPC"]: row["Qty"] for row in stock} == {UPC_A: 8, UPC_B: 2}
    assert sim.store.inventory()["SVA26"] == {UPC_A: 4}
    assert [i["sid"] for i in http.get("/_sim/invoices").json()["invoices"]] == [invoice["sid"]]


def test_invoicing_against_negative_stock_is_allowed_unless_turned_off(http: httpx.Client, sim: Simulator,
                                                                      auth: dict[str, str]) -> None:
    big = order(Items=[{"UPC": UPC_B, "OrigPrice": 5, "OrigTax": 0, "Price": 5, "Tax": 0, "Qty": 5}])
    assert http.post(INVOICE, json=big, headers=auth).status_code == 201
    assert sim.store.inventory()["SVA32"][UPC_B] == -2
    http.post("/_sim/config", json={"allow_negative_inventory": False})
    short = http.post(INVOICE, json=dict(big, OrderNo="00000002"), headers=auth)
    assert short.status_code == 400 and error_fields(short) == {"Items[0].Qty": "INSUFFICIENT_STOCK"}
    assert sim.store.inventory()["SVA32"][UPC_B] == -2


def test_validation_names_every_bad_field(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    bad = order(OrderNo="1234567890", DeliveryType=1000, TotalAmt="12.34567", CreatedDate="yesterday",
                CustomerBilling=customer(FirstName="A" * 31, Address1="x" * 41, Email=None),
                CustomerShipping=customer(LastName="   "),
                Items=[{"UPC": "000", "OrigPrice": 1, "OrigTax": 0, "Price": -1, "Tax": 0, "Qty": 0,
                        "StoreOrig": "NOPE"}])
    del bad["PaymentType"]
    response = http.post(INVOICE, json=bad, headers=auth)
    assert response.status_code == 400
    assert error_fields(response) == {
        "OrderNo": "FIELD_TOO_LONG", "CreatedDate": "FIELD_INVALID", "DeliveryType": "FIELD_INVALID",
        "PaymentType": "FIELD_REQUIRED", "TotalAmt": "FIELD_INVALID",
        "CustomerBilling.FirstName": "FIELD_TOO_LONG", "CustomerBilling.Email": "FIELD_REQUIRED",
        "CustomerBilling.Address1": "FIELD_TOO_LONG", "CustomerShipping.LastName": "FIELD_REQUIRED",
        "Items[0].Price": "FIELD_INVALID", "Items[0].Qty": "FIELD_INVALID", "Items[0].UPC": "UPC_UNKNOWN",
        "Items[0].StoreOrig": "STORE_UNKNOWN"}
    message = next(e["errormsg"] for e in response.json()["errors"] if e["field"] == "CustomerBilling.FirstName")
    assert "31 characters; at most 30" in message
    missing = http.post(INVOICE, json={"OrderNo": "1"}, headers=auth)
    fields = error_fields(missing)
    assert fields["InvoicingStore"] == "FIELD_REQUIRED" and fields["CustomerBilling"] == "FIELD_REQUIRED"
    assert fields["Items"] == "FIELD_REQUIRED"
    unknown_store = http.post(INVOICE, json=order(InvoicingStore="ZZ1"), headers=auth)
    assert error_fields(unknown_store) == {"InvoicingStore": "STORE_UNKNOWN"}
    fiscal = http.post(INVOICE, json=order(FiscalCredit=True, CompanyId="0614-1"), headers=auth)
    assert error_fields(fiscal) == {"CompanyName": "FIELD_REQUIRED", "CompanyAddress": "FIELD_REQUIRED"}
    not_json = http.post(INVOICE, content=b"{nope", headers=auth)
    assert not_json.status_code == 400 and not_json.json()["errors"][0]["errorcode"] == "BODY_INVALID"
    assert sim.store.invoices() == [] and sim.store.inventory()["SVA32"] == {UPC_A: 10, UPC_B: 3}


def test_limits_are_published_in_one_place() -> None:
    assert max_length(INVOICE_FIELDS, "OrderNo") == 9 and max_length(INVOICE_FIELDS, "InvoicingStore") == 5
    assert max_length(CUSTOMER_FIELDS, "FirstName") == 30 and max_length(CUSTOMER_FIELDS, "Address1") == 40
    assert max_length(CUSTOMER_FIELDS, "Email") == 60


def test_same_order_for_the_same_store_is_refused_with_the_first_invoice(http: httpx.Client, sim: Simulator,
                                                                        auth: dict[str, str]) -> None:
    first = http.post(INVOICE, json=order(), headers=auth).json()["data"][0]
    again = http.post(INVOICE, json=order(TotalAmt=1), headers=auth)
    assert again.status_code == 409
    error = again.json()["errors"][0]
    assert error["errorcode"] == "DUPLICATE_DOCUMENT" and error["field"] == "OrderNo"
    assert error["sid"] == first["sid"] and first["sid"] in error["errormsg"]
    assert sim.store.inventory()["SVA32"] == {UPC_A: 8, UPC_B: 2}  # deducted once
    other_store = http.post(INVOICE, json=order(InvoicingStore="SVA26"), headers=auth)
    assert other_store.status_code == 201


def test_unicode_names_are_kept(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    name, rtl = "Zoë 🦋🌍 Łukasz", "مريم العربية"
    assert len(rtl) <= 30
    created = http.post(INVOICE, json=order(CustomerBilling=customer(FirstName=name, LastName=rtl),
                                            CustomerShipping=customer(Address1="שדרות רוטשילד 1 🏠")), headers=auth)
    assert created.status_code == 201, created.text
    invoice = created.json()["data"][0]
    assert invoice["CustomerBilling"]["FirstName"] == name and invoice["CustomerBilling"]["LastName"] == rtl
    stored = sim.store.invoices()[0]
    assert stored["CustomerShipping"]["Address1"] == "שדרות רוטשילד 1 🏠"
    thirty_emoji = http.post(INVOICE, json=order(OrderNo="2", CustomerBilling=customer(FirstName="🦋" * 30)),
                             headers=auth)
    assert thirty_emoji.status_code == 201  # lengths count characters, not bytes


# -- transfers and inventory ------------------------------------------------------------------------

def test_transfer_moves_stock_between_stores(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    moved = http.post(SLIP, json=slip(), headers=auth)
    assert moved.status_code == 201, moved.text
    record = moved.json()["data"][0]
    assert record["sid"].isdigit() and record["FromStore"] == "SVA26"
    assert sim.store.inventory() == {"SVA26": {UPC_A: 1}, "SVA32": {UPC_A: 13, UPC_B: 3}}
    again = http.post(SLIP, json=slip(), headers=auth)
    assert again.status_code == 409 and again.json()["errors"][0]["sid"] == record["sid"]
    assert [s["sid"] for s in http.get("/_sim/transfers").json()["transfers"]] == [record["sid"]]


def test_transfer_validation(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    bad = http.post(SLIP, json=slip(FromStore="XX", ToStore="SVA32", TotalQty=2,
                                    Items=[{"UPC": "999", "Qty": -2}, {"UPC": UPC_A, "Qty": 2}]), headers=auth)
    assert bad.status_code == 400
    assert error_fields(bad) == {"FromStore": "STORE_UNKNOWN", "Items[0].UPC": "UPC_UNKNOWN",
                                 "Items[0].Qty": "FIELD_INVALID"}
    same = http.post(SLIP, json=slip(ToStore="SVA26"), headers=auth)
    assert error_fields(same) == {"ToStore": "FIELD_INVALID"}
    total = http.post(SLIP, json=slip(TotalQty=4), headers=auth)
    assert error_fields(total) == {"TotalQty": "FIELD_INVALID"}
    unknown = http.get("/api/v1/Inventory", params={"store": "NOPE"}, headers=auth)
    assert unknown.status_code == 404 and error_fields(unknown) == {"store": "STORE_UNKNOWN"}
    assert sim.store.slips() == []


def test_seed_through_the_control_api(http: httpx.Client, sim: Simulator) -> None:
    seeded = http.post("/_sim/seed", json={"inventory": [{"store": "S9", "upc": "111", "qty": 7}],
                                           "users": [{"usr": "ops", "pwd": "pw"}], "workstations": ["POS2"]})
    assert seeded.status_code == 200 and seeded.json()["inventory"]["S9"] == {"111": 7}
    assert "ops" in http.get("/_sim/config").json()["users"]
    bad = http.post("/_sim/seed", json={"inventory": [{"store": "S9", "upc": "111", "qty": "many"}]})
    assert bad.status_code == 400 and error_fields(bad) == {"inventory[0]": "FIELD_INVALID"}


# -- faults -----------------------------------------------------------------------------------------

def test_a_failure_rule_can_let_requests_through_first_as_a_service_going_down_mid_run(
        http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    assert http.post("/_sim/failures", json={"path": INVOICE, "after": 1, "times": 5}).status_code == 201
    assert http.post(INVOICE, json=order(), headers=auth).status_code == 201
    assert [http.post(INVOICE, json=order(OrderNo=f"0000000{n}"), headers=auth).status_code
            for n in (2, 3)] == [503, 503]
    rule = http.get("/_sim/failures").json()["failures"][0]
    assert (rule["after"], rule["passed"], rule["used"]) == (1, 1, 2)
    assert http.post("/_sim/failures", json={"after": -1}).json()["errors"][0]["field"] == "after"


def test_failure_injection_hits_only_matching_paths_n_times(http: httpx.Client, sim: Simulator,
                                                            auth: dict[str, str]) -> None:
    rule = http.post("/_sim/failures", json={"path": INVOICE, "times": 2, "status": 500})
    assert rule.status_code == 201
    stock = http.get("/api/v1/Inventory", params={"store": "SVA32"}, headers=auth)
    assert stock.status_code == 200  # another path is untouched
    for _ in range(2):
        failed = http.post(INVOICE, json=order(), headers=auth)
        assert failed.status_code == 500 and failed.json()["errors"][0]["errorcode"] == "SIMULATED_FAILURE"
    assert sim.store.invoices() == []
    assert http.post(INVOICE, json=order(), headers=auth).status_code == 201
    assert http.get("/_sim/failures").json()["failures"][0]["used"] == 2
    log = http.get("/_sim/requests").json()["requests"]
    assert [(r["path"], r["status"], r["fault"]) for r in log[-4:]] == [
        ("/api/v1/Inventory", 200, None), (INVOICE, 500, "error"), (INVOICE, 500, "error"), (INVOICE, 201, None)]
    assert all(r["query"].get("pwd") in (None, "***") for r in log)


def test_timeouts_with_and_without_the_work_done(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    http.post("/_sim/failures", json={"path": INVOICE, "outcome": "timeout", "seconds": 0.5})
    with pytest.raises(httpx.ReadTimeout):
        http.post(INVOICE, json=order(), headers=auth, timeout=0.2)
    assert sim.store.invoices() == []
    http.post("/_sim/failures", json={"path": INVOICE, "outcome": "timeout", "seconds": 0.5, "process": True})
    with pytest.raises(httpx.ReadTimeout):
        http.post(INVOICE, json=order(), headers=auth, timeout=0.2)
    time.sleep(0.1)
    assert len(sim.store.invoices()) == 1  # the work was done although the client gave up
    retry = http.post(INVOICE, json=order(), headers=auth)
    assert retry.status_code == 409 and retry.json()["errors"][0]["sid"] == sim.store.invoices()[0]["sid"]
    bad = http.post("/_sim/failures", json={"path": INVOICE, "status": 418})
    assert bad.status_code == 400 and error_fields(bad) == {"status": "FIELD_INVALID"}


def test_latency_fixed_and_jitter(http: httpx.Client, sim: Simulator, auth: dict[str, str]) -> None:
    assert http.post("/_sim/latency", json={"fixed": 0.2, "jitter": 0.1, "path": "/api/"}).status_code == 200
    started = time.monotonic()
    assert http.get("/api/v1/Inventory", params={"store": "SVA32"}, headers=auth).status_code == 200
    took = time.monotonic() - started
    assert 0.2 <= took < 1.0
    started = time.monotonic()
    http.get("/v1/rest/session", headers=auth)
    assert time.monotonic() - started < 0.2  # outside the path prefix
    http.delete("/_sim/latency")
    assert http.get("/_sim/config").json()["latency"] == {"fixed": 0.0, "jitter": 0.0, "path": "/"}


def test_unknown_routes_answer_in_the_error_shape(http: httpx.Client, sim: Simulator) -> None:
    missing = http.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json()["errors"][0]["errorcode"] == "NOT_FOUND"
    wrong_method = http.get(INVOICE)
    assert wrong_method.status_code == 405


def test_cli_registers_retailpro_with_its_options() -> None:
    group = click.Group("simulate")
    add_cli(group)
    result = CliRunner().invoke(group, ["retailpro", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--user", "--password", "--workstation", "--session-idle"):
        assert option in result.output
