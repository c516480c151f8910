"""Walmart listings read back: the sync lists the seller's items orderhub knows (wpid as channel ref), and the
drift check finds a quantity changed in Seller Center, which the pusher then corrects."""

from __future__ import annotations

from sqlalchemy import select

from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.store.schema import error_log
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_loops import stock_channel_for
from orderhub.services.jobs.channel_jobs import CHECK_STOCK, SYNC_LISTINGS
from orderhub.services.jobs.manager import JobManager
from orderhub.services.stock_push import push_once
from orderhub.simulators.walmart.defaults import DEFAULT_CLIENT_ID
from orderhub.simulators.walmart.inventory import wpid
from tests.integration import test_walmart_support as support
from tests.integration.test_walmart_support import Walmart

walmart_url, walmart = support.walmart_url, support.walmart  # the simulator and the account, as fixtures


def _receive(w: Walmart, skus: dict[str, int]) -> None:
    with w.hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku, quantity in skus.items():
            inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)


def _shown(w: Walmart) -> dict[str, int]:
    return {r["sku"]: r["quantity"] for r in w.control("GET", "inventory", seller=DEFAULT_CLIENT_ID)["inventory"]}


def test_the_sync_lists_the_seller_s_items_orderhub_knows(walmart: Walmart) -> None:
    extra = [f"WM-PAGE-{n:02d}" for n in range(55)]  # more than a page of 50
    for sku in extra:
        walmart.control("POST", "inventory", {"sku": sku, "quantity": 1})
    _receive(walmart, {"WM-MUG-CAFE": 6, **dict.fromkeys(extra, 2)})
    run = JobManager(walmart.hub).run_now(SYNC_LISTINGS, None, {"account": "walmart-us"})
    assert run.status == "succeeded", run.error
    total = len(walmart.control("GET", "inventory", seller=DEFAULT_CLIENT_ID)["inventory"])
    assert (run.stats["read"], run.stats["listed"], run.stats["unknown"]) == (total, 56, total - 56)
    with walmart.hub.db.read() as conn:
        listed = {r["sku"]: r for r in channel_stock.listed(conn, walmart.account.id)}
        unknown = conn.execute(select(error_log.c.error).where(error_log.c.record_type == "channel_listing")).scalars()
        unknown = list(unknown)
    assert listed["WM-MUG-CAFE"]["channel_ref"] == wpid(DEFAULT_CLIENT_ID, "WM-MUG-CAFE")
    assert listed["WM-MUG-CAFE"]["wanted"] == 6 and len(unknown) == total - 56
    assert any(e.startswith("walmart account walmart-us lists SKU WM-TEA-MATCHA") for e in unknown)


def test_a_quantity_changed_in_seller_center_is_found_and_corrected(walmart: Walmart) -> None:
    _receive(walmart, {"WM-MUG-CAFE": 7, "WM-TEA-MATCHA": 3})
    with walmart.hub.db.write() as conn:
        channel_stock.list_skus(conn, walmart.account.id, ["WM-MUG-CAFE", "WM-TEA-MATCHA", "WM-GONE"])
    push_once(walmart.hub.db, stock_channel_for(walmart.hub), backoff_base=0, backoff_max=0)
    walmart.control("POST", "inventory", {"sku": "WM-TEA-MATCHA", "quantity": 40})  # behind orderhub's back
    run = JobManager(walmart.hub).run_now(CHECK_STOCK, None, {})
    assert run.status == "succeeded", run.error
    assert {k: run.stats[k] for k in ("checked", "in_step", "drifted", "pending")} == {
        "checked": 2, "in_step": 1, "drifted": 1, "pending": 1}  # WM-GONE was refused: still pending
    with walmart.hub.db.read() as conn:
        (entry,) = conn.execute(select(error_log).where(error_log.c.record_type == "channel_stock")).all()
    assert "WM-TEA-MATCHA (showed 40, sent 3)" in entry.error
    assert push_once(walmart.hub.db, stock_channel_for(walmart.hub), backoff_base=0, backoff_max=0).sent == 1
    assert _shown(walmart)["WM-TEA-MATCHA"] == 3
    assert JobManager(walmart.hub).run_now(CHECK_STOCK, None, {}).stats["drifted"] == 0
