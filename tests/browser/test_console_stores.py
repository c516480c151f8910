"""The store pages in Chromium: the Stores list with a silent device highlighted and each store's pickups; an
admin makes an enrolment code on a store's page (shown once); at the counter an operator marks a pickup ready,
reads its code off the answer, and collects the order with it after a wrong try."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orderhub.bootstrap import Hub
from orderhub.services import fulfilment
from orderhub.services.fulfilment import Ctx
from tests.browser.conftest import PASSWORD, Screens
from tests.integration.test_pickups import pickup_oms
from tests.pickups_support import pickups_in_every_state
from tests.stores_support import add_store, enrol

HIGHLIGHT = "rgb(255, 244, 242)"  # console.css: the background of a silent device's or an overdue pickup's row


def _background(row: Any) -> str:
    return str(row.locator("td").first.evaluate("cell => getComputedStyle(cell).backgroundColor"))


def test_the_stores_list_highlights_a_silent_device(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    quiet = add_store(console_hub, "BOS01", "Boston Back Bay 🛍")
    enrol(console_hub, quiet, "till-🌵", synced_ago=timedelta(hours=3), queue=4)
    fine = add_store(console_hub, "NYC02", "New York")
    enrol(console_hub, fine, "till-1", synced_ago=timedelta(minutes=1))
    page = page_for("vera")
    page.click("nav >> text=Stores")
    page.wait_for_url("**/stores")
    banner = page.locator("[data-test=silent-devices]")
    assert banner.is_visible() and "1 POS device not syncing" in banner.inner_text()
    assert "till-🌵" in banner.inner_text() and "NYC02" not in banner.inner_text()
    silent, syncing = page.locator("tr[data-store=BOS01]"), page.locator("tr[data-store=NYC02]")
    assert _background(silent) == HIGHLIGHT and _background(syncing) != HIGHLIGHT
    assert silent.locator(".badge.failed").inner_text() == "1"
    assert syncing.locator("[data-test=pickups]").inner_text() == "—"
    screens.shoot(page, "stores-silent-device")

    banner.locator("a", has_text="BOS01").click()
    page.wait_for_url("**/stores/BOS01")
    assert "silent" in page.locator("table[data-test=devices] tbody tr").first.inner_text()
    assert page.locator("button", has_text="Make an enrolment code").count() == 0  # a viewer only reads
    screens.shoot(page, "store-silent-device")


def test_an_admin_makes_an_enrolment_code_on_the_store_page(console_hub: Hub, page_for: Any,
                                                            screens: Screens) -> None:
    add_store(console_hub, "BOS01", "Boston Back Bay 🛍")
    page = page_for("ada")
    page.goto("/stores")
    page.click("a[href='/stores/BOS01']")
    page.wait_for_url("**/stores/BOS01")
    assert page.locator("[data-test=new-code]").count() == 0
    page.click("button:has-text('Make an enrolment code')")
    page.wait_for_url("**/stores/BOS01/device-codes")
    code = page.locator("[data-test=new-code] .once").inner_text()
    assert len(code.replace("-", "")) >= 8
    assert "It enrols one device, once" in page.locator("[data-test=new-code]").inner_text()
    screens.shoot(page, "store-enrolment-code")

    page.goto("/stores/BOS01")
    assert page.locator("[data-test=new-code]").count() == 0 and code not in page.content()  # shown once


def test_the_counter_marks_a_pickup_ready_and_collects_it_with_the_code(console_hub: Hub, browser: Any,
                                                                         console: Any, screens: Screens) -> None:
    ids = pickups_in_every_state(console_hub, pickup_oms(console_hub)).ids
    with console_hub.db.write() as conn:
        fulfilment.pick(conn, ids["waiting"], Ctx("store"))
    # Its own context: the wrong code's page answers 403, which Chromium logs as an error, and page_for takes
    # any logged error for a failure. Every other error is still one here.
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/stores")
    page.fill("input[name=username]", "otto")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/stores")
    assert "1 waiting, 3 ready" in page.locator("tr[data-store=BOS01] [data-test=pickups]").inner_text()
    page.click("tr[data-store=BOS01] a[href='/stores/BOS01']")
    page.wait_for_url("**/stores/BOS01")
    row = page.locator(f"tr[data-order='{ids['waiting']}']")
    assert _background(page.locator(f"tr[data-order='{ids['overdue']}']")) == HIGHLIGHT
    assert _background(row) != HIGHLIGHT
    assert page.locator(f"tr[data-order='{ids['locked']}'] [data-test=locked]").is_visible()
    screens.shoot(page, "store-pickups")

    row.locator("button[data-action=ready]").click()
    page.wait_for_url(f"**/stores/BOS01/pickups/{ids['waiting']}/ready")
    shown = page.locator("[data-test=pickup-code]")
    code = shown.locator(".once").inner_text()
    assert len(code) == 8 and "is ready for pickup" in shown.inner_text()
    screens.shoot(page, "pickup-ready-code")

    page.goto("/stores/BOS01")  # the customer comes to the counter
    assert code not in page.content()
    row.locator("input[name=verification_code]").fill("WRONG")
    row.locator("button[data-action=collect]").click()
    page.wait_for_url(f"**/stores/BOS01/pickups/{ids['waiting']}/collect")
    assert "4 attempt(s) left" in page.locator("[data-test=pickup-problem]").inner_text()
    screens.shoot(page, "pickup-wrong-code")

    row.locator("input[name=verification_code]").fill(code.lower())
    row.locator("button[data-action=collect]").click()
    page.wait_for_url("**/stores/BOS01")
    assert "collected at BOS01, handed over by console:otto" in page.locator(".flash").inner_text()
    assert row.count() == 0  # collected: no longer open
    assert "0 waiting, 3 ready" in page.locator("[data-test=pickup-counts]").inner_text()
    screens.shoot(page, "pickup-collected")
    context.close()
    assert errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
