"""The POS till simulator's own queue: sales kept on disk while offline, leaving only on orderhub's answer,
through resends, duplicates in one batch, shuffled batches, lost answers and a restart. orderhub's side
is a small stand-in here (each sale id counted once); tests/e2e/test_pos_simulator.py runs the till
against a real orderhub."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from orderhub.simulators.pos import catalogue
from orderhub.simulators.pos.local_queue import LocalState
from orderhub.simulators.pos.sales import SaleMaker
from orderhub.simulators.pos.session import Plan, run
from orderhub.simulators.pos.terminal import DeviceRevoked, Options, Terminal

ITEMS = catalogue.parse_skus("MUG-CAFE:14.00,SCF-HANBOK:39.5,TSH-ORG-M:25")


class Hub:
    """Answers POS syncs as orderhub does: each sale id once; every sale id it ever took, in arrival order."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.bodies: list[list[str]] = []  # the sale ids of each request, as sent
        self.status: int | None = None  # answer this to every sync when set
        self.online = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.online:
            raise httpx.ConnectError("offline", request=request)
        if request.url.path == "/api/pos/enrol":
            return httpx.Response(201, json={"device": {"id": 7, "name": "till-1", "store": "BOS01"},
                                             "credential": "ohpos_test", "sales_url": "/api/pos/sales"})
        if self.status is not None:
            return httpx.Response(self.status, json={"error": f"answered {self.status} on purpose"})
        assert request.headers["authorization"] == "Bearer ohpos_test"
        sales = orjson.loads(request.content)["sales"]
        self.bodies.append([s["id"] for s in sales])
        results = []
        for sale in sales:
            new = sale["id"] not in self.taken
            self.taken.append(sale["id"]) if new else None
            results.append({"id": sale["id"], "status": "recorded" if new else "duplicate"})
        return httpx.Response(200, json={"results": results, "server_time": "2026-12-07T10:00:00+00:00"})


def _till(tmp_path: Path, hub: Hub, *, seed: int = 1, fail_rate: float = 0.0, **options: Any) -> Terminal:
    till = Terminal("http://orderhub.test", LocalState(tmp_path / "till.db"), name="till-1", rng=random.Random(seed),
                    transport=httpx.MockTransport(hub), options=Options(**options), sleep=lambda _s: None)
    if till.credential is None:
        till.enrol("ABCD-EFGH-JKMN")
    till.flaky.rate = fail_rate
    return till


def _sell(till: Terminal, n: int, *, returns: float = 0.0) -> list[str]:
    maker = SaleMaker(ITEMS, random.Random(3), returns=returns)
    return [till.state.add(maker.sale(till.state)).sale_id for _ in range(n)]


def test_sales_made_offline_stay_until_orderhub_answers(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub, batch=4)
    hub.online = False
    made = _sell(till, 10)
    assert not till.sync()
    assert till.state.length() == 10 and hub.taken == []
    assert [q.sequence for q in till.state.queued()] == list(range(1, 11))
    hub.online = True
    assert till.sync()
    assert till.state.length() == 0 and hub.taken == made
    assert till.stats.acknowledged == 10 and till.stats.answered("recorded") == 10


def test_a_restart_keeps_the_queue_the_credential_and_the_sequence(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub)
    hub.online = False
    made = _sell(till, 3)
    till.close()
    till.state.close()

    again = _till(tmp_path, hub)  # no enrolment: the credential was kept
    assert again.credential == "ohpos_test" and again.store == "BOS01"
    assert [q.sale_id for q in again.state.queued()] == made
    assert _sell(again, 1) and again.state.queued()[-1].sequence == 4
    hub.online = True
    assert again.sync() and hub.taken[:3] == made


