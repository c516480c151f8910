"""Pickup in store end to end on both databases: a Shopify order whose customer chose local pickup is brokered
to its store, picked, made ready (the customer e-mailed the code through a real SMTP server), and collected
with the code; or not collected in time and cancelled; or parked until the store has stock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderhub.adapters.store import facilities, inventory_store, order_queries
from orderhub.adapters.store.schema import order_units, pickup_mails, shipments
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.domain.pickup import MAX_ATTEMPTS, PickupError
from orderhub.services import fulfilment, pickups
from orderhub.services.fulfilment import Ctx
from orderhub.services.jobs import pickup_jobs
from orderhub.services.jobs.runner import run_job
from orderhub.testing.smtp_server import SmtpTestServer
from tests.oms_support import make_oms, place, position
from tests.support import BIG_ID, drain, order_payload, put

CLERK = "store:léa"
LOCATION = 65432109876


@pytest.fixture
def oms(hub: Hub) -> Any:
    return pickup_oms(hub)


def pickup_oms(hub: Hub) -> Any:
    """make_oms's shop and warehouses (WH-BER has 5 of SKU-1 and SKU-2), and the store BOS01 with 3 of SKU-1."""
    oms = make_oms(hub)
    with hub.db.write() as conn:
        oms.store = facilities.add(conn, "BOS01", "Boston Downtown 🛍", "store", address1="1 Main St", city="Boston",
                                   zip="02108", country_code="US", latitude=42.36, longitude=-71.06)
        inventory_store.set_on_hand(conn, "SKU-1", oms.store, 3, reason=LedgerReason.RECEIVED, actor="test")
    return oms


def pickup_order(hub: Hub, oms: Any, *, order_id: int = BIG_ID, quantity: int = 2, locale: str = "fr") -> int:
    """A Shopify order of ``quantity`` SKU-1 whose customer collects it at the BOS01 location, ingested and
    placed; its orderhub id."""
    payload = order_payload(order_id, line_items=[
        {"id": order_id + 1, "sku": "SKU-1", "title": "T-shirt 👕", "quantity": quantity, "price": "10.00"}],
        discount_applications=[], discount_codes=[], shipping_address=None, customer_locale=locale,
        shipping_lines=[{"id": order_id + 3, "title": "BOS01", "code": "BOS01", "source": "shopify",
                         "price": "0.00", "discounted_price": "0.00"}],
        fulfillment_orders=[{"id": order_id + 9, "assigned_location_id": LOCATION, "status": "open",
                             "delivery_method": {"id": 1, "method_type": "pick_up"},
                             "assigned_location": {"name": "BOS01", "location_id": LOCATION}}])
    put(hub, "orders/create", payload, shop_id=oms.shop.id)
    drain(hub)
    place(hub)
    with hub.db.read() as conn:
        found = order_queries.find_order_id(conn, str(order_id))
    assert found is not None
    return found


def units(hub: Hub, order_id: int) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(order_units).where(order_units.c.order_id == order_id)
                            .order_by(order_units.c.id)).all()


def order(hub: Hub, order_id: int) -> dict[str, Any]:
    with hub.db.read() as conn:
        found = order_queries.get_order(conn, order_id)
    assert found is not None
    return found


def make_ready(hub: Hub, order_id: int) -> pickups.Ready:
    with hub.db.write() as conn:
        fulfilment.pick(conn, order_id, Ctx(CLERK))
    with hub.db.write() as conn:
        return pickups.ready(conn, order_id, actor=CLERK, default_days=hub.settings.pickup_days)


def collect(hub: Hub, order_id: int, code: str) -> pickups.Attempt:
    with hub.db.write() as conn:
        return pickups.collect(conn, order_id, code, actor=CLERK)


