"""Stock out to Walmart: listings, movements and the pusher, read back from the Walmart simulator."""

from __future__ import annotations

import pytest

from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.walmart import inventory as walmart_inventory
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_loops import stock_channel_for
from orderhub.services.stock_push import push_once
from orderhub.simulators.walmart.defaults import DEFAULT_CLIENT_ID
from tests.integration import test_walmart_support as support
from tests.integration.test_walmart_support import Walmart

walmart_url, walmart = support.walmart_url, support.walmart  # the simulator and the account, as fixtures


def _shown(w: Walmart) -> dict[str, int]:
    return {r["sku"]: r["quantity"] for r in w.control("GET", "inventory", seller=DEFAULT_CLIENT_ID)["inventory"]}


def _stock(w: Walmart, skus: dict[str, int]) -> None:
    with w.hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku, quantity in skus.items():
            if quantity:
                inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)
        channel_stock.list_skus(conn, w.account.id, list(skus))


def test_a_few_skus_go_by_single_calls_and_an_unknown_one_is_refused(walmart: Walmart) -> None:
    _stock(walmart, {"WM-MUG-CAFE": 7, "WM-TEA-MATCHA": 3, "WM-NOT-LISTED": 2})
    report = push_once(walmart.hub.db, stock_channel_for(walmart.hub), backoff_base=0, backoff_max=0)
    assert (report.sent, report.refused) == (2, 1)
    shown = _shown(walmart)
    assert (shown["WM-MUG-CAFE"], shown["WM-TEA-MATCHA"]) == (7, 3)
    assert {op["via"] for op in walmart.operations("inventory")} == {"api"}
    with walmart.hub.db.write() as conn:
        inventory_service.adjust(conn, "WM-MUG-CAFE", "WH-1", actor="test", reason="damaged", delta=-2)
    assert push_once(walmart.hub.db, stock_channel_for(walmart.hub)).sent == 1
    assert _shown(walmart)["WM-MUG-CAFE"] == 5
    with walmart.hub.db.read() as conn:
        errors = {r["sku"]: r["last_error"] for r in channel_stock.shown(conn, walmart.account.id)}
    assert "WM-NOT-LISTED" in errors["WM-NOT-LISTED"] and "updateInventoryForAnItem (404)" in errors["WM-NOT-LISTED"]


def test_many_skus_go_by_the_inventory_feed_with_per_item_errors_refused(walmart: Walmart,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    walmart.control("POST", "config", {"feed_in_progress_after": 0, "feed_processed_after": 0})
    monkeypatch.setattr(walmart_inventory, "BULK_THRESHOLD", 20)  # the feed's path without a thousand SKUs
    skus = {f"WM-BULK-{n:02}": n for n in range(walmart_inventory.BULK_THRESHOLD)}
    for sku in skus:
        walmart.control("POST", "inventory", {"sku": sku, "quantity": 0})
    skus["WM-BULK-UNKNOWN"] = 4
    _stock(walmart, skus)
    report = push_once(walmart.hub.db, stock_channel_for(walmart.hub), backoff_base=0, backoff_max=0)
    assert (report.sent, report.refused) == (walmart_inventory.BULK_THRESHOLD, 1)
    shown = _shown(walmart)
    assert all(shown[sku] == n for sku, n in skus.items() if sku != "WM-BULK-UNKNOWN")
    assert {op["via"] for op in walmart.operations("inventory")} == {"feed"}
    assert len(walmart.control("GET", "feeds")["feeds"]) == 1


def test_walmart_down_keeps_the_values_for_the_next_round(walmart: Walmart) -> None:
    _stock(walmart, {"WM-MUG-CAFE": 9})
    walmart.fail(operation="updateInventoryForAnItem", times=10, status=503)
    report = push_once(walmart.hub.db, stock_channel_for(walmart.hub), backoff_base=0, backoff_max=0)
    assert report.sent == 0 and "Walmart answered 503 on updateInventoryForAnItem" in report.unavailable["walmart-us"]
    walmart.control("DELETE", "failures")
    assert push_once(walmart.hub.db, stock_channel_for(walmart.hub)).sent == 1
    assert _shown(walmart)["WM-MUG-CAFE"] == 9
