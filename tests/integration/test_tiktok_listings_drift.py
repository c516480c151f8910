"""TikTok Shop listings read back: the sync lists the shop's SKUs orderhub knows, each with its
"product id:sku id" ref, and the drift check finds a quantity changed in Seller Center, which the pusher
then corrects."""

from __future__ import annotations

from sqlalchemy import select

from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.schema import error_log
from orderhub.adapters.tiktok.stock import TikTokStock
from orderhub.bootstrap import Hub
from orderhub.services import inventory as inventory_service
from orderhub.services.jobs.channel_jobs import CHECK_STOCK, SYNC_LISTINGS
from orderhub.services.jobs.manager import JobManager
from orderhub.services.stock_drift import check_account
from orderhub.services.stock_push import push_once
from tests.integration.test_tiktok_support import SHOP_ID, Sim, fast_client

pytest_plugins = ("tests.integration.test_tiktok_support",)

MAIN = "728800000000000101"  # the first shop's default warehouse


def _shown(tt: Sim) -> dict[str, dict[str, object]]:
    return {s["seller_sku"]: s for s in tt.control("GET", f"/stock?shop_id={SHOP_ID}")["stock"]}


def _receive(hub: Hub, skus: dict[str, int]) -> None:
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku, quantity in skus.items():
            inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)


def test_the_sync_lists_the_shop_s_skus_with_product_and_sku_ids(hub: Hub, tt: Sim, account: Account) -> None:
    _receive(hub, {"MUG-CAFE-WHT": 5, "SERUM-30": 2})
    run = JobManager(hub).run_now(SYNC_LISTINGS, None, {"account": account.name})
    assert run.status == "succeeded", run.error
    stock = _shown(tt)
    assert (run.stats["read"], run.stats["listed"], run.stats["unknown"]) == (len(stock), 2, len(stock) - 2)
    with hub.db.read() as conn:
        listed = {r["sku"]: r for r in channel_stock.listed(conn, account.id)}
        unknown = list(conn.execute(select(error_log.c.error).where(error_log.c.record_type == "channel_listing"))
                       .scalars())
    mug = stock["MUG-CAFE-WHT"]
    assert listed["MUG-CAFE-WHT"]["channel_ref"] == f"{mug['product_id']}:{mug['sku_id']}"
    assert len(unknown) == len(stock) - 2 and any(e.startswith(f"tiktok account {account.name} lists SKU GRIP-PANDA")
                                                  for e in unknown)
    # The listing's refs are what the pusher needs: the values go out.
    report = push_once(hub.db, lambda a: TikTokStock(fast_client(a, hub)))
    assert (report.sent, report.refused) == (2, 0)
    assert _shown(tt)["MUG-CAFE-WHT"]["inventory"][MAIN] == 5


def test_a_quantity_changed_in_seller_center_is_found_and_corrected(hub: Hub, tt: Sim, account: Account) -> None:
    _receive(hub, {"MUG-CAFE-WHT": 5, "SERUM-30": 2})
    JobManager(hub).run_now(SYNC_LISTINGS, None, {})
    assert push_once(hub.db, lambda a: TikTokStock(fast_client(a, hub))).sent == 2
    with tt.sim.store.lock:  # someone sets SERUM-30 to 60 in Seller Center
        found = tt.sim.store.shops[SHOP_ID].find_seller_sku("SERUM-30")
        assert found is not None
        found[1].inventory[MAIN] = 60
    report = check_account(hub.db, account, TikTokStock(fast_client(account, hub)))
    assert (report.checked, report.in_step, report.drifted) == (2, 1, 1)
    assert [(d.sku, d.shown, d.sent) for d in report.found[account.name]] == [("SERUM-30", 60, 2)]
    assert push_once(hub.db, lambda a: TikTokStock(fast_client(a, hub))).sent == 1
    assert _shown(tt)["SERUM-30"]["inventory"][MAIN] == 2
    again = JobManager(hub).run_now(CHECK_STOCK, None, {"account": account.name})
    assert (again.stats["drifted"], again.stats["in_step"]) == (0, 2)
