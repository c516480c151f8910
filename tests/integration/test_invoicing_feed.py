"""The completed-orders feed (orderhub.services.invoicing.feed) on a real database: which orders it
takes and how it marks them, and on SQLite the lines the database writes (in this process or in
reader processes) are exactly the records built from rows."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, select

from orderhub.adapters.store import facilities, invoice_store
from orderhub.adapters.store.invoice_store import Selection
from orderhub.adapters.store.schema import (
    customers,
    order_addresses,
    order_invoices,
    order_items,
    order_shipping_lines,
    order_units,
    orders,
    shipments,
    variants,
)
from orderhub.bootstrap import Hub
from orderhub.services.invoicing import feed
from tests.support import add_shop

AT = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
ODD = 'Zoë "Q" \\ back\nslash\ttab \x01 🌸 𝄞'  # quotes, escapes, control characters, beyond the BMP


def _scene(hub: Hub) -> dict[str, Any]:
    """Twelve completed orders with what makes a record differ, one that is not completed, one sold at
    the POS, one with nothing fulfilled from a facility."""
    shop = add_shop(hub)
    with hub.db.write() as conn:
        s1 = facilities.add(conn, "STORE-1", "Uno", "store", pos_store_code="SVA32")
        s2 = facilities.add(conn, "STORE-2", "Dos", "store")  # no POS code: its own code
        conn.execute(insert(variants), [
            {"shop_id": shop.id, "product_shopify_id": "900", "shopify_id": "700", "sku": "SKU-1", "barcode": "111"},
            {"shop_id": shop.id, "product_shopify_id": "900", "shopify_id": "701", "sku": "SKU-2", "barcode": None}])
        people = [conn.execute(insert(customers).values(shop_id=shop.id, shopify_id=str(800 + n), email=f"c{n}@x.io",
                                                         first_name=name, last_name="Muñoz", phone=None)
                               .returning(customers.c.id)).scalar_one() for n, name in enumerate(["Ana", ODD])]
        ids = []
        for n in range(16):
            status = "created" if n == 12 else "completed" if n % 2 else "shipped"
            created = AT + timedelta(minutes=n, microseconds=0 if n % 3 else 123456)
            oid = conn.execute(insert(orders).values(
                shop_id=shop.id, shopify_id=str(6000 + n), name=f"#{1000 + n}", number=str(1000 + n),
                email=None if n == 4 else f"o{n}@x.io", customer_id=None if n == 5 else people[n % 2],
                source_status="closed", status=status, channel="pos" if n == 13 else "online",
                shipping_method={0: "Express", 1: "", 2: None}.get(n % 4, ODD if n == 3 else None), currency="EUR",
                subtotal_price=Decimal("30.00"), total_discounts=Decimal("0"), total_tax=Decimal("5.70"),
                total_shipping=[Decimal("5.00"), Decimal("0"), Decimal("0.10"), Decimal("12.5")][n % 4],
                total_price=Decimal("35.00"), source_created_at=created, source_updated_at=created, version=1,
                created_at=created, updated_at=created).returning(orders.c.id)).scalar_one()
            ids.append(oid)
            if n % 4 != 3:
                for k, title in enumerate(["Standard", "Second line"][: 1 + n % 2]):
                    conn.execute(insert(order_shipping_lines).values(
                        order_id=oid, shopify_id=f"{oid}-{k}", title=f"{title} {n}", price=Decimal("5"),
                        discounted_price=Decimal("5")))
            for kind in ("shipping", "billing") if n % 5 else ("shipping",):
                conn.execute(insert(order_addresses).values(
                    order_id=oid, kind=kind, first_name=ODD if n == 6 else f"F{n}", last_name="L", company=None,
                    address1=f"Calle {n}", address2=None if n % 2 else "Piso 2", city="San Salvador",
                    province=None, zip="01101", country="El Salvador", country_code=None if n == 8 else "SV",
                    phone="+503 2222"))
            shipment = conn.execute(insert(shipments).values(
                order_id=oid, facility_id=s1, status="shipped", carrier="DHL", created_at=created,
                shipped_at=created + timedelta(hours=3, microseconds=n * 1000)).returning(shipments.c.id)).scalar_one()
            lines = [("SKU-1", "700", 2, Decimal("10.00")), ("SKU-2", "701", 3, Decimal("7.5"))][: 1 + n % 2]
            for k, (sku, variant, quantity, price) in enumerate(lines):
                item = conn.execute(insert(order_items).values(
                    order_id=oid, shopify_id=f"{oid}{k}", sku=sku, title=ODD if n == 10 else f"Item {k}",
                    variant_shopify_id=None if n == 11 else variant, quantity=quantity, current_quantity=quantity,
                    fulfillable_quantity=0, price=price, total_discount=Decimal("1.25") * k,
                    tax=Decimal("1.90"), requires_shipping=True).returning(order_items.c.id)).scalar_one()
                for seq in range(1, quantity + 1):
                    split = k == 1 and seq == quantity  # the last unit of the second line left from STORE-2
                    conn.execute(insert(order_units).values(
                        order_id=oid, item_id=item, seq=seq, sku=sku,
                        status="cancelled" if n == 14 or (n == 9 and seq == 1) else "shipped",
                        facility_id=s2 if split else s1, price=price,
                        shipment_id=None if split else shipment, updated_at=created + timedelta(hours=5)))
    return {"shop": shop, "orders": ids, "pos": ids[13], "not_completed": ids[12], "nothing": ids[14]}


def _feed(hub: Hub, run_id: int, **options: Any) -> tuple[list[bytes], feed.FeedStats]:
    sel = Selection(run_id=run_id, refeed_before=AT)
    stats, blocks = feed.blocks(hub.db, sel, f"feed-{run_id}.jsonl.gz", **options)
    data = b"".join(gzip.decompress(b.data) if options.get("compress") else b.data for b in blocks)
    return data.splitlines(), stats


def _statuses(hub: Hub) -> dict[int, tuple[str, int | None]]:
    with hub.db.read() as conn:
        return {r.order_id: (r.status, r.feed_run_id) for r in conn.execute(select(order_invoices))}


def test_the_feed_takes_completed_orders_and_marks_them(hub: Hub) -> None:
    scene = _scene(hub)
    lines, stats = _feed(hub, 1, compress=False, batch=4, json_in_sql=False)
    fed = [orjson.loads(line)["order_id"] for line in lines]
    left_out = {scene["pos"], scene["not_completed"], scene["nothing"]}
    assert fed == [oid for oid in scene["orders"] if oid not in left_out]
    assert (stats.orders, stats.skipped, stats.refed) == (13, 1, 0)
    statuses = _statuses(hub)
    assert statuses.pop(scene["nothing"])[0] == "skipped"
    assert statuses == {oid: ("feeding", 1) for oid in fed}
    first = orjson.loads(lines[0])
    assert first["items"][0]["store"] == "SVA32" and first["created_at"] == "2026-11-23T10:00:00.123456+00:00"
    with hub.db.write() as conn:
        assert invoice_store.mark_fed(conn, 1) == 13
    assert _feed(hub, 2, compress=False)[0] == []  # fed, and not due again before refeed_before
    with hub.db.write() as conn:
        conn.execute(order_invoices.update().where(order_invoices.c.order_id == fed[0]).values(status="failed"))
    again, stats = _feed(hub, 3, compress=True)
    assert [orjson.loads(line)["order_id"] for line in again] == [fed[0]] and stats.refed == 1


def test_sqlite_writes_the_same_records_as_rows_make(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    if hub.db.dialect != "sqlite":
        pytest.skip("the database writes the JSON on SQLite only")
    _scene(hub)
    from_rows, _ = _feed(hub, 1, compress=False, batch=5, json_in_sql=False)
    in_sql, _ = _feed(hub, 2, compress=False, batch=5)  # feeding under another run: taken again
    assert [orjson.loads(line) for line in in_sql] == [orjson.loads(line) for line in from_rows]
    assert in_sql == from_rows  # byte for byte, as it happens
    monkeypatch.setattr(feed, "READERS_FROM", 1)
    in_readers, stats = _feed(hub, 3, compress=True, batch=3, readers=2)  # reader processes, gzip members
    assert in_readers == from_rows and len(stats.reader_peak_mb) == 2


def test_the_feed_writes_amounts_in_each_order_currency_decimals(hub: Hub) -> None:
    """``0``, ``7.5`` and PostgreSQL's ``10.0000`` are written as the order's currency shows them,
    by rows on every database and by SQLite's own JSON alike."""
    scene = _scene(hub)
    first, second, third, fourth = scene["orders"][:4]
    with hub.db.write() as conn:
        conn.execute(orders.update().where(orders.c.id == third).values(currency="KWD"))
        conn.execute(orders.update().where(orders.c.id == fourth).values(currency="JPY"))
    want = {  # order: (total_shipping, [(price, discount, tax) per line])
        first: ("5.00", [("10.00", "0.00", "1.90")]),
        second: ("0.00", [("10.00", "0.00", "1.90"), ("7.50", "1.25", "1.90"), ("7.50", "1.25", "1.90")]),
        third: ("0.100", [("10.000", "0.000", "1.900")]),
        fourth: ("12.5", [("10", "0", "1.9"), ("7.5", "1.25", "1.9"), ("7.5", "1.25", "1.9")]),
    }
    paths = [{"json_in_sql": False}] + ([{}] if hub.db.dialect == "sqlite" else [])  # {}: SQLite writes the JSON
    for run, options in enumerate(paths, start=1):
        records = {r["order_id"]: r for r in map(orjson.loads, _feed(hub, run, compress=False, **options)[0])}
        got = {oid: (records[oid]["total_shipping"], [(i["price"], i["discount"], i["tax"])
                                                      for i in records[oid]["items"]]) for oid in want}
        assert got == want, options