def test_resend_duplicates_and_shuffle_count_each_sale_once(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub, batch=5, duplicate=0.5, shuffle=True, seed=11)
    made = _sell(till, 23)
    assert till.sync()
    assert till.resend_history() and till.resend_history()
    assert sorted(hub.taken) == sorted(made) and len(hub.taken) == 23
    first_round = [i for body in hub.bodies[:5] for i in body]
    assert first_round != made and sorted(set(first_round)) == sorted(made)  # out of order, each there
    assert any(len(body) != len(set(body)) for body in hub.bodies)  # sales sent twice within one batch
    stats = till.stats
    assert stats.answered("recorded") == 23
    assert stats.answered("duplicate") == stats.sent - 23 and stats.resent >= 46
    assert till.state.length() == 0


def test_a_lost_answer_is_sent_again_and_answered_duplicate(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub, batch=2, seed=5, fail_rate=0.4, attempts=50)
    made = _sell(till, 20)
    assert till.sync()
    assert till.flaky.refused and till.flaky.lost  # both kinds of failure happened
    assert sorted(set(hub.taken)) == sorted(made) and len(hub.taken) == 20
    assert till.stats.answered("duplicate") >= 1  # a batch whose answer was lost went again
    assert till.state.length() == 0


def test_a_refused_batch_stays_and_a_revoked_device_stops(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub)
    _sell(till, 2)
    hub.status = 400
    assert not till.sync() and till.state.length() == 2
    assert till.stats.refused_batches == 1 and "on purpose" in (till.stats.last_refusal or "")
    hub.status = 503
    assert not till.sync() and till.stats.retried == till.options.attempts and till.state.length() == 2
    hub.status = 401
    with pytest.raises(DeviceRevoked, match="revoked"):
        till.sync()
    assert till.state.length() == 2


def test_returns_bring_back_no_more_than_this_till_sold(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub)
    _sell(till, 40, returns=0.5)
    sold: dict[tuple[str, str], int] = {}
    back: dict[tuple[str, str], int] = {}
    for q in till.state.history():
        for line in q.body["lines"]:
            if line["quantity"] > 0:
                sold[(q.sale_id, line["sku"])] = sold.get((q.sale_id, line["sku"]), 0) + line["quantity"]
            else:
                key = (line["returns"]["sale"], line["sku"])
                back[key] = back.get(key, 0) - line["quantity"]
    assert back and all(back[k] <= sold.get(k, 0) for k in back)


def test_an_offline_shift_syncs_when_it_comes_back(tmp_path: Path) -> None:
    hub = Hub()
    till = _till(tmp_path, hub, batch=3)
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    synced_while_offline: list[int] = []
    original = till.sync

    def watched() -> bool:
        synced_while_offline.append(len(hub.taken)) if now[0] < 5 else None
        return original()

    till.sync = watched  # type: ignore[method-assign]
    shift = run(till, SaleMaker(ITEMS, random.Random(2)), Plan(rate=2.0, sales=16, offline_for=5.0),
                clock=clock, sleep=sleep)
    assert shift.sold == 16 and synced_while_offline == []
    assert len(hub.taken) == 16 and till.state.length() == 0


def test_the_catalogue_reads_skus_json_and_csv(tmp_path: Path) -> None:
    assert [(i.sku, str(i.price)) for i in ITEMS] == [("MUG-CAFE", "14.00"), ("SCF-HANBOK", "39.50"),
                                                      ("TSH-ORG-M", "25.00")]
    (tmp_path / "c.json").write_text('[{"sku": "茶-1", "price": "3.5", "title": "抹茶 🍵"}]', encoding="utf-8")
    assert catalogue.read_file(tmp_path / "c.json")[0].title == "抹茶 🍵"
    (tmp_path / "c.csv").write_text("sku,price,title\nA-1,2.00,Tee\n", encoding="utf-8")
    assert catalogue.read_file(tmp_path / "c.csv")[0].price == catalogue.Item("A-1", catalogue._price("2", "")).price
    with pytest.raises(catalogue.CatalogueError, match="SKU:PRICE"):
        catalogue.parse_skus("NO-PRICE")
    with pytest.raises(catalogue.CatalogueError, match="not a price"):
        catalogue.parse_skus("A:abc")
