"""The order pages in Chromium: filter the list, open an order, act on it and see the timeline grow;
what a viewer sees; both pages at a tablet's width."""

from __future__ import annotations

from typing import Any

import pytest

from orderhub.bootstrap import Hub
from orderhub.services import fulfilment
from tests.browser.conftest import PASSWORD, Screens
from tests.oms_support import ingest, make_oms, order, place
from tests.support import BIG_ID

HELD = BIG_ID + 3000  # "#4993": held before it was placed, then released: created, ready to approve
UNPAID = BIG_ID + 5000  # "#6993": waits for its payment


@pytest.fixture
def orders(console_hub: Hub) -> Any:
    hub = console_hub
    oms = make_oms(hub)
    ingest(hub, oms)
    ingest(hub, oms, order_id=HELD, email="mei@example.org",
           customer={"id": HELD + 7, "email": "mei@example.org", "first_name": "美", "last_name": "Chen"})
    ingest(hub, oms, order_id=UNPAID, financial_status="pending", email="li.wei@example.org",
           customer={"id": UNPAID + 7, "email": "li.wei@example.org", "first_name": "Wei", "last_name": "Li"})
    held = int(order(hub, HELD)["id"])
    with hub.db.write() as conn:
        fulfilment.hold(conn, held, fulfilment.Ctx("fraud-check", "check the address"))
    place(hub)
    with hub.db.write() as conn:
        fulfilment.release(conn, held, fulfilment.Ctx("fraud-check", "address confirmed"))
    return type("Orders", (), {"paid": int(order(hub)["id"]), "held": held, "unpaid": int(order(hub, UNPAID)["id"])})


def _timeline(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("[data-test=timeline] .badge.kind").all_inner_texts()]


def test_filter_open_an_order_and_approve_it(page_for: Any, screens: Screens, orders: Any) -> None:
    page = page_for("otto")
    page.click("nav >> text=Orders")
    page.wait_for_url("**/orders")
    assert page.locator("[data-test=order-count]").inner_text() == "3 orders in all; newest first."
    screens.shoot(page, "order-list")

    page.fill("input[name=q]", "mei@")
    page.select_option("select[name=status]", "created")
    page.click("form.order-filters button[type=submit]")
    page.wait_for_url("**/orders?*q=mei*")
    rows = page.locator("table.order-list tbody tr")
    assert rows.count() == 1 and "美 Chen" in rows.first.inner_text()
    screens.shoot(page, "order-list-filtered")

    rows.first.locator("a").click()
    page.wait_for_url(f"**/orders/{orders.held}")
    assert page.locator("[data-test=order-status]").inner_text() == "created"
    assert _timeline(page)[-1] == "released"
    screens.shoot(page, "order-created")

    page.click("button[data-action=approve]")
    page.wait_for_url(f"**/orders/{orders.held}")
    assert "approved; it is now brokered" in page.locator(".flash").inner_text()
    assert page.locator("[data-test=order-status]").inner_text() == "brokered"
    last = page.locator("[data-test=timeline] li.event").last
    assert "approved" in last.locator(".badge.kind").inner_text() and "by console:otto" in last.inner_text()
    assert page.locator("button[data-action=approve]").count() == 0  # approved: no longer offered
    screens.shoot(page, "order-approved")


def test_cancel_an_order_after_confirming_and_see_it_on_the_timeline(page_for: Any, screens: Screens,
                                                                     orders: Any) -> None:
    page = page_for("otto")
    page.goto(f"/orders/{orders.paid}")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click("summary:has-text('Cancel the order')")
    page.fill("form[action$='/cancel'] input[name=reason]", "customer asked 🙏")
    screens.shoot(page, "order-cancel-form")
    page.click("button[data-action=cancel]")
    page.wait_for_selector("text=cancelled; it is now cancelled")
    assert questions and "Cancel every unit of #1993" in questions[0]
    assert page.locator("[data-test=order-status]").inner_text() == "cancelled"
    last = page.locator("[data-test=timeline] li.event").last
    assert "cancelled" in last.inner_text() and "reason: customer asked 🙏" in last.inner_text()
    assert page.locator("[data-test=no-actions]").is_visible()
    screens.shoot(page, "order-cancelled")


def test_pick_pack_ship_and_return_from_the_order_page(page_for: Any, screens: Screens, orders: Any) -> None:
    page = page_for("otto")
    page.goto(f"/orders/{orders.paid}")
    page.click("summary:has-text('Pick')")
    page.click("button[data-action=pick]")
    page.wait_for_selector("text=3 unit(s) picked")
    page.click("summary:has-text('Pack')")
    page.fill("form[action$='/pack'] input[name=carrier]", "DHL")
    page.click("button[data-action=pack]")
    page.wait_for_selector("text=packed into shipment")
    page.fill("form[action$='/ship'] input[name=tracking_number]", "1Z 📦 42")  # the ship form stands open
    screens.shoot(page, "order-packed")
    page.click("button[data-action=ship]")
    page.wait_for_selector("text=it is now shipped")
    assert "1Z 📦 42" in page.locator("[data-test=shipments]").inner_text()
    assert _timeline(page)[-3:] == ["picked", "packed", "shipped"]

    page.click("summary:has-text('Return')")
    page.locator("form[action$='/return'] input[name=quantity]").first.fill("1")
    page.fill("form[action$='/return'] input[name=reason]", "too small")
    page.select_option("form[action$='/return'] select[name=restock_at]", "WH-MUC")
    screens.shoot(page, "order-return-form")
    page.click("button[data-action=return]")
    page.wait_for_selector("text=return 1 recorded (1 unit(s))")
    returns = page.locator("[data-test=returns]").inner_text()
    assert "WH-MUC" in returns and "too small" in returns and "10.00 EUR" in returns
    assert _timeline(page)[-1] == "returned"
    screens.shoot(page, "order-returned")


def test_a_refused_action_says_why_on_the_page(browser: Any, console: Any, screens: Screens, orders: Any) -> None:
    # Its own context: the page answers 409, which Chromium logs as an error, and page_for takes any
    # logged error for a failure. Every other error is still one here.
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"/orders/{orders.unpaid}")
    page.fill("input[name=username]", "otto")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/orders/{orders.unpaid}")
    page.click("button[data-action=approve]")
    problem = page.locator("[data-test=action-problem]")
    assert "payment is pending; it must be authorized or paid" in problem.inner_text()
    assert page.locator("[data-test=order-status]").inner_text() == "created"
    screens.shoot(page, "order-refused")
    context.close()
    assert errors == ["Failed to load resource: the server responded with a status of 409 (Conflict)"]


def test_a_viewer_reads_an_order_without_actions(page_for: Any, screens: Screens, orders: Any) -> None:
    page = page_for("vera")
    page.goto(f"/orders/{orders.paid}")
    assert page.locator("[data-test=actions]").count() == 0 and page.locator("form[action^='/orders/']").count() == 0
    assert "Your role (viewer) can read orders" in page.locator("[data-test=read-only]").inner_text()
    explanation = page.locator("[data-test=timeline] .explanation").first.inner_text()
    assert "allocated 3 units to WH-BER" in explanation
    screens.shoot(page, "order-viewer")


@pytest.mark.parametrize("which", ["list", "order"])
def test_the_order_pages_fit_a_tablet(page_for: Any, screens: Screens, orders: Any, which: str) -> None:
    page = page_for("otto", width=768)
    page.goto("/orders" if which == "list" else f"/orders/{orders.paid}")
    page.locator("details.action").evaluate_all("all => all.forEach(d => d.open = true)")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    screens.shoot(page, "tablet")
