"""The pre-order jobs on SQLite and PostgreSQL: purchase orders put out-of-stock SKUs in the pre-order or
backorder catalogue, their orders wait in the parking queues with promises first come first served, a late
delivery moves promises (timeline, event, one e-mail per order at a real SMTP server), and stock that came
releases the units into brokering."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store, order_store, presell_store
from orderhub.adapters.store import purchase_orders as po_store
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import job_state, order_units, orders, presell_catalogue, promise_changes
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.domain.model import Product, Variant
from orderhub.services import inventory as inventory_service
from orderhub.services.jobs import admin, preorder_jobs
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.testing.smtp_server import SmtpTestServer
from tests.oms_support import events, ingest, order, place
from tests.support import BIG_ID

pytestmark = pytest.mark.timeout(120)

D0 = utcnow().date()
TITLE = "Pré-commande <Édition limitée> 🎮"


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def product(hub: Hub, oms: Any, sku: str, shopify_id: str, tags: tuple[str, ...] = ()) -> None:
    with hub.db.write() as conn:
        order_store.apply_product(conn, oms.shop.id, Product(shopify_id, utcnow(), title=sku, tags=tags,
                                                             variants=(Variant(shopify_id + "1", sku=sku),)))


def purchase_order(hub: Hub, oms: Any, number: str, lines: dict[str, tuple[int, date]], facility: str = "wh1",
                   ) -> int:
    with hub.db.write() as conn:
        po_id, _ = po_store.save_order(conn, number, facility_id=getattr(oms, facility), status="open", actor="buyer")
        for sku, (quantity, expected) in lines.items():
            po_store.save_line(conn, po_id, sku, quantity=quantity, expected_date=expected)
    return po_id


def place_order(hub: Hub, oms: Any, k: int, sku: str, quantity: int, email: str | None,
                title: str = TITLE) -> int:
    """Order k (Shopify id BIG_ID + k*1000), placed k hours after the first, for ``quantity`` of ``sku``."""
    shopify_id = BIG_ID + k * 1000
    created = (datetime(2026, 11, 1, 9, tzinfo=timezone.utc) + timedelta(hours=k)).isoformat()
    ingest(hub, oms, order_id=shopify_id, created_at=created, email=email,
           customer={"id": shopify_id + 7, "email": email, "first_name": "Zoë", "last_name": "Ångström"},
           line_items=[{"id": shopify_id + 1, "sku": sku, "title": title, "quantity": quantity, "price": "10.00"}])
    place(hub)
    return int(order(hub, shopify_id)["id"])


def units(hub: Hub, order_id: int) -> list[Any]:
    with hub.db.read() as conn:
        return list(conn.execute(select(order_units).where(order_units.c.order_id == order_id)
                                 .order_by(order_units.c.id)))


def promises(hub: Hub, order_id: int) -> list[date | None]:
    return [u.promise_date for u in units(hub, order_id)]


def order_promise(hub: Hub, order_id: int) -> date | None:
    with hub.db.read() as conn:
        value = conn.execute(select(orders.c.promise_date).where(orders.c.id == order_id)).scalar_one()
    return value.date() if value else None


def catalogue(hub: Hub) -> dict[str, tuple[str, date | None]]:
    with hub.db.read() as conn:
        return {r.sku: (r.kind, r.next_expected) for r in conn.execute(select(presell_catalogue))}


def timeline(hub: Hub, order_id: int, kind: str) -> list[dict[str, Any]]:
    with hub.db.read() as conn:
        shopify_id = conn.execute(select(orders.c.shopify_id).where(orders.c.id == order_id)).scalar_one()
    return [e["detail"] for e in order(hub, int(shopify_id))["timeline"] if e["kind"] == kind]


def log_lines(hub: Hub, run_id: int) -> list[str]:
    return [line["message"] for line in admin.run_detail(hub, run_id)["log"]]


def receive(hub: Hub, sku: str, quantity: int) -> None:
    with hub.db.write() as conn:
        inventory_service.adjust(conn, sku, "WH-BER", actor="receiving", reason="received", delta=quantity)


class Shop:
    """SKU-P, never in stock (a launch), and SKU-1, sold out, both with purchase orders on the way; five
    customers waiting for them and one whose order was in stock."""

    def __init__(self, hub: Hub, oms: Any) -> None:
        self.wh1 = oms.wh1
        product(hub, oms, "SKU-P", "700", tags=("launch",))
        with hub.db.write() as conn:
            inventory_store.set_on_hand(conn, "SKU-1", oms.wh1, 0, reason=LedgerReason.CYCLE_COUNT, actor="count")
        self.po1 = purchase_order(hub, oms, "PO-1", {"SKU-P": (3, day(10)), "SKU-1": (2, day(5))})
        self.po2 = purchase_order(hub, oms, "PO-2", {"SKU-P": (2, day(30))}, facility="wh2")
        self.a = place_order(hub, oms, 0, "SKU-P", 2, "zoe.a@example.com")
        self.b = place_order(hub, oms, 1, "SKU-P", 2, "zoe.b@example.com")
        self.c = place_order(hub, oms, 2, "SKU-P", 2, "zoë@example.com")  # not ASCII: sent with SMTPUTF8
        self.d = place_order(hub, oms, 3, "SKU-1", 1, "zoe.d@example.com", title="T-shirt 👕")
        self.e = place_order(hub, oms, 4, "SKU-1", 1, None, title="T-shirt 👕")
        self.f = place_order(hub, oms, 5, "SKU-2", 1, "zoe.f@example.com", title="Сувенир")


@pytest.fixture
def shop(hub: Hub, oms: Any) -> Shop:
    return Shop(hub, oms)


def test_purchase_orders_put_out_of_stock_skus_in_the_catalogue_and_promise_first_come_first_served(
        hub: Hub, shop: Shop) -> None:
    # Brokering found no stock: the units wait, parked as backorders by the default routing run.
    assert {u.queue for o in (shop.a, shop.d) for u in units(hub, o)} == {"backorder_parking"}

    run_id, stats = run_job(hub, "refresh-presell-catalogue", None, {})

    assert stats["added"] == {"SKU-1": "backorder", "SKU-P": "preorder"} and stats["removed"] == {}
    assert catalogue(hub) == {"SKU-P": ("preorder", day(10)), "SKU-1": ("backorder", day(5))}
    assert "added to the preorder catalogue: SKU-P" in log_lines(hub, run_id)
    assert "added to the backorder catalogue: SKU-1" in log_lines(hub, run_id)
    assert [u.queue for o in (shop.a, shop.b, shop.c) for u in units(hub, o)] == ["preorder_parking"] * 6
    assert [u.queue for o in (shop.d, shop.e) for u in units(hub, o)] == ["backorder_parking"] * 2
    assert [(u.status, u.promise_date) for u in units(hub, shop.f)] == [("brokered", None)]  # in stock: untouched
    # First come, first served: PO-1 brings 3 on day 10, PO-2 2 on day 30, the sixth unit nothing.
    assert [promises(hub, o) for o in (shop.a, shop.b, shop.c)] == [[day(10), day(10)], [day(10), day(30)],
                                                                    [day(30), None]]
    assert promises(hub, shop.d) == promises(hub, shop.e) == [day(5)]
    assert [order_promise(hub, o) for o in (shop.a, shop.b, shop.c, shop.d)] == [day(10), day(30), None, day(5)]
    assert [d["reason"] for d in timeline(hub, shop.b, "promise_given")] == [
        f"promise date {day(10).isoformat()} given", f"promise date {day(30).isoformat()} given"]
    assert timeline(hub, shop.a, "presell_parked")[0]["reason"] == (
        "SKU-P is sold as a preorder: 2 unit(s) wait in preorder_parking for stock")

    # Nothing changed: a second refresh and an update change nothing, and say nothing more.
    _run, again = run_job(hub, "refresh-presell-catalogue", None, {})
    assert (again["added"], again["removed"], again["parked"], again["promised"]) == ({}, {}, 0, 0)
    _run, update = run_job(hub, "update-promise-dates", None, {})
    assert (update["units"], update["given"], update["changed"]) == (8, 0, 0)
    assert len(timeline(hub, shop.b, "promise_given")) == 2 and not timeline(hub, shop.b, "promise_changed")


def test_a_late_delivery_is_recorded_and_each_customer_mailed_once(
        hub: Hub, mail_hub: Hub, shop: Shop, smtp_server: SmtpTestServer) -> None:
    run_job(hub, "refresh-presell-catalogue", None, {})
    with hub.db.write() as conn:  # the supplier is late with PO-1, and PO-2 is cancelled
        po_store.save_line(conn, shop.po1, "SKU-P", quantity=3, expected_date=day(15))
        po_store.save_line(conn, shop.po1, "SKU-1", quantity=2, expected_date=day(7))
        po_store.cancel(conn, "PO-2", actor="buyer")

    _run, stats = run_job(hub, "update-promise-dates", None, {})

    assert (stats["changed"], stats["later"]) == (7, 7)
    assert [promises(hub, o) for o in (shop.a, shop.b, shop.c)] == [[day(15), day(15)], [day(15), None],
                                                                    [None, None]]
    assert [order_promise(hub, o) for o in (shop.a, shop.b, shop.c, shop.d)] == [day(15), None, None, day(7)]
    [changed] = timeline(hub, shop.a, "promise_changed")
    assert changed["changes"] == [{"unit": u.id, "sku": "SKU-P", "before": day(10).isoformat(),
                                   "after": day(15).isoformat(), "later": True} for u in units(hub, shop.a)]
    assert changed["order_promise"] == {"before": day(10).isoformat(), "after": day(15).isoformat()}
    assert timeline(hub, shop.b, "promise_changed")[0]["reason"] == (
        f"promise date changed: SKU-P x1: {day(10).isoformat()} → {day(15).isoformat()}; "
        f"SKU-P x1: {day(30).isoformat()} → none (no delivery covers it)")
    changed_events = [p for kind, p in events(hub) if kind == "order.promise_changed"]
    assert sorted(p["order_id"] for p in changed_events) == sorted([shop.a, shop.b, shop.c, shop.d, shop.e])
    with hub.db.read() as conn:
        recorded = conn.execute(select(promise_changes).order_by(promise_changes.c.id)).all()
    assert len(recorded) == 7 and all(r.notified_at is None for r in recorded)
    assert {(r.order_id, r.promise_before, r.promise_after) for r in recorded if r.order_id == shop.c} == {
        (shop.c, day(30), None)}

    # No SMTP server: the run fails, saying why in one line, and nobody is marked told.
    with pytest.raises(JobFailed) as caught:
        run_job(hub, "notify-promise-changes", None, {})
    assert str(caught.value) == ("RuntimeError: job notify-promise-changes: no SMTP server configured; set "
                                 "ORDERHUB_SMTP_HOST and ORDERHUB_SMTP_FROM (see README, Configuration)")

    run_id, sent = run_job(mail_hub, "notify-promise-changes", None, {})

    assert (sent["sent"], sent["not_sent"]) == (4, 1)
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(4)}
    assert sorted(mails) == ["zoe.a@example.com", "zoe.b@example.com", "zoe.d@example.com", "zoë@example.com"]
    a_name = order(hub, BIG_ID)["name"]
    msg = mails["zoe.a@example.com"]
    assert msg["Subject"] == f"Your order {a_name}: new expected date"
    assert msg["To"].addresses[0].display_name == "Zoë Ångström"
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert f"2 x {TITLE} (SKU-P): now expected {day(15).isoformat()} (was {day(10).isoformat()})" in text
    assert "Hello Zoë Ångström," in text and a_name in text
    assert "Pré-commande &lt;Édition limitée&gt; 🎮" in page and "<Édition" not in page
    b_text = mails["zoe.b@example.com"].get_body(("plain",)).get_content()
    assert f"1 x {TITLE} (SKU-P): now expected no date yet (was {day(30).isoformat()})" in b_text
    assert f"now expected {day(15).isoformat()} (was {day(10).isoformat()})" in b_text
    # E has no address: a failed record naming the order and the problem, its change left to tell.
    assert admin.run_detail(mail_hub, run_id)["counts"]["failed"] == 1
    _name, failed = admin.run_file(mail_hub, run_id, "failed")
    records = {r["record"]["order_id"]: r["error"] for r in map(orjson.loads, failed.splitlines())}
    assert list(records) == [shop.e] and "no e-mail address on the order or its customer" in records[shop.e]

    _run, second = run_job(mail_hub, "notify-promise-changes", None, {})
    assert (second["sent"], second["not_sent"]) == (0, 1)
    assert len(smtp_server.messages) == 4
    with hub.db.read() as conn:
        told = {r.order_id: r.notified_at is not None for r in conn.execute(select(promise_changes))}
    assert told == {shop.a: True, shop.b: True, shop.c: True, shop.d: True, shop.e: False}


def test_stock_received_and_the_date_passed_releases_units_into_brokering(
        hub: Hub, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    run_job(hub, "refresh-presell-catalogue", None, {})
    receive(hub, "SKU-P", 3)
    with hub.db.write() as conn:
        po_store.save_line(conn, shop.po1, "SKU-P", quantity=3, expected_date=day(10), received_quantity=3)

    # 3 in stock for 6 waiting: still sold ahead, but as a backorder now that it was in stock once; the
    # units the stock does not cover wait as backorders.
    still_run, still = run_job(hub, "refresh-presell-catalogue", None, {})
    assert (still["removed"], still["kind_changed"]) == ({}, {"SKU-P": "backorder"})
    assert "SKU-P: now sold as a backorder (was a preorder)" in log_lines(hub, still_run)
    assert catalogue(hub)["SKU-P"] == ("backorder", day(30))
    _run, early = run_job(hub, "release-preorders", None, {})
    assert early["released"] == 0  # the stock is there, but the promised day has not come
    monkeypatch.setattr(preorder_jobs, "today", lambda: day(10))
    # SKU-1's day 5 came without its delivery: the promise stays (no daily "one day later" to the customer)
    # until the purchase order's date is moved.
    _run, kept = run_job(hub, "update-promise-dates", None, {})
    assert kept["changed"] == 0 and promises(hub, shop.d) == promises(hub, shop.e) == [day(5)]

    _run, stats = run_job(hub, "release-preorders", None, {})

    assert (stats["released"], stats["orders"]) == (3, 2)  # A's two units and B's first: what 3 in stock cover
    assert [u.queue for u in units(hub, shop.a)] == ["brokering", "brokering"]
    assert [u.queue for u in units(hub, shop.b)] == ["brokering", "backorder_parking"]
    assert [u.queue for u in units(hub, shop.c)] == ["backorder_parking"] * 2
    assert timeline(hub, shop.a, "presell_released")[0]["reason"] == (
        f"promise date {day(10).isoformat()} has come and SKU-P is in stock: 2 unit(s) released into brokering")
    _run, brokered = run_job(hub, "broker-orders", None, {})
    assert brokered["units_brokered"] == 3
    assert [(u.status, u.facility_id) for u in units(hub, shop.a)] == [("brokered", shop.wh1)] * 2
    assert (units(hub, shop.b)[0].status, units(hub, shop.c)[0].status) == ("brokered", "approved")

    # SKU-1's backorders (promised day 5) with the routing run right after the release.
    receive(hub, "SKU-1", 2)
    _run, both = run_job(hub, "release-preorders", None, {"run_brokering": "true"})
    assert both["released"] == 2 and both["brokering"]["units_brokered"] == 2
    assert [u.status for o in (shop.d, shop.e) for u in units(hub, o)] == ["brokered", "brokered"]

    # Nothing is on the way any more and nobody waits for SKU-1: both leave the catalogue.
    with hub.db.write() as conn:
        po_store.save_line(conn, shop.po1, "SKU-1", quantity=2, expected_date=day(5), received_quantity=2)
        po_store.cancel(conn, "PO-2", actor="buyer")
    run_id, refreshed = run_job(hub, "refresh-presell-catalogue", None, {})
    assert refreshed["removed"] == {"SKU-1": "backorder", "SKU-P": "backorder"} and catalogue(hub) == {}
    assert "removed from the backorder catalogue: SKU-1, SKU-P" in log_lines(hub, run_id)


def test_a_sku_back_in_stock_leaves_the_catalogue_and_a_tag_makes_a_pre_order(hub: Hub, oms: Any) -> None:
    product(hub, oms, "SKU-2", "800", tags=("Pre-Order", "Summer 🌞"))  # stocked before, but tagged pre-order
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-2", oms.wh1, 0, reason=LedgerReason.CYCLE_COUNT, actor="count")
        facility_store.set_channel(conn, "online", threshold=4)
    purchase_order(hub, oms, "PO-3", {"SKU-2": (10, day(20))})
    _run, stats = run_job(hub, "refresh-presell-catalogue", None, {})
    assert stats["added"] == {"SKU-2": "preorder"} and catalogue(hub) == {"SKU-2": ("preorder", day(20))}

    receive(hub, "SKU-2", 4)  # early, with the purchase order still open
    _run, online = run_job(hub, "refresh-presell-catalogue", None, {"channel": "online"})
    assert online["removed"] == {} and "SKU-2" in catalogue(hub)  # the online channel holds 4 back: sells none
    _run, stocked = run_job(hub, "refresh-presell-catalogue", None, {})
    assert stocked["removed"] == {"SKU-2": "preorder"} and catalogue(hub) == {}

    with pytest.raises(JobFailed, match="no channel 'nowhere' \\(channels: online\\)"):
        run_job(hub, "refresh-presell-catalogue", None, {"channel": "nowhere"})


def test_the_tags_orderhub_put_on_a_product_are_not_taken_for_the_merchants(hub: Hub, oms: Any) -> None:
    """orderhub tags a product pre-order in Shopify; the tag comes back with the product. It must not
    make the product a pre-order for good: only the merchant's own tags count."""
    product(hub, oms, "SKU-T", "800", tags=("pre-order", "Summer 🌞"))
    with hub.db.write() as conn:
        upsert(conn, job_state, {"job": presell_store.PRODUCT_TAGGING_JOB, "shop_id": oms.shop.id,
                                 "key": "product:800", "value": orjson.dumps({"added": ["pre-order"]}).decode()},
               keys=("job", "shop_id", "key"), update=("value",))
        assert presell_store.product_facts(conn, ["SKU-T"])["SKU-T"].tags == frozenset({"summer 🌞"})
    product(hub, oms, "SKU-M", "900", tags=("Pre-Order",))  # the merchant's own: it counts
    with hub.db.read() as conn:
        assert presell_store.product_facts(conn, ["SKU-M"])["SKU-M"].tags == frozenset({"pre-order"})
