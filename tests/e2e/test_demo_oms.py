"""``orderhub demo`` through the CLI: orders placed, brokered from stocked facilities, one shipped; then a
TikTok Shop order placed and shipped, with every channel showing orderhub's stock before and after it; then a
store till selling offline, its sales counted once when it syncs and every channel following."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from orderhub.adapters.store.schema import (
    customer_consents,
    customer_profiles,
    order_invoices,
    order_items,
    order_units,
    orders,
    outbox,
    pos_devices,
    shipments,
    shops,
    store_sales,
    workflows,
)
from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.entrypoints.cli import main
from orderhub.entrypoints.demo import SHOP
from orderhub.entrypoints.demo_channels import BOUGHT, LISTED
from orderhub.entrypoints.demo_store import SALES, TILL
from orderhub.services import placement

N_ORDERS = 20  # enough for the short SKUs to run out, few enough to take seconds


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> tuple[Result, str]:
    """One demo run on a fresh SQLite file, shared by the tests of this module."""
    target = tmp_path_factory.mktemp("demo") / "orderhub.db"
    shutil.copy(sqlite_template, target)
    db_url = f"sqlite:///{target}"
    result = CliRunner().invoke(main, ["demo", "--orders", str(N_ORDERS), "--db", db_url], catch_exceptions=False)
    return result, db_url


def _scalar(db_url: str, stmt: Any) -> int:
    hub = build(Settings(database_url=db_url))
    try:
        with hub.db.read() as conn:
            return int(conn.execute(stmt).scalar_one())
    finally:
        hub.close()


def test_demo_exits_zero_having_lost_and_doubled_nothing(demo):  # type: ignore[no-untyped-def]
    result, db_url = demo
    assert result.exit_code == 0, result.output
    assert _scalar(db_url, select(func.count()).select_from(orders).where(orders.c.shop_id == _shop_id(db_url, SHOP))
                   ) == N_ORDERS
    for heading in ("Orders by OMS status", "Stock per facility", "Events in the outbox", "Timeline of order"):
        assert heading in result.output
    assert "渋谷" in result.output and "🏭" in result.output  # Unicode facility names survive


def test_orders_are_brokered_from_the_demo_facilities(demo):  # type: ignore[no-untyped-def]
    _result, db_url = demo
    assert _scalar(db_url, select(func.count()).select_from(orders).where(orders.c.status == "brokered")) > 0
    reserved_at = _scalar(db_url, select(func.count(order_units.c.facility_id.distinct()))
                          .where(order_units.c.facility_id.is_not(None)))
    assert reserved_at >= 2  # proximity spreads the orders over more than one facility


def test_short_skus_leave_approved_orders_in_backorder_parking(demo):  # type: ignore[no-untyped-def]
    _result, db_url = demo
    parked = select(func.count()).select_from(order_units).where(
        order_units.c.queue == "backorder_parking", order_units.c.status == "approved",
        order_units.c.facility_id.is_(None))
    assert _scalar(db_url, parked) > 0


def test_the_walked_order_is_shipped_with_a_tracking_number(demo):  # type: ignore[no-untyped-def]
    result, db_url = demo
    shipped = _scalar(db_url, select(func.count()).select_from(orders).where(
        orders.c.status == "shipped", orders.c.shop_id == _shop_id(db_url, SHOP)))
    assert shipped == 1
    tracked = select(func.count()).select_from(shipments).where(
        shipments.c.status == "shipped", shipments.c.tracking_number.is_not(None), shipments.c.carrier == "DHL")
    assert _scalar(db_url, tracked) >= 1
    assert "the order is shipped" in result.output


def test_the_tiktok_order_is_placed_shipped_and_every_channel_showed_orderhub_s_stock(demo):  # type: ignore[no-untyped-def]
    result, db_url = demo
    tiktok = _shop_id(db_url, "tiktok-us")
    assert _scalar(db_url, select(func.count()).select_from(orders).where(orders.c.shop_id == tiktok)) == 1
    assert _scalar(db_url, select(func.count()).select_from(orders).where(
        orders.c.shop_id == tiktok, orders.c.status == "shipped")) == 1
    assert _scalar(db_url, select(func.count()).select_from(shipments).join(orders).where(
        orders.c.shop_id == tiktok, shipments.c.carrier == "USPS")) == 1
    text = " ".join(result.output.split())
    rows = {sku: _row(text, "What each channel shows", sku) for sku in LISTED}
    after = {sku: _row(text, "After TikTok order", sku) for sku in LISTED}
    for sku, cells in rows.items():  # the ATP, then Amazon, Shopify, TikTok Shop and Walmart showing the same
        assert len(cells) == 4 and len(set(cells)) == 1, (sku, cells)
        assert len(set(after[sku])) == 1 and after[sku][0] == cells[0] - dict(BOUGHT).get(sku, 0), (sku, after[sku])
    for label, value in (("listings on Amazon, Shopify, TikTok Shop, Walmart", "16"),
                         ("showing orderhub's stock, before the TikTok order", "16"),
                         ("showing orderhub's stock, after it", "16"), ("TikTok order placed in the OMS", "yes"),
                         ("its shipment confirmed on TikTok", "yes")):
        assert f"│ {label} │ {value} │" in text, label


def test_the_store_s_offline_sales_count_once_and_every_channel_follows(demo):  # type: ignore[no-untyped-def]
    result, db_url = demo
    till = store_sales.c.device_id.in_(select(pos_devices.c.id).where(pos_devices.c.name == TILL))
    assert _scalar(db_url, select(func.count()).select_from(store_sales).where(till)) == SALES
    units = _scalar(db_url, select(func.sum(store_sales.c.units_sold)).where(till))
    # the till's sales, not Shopify POS ones nor the customer act's
    at_store = order_items.c.order_id.in_(select(store_sales.c.order_id).where(till))
    sold = _scalar(db_url, select(func.count(order_items.c.sku.distinct())).where(at_store))
    sku = _text(db_url, select(order_items.c.sku).where(at_store).limit(1))
    assert units == SALES and sold == 1
    text = " ".join(result.output.split())
    assert "10. A store sells offline" in text
    before = {s: _row(text, "Before the till at ST-SHIBUYA syncs", s) for s in LISTED}
    after = {s: _row(text, "After the sales at ST-SHIBUYA", s) for s in LISTED}
    for listed in LISTED:  # every channel shows the ATP, which only the store's SKU changed
        assert len(set(before[listed])) == 1 and len(set(after[listed])) == 1, (listed, before, after)
        assert after[listed][0] == before[listed][0] - (units if listed == sku else 0), listed
    assert re.search(r"│ units off the store's stock, once │ (\d+) → (\d+) │", text)
    for label, value in (("store sales synced after the till was offline (ST-SHIBUYA)", str(SALES)),
                         ("listings showing orderhub's stock after the sync", "16 of 16"),
                         ("the whole queue sent again: nothing changed", "yes")):
        assert f"│ {label} │ {value} │" in text, label


def _text(db_url: str, stmt: Any) -> str:
    hub = build(Settings(database_url=db_url))
    try:
        with hub.db.read() as conn:
            return str(conn.execute(stmt).scalar_one())
    finally:
        hub.close()


def _row(text: str, table: str, sku: str) -> list[int]:
    """The numbers of one SKU's row in the first table after ``table``'s title, as printed."""
    found = re.search(rf"│ {re.escape(sku)} │ (\d+) │ (\d+) │ (\d+) │ (\d+) │", text[text.index(table):])
    assert found, (table, sku)
    return [int(n) for n in found.groups()]


def _shop_id(db_url: str, name: str) -> int:
    return _scalar(db_url, select(shops.c.id).where(shops.c.domain == name))


def test_each_placed_order_is_announced_once(demo):  # type: ignore[no-untyped-def]
    _result, db_url = demo
    placed = _scalar(db_url, select(func.count()).select_from(workflows).where(
        workflows.c.kind == placement.KIND, workflows.c.status == "completed"))
    events = _scalar(db_url, select(func.count()).select_from(outbox).where(outbox.c.event_type == "order.placed"))
    announced = _scalar(db_url, select(func.count(outbox.c.order_id.distinct()))
                        .where(outbox.c.event_type == "order.placed"))
    assert placed > 0
    assert events == announced == placed


def test_the_shipped_order_is_invoiced_in_retail_pro_and_stock_agrees(demo):  # type: ignore[no-untyped-def]
    result, db_url = demo
    invoiced = _scalar(db_url, select(func.count()).select_from(order_invoices).where(
        order_invoices.c.status == "invoiced", order_invoices.c.sid.is_not(None)))
    assert invoiced == 1
    assert "send-invoices: 1 invoiced, 0 refused" in result.output
    assert "check-pos-inventory: 3 facilities," in result.output and "UPCs compared, 0 drifting" in result.output


def test_one_customer_across_the_shop_and_the_till_then_forgotten(demo):  # type: ignore[no-untyped-def]
    result, db_url = demo
    text = " ".join(result.output.split())
    assert "11. One customer across channels" in text
    for label, value in (("one profile for a Shopify customer and a till's loyalty member", "yes"),
                         ("consent changes kept, from Shopify then from the till", "2"),
                         ("Shopify unsubscribed by the till's answer, its echo ignored", "yes"),
                         ("rows holding their e-mail address after the erasure", "0")):
        assert f"│ {label} │ {value} │" in text, label
    erased = _scalar(db_url, select(func.count()).select_from(customer_profiles).where(
        customer_profiles.c.erased_at.is_not(None)))
    kept = {source: _scalar(db_url, select(func.count()).select_from(customer_consents).where(
        customer_consents.c.source == source)) for source in ("shopify", "pos")}
    assert erased == 1 and kept == {"shopify": 1, "pos": 1}  # the consent history stays; the person is gone
