"""The Retail Pro simulator's sales documents (GET /v1/rest/document) over loopback, and orderhub's client reading
them: paging, the modified-since filter, columns, sign-in, faithful errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from orderhub.adapters.retailpro import RetailProClient, RetailProConfig, RetailProError
from orderhub.simulators.retailpro.server import start_in_thread
from orderhub.simulators.retailpro.simulator import Simulator
from tests.simulators.test_retailpro import PASSWORD, UPC_A, UPC_B, USER, WS, sign_in

DOCS = "/v1/rest/document"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Simulator, str]]:
    simulator, url, stop = start_in_thread({USER: PASSWORD}, (WS,), port=0)
    yield simulator, url
    stop()


@pytest.fixture
def sim(_server: tuple[Simulator, str]) -> Simulator:
    simulator = _server[0]
    simulator.reset()
    simulator.store.seed(["SVA32", "SVA26"], [UPC_A, UPC_B], [("SVA32", UPC_A, 10), ("SVA26", UPC_B, 4)])
    return simulator


@pytest.fixture
def http(_server: tuple[Simulator, str], sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_server[1], timeout=10) as client:
        yield client


def receipt(store: str = "SVA32", minutes: int = 0, kind: str = "sale", **extra: Any) -> dict[str, Any]:
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    return {"store": store, "workstation": "REG1", "type": kind, "created": at,
            "items": [{"upc": UPC_A, "quantity": 2, "price": "9.50", "tax": "1.52"}],
            "tenders": [{"name": "Cash", "amount": "22.04", "currency": "EUR"}], **extra}


def seed(http: httpx.Client, *receipts: dict[str, Any]) -> list[dict[str, Any]]:
    answer = http.post("/_sim/receipts", json={"receipts": list(receipts)})
    assert answer.status_code == 201, answer.text
    return answer.json()["receipts"]


def test_register_receipts_move_the_stores_stock(http: httpx.Client, sim: Simulator) -> None:
    sale, back = seed(http, receipt(), receipt("SVA26", kind="return",
                                               items=[{"upc": UPC_B, "quantity": 1, "price": "5"}]))
    assert sim.store.inventory() == {"SVA26": {UPC_B: 5}, "SVA32": {UPC_A: 8}}
    assert (sale["document_number"], sale["receipt_type"], sale["items"][0]["item_type"]) == (1, 0, 1)
    assert (back["receipt_type"], back["items"][0]["item_type"], back["transaction_total_amt"]) == (1, 2, -5.0)


def test_seeding_refuses_unknown_stores_and_upcs_and_records_none(http: httpx.Client, sim: Simulator) -> None:
    answer = http.post("/_sim/receipts", json={"receipts": [
        receipt(), receipt("NOPE", items=[{"upc": "999", "quantity": 1, "price": "1"}])]})
    assert answer.status_code == 400
    assert {e["field"] for e in answer.json()["errors"]} == {"receipts[1].store", "receipts[1].items[0].upc"}
    assert sim.store.documents() == [] and sim.store.inventory()["SVA32"] == {UPC_A: 10}


def test_reading_needs_a_seated_session(http: httpx.Client, sim: Simulator) -> None:
    answer = http.get(DOCS)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["errorcode"] == "AUTH_REQUIRED"


def test_a_page_is_a_bare_array_of_the_asked_columns(http: httpx.Client, sim: Simulator) -> None:
    [doc] = seed(http, receipt())
    auth = sign_in(http)
    plain = http.get(DOCS, headers=auth).json()
    assert plain == [{"sid": doc["sid"], "link": f"{DOCS}/{doc['sid']}"}]
    [row] = http.get(DOCS, headers=auth, params={"cols": "sid,document_number,item.scan_upc,item.quantity,"
                                                         "tender.tender_name"}).json()
    assert row == {"sid": doc["sid"], "document_number": 1, "items": [{"scan_upc": UPC_A, "quantity": 2}],
                   "tenders": [{"tender_name": "Cash"}]}
    [star] = http.get(DOCS, headers=auth, params={"cols": "*"}).json()
    assert star["items"] == [{"link": doc["items"][0]["link"]}] and star["created_datetime"] == doc["created_datetime"]


def test_paging_filter_and_sort(http: httpx.Client, sim: Simulator) -> None:
    docs = seed(http, *(receipt(minutes=m) for m in range(5)), receipt("SVA26", minutes=9,
                                                                    items=[{"upc": UPC_B, "quantity": 1, "price": 1}]))
    auth = sign_in(http)
    since = (T0 + timedelta(minutes=1)).isoformat(timespec="milliseconds")
    query = {"cols": "sid", "filter": f"(store_code,eq,SVA32)AND(modified_datetime,ge,{since})AND(document_number,nn)",
             "sort": "modified_datetime,asc", "page_size": "3"}
    first = http.get(DOCS, headers=auth, params={**query, "page_no": "1"}).json()
    second = http.get(DOCS, headers=auth, params={**query, "page_no": "2"}).json()
    third = http.get(DOCS, headers=auth, params={**query, "page_no": "3"}).json()
    assert [d["sid"] for d in first + second] == [d["sid"] for d in docs[1:5]] and third == []
    either = http.get(DOCS, headers=auth, params={"cols": "sid", "sort": "created_datetime,desc",
                                                  "filter": "((store_code,eq,SVA26)OR(document_number,eq,1))"}).json()
    assert [d["sid"] for d in either] == [docs[5]["sid"], docs[0]["sid"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"filter": "(colour,eq,red)"}, "filter"),
    ({"filter": "(store_code,like,S)"}, "filter"),
    ({"filter": "(store_code,eq,SVA32"}, "filter"),
    ({"filter": "(modified_datetime,ge,yesterday)"}, "filter"),
    ({"cols": "sid,secret"}, "cols"),
    ({"page_size": "100000"}, "page_size"),
    ({"page_no": "zero"}, "page_no"),
    ({"sort": "colour,asc"}, "sort")])
def test_bad_queries_are_400_naming_the_parameter(http: httpx.Client, sim: Simulator, params: dict[str, str],
                                                  field: str) -> None:
    answer = http.get(DOCS, headers=sign_in(http), params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["data"] is None and answer.json()["errors"][0]["field"] == field


def test_the_client_reads_pages_of_receipts_with_items_and_tenders(_server: tuple[Simulator, str],
                                                                     sim: Simulator, http: httpx.Client) -> None:
    docs = seed(http, *(receipt(minutes=m) for m in range(3)))
    config = RetailProConfig(_server[1], USER, PASSWORD, WS, timeout=5, attempts=2, backoff_seconds=0)
    with RetailProClient(config, sleep=lambda _s: None) as client:
        first = client.receipts("SVA32", T0 + timedelta(minutes=1), 1, 1)
        second = client.receipts("SVA32", T0 + timedelta(minutes=1), 2, 1)
        rest = client.receipts("SVA32", T0 + timedelta(minutes=1), 3, 1)
        assert [d["sid"] for d in first + second] == [docs[1]["sid"], docs[2]["sid"]] and rest == []
        assert first[0]["items"][0]["scan_upc"] == UPC_A and first[0]["tenders"][0]["alphabetic_code"] == "EUR"
        assert client.receipts("SVA26", T0, 1) == []
        sim.sessions.expire_all()  # a Prism restart: the client signs in again by itself
        assert len(client.receipts("SVA32", T0)) == 3


def test_the_client_names_the_store_when_retail_pro_refuses(_server: tuple[Simulator, str], sim: Simulator) -> None:
    config = RetailProConfig(_server[1], USER, "wrong", WS, timeout=5, attempts=1)
    with RetailProClient(config) as client, pytest.raises(RetailProError, match="receipts of store 'SVA32'"):
        client.receipts("SVA32", T0)
