"""The demo's omnichannel act against the Amazon, Walmart, TikTok Shop and Shopify simulators: what each
channel shows before and after a TikTok order, read from the simulators' own records; the TikTok order placed
and its shipment confirmed on TikTok; a channel that does not take the stock fails the act; and a kind that
gains a stock channel gets a column of its own."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from orderhub.adapters.store import accounts, facilities, shops
from orderhub.adapters.store.schema import orders
from orderhub.bootstrap import Hub
from orderhub.entrypoints import demo_marketplaces as marketplaces
from orderhub.entrypoints.demo_channels import BOUGHT, CARRIER, LISTED, ChannelsOutcome, run_channels
from orderhub.services import inventory as inventory_service
from orderhub.simulators.amazon import defaults as amazon
from orderhub.simulators.shopify.server import start_in_thread as start_shopify
from orderhub.simulators.walmart import defaults as walmart
from orderhub.testing.server import ServerThread

pytestmark = pytest.mark.timeout(180)

SHOP = "demo-store.myshopify.com"
STOCK = {"MUG-CAFE": 9, "SCF-HANBOK": 4, "TSH-ORG-M": 7}  # at WH-NJ; SNK-NDU-38 has none
AFTER = {sku: n - dict(BOUGHT).get(sku, 0) for sku, n in STOCK.items()} | {"SNK-NDU-38": 0}
BEFORE = STOCK | {"SNK-NDU-38": 0}


@dataclass
class Act:
    market: marketplaces.Marketplaces
    output: io.StringIO

    def get(self, channel: str, path: str, **params: str) -> Any:
        return self.market.get(channel, path, **params)

    def text(self) -> str:
        return " ".join(self.output.getvalue().split())


@pytest.fixture
def market(hub: Hub) -> Iterator[marketplaces.Marketplaces]:
    """The demo's store and warehouse as the Shopify part leaves them, and the other channels' simulators."""
    _sim, shopify_url, stop_shopify = start_shopify(
        shops=[{"domain": SHOP, "api_secret": "demo-secret", "access_token": "shpat_demo"}], seed=7, workers=1)
    with hub.db.write() as conn:
        shops.add(conn, SHOP, "demo-secret", admin_url=f"{shopify_url}/shops/{SHOP}", access_token="shpat_demo")
        facilities.add(conn, "WH-NJ", "Newark", "warehouse", city="Newark", country_code="US", latitude=40.7357,
                       longitude=-74.1724, sequence=1)
        for sku, units in STOCK.items():
            inventory_service.adjust(conn, sku, "WH-NJ", actor="test", reason="received", delta=units)
    running = marketplaces.start(shopify_url, seed=7)
    try:
        yield running
    finally:
        running.close()
        stop_shopify()


def _run(hub: Hub, hub_server: ServerThread, market: marketplaces.Marketplaces) -> tuple[ChannelsOutcome, Act]:
    output = io.StringIO()
    console = Console(file=output, width=120, no_color=True)
    return run_channels(hub, console, market, hub_url=hub_server.url), Act(market, output)


def _sequences(rows: list[dict[str, Any]], sku_key: str) -> dict[str, list[int]]:
    """The quantities a channel recorded per SKU, in the order it took them."""
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row[sku_key], []).append(int(row["quantity"]))
    return found


def test_every_channel_shows_the_atp_before_and_after_a_tiktok_order_and_tiktok_sees_it_shipped(
        hub: Hub, hub_server: ServerThread, market: marketplaces.Marketplaces) -> None:
    outcome, act = _run(hub, hub_server, market)
    assert outcome.ok, act.output.getvalue()
    assert outcome.columns == ["Amazon", "Shopify", "TikTok Shop", "Walmart"]
    assert outcome.listings == 4 * len(LISTED)
    assert outcome.agreeing == [outcome.listings, outcome.listings]

    # What each channel took, in order, from its own records: the ATP, then the ATP less what TikTok sold.
    # A SKU the sale did not touch is sent once; the sold-out one (0) too.
    changed = [sku for sku in LISTED if BEFORE[sku] != AFTER[sku]]
    expected = {sku: [BEFORE[sku], AFTER[sku]] if sku in changed else [BEFORE[sku]] for sku in LISTED}
    amazon_updates = act.get("amazon", "/_sim/stock_updates")["stock_updates"]
    # Amazon records changes only: SNK-NDU-38 was put on sale at 0 and stays at 0.
    assert _sequences([u for u in amazon_updates if u["seller_id"] == amazon.DEFAULT_SELLER_ID], "sku") == {
        sku: seq for sku, seq in expected.items() if sku != "SNK-NDU-38"}
    walmart_updates = act.get("walmart", f"/_sim/operations?kind=inventory&seller={walmart.DEFAULT_CLIENT_ID}")
    assert _sequences(walmart_updates["operations"], "sku") == expected
    tiktok_updates = act.get("tiktok", "/_sim/operations?kind=stock_update")["data"]["operations"]
    assert _sequences(tiktok_updates, "seller_sku") == expected

    # And what a buyer sees there now.
    listed = {r["sku"]: r["quantities"]["DEFAULT"] for r in act.get("amazon", "/_sim/listings")["listings"]
              if r["sku"] in LISTED}
    assert listed == AFTER
    assert {r["sku"]: r["quantity"] for r in act.get("walmart", "/_sim/inventory")["inventory"]
            if r["sku"] in LISTED} == AFTER
    stock = act.get("tiktok", "/_sim/stock", shop_id=marketplaces.TIKTOK_SHOP["id"])["data"]["stock"]
    assert {r["seller_sku"]: r["total"] for r in stock if r["seller_sku"] in LISTED} == AFTER
    with hub.db.read() as conn:  # the store's own available, at the location the pusher sets
        shop = accounts.get(conn, SHOP)
    assert shop is not None
    shown = marketplaces.CHANNELS["shopify"].shown(market, shop)
    assert {sku: shown[sku] for sku in LISTED} == AFTER

    # The TikTok order: in orderhub once, shipped, and TikTok shows orderhub's shipment.
    assert outcome.tiktok_order is not None and outcome.placed and outcome.confirmed
    with hub.db.read() as conn:
        row = conn.execute(select(orders.c.status)
                           .where(orders.c.shopify_id == outcome.tiktok_order)).one()
    assert row.status == "shipped"
    shipments = act.get("tiktok", "/_sim/operations?kind=shipment")["data"]["operations"]
    assert [(s["order_id"], s["carrier"], s["quantities"]) for s in shipments] == [
        (outcome.tiktok_order, CARRIER, dict(BOUGHT))]
    assert shipments[0]["tracking_number"].startswith("DEMO")
    detail = act.get("tiktok", f"/_sim/orders/{outcome.tiktok_order}")["data"]
    assert detail["status"] == "AWAITING_COLLECTION"
    assert f"TikTok shows order {outcome.tiktok_order} AWAITING_COLLECTION, tracking DEMO" in act.text()


def test_a_channel_that_does_not_take_the_stock_fails_the_act(
        hub: Hub, hub_server: ServerThread, market: marketplaces.Marketplaces) -> None:
    market.send("walmart", "POST", "/_sim/failures",
                {"operation": "updateInventoryForAnItem", "status": 503, "times": 1000})
    outcome, act = _run(hub, hub_server, market)
    assert not outcome.ok
    # Walmart still shows the 0 it was listed with; the others show orderhub's ATP.
    assert outcome.agreeing == [3 * len(LISTED) + 1, 3 * len(LISTED) + 1]  # SNK-NDU-38 is 0 on Walmart too
    assert "unavailable: walmart-us:" in act.text()
    assert {r["sku"]: r["quantity"] for r in act.get("walmart", "/_sim/inventory")["inventory"]
            if r["sku"] in LISTED} == dict.fromkeys(LISTED, 0)
