"""import-retailpro-sales: sales and returns rung at stores' Retail Pro registers become store sales, once, and
orderhub's own invoices are not taken for register sales."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store.schema import error_log, inventory, order_units, orders, shops
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.jobs import admin
from orderhub.services.jobs.runner import run_job
from orderhub.simulators.retailpro.simulator import Simulator
from tests.integration.invoicing.scene import UPC_1, UPC_2, Scene, complete

pytestmark = pytest.mark.timeout(120)
UNKNOWN_UPC = "4006381333931"  # sold in Retail Pro, no variant's barcode in orderhub


def ring_up(retailpro: tuple[Simulator, str], *receipts: dict[str, Any]) -> list[dict[str, Any]]:
    """Receipts rung at the registers, through the simulator's control API."""
    answer = httpx.post(f"{retailpro[1]}/_sim/receipts", json={"receipts": list(receipts)}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["receipts"]


def on_hand(hub: Hub, facility_id: int, sku: str) -> int:
    with hub.db.read() as conn:
        return conn.execute(select(inventory.c.on_hand).where(inventory.c.facility_id == facility_id,
                                                              inventory.c.sku == sku)).scalar_one()


def failed(hub: Hub, run_id: int) -> list[dict[str, Any]]:
    try:
        _name, content = admin.run_file(hub, run_id, "failed")
    except LookupError:
        return []
    return [orjson.loads(line) for line in content.splitlines()]


SALE = {"store": "SVA32", "workstation": "REG1", "type": "sale",
        "items": [{"upc": UPC_1, "quantity": 2, "price": "9.00", "original_price": "10.00", "tax": "1.71",
                   "description": "T-shirt"},
                  {"upc": UPC_2, "quantity": 1, "price": "10.00", "tax": "1.90"}],
        "tenders": [{"name": "Cash", "type": 0, "amount": "28.00", "currency": "EUR"}]}
RETURN = {"store": "SVA26", "workstation": "REG2", "type": "return",
          "items": [{"upc": UPC_2, "quantity": 1, "price": "10.00"}],
          "tenders": [{"name": "Cash", "type": 0, "amount": "-10.00", "currency": "EUR"}]}


def test_register_sales_and_returns_of_two_stores_count_once(hub: Hub, scene: Scene,
                                                             retailpro: tuple[Simulator, str]) -> None:
    sale, back = ring_up(retailpro, SALE, RETURN)
    assert scene.sim.store.inventory() == {"SVA26": {UPC_2: 6}, "SVA32": {UPC_1: 48, UPC_2: 49}}
    run_id, stats = run_job(hub, "import-retailpro-sales", None, {})
    assert (stats["stores"], stats["recorded"], stats["failed"], failed(hub, run_id)) == (2, 2, 0, [])
    # Stock moved in orderhub as it did at the registers.
    assert (on_hand(hub, scene.s1, "SKU-1"), on_hand(hub, scene.s1, "SKU-2"), on_hand(hub, scene.s2, "SKU-2")) \
        == (48, 49, 6)
    with hub.db.read() as conn:
        sold = conn.execute(select(orders.c.id, orders.c.channel, orders.c.name, orders.c.total_price,
                                   orders.c.currency, shops.c.domain)
                            .join(shops, shops.c.id == orders.c.shop_id)
                            .where(orders.c.shopify_id == f"retailpro:{sale['sid']}")).one()
        units = conn.execute(select(order_units.c.status, order_units.c.facility_id)
                             .where(order_units.c.order_id == sold.id)).all()
    assert (sold.channel, sold.name, sold.currency) == ("pos", f"SVA32-{sale['document_number']}", "EUR")
    assert sold.total_price == Decimal("33.32")  # 2 x 9.00 + 10.00, and the tax on top
    assert sold.domain == "pos-store-1"  # the store's POS account, the one its terminals sync to
    assert sorted(units) == [("completed", scene.s1)] * 3
    # Read again (the whole day): nothing twice.
    _, again = run_job(hub, "import-retailpro-sales", None,
                       {"since": (utcnow() - timedelta(days=1)).isoformat()})
    assert (again["recorded"], again["already_imported"]) == (0, 2)
    assert (on_hand(hub, scene.s1, "SKU-1"), on_hand(hub, scene.s2, "SKU-2")) == (48, 6)
    assert back["receipt_type"] == 1


def test_orderhubs_own_invoices_are_not_register_sales(hub: Hub, scene: Scene) -> None:
    complete(hub, scene)  # shipped from STORE-1: orderhub took 2 x SKU-1 and 1 x SKU-2 off
    for job in ("feed-completed-orders", "transform-invoices", "send-invoices"):
        run_job(hub, job, None, {})
    [invoice] = scene.sim.store.invoices()
    assert any(d["sid"] == invoice["sid"] for d in scene.sim.store.documents())
    _, stats = run_job(hub, "import-retailpro-sales", None, {})
    assert (stats["recorded"], stats["orderhub_invoices"]) == (0, 1)
    assert (on_hand(hub, scene.s1, "SKU-1"), on_hand(hub, scene.s1, "SKU-2")) == (48, 49)


def test_an_unknown_upc_goes_to_the_error_log_naming_the_store_and_receipt(
        hub: Hub, scene: Scene, retailpro: tuple[Simulator, str]) -> None:
    scene.sim.store.seed(upcs=[UNKNOWN_UPC])
    [receipt] = ring_up(retailpro, {"store": "SVA32", "workstation": "REG1",
                                    "items": [{"upc": UNKNOWN_UPC, "quantity": 1, "price": "5.00"}],
                                    "tenders": [{"name": "Visa", "amount": "5.00", "currency": "EUR"}]})
    run_id, stats = run_job(hub, "import-retailpro-sales", None, {})
    assert (stats["recorded"], stats["failed"]) == (0, 1)
    [record] = failed(hub, run_id)
    assert record["record"] == {"store": "SVA32", "facility": "STORE-1", "sid": receipt["sid"],
                                "document_number": receipt["document_number"]}
    assert record["error"].startswith(f"store SVA32 (STORE-1) receipt {receipt['document_number']} "
                                      f"(sid {receipt['sid']}): lines[0].upc: UPC {UNKNOWN_UPC!r}")
    with hub.db.read() as conn:
        [logged] = conn.execute(select(error_log.c.error)).scalars().all()
    assert f"store sale SVA32-{receipt['document_number']} on STORE-1/REG1" in logged
    assert f"UPC {UNKNOWN_UPC!r}" in logged
