"""Amazon listings read back: the sync lists every SKU the seller lists and orderhub knows (ASIN as its
channel ref, unknown SKUs in the error log once), and the drift check finds a quantity changed behind
orderhub's back, which the pusher then corrects."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.amazon.channel import stock_channel
from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.store.schema import error_log
from orderhub.bootstrap import Hub
from orderhub.services import inventory as inventory_service
from orderhub.services.jobs.channel_jobs import CHECK_STOCK, SYNC_LISTINGS
from orderhub.services.jobs.manager import JobManager
from orderhub.services.stock_push import push_once
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator
from tests.e2e.test_amazon_stock import shown, stock

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim


def _entries(hub: Hub, record_type: str) -> list[dict[str, object]]:
    with hub.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(error_log).where(error_log.c.record_type == record_type)
                                                       .order_by(error_log.c.id))]


def test_the_sync_lists_what_the_seller_lists_and_orderhub_knows(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    extra = [f"PAGE-{n:02d}-é" for n in range(25)]  # more than one page of 20
    amazon_sim.post("/_sim/listings", {"listings": [{"sku": s, "quantity": 1} for s in extra]})
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku in ("MUG-CAFE", "SOAP-LAV", *extra[:21]):
            inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=4)
    run = JobManager(hub).run_now(SYNC_LISTINGS, None, {"account": "amazon-us"})
    assert run.status == "succeeded", run.error
    assert (run.stats["read"], run.stats["listed"], run.stats["unknown"]) == (33, 23, 10)
    with hub.db.read() as conn:
        listed = {r["sku"]: r for r in channel_stock.listed(conn, account.id)}
    assert len(listed) == 23 and listed["MUG-CAFE"]["channel_ref"] == "B0ORDHUB02"
    assert listed["MUG-CAFE"]["wanted"] == 4 and listed["MUG-CAFE"]["pending"] is True
    unknown = _entries(hub, "channel_listing")
    assert len(unknown) == 10 and all(e["shop_id"] == account.id and e["status"] == "open" for e in unknown)
    tea = next(e for e in unknown if orjson.loads(str(e["payload"]))["sku"] == "TEA-MATCHA-50")
    assert str(tea["error"]).startswith("amazon account amazon-us lists SKU TEA-MATCHA-50 (B0ORDHUB04), which "
                                        "orderhub does not know")
    assert tea["job_run_id"] == run.run_id

    # Again: nothing new, no second entry; a SKU orderhub knows now is listed and its entry resolved.
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "TEA-MATCHA-50", "WH-1", actor="test", reason="received", delta=2)
    again = JobManager(hub).run_now(SYNC_LISTINGS, None, {})
    assert (again.stats["listed"], again.stats["unknown"], again.stats["unknown_reported"]) == (1, 9, 0)
    after = {e["id"]: e["status"] for e in _entries(hub, "channel_listing")}
    assert len(after) == 10 and after[tea["id"]] == "resolved"


def test_a_quantity_changed_in_seller_central_is_found_and_corrected(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    stock(hub, account, {"MUG-CAFE": 7, "SOAP-LAV": 3, "TSH-ORG-M": 5})
    assert push_once(hub.db, lambda a: stock_channel(a, hub)).sent == 3
    with hub.db.write() as conn:  # a movement not sent yet: the pusher's business, not drift
        inventory_service.adjust(conn, "TSH-ORG-M", "WH-1", actor="test", reason="damaged", delta=-1)
    # Someone sets MUG-CAFE to 2 in Seller Central.
    amazon_sim.post("/_sim/listings", {"listings": [{"sku": "MUG-CAFE", "quantity": 2}]})
    run = JobManager(hub).run_now(CHECK_STOCK, None, {"account": "amazon-us"})
    assert run.status == "succeeded", run.error
    assert {k: run.stats[k] for k in ("checked", "in_step", "drifted", "pending", "missing")} == {
        "checked": 2, "in_step": 1, "drifted": 1, "pending": 1, "missing": 0}
    (entry,) = _entries(hub, "channel_stock")
    assert entry["kind"] == "stock_drift" and entry["shop_id"] == account.id and entry["job_run_id"] == run.run_id
    assert "amazon account amazon-us: 1 listing(s)" in str(entry["error"])
    assert "MUG-CAFE (showed 2, sent 7)" in str(entry["error"])
    with hub.db.read() as conn:
        rows = {r["sku"]: r for r in channel_stock.listed(conn, account.id)}
    assert rows["MUG-CAFE"]["pending"] and "showing 2, not the 7 it took" in rows["MUG-CAFE"]["last_error"]

    report = push_once(hub.db, lambda a: stock_channel(a, hub))
    assert report.sent == 2  # MUG-CAFE again, and TSH-ORG-M's new value
    assert shown(amazon_sim)["MUG-CAFE"] == 7 and shown(amazon_sim)["TSH-ORG-M"] == 4
    calm = JobManager(hub).run_now(CHECK_STOCK, None, {})
    assert (calm.stats["drifted"], calm.stats["in_step"]) == (0, 3)
    assert len(_entries(hub, "channel_stock")) == 1