def test_a_shopify_pickup_order_is_collected_at_its_store_with_the_emailed_code(
        hub: Hub, mail_hub: Hub, oms: Any, smtp_server: SmtpTestServer) -> None:
    order_id = pickup_order(hub, oms)

    assert order(hub, order_id)["pickup"]["store"] == "BOS01"
    assert [(u.status, u.facility_id) for u in units(hub, order_id)] == [("brokered", oms.store)] * 2
    assert position(hub, "SKU-1", oms.store).reserved == 2  # reserved at the store, not at the nearer WH-BER
    with hub.db.write() as conn, pytest.raises(PickupError, match="not picked at BOS01"):
        pickups.ready(conn, order_id, actor=CLERK, default_days=7)

    done = make_ready(hub, order_id)

    assert done.store == "BOS01" and done.collect_by - utcnow() > timedelta(days=6, hours=23)
    with hub.db.read() as conn:  # the code is nowhere in clear but in the e-mail waiting to be sent
        stored = conn.execute(select(pickup_mails)).one()
    assert stored.status == "pending" and stored.locale == "fr"
    # the code is in the e-mail, encrypted at rest until it is sent
    assert done.code not in stored.body_text and done.code not in stored.body_html
    assert stored.body_text.startswith("ohsec1:") and stored.body_html.startswith("ohsec1:")

    _run, stats = run_job(mail_hub, "send-pickup-mail", None, {})

    assert stats["sent"] == 1
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ("zoë@example.com",)
    subject = str(mail.message["Subject"]).strip()
    assert subject.startswith("Votre commande #") and "Boston Downtown 🛍" in subject
    text = mail.message.get_body(("plain",)).get_content()
    assert done.code in text and "Bonjour Zoë Ångström," in text
    with hub.db.read() as conn:
        sent = conn.execute(select(pickup_mails)).one()
    assert sent.status == "sent" and sent.body_text is None and sent.body_html is None  # the code is gone

    refused = collect(hub, order_id, "WRONG-CODE")

    assert not refused.collected and refused.attempts_left == MAX_ATTEMPTS - 1
    assert order(hub, order_id)["pickup"]["failed_attempts"] == 1  # the refusal was committed

    handed = collect(hub, order_id, done.code.lower())

    assert handed.collected and CLERK in handed.message
    after = order(hub, order_id)
    assert after["status"] == "completed" and after["pickup"]["status"] == "collected"
    assert after["pickup"]["collected_by"] == CLERK
    store = position(hub, "SKU-1", oms.store)
    assert (store.on_hand, store.reserved) == (1, 0)
    with hub.db.read() as conn:
        [shipment] = conn.execute(select(shipments).where(shipments.c.order_id == order_id)).all()
    assert (shipment.carrier, shipment.status, shipment.facility_id) == ("pickup in store", "shipped", oms.store)
    [collected] = [e for e in after["timeline"] if e["kind"] == "pickup_collected"]
    assert collected["actor"] == CLERK and collected["detail"]["handed_over_by"] == CLERK


def test_wrong_codes_lock_the_pickup_until_a_manager_resets_it(hub: Hub, oms: Any) -> None:
    order_id = pickup_order(hub, oms)
    done = make_ready(hub, order_id)

    attempts = [collect(hub, order_id, f"NOPE{i}") for i in range(MAX_ATTEMPTS)]

    assert attempts[-1].locked and not attempts[-2].locked
    with pytest.raises(PickupError, match="locked"):
        collect(hub, order_id, done.code)  # even the right code, until reset
    with hub.db.write() as conn:
        pickups.reset(conn, order_id, actor="manager")
    assert collect(hub, order_id, done.code).collected


