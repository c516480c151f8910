"""The inventory pages in Chromium: find a SKU, open it, read its ledger; an admin changes a facility."""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store import facilities as facility_store
from orderhub.bootstrap import Hub
from orderhub.services import inventory as inventory_service
from tests.browser.conftest import Screens
from tests.oms_support import ingest, make_oms, place


def _stock(hub: Hub) -> None:
    oms = make_oms(hub)
    ingest(hub, oms)
    place(hub)
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "SKU-1", "WH-MUC", actor="cli:lena", reason="received", delta=12,
                                 note="Lieferung 🚚 aus Nürnberg")
        inventory_service.adjust(conn, "TEE/渋谷-🦋", "WH-MUC", actor="cli:lena", reason="received", delta=3)
        facility_store.set_channel(conn, "online", name="Online shop 🛒", threshold=2)


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_find_a_sku_and_read_its_figures_and_ledger(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    _stock(console_hub)
    with console_hub.db.read() as conn:
        core = inventory_service.view(conn, "SKU-1")
    page = page_for("vera")
    page.click("nav >> text=Inventory")
    page.wait_for_url("**/inventory")
    screens.shoot(page, "inventory-all")
    page.fill("input[name=q]", "sku-")
    page.click("form.search button")
    page.wait_for_url("**/inventory?q=sku-")
    assert page.locator("table[data-test=sku-list] tbody tr").count() == 2
    screens.shoot(page, "inventory-search")
    page.click("table[data-test=sku-list] >> text=SKU-1")
    page.wait_for_url("**/inventory/SKU-1")
    assert page.locator("h1").inner_text() == "SKU-1"
    assert int(page.locator("[data-test=atp]").inner_text()) == core["atp"]
    assert page.locator("table[data-test=channels] tr[data-channel=online] td").last.inner_text() == str(
        core["channels"]["online"])
    newest = page.locator("table[data-test=ledger] tbody tr").first
    assert "Lieferung 🚚 aus Nürnberg" in newest.inner_text() and "received" in newest.inner_text()
    screens.shoot(page, "sku")
    page.click("table[data-test=ledger] >> text=order #1993")
    page.wait_for_url("**/orders/*")


def test_a_sku_with_a_slash_and_emoji_opens_and_fits_a_tablet(console_hub: Hub, page_for: Any,
                                                               screens: Screens) -> None:
    _stock(console_hub)
    page = page_for("otto", width=768)
    page.goto("/inventory?q=渋谷")
    page.click("table[data-test=sku-list] a")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "TEE/渋谷-🦋"
    assert page.locator("[data-test=on-hand]").inner_text() == "3"
    assert _fits(page)
    screens.shoot(page, "sku-tablet")
    page.goto("/inventory/facilities")
    assert _fits(page) or page.locator(".table-scroll").count() > 0  # a wide table scrolls inside its box
    screens.shoot(page, "facilities-tablet")


def test_an_admin_changes_a_facility_others_only_read_it(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    _stock(console_hub)
    page = page_for("ada")
    page.goto("/inventory/facilities")
    screens.shoot(page, "facilities")
    page.click("table[data-test=facility-list] >> text=WH-MUC")
    page.wait_for_url("**/inventory/facilities/WH-MUC")
    page.fill("input[name=daily_capacity]", "250")
    page.fill("input[name=pos_store_code]", "DE-MUC")
    page.select_option("select[name=active]", "no")
    screens.shoot(page, "facility-edit")
    page.click("form.edit button[type=submit]")
    page.wait_for_url("**/inventory/facilities")
    assert "Facility WH-MUC changed: daily capacity none → 250, active yes → no, POS store code none → DE-MUC." in (
        page.locator(".flash").inner_text())
    row = page.locator("tr[data-facility=WH-MUC]")
    assert "250" in row.inner_text() and "inactive" in row.inner_text()
    screens.shoot(page, "facility-changed")

    viewer = page_for("vera")
    viewer.goto("/inventory/facilities/WH-MUC")
    assert viewer.locator("form.edit").count() == 0 and "Only an admin may change a facility." in viewer.content()
    screens.shoot(viewer, "facility-viewer")
