"""Stock out to a TikTok shop: listings, stock movements and the pusher, read back from what the simulator
shows per SKU and warehouse."""

from __future__ import annotations

from typing import Any

import pytest

from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.schema import channel_stock as channel_stock_table
from orderhub.adapters.tiktok import stock as tiktok_stock
from orderhub.adapters.tiktok.channel import stock_channel
from orderhub.adapters.tiktok.client import THROTTLED_PAUSE_SECONDS
from orderhub.adapters.tiktok.stock import BULK_THRESHOLD, TikTokStock
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.channels import ChannelUnavailable, StockUpdate
from orderhub.services import inventory as inventory_service
from orderhub.services.stock_push import push_once
from tests.integration.test_tiktok_support import SHOP_ID, Sim, fast_client

pytest_plugins = ("tests.integration.test_tiktok_support",)

MAIN, OVERFLOW = "728800000000000101", "728800000000000102"  # the first shop's warehouses


def _shown(tt: Sim) -> dict[str, dict[str, int]]:
    return {s["seller_sku"]: s["inventory"] for s in tt.control("GET", f"/stock?shop_id={SHOP_ID}")["stock"]}


def _product(tt: Sim, *skus: str) -> dict[str, str]:
    """A product with these SKUs; returns each SKU's channel_ref ("product id:sku id")."""
    made = tt.control("POST", "/products", {"title": "Bücher-Set 📚", "skus": [{"seller_sku": s} for s in skus]})
    return {s: f"{made['product_id']}:{made['sku_ids'][s]}" for s in skus}


def _stock(hub: Hub, account: Account, skus: dict[str, int], refs: dict[str, str], location: str = "") -> None:
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku, quantity in skus.items():
            if quantity:
                inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)
        channel_stock.list_skus(conn, account.id, list(skus), location=location, refs=refs)


def _stock_more(hub: Hub, sku: str, quantity: int) -> None:
    with hub.db.write() as conn:
        inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)


def _channel(hub: Hub) -> Any:
    return lambda account: TikTokStock(fast_client(account, hub))


def test_a_few_changed_skus_go_one_call_each_to_the_default_warehouse(hub: Hub, tt: Sim, account: Account) -> None:
    tiktok_stock.forget_warehouses()  # what an earlier test's pushes read
    refs = _product(tt, "BOOK-1", "BOOK-2")
    _stock(hub, account, {"BOOK-1": 7, "BOOK-2": 0}, refs)
    report = push_once(hub.db, _channel(hub))
    assert (report.sent, report.refused, report.unavailable) == (2, 0, {})
    shown = _shown(tt)
    assert shown["BOOK-1"][MAIN] == 7 and shown["BOOK-2"][MAIN] == 0
    assert shown["BOOK-1"][OVERFLOW] == 20  # the other warehouse is left as it was
    assert len(tt.requests("updateInventory")) == 2
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "BOOK-1", "WH-1", actor="test", reason="damaged", delta=-3)
    push_once(hub.db, _channel(hub))
    assert _shown(tt)["BOOK-1"][MAIN] == 4
    updates = [op for op in tt.operations("stock_update") if op["seller_sku"] == "BOOK-1"]
    assert [(op["warehouse_id"], op["quantity"]) for op in updates] == [(MAIN, 7), (MAIN, 4)]
    _stock_more(hub, "BOOK-2", 2)
    assert push_once(hub.db, _channel(hub)).sent == 1 and _shown(tt)["BOOK-2"][MAIN] == 2
    assert len(tt.requests("getWarehouseList")) == 1  # the shop's warehouses read once, not on every push


def test_many_changed_skus_go_one_call_per_product_and_a_bad_one_waits_alone(
        hub: Hub, tt: Sim, account: Account) -> None:
    skus = [f"TEE-{n}" for n in range(BULK_THRESHOLD)]
    refs = _product(tt, *skus)
    refs["TEE-0"] = refs["TEE-0"].split(":")[0] + ":999999"  # not a SKU of that product
    _stock(hub, account, {s: n + 1 for n, s in enumerate(skus)}, refs, location=OVERFLOW)
    stock = TikTokStock(fast_client(account, hub))
    report = push_once(hub.db, lambda a: stock)
    assert (report.sent, report.refused) == (BULK_THRESHOLD - 1, 1)
    shown = _shown(tt)
    assert [shown[s][OVERFLOW] for s in skus[1:]] == list(range(2, BULK_THRESHOLD + 1))
    assert shown["TEE-0"][OVERFLOW] == 20
    assert stock.calls == 1 + BULK_THRESHOLD  # the product at once, refused, then SKU by SKU
    with hub.db.read() as conn:
        rows = {r["sku"]: r for r in channel_stock.shown(conn, account.id)}
    assert "SKU 999999 is not a SKU of product" in rows["TEE-0"]["last_error"]
    assert f"TikTok account {account.name}: updateInventory was refused" in rows["TEE-0"]["last_error"]


def test_a_listing_without_tiktok_ids_is_refused_with_what_to_do(hub: Hub, tt: Sim, account: Account) -> None:
    refs = _product(tt, "CUP-1")
    _stock(hub, account, {"CUP-1": 2, "CUP-2": 5}, refs)
    report = push_once(hub.db, _channel(hub))
    assert (report.sent, report.refused) == (1, 1)
    with hub.db.read() as conn:
        rows = {r["sku"]: r for r in channel_stock.shown(conn, account.id)}
    assert "SKU CUP-2 has no TikTok product and SKU id" in rows["CUP-2"]["last_error"]


def test_tiktok_down_or_throttled_keeps_the_values_for_later(hub: Hub, tt: Sim, account: Account) -> None:
    refs = _product(tt, "LAMP-1")
    _stock(hub, account, {"LAMP-1": 3}, refs)
    tt.fail(operation="updateInventory", outcome="error", status=503, times=10)
    report = push_once(hub.db, lambda a: stock_channel(a, hub, backoff_base=0.01, max_attempts=2),
                       backoff_base=0.0, backoff_max=0.0)
    assert list(report.unavailable) == [account.name]
    assert "updateInventory failed at TikTok" in report.unavailable[account.name]
    assert _shown(tt)["LAMP-1"][MAIN] == 100
    tt.control("DELETE", "/failures")
    tt.control("POST", "/rate_limits", {"operation": "updateInventory", "qps": 1})
    tt.control("POST", "/products", {"title": "Filler", "skus": [{"seller_sku": "FILL-1"}]})
    client = fast_client(account, hub, max_attempts=1)
    fill = _product(tt, "FILL-2")["FILL-2"].split(":")
    client.call("updateInventory", "POST", f"/product/202309/products/{fill[0]}/inventory/update",
                body={"skus": [{"id": fill[1], "inventory": [{"quantity": 1}]}]})  # uses this second's request
    stock = TikTokStock(client)
    with pytest.raises(ChannelUnavailable, match="updateInventory was throttled") as caught:
        stock.push_stock([StockUpdate("LAMP-1", "", 3, refs["LAMP-1"])])
    assert caught.value.retry_after == THROTTLED_PAUSE_SECONDS  # TikTok sends no Retry-After
    tt.control("POST", "/rate_limits", {"operation": "updateInventory", "qps": 0})
    SharedRateLimiter(hub.db).reset(f"tiktok:{account.id}:updateInventory")  # the 429's pause, over for the test
    with hub.db.write() as conn:  # and the values' backoff
        conn.execute(channel_stock_table.update().values(available_at=utcnow()))
    assert push_once(hub.db, _channel(hub)).sent == 1
    assert _shown(tt)["LAMP-1"][MAIN] == 3
