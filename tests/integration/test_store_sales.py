"""Store sales recorded from POS batches (services/pos_sync.py, store_sales.py, counter.py) on both databases:
stock out at once, a late sale that oversells a store sends its online promises elsewhere, goods brought back
for an online order return through that order, a store's online safety stock keeps units back, and device
clocks are flagged, never trusted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from orderhub.adapters.store import facilities, inventory_store, pos_devices, units
from orderhub.adapters.store.schema import error_log, order_events, orders, returns, store_sales, store_variances
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.services import fulfilment
from orderhub.services.pos_sync import PosSync
from tests.oms_support import ingest, order, place, position
from tests.pos_support import Store, make_store, sale
from tests.stores_support import enrol
from tests.support import BIG_ID, add_shop

Report = pos_devices.Report


def _sell(hub: Hub, device: pos_devices.Device, sales: list[dict[str, Any]]) -> list[str]:
    return [r.status for r in PosSync(hub.db).take(device, sales, Report())]


def _online_order_at_store(hub: Hub, store_stock: int) -> tuple[Any, Store, int]:
    """A paid online order (2 x SKU-1, 1 x SKU-2) brokered to a ship-from-store store, the only stock there is."""
    shop = add_shop(hub)
    store = make_store(hub, "BOS01", {"SKU-1": store_stock, "SKU-2": 5}, ship_from_store=True)
    with hub.db.write() as conn:
        wh = facilities.add(conn, "WH-1", "Warehouse", "warehouse")
    oms = type("Oms", (), {"shop": shop})
    ingest(hub, oms)
    place(hub)
    found = order(hub)
    assert {(u["sku"], u["facility"]) for u in found["units"]} == {("SKU-1", "BOS01"), ("SKU-2", "BOS01")}
    return oms, store, wh


def test_a_late_sale_that_oversells_the_store_sends_online_units_elsewhere(hub: Hub) -> None:
    _oms, store, wh = _online_order_at_store(hub, store_stock=3)
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", wh, 10, reason=LedgerReason.RECEIVED, actor="test")
    device = enrol(hub, store.id)
    offline = sale([("SKU-1", 3)], at=utcnow() - timedelta(hours=2))  # sold offline two hours ago
    assert _sell(hub, device, [offline]) == ["recorded"]

    at_store = position(hub, "SKU-1", store.id)
    assert at_store.on_hand == 0 and at_store.reserved == 0  # nothing promised against stock that is gone
    found = order(hub)
    sku1 = [u for u in found["units"] if u["sku"] == "SKU-1"]
    assert [u["facility"] for u in sku1] == ["WH-1", "WH-1"] and all(u["status"] == "brokered" for u in sku1)
    assert position(hub, "SKU-1", wh).reserved == 2
    with hub.db.read() as conn:
        variance = conn.execute(select(store_variances)).one()
        flags = conn.execute(select(store_sales.c.flags)).scalar_one()
    assert (variance.sku, variance.short, variance.rebrokered, variance.parked) == ("SKU-1", 2, 2, 0)
    assert "late" in flags.split(",")
    with hub.db.read() as conn:
        recorded = conn.execute(select(store_sales.c.id, store_sales.c.order_id)).one()
    assert (variance.store_sale_id, variance.order_id) == (recorded.id, recorded.order_id)  # the sale that oversold
    # the ledger replays to what the store has
    with hub.db.read() as conn:
        ledger = inventory_store.positions(conn, ["SKU-1"])
    assert ledger[("SKU-1", store.id)].on_hand == 0


def test_an_oversell_with_no_stock_elsewhere_parks_the_units_with_the_reason(hub: Hub) -> None:
    _oms, store, _wh = _online_order_at_store(hub, store_stock=2)
    device = enrol(hub, store.id)
    assert _sell(hub, device, [sale([("SKU-1", 1)], at=utcnow() - timedelta(hours=1))]) == ["recorded"]
    at_store = position(hub, "SKU-1", store.id)
    assert (at_store.on_hand, at_store.reserved) == (1, 1)  # one unit still covered, one sent back to brokering
    found = order(hub)
    parked = [u for u in found["units"] if u["sku"] == "SKU-1" and u["facility"] is None]
    assert len(parked) == 1 and parked[0]["status"] == "approved"
    with hub.db.read() as conn:
        variance = conn.execute(select(store_variances)).one()
        kinds = conn.execute(select(order_events.c.kind).where(order_events.c.order_shopify_id == str(BIG_ID))
                             ).scalars().all()
    assert (variance.short, variance.rebrokered, variance.parked) == (1, 0, 1)
    assert "store_oversell" in kinds


def test_goods_of_an_online_order_brought_back_to_a_store(hub: Hub) -> None:
    _oms, store, _wh = _online_order_at_store(hub, store_stock=3)
    oid = order(hub)["id"]
    with hub.db.write() as conn:
        for step in (fulfilment.pick, fulfilment.pack):
            step(conn, oid, fulfilment.Ctx("test"))
        fulfilment.ship(conn, oid, fulfilment.Ctx("test"), tracking_number="1Z", carrier="UPS")
    assert position(hub, "SKU-1", store.id).on_hand == 1
    device = enrol(hub, store.id)
    back = sale([("SKU-1", -1)], price="10.00")
    back["lines"][0]["returns"] = {"order": order(hub)["name"]}
    back["tenders"] = []
    assert _sell(hub, device, [back]) == ["recorded"]
    assert position(hub, "SKU-1", store.id).on_hand == 2
    with hub.db.read() as conn:
        made = conn.execute(select(returns)).one()
        kinds = conn.execute(select(order_events.c.kind).where(order_events.c.order_shopify_id == str(BIG_ID))
                             ).scalars().all()
    assert made.facility_id == store.id and made.disposition == "restock" and made.order_id == oid
    assert "returned_in_store" in kinds


def test_a_store_keeps_its_online_safety_stock_back(hub: Hub) -> None:
    store = make_store(hub, "BOS01", {"SKU-1": 5}, ship_from_store=True)
    with hub.db.write() as conn:
        facilities.change(conn, "BOS01", online_safety_stock=3)
        granted = inventory_store.reserve(conn, [inventory_store.Movement("SKU-1", store.id, 3)], actor="test")
    assert granted == [0]  # 5 on hand, 3 kept back: 2 for online orders
    with hub.db.write() as conn:
        assert inventory_store.reserve(conn, [inventory_store.Movement("SKU-1", store.id, 2)], actor="test") == [2]
    assert position(hub, "SKU-1", store.id).atp == 0
    # the counter still sells what the shelf has
    device = enrol(hub, store.id)
    assert _sell(hub, device, [sale([("SKU-1", 3)])]) == ["recorded"]
    assert position(hub, "SKU-1", store.id).on_hand == 2


def test_device_clocks_are_flagged_and_not_trusted(hub: Hub) -> None:
    store = make_store(hub, "BOS01", {"SKU-1": 5})
    device = enrol(hub, store.id)
    future = sale(at=utcnow() + timedelta(days=3), sequence=1)
    past = sale(at=utcnow() - timedelta(days=400), sequence=2)
    assert _sell(hub, device, [future, past]) == ["recorded", "recorded"]
    with hub.db.read() as conn:
        rows = conn.execute(select(store_sales.c.flags, store_sales.c.sold_at, store_sales.c.recorded_at)
                            .order_by(store_sales.c.sequence)).all()
        times = conn.execute(select(orders.c.source_created_at).order_by(orders.c.id)).scalars().all()
    assert [r.flags for r in rows] == ["clock_future", "clock_past"]
    assert all(abs((r.sold_at - r.recorded_at).total_seconds()) < 60 for r in rows)  # counted when received
    assert all(abs((t - utcnow()).total_seconds()) < 60 for t in times)
    with hub.db.read() as conn:
        assert pos_devices.get(conn, device.id).last_sequence == 2


def test_a_return_of_a_sale_not_yet_synced_waits_for_it(hub: Hub) -> None:
    store = make_store(hub, "BOS01", {"SKU-1": 5})
    till1, till2 = enrol(hub, store.id, "till-1"), enrol(hub, store.id, "till-2")
    bought = sale([("SKU-1", 2)], sequence=1)
    back = sale([("SKU-1", -1)], sequence=1, tenders=[{"kind": "cash", "amount": "-10.00"}])
    back["lines"][0]["returns"] = {"sale": bought["id"]}
    assert _sell(hub, till2, [back]) == ["queued"]  # its sale is still on till 1: tried again later
    assert _sell(hub, till1, [bought]) == ["recorded"]
    from tests.support import drain

    with hub.db.write() as conn:  # the retry is due now
        conn.execute(__import__("sqlalchemy").text("UPDATE inbox SET available_at = :now"), {"now": utcnow()})
    drain(hub)
    assert position(hub, "SKU-1", store.id).on_hand == 4
    with hub.db.read() as conn:
        assert len(units.of_orders(conn, [conn.execute(select(orders.c.id)).scalar_one()])) == 1


def _shopify_pos_order(hub: Hub, location_id: int) -> None:
    from tests.support import drain, order_payload, put

    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(source_name="pos", fulfillment_status="fulfilled",
                                            location_id=location_id, shipping_lines=[]), shop_id=shop.id)
    drain(hub)


def test_a_shopify_pos_sale_is_a_counter_sale_at_its_store(hub: Hub) -> None:
    store = make_store(hub, "24826418", {"SKU-1": 5, "SKU-2": 5})  # the facility of Shopify location 24826418
    _shopify_pos_order(hub, 24826418)
    found = order(hub)
    assert found["status"] == "completed" and found["channel"] == "pos"
    assert {(u["status"], u["facility"]) for u in found["units"]} == {("completed", "24826418")}
    assert position(hub, "SKU-1", store.id).on_hand == 3 and position(hub, "SKU-2", store.id).on_hand == 4


def test_a_shopify_pos_sale_at_a_location_no_facility_stands_for_is_placed_and_says_why(hub: Hub) -> None:
    make_store(hub, "BOS01", {"SKU-1": 5, "SKU-2": 5}, ship_from_store=True)
    _shopify_pos_order(hub, 555)
    place(hub)
    found = order(hub)
    assert found["status"] != "completed"
    with hub.db.read() as conn:
        kinds = conn.execute(select(order_events.c.kind).where(order_events.c.order_shopify_id == str(BIG_ID))
                             ).scalars().all()
    assert "counter_sale_unmapped" in kinds


def test_sales_stored_but_not_applied_at_once_are_queued_for_a_worker(hub: Hub, monkeypatch: Any) -> None:
    from sqlalchemy.exc import OperationalError

    from tests.support import drain

    store = make_store(hub, "BOS01", {"SKU-1": 5})
    device = enrol(hub, store.id)

    def database_gone(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("the connection was lost"))

    monkeypatch.setattr(inventory_store, "lock_rows", database_gone)
    assert _sell(hub, device, [sale([("SKU-1", 2)])]) == ["queued"]  # stored: the till may forget it
    assert position(hub, "SKU-1", store.id).on_hand == 5
    monkeypatch.undo()
    drain(hub)  # a worker applies it
    assert position(hub, "SKU-1", store.id).on_hand == 3


def test_a_sale_in_an_unknown_currency_waits_in_the_error_log(hub: Hub) -> None:
    store = make_store(hub, "BOS01", {"SKU-1": 5})
    device = enrol(hub, store.id)
    sold, back = sale([("SKU-1", 1)], currency="XYZ"), sale([("SKU-1", -1)], currency="XYZ", tenders=[])
    assert _sell(hub, device, [sold, back]) == ["error_logged", "error_logged"]
    assert position(hub, "SKU-1", store.id).on_hand == 5
    with hub.db.read() as conn:
        logged = conn.execute(select(error_log.c.error)).scalars().all()
    assert len(logged) == 2 and all("'XYZ' is not an ISO 4217 currency code" in e for e in logged)


def test_every_http_destination_is_owed_each_recorded_store_sale_once(hub: Hub) -> None:
    from orderhub.adapters.store import destinations
    from orderhub.adapters.store.schema import deliveries

    store = make_store(hub, "BOS01", {"SKU-1": 5})
    with hub.db.write() as conn:
        for name in ("erp", "bi"):
            destinations.add_http(conn, name, f"https://{name}.example/hook", "s3cret")
    device = enrol(hub, store.id)
    sales = [sale([("SKU-1", 1)], sequence=1), sale([("SKU-1", 1)], sequence=2)]
    assert _sell(hub, device, sales + sales[:1]) == ["recorded", "recorded", "duplicate"]
    with hub.db.read() as conn:
        owed = conn.execute(select(deliveries.c.topic, deliveries.c.destination_id)).all()
    assert len(owed) == 4 and {topic for topic, _ in owed} == {"store_sale.recorded"}
