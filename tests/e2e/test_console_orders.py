"""The console's order pages over real HTTP, on SQLite and PostgreSQL: searching, reading an
order, and each action through the order services — done, refused with the reason, and refused
to a viewer whatever the form says."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from orderhub.bootstrap import Hub
from orderhub.services import fulfilment
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.oms_support import ingest, make_oms, order, place, position
from tests.support import BIG_ID

OTHER = BIG_ID + 5000  # "#6993": a second customer, unpaid
POS = BIG_ID + 7000  # "#8993": sold at a store, a month earlier


@pytest.fixture
def orders(hub: Hub) -> Any:
    """Three placed orders: #1993 paid and brokered at WH-BER, #6993 unpaid (created, waiting for its
    payment), #8993 a POS sale from October; and an operator and a viewer."""
    accounts.add_user(hub.db, "otto", PASSWORD, "operator")
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    oms = make_oms(hub)
    ingest(hub, oms, note="<script>alert('note')</script> 🚪")
    ingest(hub, oms, order_id=OTHER, financial_status="pending", email="li.wei@example.org",
           customer={"id": OTHER + 7, "email": "li.wei@example.org", "first_name": "Wei", "last_name": "Li 李"},
           line_items=[{"id": OTHER + 1, "sku": "SKU-2", "title": "Сувенир", "quantity": 1, "price": "10.00"}])
    ingest(hub, oms, order_id=POS, source_name="pos", created_at="2026-10-05T12:00:00Z",
           updated_at="2026-10-05T12:00:00Z",
           line_items=[{"id": POS + 1, "sku": "SKU-1", "title": "T-shirt 👕", "quantity": 1, "price": "10.00"}])
    place(hub)
    return type("Orders", (), {"oms": oms, "paid": _id(hub, BIG_ID), "unpaid": _id(hub, OTHER),
                               "pos": _id(hub, POS)})


def _id(hub: Hub, shopify_id: int) -> int:
    return int(order(hub, shopify_id)["id"])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _listed(html: str) -> list[str]:
    """The order names in a list page, in their order."""
    return re.findall(r'<a href="/orders/\d+">([^<]+)</a>', html)


def _post(client: httpx.Client, order_id: int, action: str, **data: Any) -> httpx.Response:
    token = _csrf(client.get(f"/orders/{order_id}").text)
    return client.post(f"/orders/{order_id}/{action}", data={"csrf": token, **data}, follow_redirects=False)


