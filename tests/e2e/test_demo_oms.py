"""``orderhub demo`` through the CLI: orders placed, brokered from stocked facilities, one shipped."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from orderhub.adapters.store.schema import order_invoices, order_units, orders, outbox, shipments, workflows
from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.entrypoints.cli import main
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
    assert _scalar(db_url, select(func.count()).select_from(orders)) == N_ORDERS
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
    shipped = _scalar(db_url, select(func.count()).select_from(orders).where(orders.c.status == "shipped"))
    assert shipped == 1
    tracked = select(func.count()).select_from(shipments).where(
        shipments.c.status == "shipped", shipments.c.tracking_number.is_not(None), shipments.c.carrier == "DHL")
    assert _scalar(db_url, tracked) >= 1
    assert "the order is shipped" in result.output


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
