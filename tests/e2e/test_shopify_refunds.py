"""Refunds of Shopify orders through Shopify, end to end over HTTP against the Shopify simulator: a shipped order
owes Shopify no shipment operation (its fulfilments have jobs of their own); a return recorded in orderhub is
refunded in Shopify with ``refundCreate`` against the order's payment, with the return's amount and lines; the
refund comes back (refunds/create, the order's next version, the import-returns poll) and returns nothing again: the
order keeps its one return, and its timeline names Shopify's refund."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from orderhub.adapters.shopify import subscriptions
from orderhub.adapters.store import facilities, inventory_store, order_queries, shops
from orderhub.adapters.store.schema import channel_operations
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.services import fulfilment
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.runner import run_job
from orderhub.services.order_sync import RETURN_REFUNDED
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.server import ServerThread
from tests.oms_support import place
from tests.support import drain
from tests.versions import NEWEST, TEST_DAY

pytestmark = pytest.mark.timeout(180)

SHOP = "refunds.myshopify.com"
SECRET = "refunds-secret-🔑"
TOKEN = "shpat_refunds"
BOOT = "BOOT-🥾-42"


@pytest.fixture
def sim() -> Iterator[tuple[Any, httpx.Client]]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=21, restore_rate=5000, retry_schedule=[0.1, 0.2, 0.4])
    simulator.store.clock.fixed_day = TEST_DAY
    with httpx.Client(base_url=url, timeout=30) as control:
        yield simulator, control
    stop()


def _shipped_order(hub: Hub, hub_server: ServerThread, simulator: Any, control: httpx.Client
                   ) -> tuple[shops.Shop, int, int]:
    """A paid order of two boots in one currency, imported, placed and shipped in orderhub, with Shopify's webhooks
    coming to orderhub: (the shop, the Shopify order id, orderhub's order id)."""
    for p in control.get("/_sim/products").json()["products"]:
        control.post("/_sim/products", json={"action": "delete", "id": p["id"]})
    assert control.post("/_sim/products", json={"title": "Wanderstiefel 🥾", "sku": BOOT, "price": "120.00"}
                        ).status_code == 200
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOP, SECRET, admin_url=f"{control.base_url}/shops/{SHOP}", access_token=TOKEN,
                         api_version=NEWEST)
    run_job(hub, "sync-products", shop, {"collections": "false"})
    sim_shop = simulator.store.shop(SHOP)
    ids = control.post("/_sim/orders", json={"count": 8, "seed": 4}).json()["order_ids"]
    shopify_id = next(i for i in ids if sim_shop.orders[i]["currency"] == sim_shop.orders[i]["presentment_currency"])
    if sim_shop.orders[shopify_id]["financial_status"] != "paid":
        assert control.post(f"/_sim/orders/{shopify_id}/pay", json={}).status_code == 200
    line = sim_shop.orders[shopify_id]["line_items"][0]
    if line["current_quantity"] < 2:
        assert control.post(f"/_sim/orders/{shopify_id}/edit", json={"line_item_id": line["id"], "quantity": 2}
                            ).status_code == 200
    client = admin_client(shop)
    for topic in ("refunds/create", "orders/updated"):
        subscriptions.subscribe(client, topic, f"{hub_server.url}/webhooks/shopify")
    run_job(hub, "import-new-orders", shop, {})
    drain(hub)
    with hub.db.write() as conn:
        berlin = facilities.add(conn, "WH-BER", "Lager Berlin 🏭", "warehouse")
        inventory_store.set_on_hand(conn, BOOT, berlin, 20, reason=LedgerReason.RECEIVED, actor="test")
    place(hub)
    with hub.db.write() as conn:
        oid = order_queries.find_order_id(conn, str(shopify_id))
        assert oid is not None
        ctx = fulfilment.Ctx("packer", "test")
        fulfilment.pick(conn, oid, ctx)
        fulfilment.pack(conn, oid, ctx)
        fulfilment.ship(conn, oid, ctx, tracking_number="00340434161234567890", carrier="DHL")
    assert control.post(f"/_sim/orders/{shopify_id}/fulfill", json={}).status_code == 200
    return shop, shopify_id, oid


