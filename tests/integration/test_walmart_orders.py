"""Walmart orders in: the import job against the Walmart simulator, then the unchanged processor."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select

from orderhub.adapters.store import error_log
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import customers, inbox, order_addresses, order_items, orders
from orderhub.adapters.walmart.channel import ORDER_TOPIC, identity
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.jobs import walmart_jobs
from tests.integration import test_walmart_support as support
from tests.integration.test_walmart_support import Walmart
from tests.support import drain

walmart_url, walmart = support.walmart_url, support.walmart  # the simulator and the account, as fixtures


def _import(w: Walmart, **params: Any) -> dict[str, Any]:
    return walmart_jobs.import_orders(w.hub, w.account, params)


def _order(hub: Hub, po: str) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(orders).where(orders.c.shopify_id == po)).one()


def _items(hub: Hub, order_pk: int) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(order_items).where(order_items.c.order_id == order_pk)
                            .order_by(order_items.c.shopify_id)).all()


def test_orders_are_imported_acknowledged_and_stored_with_their_lines_money_and_buyer(walmart: Walmart) -> None:
    hub = walmart.hub
    po = walmart.order(lines=[{"sku": "WM-MUG-CAFE", "quantity": 3, "unitPrice": "12.50", "shipping": "4.99"},
                              {"sku": "WM-TEA-MATCHA", "quantity": 1, "discount": "4.20"}],
                       customerName="Zoë Ångström 🦋")
    first = _import(walmart)
    assert (first["stored"], first["released"], first["acknowledged"], first["ack_due_soon"]) == (1, 1, 1, 0)
    assert [op["purchaseOrderId"] for op in walmart.operations("acknowledgement")] == [po]
    drain(hub)
    row = _order(hub, po)
    assert (row.currency, row.source_status, row.payment_status, row.email.endswith("@relay.walmart.com")) == \
        ("USD", "open", "paid", True)
    # 3 x 12.50 + 42.00 - 4.20 discount + 4.99 shipping + tax (8% of each line after its discount)
    assert (row.subtotal_price, row.total_discounts, row.total_shipping) == \
        (Decimal("75.30"), Decimal("4.20"), Decimal("4.99"))
    assert row.total_tax == Decimal("3.00") + Decimal("3.02")
    assert row.total_price == Decimal("75.30") + Decimal("4.99") + Decimal("6.02")
    assert [(i.shopify_id, i.sku, i.quantity, i.current_quantity, i.price) for i in _items(hub, row.id)] == [
        ("1", "WM-MUG-CAFE", 3, 3, Decimal("12.50")), ("2", "WM-TEA-MATCHA", 1, 1, Decimal("42.00"))]
    with hub.db.read() as conn:
        address = conn.execute(select(order_addresses).where(order_addresses.c.order_id == row.id)).one()
        customer = conn.execute(select(customers).where(customers.c.id == row.customer_id)).one()
    assert (address.name, address.address1, address.country_code) == ("Zoë Ångström 🦋", "742 Évergreen Terrace", "US")
    assert (customer.first_name, customer.last_name, customer.email) == ("Zoë", "Ångström 🦋", None)
    assert row.ship_by is not None and row.deliver_by is not None and row.ship_by < row.deliver_by

    # The next run finds the acknowledged version (a change of the order) and nothing else new.
    second = _import(walmart)
    assert (second["released"], second["stored"]) == (0, 1)
    third = _import(walmart)  # the same versions again, inside the overlap: stored once
    assert (third["stored"], third["duplicates"]) == (0, third["fetched"]) and third["fetched"] >= 1
    drain(hub)
    assert _order(hub, po).source_updated_at > row.source_updated_at


def test_generated_orders_of_every_kind_read_with_unicode_statuses_and_wfs(walmart: Walmart) -> None:
    hub = walmart.hub
    by_kind = {kind: walmart.orders(1, kind)[0] for kind in ("plain", "multi_quantity", "promotion", "guest",
                                                             "customer_cancelled", "intent_to_cancel", "wfs")}
    result = _import(walmart)
    assert result["stored"] == 7 and result["released"] == 6  # WFS orders come shipped, never to acknowledge
    drain(hub)
    with hub.db.read() as conn:
        assert error_log.list_entries(conn, error_log.ErrorFilter(status="open")) == []
    wfs = _order(hub, by_kind["wfs"])
    assert (wfs.fulfilled_by, wfs.status, wfs.source_fulfillment_status) == ("channel", "by_channel", "fulfilled")
    cancelled_line = _items(hub, _order(hub, by_kind["customer_cancelled"]).id)[0]
    assert cancelled_line.current_quantity == 0 < cancelled_line.quantity
    assert "walmart:intent-to-cancel" in _order(hub, by_kind["intent_to_cancel"]).tags
    guest = _order(hub, by_kind["guest"])
    with hub.db.read() as conn:
        address = conn.execute(select(order_addresses).where(order_addresses.c.order_id == guest.id)).one()
    assert address.address2 is None and address.name
    multi = _items(hub, _order(hub, by_kind["multi_quantity"]).id)
    assert multi[0].quantity >= 2


def test_an_order_changed_later_is_updated_and_an_older_version_never_wins(walmart: Walmart) -> None:
    hub = walmart.hub
    po = walmart.order(lines=[{"sku": "WM-SOAP-LAV", "quantity": 2}], status="Acknowledged")
    _import(walmart)
    drain(hub)
    with hub.db.read() as conn:
        old_payload = conn.execute(select(inbox.c.payload).where(inbox.c.topic == ORDER_TOPIC)).scalar_one()
    walmart.control("POST", f"orders/{po}/events", {"event": "auto_cancel"})
    assert _import(walmart)["stored"] == 1
    drain(hub)
    row = _order(hub, po)
    assert row.cancelled_at is not None and row.source_status == "cancelled"
    assert _items(hub, row.id)[0].current_quantity == 0
    # The older version, delivered again under another identity (as another source would), changes nothing.
    insert_entries(hub.db, [InboxEntry(shop_id=walmart.account.id, source="poll", topic=ORDER_TOPIC,
                                       identity=identity(orjson.loads(old_payload)) + "-again", payload=old_payload)])
    drain(hub)
    assert _order(hub, po).cancelled_at == row.cancelled_at


def test_bad_orders_reach_the_error_log_with_the_field_named(walmart: Walmart) -> None:
    hub = walmart.hub
    po = walmart.order(lines=[{"sku": "WM-MUG-MSK", "quantity": 1}])
    _import(walmart)
    with hub.db.read() as conn:
        payload = orjson.loads(conn.execute(select(inbox.c.payload)).scalar_one())
    broken = dict(payload, purchaseOrderId="BROKEN-1")
    broken["orderLines"]["orderLine"][0]["charges"]["charge"][0]["chargeAmount"]["amount"] = "twelve"
    no_date = {k: v for k, v in payload.items() if k != "orderDate"} | {"purchaseOrderId": "BROKEN-2"}
    insert_entries(hub.db, [InboxEntry(shop_id=walmart.account.id, source="poll", topic=ORDER_TOPIC,
                                       identity=identity(p), payload=orjson.dumps(p).decode())
                            for p in (broken, no_date)])
    drain(hub)
    with hub.db.read() as conn:
        entries = {e.error.split(":")[0]: e._mapping for e in
                   error_log.list_entries(conn, error_log.ErrorFilter(status="open"))}
    assert entries["walmart/order purchase order BROKEN-1"]["field"] == \
        "orderLines.orderLine[0].charges.charge[0].chargeAmount.amount"
    assert entries["walmart/order purchase order BROKEN-2"]["field"] == "orderDate"
    assert _order(hub, po).shopify_id == po  # the good one went through


def test_orders_not_acknowledged_three_hours_after_release_are_counted(walmart: Walmart) -> None:
    late = int((utcnow() - timedelta(hours=3, minutes=30)).timestamp() * 1000)
    po = walmart.order(lines=[{"sku": "WM-OIL-ARGAN", "quantity": 1}], orderDate=late)
    walmart.fail(operation="acknowledgeOrders", times=10)
    result = _import(walmart)
    assert (result["stored"], result["acknowledged"], result["ack_failed"], result["ack_due_soon"]) == (1, 0, 1, 1)
    tracked = walmart_jobs.acknowledgements(walmart.hub, walmart.account.id)
    assert tracked[po]["acknowledged"] is None and tracked[po]["released"] is not None
    walmart.control("DELETE", "failures")
    again = _import(walmart)
    assert (again["acknowledged"], again["ack_due_soon"]) == (1, 0)
    assert walmart_jobs.acknowledgements(walmart.hub, walmart.account.id)[po]["acknowledged"] is not None
