"""A person's privacy page in Chromium: an admin downloads the export, is refused until the person's name is
typed back, then erases them and reads what was done; a viewer is refused the page."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from orderhub.adapters.store import customer_links
from orderhub.bootstrap import Hub
from tests.browser.conftest import Screens
from tests.support import add_shop, drain, order_payload, put

EMAIL = "ignatius.pemberton@example.com"


def _person(hub: Hub) -> int:
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(email=EMAIL, customer={
        "id": 99, "email": EMAIL, "first_name": "Ignatius", "last_name": "Pemberton"}), shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        [profile] = customer_links.find(conn, email=EMAIL)
    return profile


def test_an_admin_exports_and_erases_a_person_named_back(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    profile = _person(console_hub)
    viewer = page_for("vera")
    assert viewer.request.get(f"/customers/{profile}/privacy").status == 403

    page = page_for("ada")
    page.goto(f"/customers/{profile}/privacy")
    assert "Ignatius Pemberton" in page.locator("[data-test=person]").inner_text()
    screens.shoot(page, "privacy-page")
    with page.expect_download() as download:
        page.click("[data-test=export]")
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        assert EMAIL in archive.read("tables/customers.json").decode()

    token = page.locator("[data-test=erase-form] input[name=csrf]").get_attribute("value")
    wrong = page.request.post(f"/customers/{profile}/privacy/erase", form={"csrf": token, "confirm": "Pemberton"})
    assert wrong.status == 422 and "type the person&#39;s name" in wrong.text()
    page.fill("[data-test=confirm]", "Ignatius Pemberton")
    page.fill("input[name=reason]", "ticket 7")
    page.click("[data-test=erase]")
    assert page.locator("[data-test=erased]").inner_text().startswith(f"Profile {profile} erased P-")
    assert "asked to erase its customer" in page.locator("[data-test=channels]").inner_text()
    screens.shoot(page, "privacy-erased")
    assert page.request.get(f"/customers/{profile}/privacy").status == 409