def _operations(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(channel_operations).order_by(channel_operations.c.id)).all()


def _order(hub: Hub, oid: int) -> dict[str, Any]:
    with hub.db.read() as conn:
        found = order_queries.get_order(conn, oid)
    assert found is not None
    return found


def test_a_return_of_a_shopify_order_is_refunded_in_shopify_and_returns_nothing_twice(
        hub: Hub, hub_server: ServerThread, sim: tuple[Any, httpx.Client]) -> None:
    simulator, control = sim
    shop, shopify_id, oid = _shipped_order(hub, hub_server, simulator, control)
    assert _operations(hub) == []  # shipping a Shopify order owes no ship operation

    with hub.db.write() as conn:
        _status, rid = fulfilment.return_units(conn, oid, fulfilment.Ctx("store:berlin", "zu klein 👟"), quantity=1,
                                               refund=Decimal("99.50"))
    [owed] = _operations(hub)
    assert (owed.kind, owed.reference, owed.status) == ("refund", f"return-{rid}", "pending")
    assert send_once(hub).done == 1

    sim_order = simulator.store.shop(SHOP).orders[shopify_id]
    [refund] = sim_order["refunds"]
    [sale] = [t for t in simulator.store.shop(SHOP).transactions[shopify_id] if t["kind"] in ("sale", "capture")]
    assert refund["note"] == f"orderhub return-{rid}: zu klein 👟"
    assert [(t["kind"], t["amount"], t["parent_id"]) for t in refund["transactions"]] == [
        ("refund", "99.50", sale["id"])]
    line = sim_order["line_items"][0]
    assert [(r["line_item_id"], r["quantity"], r["restock_type"]) for r in refund["refund_line_items"]] == [
        (line["id"], 1, "no_restock")]
    assert sim_order["financial_status"] == "partially_refunded" and line["current_quantity"] == 1

    # Shopify's refunds/create and the order's next version reach orderhub, and the poll finds the refund too.
    assert control.post("/_sim/wait_idle", json={"timeout": 20}).json()["idle"]
    drain(hub)
    _run, stats = run_job(hub, "import-returns", shop, {})
    assert stats["refunds"] == 1 and stats["stored"] == 0
    drain(hub)
    found = _order(hub, oid)
    assert [r["id"] for r in found["returns"]] == [rid]
    [linked] = [e["detail"] for e in found["timeline"] if e["kind"] == RETURN_REFUNDED]
    assert (linked["return_id"], linked["refund_id"], linked["amount"]) == (rid, str(refund["id"]), "99.50")
    assert sorted(u["status"] for u in found["units"]) == ["returned", "shipped"]

    # Sent again (an answer lost on the way back): Shopify keeps its one refund.
    with hub.db.write() as conn:
        conn.execute(update(channel_operations).values(status="pending", available_at=utcnow()))
    assert send_once(hub).done == 1
    assert len(simulator.store.shop(SHOP).orders[shopify_id]["refunds"]) == 1


def test_a_refund_shopify_refuses_waits_in_the_error_log_with_shopifys_reason(
        hub: Hub, hub_server: ServerThread, sim: tuple[Any, httpx.Client]) -> None:
    simulator, control = sim
    _shop, shopify_id, oid = _shipped_order(hub, hub_server, simulator, control)
    sale = simulator.store.shop(SHOP).transactions[shopify_id][0]
    with hub.db.write() as conn:
        fulfilment.return_units(conn, oid, fulfilment.Ctx("store:berlin", "kaputt"), quantity=1,
                                refund=Decimal(sale["amount"]) + 1)
    report = send_once(hub)
    assert report.done == 0 and len(report.refused) == 1
    assert "more than Shopify can still refund" in report.refused[0]
    [parked] = _operations(hub)
    assert parked.status == "failed" and "more than Shopify can still refund" in parked.last_error
    assert simulator.store.shop(SHOP).orders[shopify_id]["refunds"] == []