def _flash_after(client: httpx.Client, answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text[:800]
    page = client.get(answer.headers["location"])
    found = re.search(r'<p class="flash" role="status">([^<]*)</p>', page.text)
    assert found, page.text[:800]
    return found.group(1)


def _problem(answer: httpx.Response) -> str:
    found = re.search(r'data-test="action-problem">Refused: ([^<]*)</p>', answer.text)
    assert found, answer.text[:800]
    return found.group(1).replace("&#34;", '"').replace("&#39;", "'")


# -- search --------------------------------------------------------------------------------------------

def test_search_by_order_customer_status_channel_and_created_dates(hub: Hub, hub_server: ServerThread,
                                                                   orders: Any) -> None:
    with sign_in(hub_server.url, "vera") as client:
        everything = client.get("/orders")
        assert everything.status_code == 200
        assert _listed(everything.text) == ["#8993", "#6993", "#1993"]  # newest first
        assert "3 orders" in everything.text
        row = re.search(r'<tr data-order="%d">(.*?)</tr>' % orders.pos, everything.text, re.S)
        assert row, everything.text[:800]
        cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
        assert cells == [["#8993"], ["2026-10-05", "12:00"], ["Zoë", "Ångström", "zoë@example.com"], ["pos"],
                         ["brokered"], ["paid", "unfulfilled"], ["1"], ["15.00", "EUR"]]

        def names(**query: str) -> list[str]:
            page = client.get("/orders", params=query)
            assert page.status_code == 200, page.text[:500]
            return _listed(page.text)

        assert names(order="#1993") == ["#1993"]
        assert names(order="6993") == ["#6993"]  # the number without its #
        assert names(order=str(POS)) == ["#8993"]  # the Shopify id
        assert names(order="#199") == []  # exact, not a prefix
        assert names(q="li.wei@") == ["#6993"]
        # Any case, in every script, on both databases; #6993's customer has Zoë Ångström's address.
        assert names(q="ångström") == ["#8993", "#6993", "#1993"]
        assert names(q="ÅNGSTRÖM") == ["#8993", "#6993", "#1993"]
        assert names(q="LI 李") == ["#6993"]  # the customer's name, any case
        assert names(q="alert('note')") == ["#1993"]  # the note, its quotes and brackets as text
        assert names(q="زهرة") == ["#8993", "#6993", "#1993"]  # the billing name
        assert names(q="#69") == ["#6993"]  # a part of the order's name
        assert names(q="100%") == [] and names(q="ng_tr") == []  # % and _ are characters, not wildcards
        assert names(q="93") == []  # under 3 characters: an exact name only
        assert names(customer="li.wei@") == ["#6993"]  # the search's older name, in links kept from before
        assert names(status="created") == ["#6993"]
        assert names(status="brokered", channel="pos") == ["#8993"]
        assert names(payment="pending") == ["#6993"]
        assert names(channel="online") == ["#6993", "#1993"]
        assert names(**{"from": "2026-10-01", "to": "2026-10-31"}) == ["#8993"]
        assert names(**{"from": "2026-11-23", "to": "2026-11-23"}) == ["#6993", "#1993"]
        assert names(**{"from": "2026-11-24"}) == []

        assert _listed(client.get("/orders", params={"before": "not-a-cursor", "per": "7"}).text) == [
            "#8993", "#6993", "#1993"]  # a cursor or page size that is not one is left out
        kept = client.get("/orders", params={"status": "brokered", "q": "zoë"})
        assert 'value="zoë"' in kept.text and '<option value="brokered" selected>' in kept.text
        assert "match these filters" in kept.text

        bad = client.get("/orders", params={"from": "23.11.2026"})
        assert bad.status_code == 400 and "is not a date (YYYY-MM-DD)" in bad.text
        unknown = client.get("/orders", params={"status": "lost"})
        assert unknown.status_code == 400 and "unknown status &#39;lost&#39;" in unknown.text
        backwards = client.get("/orders", params={"from": "2026-11-30", "to": "2026-11-01"})
        assert backwards.status_code == 400 and "ends (2026-11-01) before it starts (2026-11-30)" in backwards.text


def test_the_list_pages_newest_first_and_keeps_the_filters(hub: Hub, hub_server: ServerThread, orders: Any) -> None:
    for n in range(27):  # 30 orders: two pages of 25
        ingest(hub, orders.oms, order_id=BIG_ID + 10 + n)
    with sign_in(hub_server.url, "vera") as client:
        first = client.get("/orders", params={"per": "25", "channel": "online"})
        assert "29 orders match" in first.text  # the POS order is filtered out
        page_one = _listed(first.text)
        assert len(page_one) == 25
        older = re.search(r'href="(/orders\?[^"]+)" rel="next"', first.text)
        assert older and "channel=online" in older.group(1) and "per=25" in older.group(1)
        second = client.get(older.group(1).replace("&amp;", "&"))
        page_two = _listed(second.text)
        assert len(page_two) == 4 and not set(page_one) & set(page_two) and ">Newest<" in second.text
        assert 'rel="next"' not in second.text
        newer = re.search(r'href="(/orders\?[^"]+)" rel="prev"', second.text)
        assert newer
        assert _listed(client.get(newer.group(1).replace("&amp;", "&")).text) == page_one


# -- one order --------------------------------------------------------------------------------------------

def test_the_order_page_shows_the_order_its_units_payments_and_timeline(hub: Hub, hub_server: ServerThread,
                                                                        orders: Any) -> None:
    with sign_in(hub_server.url, "vera") as client:
        page = client.get(f"/orders/{orders.paid}")
        assert page.status_code == 200
        html = page.text
        assert 'data-test="order-name">#1993<' in html and 'data-test="order-status">brokered<' in html
        assert f"Shopify id {BIG_ID}" in html and "test-shop.myshopify.com · channel online ·" in html
        # The source Shopify named is shown beside the channel (here none: the body had no source_name).
        pos_page = client.get(f"/orders/{orders.pos}").text
        assert "test-shop.myshopify.com · channel pos (source pos) ·" in pos_page
        assert 'data-test="payment-status">paid<' in html and 'data-test="fulfillment-status">unfulfilled<' in html
        assert "<strong>38.20 EUR</strong>" in html and "2.50 EUR" in html  # totals, discounts
        # Its discount application: the code, what it was worth, and what it took off the items.
        table = re.search(r'data-test="discounts-table">(.*?)</table>', html, re.S)
        assert table, html[:500]
        cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", table.group(1), re.S)]
        assert cells == [["0"], ["discount", "code"], ["WELCOME🦋"], ["2.50", "EUR"], ["items", "(one,", "explicit)"],
                         ["2.50", "EUR"]]
        assert "2026-11-23 14:59:00" in html  # Shopify's created_at, in UTC
        assert "Zoë Ångström" in html and "zoë@example.com" in html
        # Lines and each unit with its status and facility.
        assert "T-shirt 👕" in html and "Сувенир" in html
        units = re.findall(r'<li data-unit="(\d+)">.*?badge st-(\w+)">.*?<strong[^>]*>([\w-]+)</strong>', html, re.S)
        assert [(s, f) for _, s, f in units] == [("brokered", "WH-BER")] * 3
        # Addresses in any script, intact; the note escaped, never markup.
        assert "שדרות רוטשילד 1" in html and "زهرة" in html and "🦋 Butterfly house" in html
        assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt; 🚪" in html and "<script>alert" not in html
        assert "Shopify took the payment and reports it paid" in html
        # The timeline: Shopify's event, the brokering decision with its explanation, approval, placement.
        timeline = html[html.index('data-test="timeline"'):]
        kinds = re.findall(r'<span class="badge kind">([^<]+)</span>', timeline)
        assert kinds == ["created", "brokering", "approved", "placed"]
        assert "allocated 3 units to WH-BER" in timeline and "by Shopify (inbox 1)" in timeline
        # A viewer sees no action.
        assert 'data-test="actions"' not in html and 'action="/orders/' not in html
        assert "Your role (viewer) can read orders" in html

        by_name = client.get("/orders/%231993", follow_redirects=False)
        assert by_name.status_code == 303 and by_name.headers["location"] == f"/orders/{orders.paid}"
        by_shopify_id = client.get(f"/orders/{BIG_ID}", follow_redirects=False)
        assert by_shopify_id.status_code == 303 and by_shopify_id.headers["location"] == f"/orders/{orders.paid}"
        missing = client.get("/orders/999999")
        assert missing.status_code == 404 and "There is no order &#39;999999&#39;" in missing.text
        assert client.get("/orders/%23nope").status_code == 404


def test_an_operator_sees_only_the_actions_the_state_allows(hub: Hub, hub_server: ServerThread,
                                                            orders: Any) -> None:
    with sign_in(hub_server.url, "otto") as client:
        brokered = client.get(f"/orders/{orders.paid}").text
        actions = set(re.findall(r'data-action="([\w-]+)"', brokered))
        assert actions == {"hold", "pick", "cancel-item", "cancel"}
        unpaid = client.get(f"/orders/{orders.unpaid}").text
        assert set(re.findall(r'data-action="([\w-]+)"', unpaid)) == {"approve", "hold", "cancel-item", "cancel"}
        assert 'data-test="placement">running: waiting for payment: it is pending' in unpaid
        assert 'data-test="placement">completed<' in brokered


# -- actions -------------------------------------------------------------------------------------------------

def test_approve_a_created_order_and_refuse_one_whose_rules_fail(hub: Hub, hub_server: ServerThread,
                                                                 orders: Any) -> None:
    with sign_in(hub_server.url, "otto") as client:
        refused = _post(client, orders.unpaid, "approve")
        assert refused.status_code == 409
        assert "payment is pending; it must be authorized or paid" in _problem(refused)
        assert order(hub, OTHER)["status"] == "created"
        again = _post(client, orders.paid, "approve")
        assert again.status_code == 409
        assert "cannot go from brokered to approved; only a created order waits for approval" in _problem(again)
        # Held before it was placed, then released: created, and its rules pass.
        ingest(hub, orders.oms, order_id=BIG_ID + 9000)
        held = _id(hub, BIG_ID + 9000)
        with hub.db.write() as conn:
            fulfilment.hold(conn, held, fulfilment.Ctx("fraud-check", "check the address"))
        place(hub)
        released = _post(client, held, "release", reason="address confirmed")
        assert "released from hold; it is now created" in _flash_after(client, released)
        approved = _post(client, held, "approve")
        assert "approved; it is now brokered" in _flash_after(client, approved)
    o = order(hub, BIG_ID + 9000)
    assert o["status"] == "brokered"
    assert [(t["kind"], t["actor"]) for t in o["timeline"]][-2:] == [("released", "console:otto"),
                                                                       ("approved", "console:otto")]


def test_cancel_with_a_reason_and_refuse_a_shipped_order(hub: Hub, hub_server: ServerThread, orders: Any) -> None:
    with sign_in(hub_server.url, "otto") as client:
        no_reason = _post(client, orders.paid, "cancel", reason="  ")
        assert no_reason.status_code == 422 and "say why it is cancelled" in _problem(no_reason)
        done = _post(client, orders.paid, "cancel", reason="customer asked 🙏")
        assert "#1993: cancelled; it is now cancelled." in _flash_after(client, done)
        assert position(hub, "SKU-1", orders.oms.wh1).reserved == 1  # only the POS order's unit stays reserved
        last = order(hub)["timeline"][-1]
        assert (last["kind"], last["actor"], last["detail"]["reason"]) == ("cancelled", "console:otto",
                                                                           "customer asked 🙏")
        page = client.get(f"/orders/{orders.paid}").text
        assert "reason: customer asked 🙏" in page and 'data-action="cancel"' not in page

        for step in ("pick", "pack"):
            assert _post(client, orders.pos, step, units=[order(hub, POS)["units"][0]["id"]]).status_code == 303
        assert _post(client, orders.pos, "ship").status_code == 303
        shipped = _post(client, orders.pos, "cancel", reason="too late")
    assert shipped.status_code == 409
    assert "cannot go from shipped to cancelled; nothing left to cancel" in _problem(shipped)
    assert order(hub, POS)["status"] == "shipped"


def test_cancel_some_units_of_a_line_and_refuse_more_than_it_has(hub: Hub, hub_server: ServerThread,
                                                                 orders: Any) -> None:
    line = next(i["id"] for i in order(hub)["items"] if i["sku"] == "SKU-1")
    with sign_in(hub_server.url, "otto") as client:
        too_many = _post(client, orders.paid, "cancel-item", line=line, quantity=3)
        assert too_many.status_code == 422 and f"line {line}: can cancel 1 to 2 units, not 3" in _problem(too_many)
        other_order = _post(client, orders.paid, "cancel-item", line=order(hub, OTHER)["items"][0]["id"],
                            quantity=1)
        assert other_order.status_code == 422 and "has no line" in _problem(other_order)
        done = _post(client, orders.paid, "cancel-item", line=line, quantity=1, reason="out of fashion")
        assert f"1 unit(s) of line {line} cancelled; it is now brokered" in _flash_after(client, done)
    assert sorted(u["status"] for u in order(hub)["units"]) == ["brokered", "brokered", "cancelled"]


def test_pick_pack_and_ship_with_tracking_and_refuse_to_ship_what_is_not_packed(hub: Hub, hub_server: ServerThread,
                                                                                orders: Any) -> None:
    units = [u["id"] for u in order(hub)["units"]]
    with sign_in(hub_server.url, "otto") as client:
        early = _post(client, orders.paid, "ship", carrier="DHL")
        assert early.status_code == 409 and "cannot go from brokered to shipped; no packed shipment" in _problem(early)
        nothing = _post(client, orders.paid, "pick")
        assert nothing.status_code == 422 and "choose the units to pick" in _problem(nothing)
        assert "3 unit(s) picked" in _flash_after(client, _post(client, orders.paid, "pick", units=units))
        packed = _post(client, orders.paid, "pack", units=units, carrier="DHL")
        assert "packed into shipment" in _flash_after(client, packed)
        page = client.get(f"/orders/{orders.paid}").text
        assert set(re.findall(r'data-action="([\w-]+)"', page)) == {"ship", "cancel-item", "cancel"}
        shipment = order(hub)["shipments"][0]["id"]
        shipped = _post(client, orders.paid, "ship", shipment=shipment, tracking_number="1Z 📦 999")
        assert f"shipment {shipment} shipped; it is now shipped" in _flash_after(client, shipped)
        page = client.get(f"/orders/{orders.paid}").text
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("shipped", "fulfilled")
    assert (o["shipments"][0]["carrier"], o["shipments"][0]["tracking_number"]) == ("DHL", "1Z 📦 999")
    assert [t["kind"] for t in o["timeline"]][-3:] == ["picked", "packed", "shipped"]
    assert "1Z 📦 999" in page and "shipment 1, carrier DHL, tracking number 1Z 📦 999" in page
    assert position(hub, "SKU-1", orders.oms.wh1).on_hand == 3


def test_return_shipped_units_and_refuse_more_than_shipped(hub: Hub, hub_server: ServerThread, orders: Any) -> None:
    with hub.db.write() as conn:
        fulfilment.pick(conn, orders.paid, fulfilment.Ctx("test"))
        fulfilment.pack(conn, orders.paid, fulfilment.Ctx("test"))
        fulfilment.ship(conn, orders.paid, fulfilment.Ctx("test"), carrier="DHL", tracking_number="1Z")
    lines = {i["sku"]: i["id"] for i in order(hub)["items"]}
    with sign_in(hub_server.url, "otto") as client:
        unshipped = _post(client, orders.unpaid, "return", line=[order(hub, OTHER)["items"][0]["id"]],
                          quantity=[1], reason="never arrived")
        assert unshipped.status_code == 422 and "only 0 shipped unit(s) can be returned" in _problem(unshipped)
        too_many = _post(client, orders.paid, "return", line=[lines["SKU-1"], lines["SKU-2"]], quantity=[3, 0],
                         reason="wrong size")
        assert too_many.status_code == 422
        assert f"line {lines['SKU-1']}: 3 to return, but only 2 shipped unit(s)" in _problem(too_many)
        huge = _post(client, orders.paid, "return", line=[lines["SKU-1"]], quantity=[1], reason="x", refund="1e30")
        assert huge.status_code == 422 and "not an amount orderhub can keep" in _problem(huge)
        none = _post(client, orders.paid, "return", line=[lines["SKU-1"]], quantity=[0], reason="x")
        assert none.status_code == 422 and "quantity to return of at least one line" in _problem(none)
        done = _post(client, orders.paid, "return", line=[lines["SKU-1"], lines["SKU-2"]], quantity=[1, 1],
                     reason="wrong size", disposition="restock", restock_at="WH-MUC", refund="17.50")
        assert "return 1 recorded (2 unit(s)); it is now shipped" in _flash_after(client, done)
        page = client.get(f"/orders/{orders.paid}").text
    o = order(hub)
    assert o["fulfillment_status"] == "partially_returned"
    assert (o["returns"][0]["refund_amount"], o["returns"][0]["reason"]) in (("17.50", "wrong size"),
                                                                             ("17.5000", "wrong size"))
    assert position(hub, "SKU-1", orders.oms.wh2).on_hand == 1  # restocked where the operator said
    assert 'data-test="returns"' in page and "17.50 EUR" in page and "WH-MUC" in page


def test_a_viewer_forged_post_is_refused_and_changes_nothing(hub: Hub, hub_server: ServerThread,
                                                             orders: Any) -> None:
    before = order(hub)
    with sign_in(hub_server.url, "vera") as client:
        token = _csrf(client.get(f"/orders/{orders.paid}").text)  # the sign-out form's: her session's token
        for action, data in (("cancel", {"reason": "forged"}), ("approve", {}), ("hold", {"reason": "x"}),
                             ("pick", {"units": [before["units"][0]["id"]]})):
            answer = client.post(f"/orders/{orders.paid}/{action}", data={"csrf": token, **data},
                                 follow_redirects=False)
            assert answer.status_code == 403, action
            assert "Your role (viewer) may not do this; it needs operator." in answer.text
    with sign_in(hub_server.url, "otto") as client:  # an operator without the token is refused too
        answer = client.post(f"/orders/{orders.paid}/cancel", data={"reason": "no token"}, follow_redirects=False)
        assert answer.status_code == 403
    after = order(hub)
    assert (after["status"], after["timeline"], after["units"]) == (before["status"], before["timeline"],
                                                                    before["units"])