def test_a_pickup_not_collected_in_time_is_cancelled_restocked_and_the_customer_told(
        hub: Hub, mail_hub: Hub, oms: Any, smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    order_id = pickup_order(hub, oms, locale="de-AT")
    with hub.db.write() as conn:
        pickups.set_days(conn, "BOS01", 3)
    done = make_ready(hub, order_id)
    assert done.collect_by - utcnow() < timedelta(days=3, minutes=1)
    run_job(mail_hub, "send-pickup-mail", None, {})
    smtp_server.wait_for(1)

    monkeypatch.setattr(pickup_jobs, "utcnow", lambda: utcnow() + timedelta(days=2, hours=1))  # a day before
    _run, stats = run_job(hub, "expire-pickups", None, {})
    assert (stats["expired"], stats["reminded"]) == (0, 1)
    monkeypatch.setattr(pickup_jobs, "utcnow", lambda: utcnow() + timedelta(days=3, hours=1))  # past collect-by
    _run, stats = run_job(hub, "expire-pickups", None, {})

    assert stats["expired"] == 1
    after = order(hub, order_id)
    assert after["status"] == "cancelled" and after["pickup"]["status"] == "expired"
    store = position(hub, "SKU-1", oms.store)
    assert (store.on_hand, store.reserved) == (3, 0)  # the picked units are on sale again
    monkeypatch.undo()
    run_job(mail_hub, "send-pickup-mail", None, {})
    mails = smtp_server.wait_for(3)
    subjects = [str(m.message["Subject"]).strip() for m in mails]
    assert subjects[1].startswith("Erinnerung: Ihre Bestellung") and "storniert" in subjects[2]
    assert done.code not in mails[2].message.get_body(("plain",)).get_content()


def test_a_store_without_stock_parks_the_order_until_stock_arrives_then_brokers_it_there(hub: Hub, oms: Any) -> None:
    order_id = pickup_order(hub, oms, quantity=4)  # BOS01 has 3, WH-BER 5: still only BOS01

    waiting = units(hub, order_id)
    assert {(u.status, u.queue, u.facility_id) for u in waiting} == {("approved", "backorder_parking", None)}
    assert {u.reason for u in waiting} == {"pickup store BOS01 has no stock of SKU SKU-1"}

    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", oms.store, 6, reason=LedgerReason.RECEIVED, actor="test")
    run_job(hub, "broker-orders", None, {})

    assert {(u.status, u.facility_id) for u in units(hub, order_id)} == {("brokered", oms.store)}


def test_a_mail_without_an_address_goes_to_the_error_log_naming_the_order(
        hub: Hub, mail_hub: Hub, oms: Any, smtp_server: SmtpTestServer) -> None:
    order_id = pickup_order(hub, oms)
    with hub.db.write() as conn:
        from orderhub.adapters.store.schema import orders
        conn.execute(orders.update().where(orders.c.id == order_id).values(email=None, customer_id=None))
    make_ready(hub, order_id)

    _run, stats = run_job(mail_hub, "send-pickup-mail", None, {})

    assert stats["failed"] == 1 and smtp_server.messages == []
    from orderhub.adapters.store.schema import error_log
    with hub.db.read() as conn:
        [entry] = conn.execute(select(error_log).where(error_log.c.record_type == "pickup_mail")).all()
    assert f"order id {order_id}" in entry.error and "no address" in entry.error


def test_ship_from_store_brokers_a_delivered_order_to_a_store_and_ships_it(hub: Hub, oms: Any) -> None:
    with hub.db.write() as conn:
        facilities.change(conn, "BOS01", ship_from_store=True)
        inventory_store.set_on_hand(conn, "SKU-1", oms.wh1, 0, reason=LedgerReason.CYCLE_COUNT, actor="test")
    payload = order_payload(BIG_ID + 50, line_items=[
        {"id": BIG_ID + 51, "sku": "SKU-1", "title": "T-shirt", "quantity": 1, "price": "10.00"}],
        discount_applications=[], discount_codes=[])
    put(hub, "orders/create", payload, shop_id=oms.shop.id)
    drain(hub)
    place(hub)
    with hub.db.read() as conn:
        order_id = order_queries.find_order_id(conn, str(BIG_ID + 50))
    assert order_id is not None and order(hub, order_id)["pickup"] is None
    assert [(u.status, u.facility_id) for u in units(hub, order_id)] == [("brokered", oms.store)]

    with hub.db.write() as conn:
        fulfilment.pick(conn, order_id, Ctx(CLERK))
        fulfilment.pack(conn, order_id, Ctx(CLERK), tracking_number="1Z999", carrier="UPS")
        fulfilment.ship(conn, order_id, Ctx(CLERK))

    assert order(hub, order_id)["status"] == "shipped"
    assert position(hub, "SKU-1", oms.store).on_hand == 2
