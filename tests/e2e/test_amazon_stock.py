"""Stock out to Amazon against the SP-API simulator: a few SKUs by patchListingsItem, many by a listings feed,
per-SKU problems refused, and a channel that is down or throttled keeps the values pending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderhub.adapters.amazon import stock as amazon_stock
from orderhub.adapters.amazon.channel import stock_channel
from orderhub.adapters.amazon.client import RATE_MARGIN
from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.store.accounts import Account
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelUnavailable, StockUpdate
from orderhub.services import inventory as inventory_service
from orderhub.services.stock_push import push_once
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim


CATALOGUE = ("TSH-ORG-M", "MUG-CAFE", "MUG-MSK", "TEA-MATCHA-50", "SOAP-LAV", "SNK-NDU-42", "SCF-HANBOK",
             "OIL-ARG-100")


def stock(hub: Hub, account: Account, quantities: dict[str, int]) -> None:
    """The SKUs are in stock at a warehouse and listed on the account."""
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku, quantity in quantities.items():
            if quantity:
                inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)
        channel_stock.list_skus(conn, account.id, quantities)


def shown(sim: Sim) -> dict[str, Any]:
    return {row["sku"]: row["quantities"].get("DEFAULT") for row in sim.get("/_sim/listings")["listings"]}


def test_a_few_skus_go_by_single_patches_and_an_unknown_one_is_refused(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    stock(hub, account, {"MUG-CAFE": 7, "SOAP-LAV": 3, "NO-SUCH-SKU": 2})
    report = push_once(hub.db, lambda a: stock_channel(a, hub))
    assert (report.sent, report.refused) == (2, 1)
    assert shown(amazon_sim)["MUG-CAFE"] == 7 and shown(amazon_sim)["SOAP-LAV"] == 3
    sources = {u["sku"]: u["source"] for u in amazon_sim.get("/_sim/stock_updates")["stock_updates"]}
    assert sources["MUG-CAFE"].startswith("patchListingsItem")
    with hub.db.read() as conn:
        errors = {r["sku"]: r["last_error"] for r in channel_stock.shown(conn, account.id)}
    assert "SKU_NOT_FOUND" in errors["NO-SUCH-SKU"] and errors["MUG-CAFE"] is None

    # A sale changes what Amazon should show; only that listing goes again.
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "MUG-CAFE", "WH-1", actor="test", reason="damaged", delta=-2)
    before = len(amazon_sim.get("/_sim/stock_updates")["stock_updates"])
    assert push_once(hub.db, lambda a: stock_channel(a, hub)).sent == 1
    assert shown(amazon_sim)["MUG-CAFE"] == 5
    assert len(amazon_sim.get("/_sim/stock_updates")["stock_updates"]) == before + 1


def test_many_skus_go_in_one_listings_feed_and_its_report_refuses_per_sku(hub: Hub, amazon_sim: Sim,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(amazon_stock, "FEED_THRESHOLD", 10)  # the feed's path without hundreds of SKUs
    account = add_account(hub, amazon_sim)
    extra = [f"BULK-{n:02d}-ü" for n in range(amazon_stock.FEED_THRESHOLD)]
    amazon_sim.post("/_sim/listings", {"listings": [{"sku": s, "quantity": 0} for s in extra]})
    quantities = {sku: n + 1 for n, sku in enumerate([*CATALOGUE[:3], *extra])} | {"NOT-LISTED": 4}
    stock(hub, account, quantities)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the feed is processed as the simulator's clock moves
        waits.append(seconds)
        amazon_sim.later(seconds)

    report = push_once(hub.db, lambda a: stock_channel(a, hub, sleep=sleep))
    assert (report.sent, report.refused) == (len(quantities) - 1, 1)
    assert waits and all(w == 30.0 for w in waits)
    listed = shown(amazon_sim)
    assert all(listed[sku] == quantity for sku, quantity in quantities.items() if sku != "NOT-LISTED")
    feeds = amazon_sim.get("/_sim/feeds")["feeds"]
    assert [(f["feedType"], f["processingStatus"]) for f in feeds] == [("JSON_LISTINGS_FEED", "DONE")]
    assert not amazon_sim.get("/_sim/stock_updates")["stock_updates"][0]["source"].startswith("patchListingsItem")
    with hub.db.read() as conn:
        errors = {r["sku"]: r["last_error"] for r in channel_stock.shown(conn, account.id)}
    assert errors["NOT-LISTED"].startswith(f"feed {feeds[0]['feedId']} message ") and "SKU_NOT_FOUND" in \
        errors["NOT-LISTED"]


def test_amazon_down_keeps_the_values_pending_and_says_which_account(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    stock(hub, account, {"MUG-CAFE": 7, "SOAP-LAV": 3})
    amazon_sim.post("/_sim/failures", {"operation": "patchListingsItem", "outcome": "error", "status": 503,
                                       "times": 50})
    report = push_once(hub.db, lambda a: stock_channel(a, hub, sleep=lambda s: None), backoff_base=0.0,
                       backoff_max=0.0)
    assert report.sent == 0 and "amazon-us" in report.unavailable
    assert report.unavailable["amazon-us"] == ("amazon account amazon-us, patchListingsItem: Amazon answered 503 "
                                               "ServiceUnavailable 4 times")
    with hub.db.read() as conn:
        assert channel_stock.pending_count(conn, account.id) == 2
    amazon_sim.control.delete("/_sim/failures")
    assert push_once(hub.db, lambda a: stock_channel(a, hub)).sent == 2
    assert shown(amazon_sim)["MUG-CAFE"] == 7


def test_throttled_by_amazon_is_unavailable_with_the_wait_from_the_usage_plan(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    amazon_sim.post("/_sim/config", {"rate_limits": {"patchListingsItem": {"rate": 0.001, "burst": 1}}})
    channel = stock_channel(account, hub, sleep=lambda s: None)
    assert channel.push_stock([StockUpdate("MUG-CAFE", "", 4)]) == {}
    # Amazon's token for the operation is used up: the next call is answered 429 QuotaExceeded.
    with pytest.raises(ChannelUnavailable) as raised:
        channel.push_stock([StockUpdate("SOAP-LAV", "", 1), StockUpdate("MUG-MSK", "", 2)])
    # 1 / x-amzn-RateLimit-Limit of the last answer, a little under Amazon's rate
    assert raised.value.retry_after == pytest.approx(1000.0 / RATE_MARGIN)
    assert str(raised.value).startswith("amazon account amazon-us, patchListingsItem: throttled by Amazon (429")
    assert shown(amazon_sim)["SOAP-LAV"] == 0


def test_a_listing_at_a_location_is_refused_and_the_rest_taken(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    refused = stock_channel(account, hub).push_stock([StockUpdate("MUG-CAFE", "", 4),
                                                      StockUpdate("MUG-CAFE", "STORE-1", 2)])
    assert list(refused) == [("MUG-CAFE", "STORE-1")] and "as a whole" in refused[("MUG-CAFE", "STORE-1")]
    assert shown(amazon_sim)["MUG-CAFE"] == 4


def test_the_push_job_sends_amazon_listings_and_leaves_other_kinds_pending(hub: Hub, amazon_sim: Sim) -> None:
    from sqlalchemy import update

    from orderhub.adapters.store import shops
    from orderhub.adapters.store.schema import shops as shops_table
    from orderhub.services.jobs.channel_jobs import PUSH_STOCK
    from orderhub.services.jobs.manager import JobManager

    account = add_account(hub, amazon_sim)
    stock(hub, account, {"MUG-CAFE": 6})
    with hub.db.write() as conn:  # an account of a kind that takes no stock from orderhub
        other = shops.add(conn, "market-eu", "unused-secret")
        conn.execute(update(shops_table).where(shops_table.c.id == other.id).values(kind="testmarket"))
        channel_stock.list_skus(conn, other.id, ["MUG-CAFE"])
    run = JobManager(hub).run_now(PUSH_STOCK, None, {"limit": 100})
    assert run.status == "succeeded" and (run.stats["sent"], list(run.stats["unavailable"])) == (1, ["market-eu"])
    assert shown(amazon_sim)["MUG-CAFE"] == 6
    with hub.db.read() as conn:
        assert channel_stock.pending_count(conn, other.id) == 1
        assert "orderhub sends testmarket accounts no stock" in channel_stock.shown(conn, other.id)[0]["last_error"]
