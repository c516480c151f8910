"""The customer pages in Chromium: an admin finds Zoë by her phone number written the local way, opens her
profile (identities of two channels, orders of every channel, lifetime value by channel and currency), merges
the profile her store's till made into it, sees the till's order arrive, and undoes the merge."""

from __future__ import annotations

from typing import Any

from orderhub.bootstrap import Hub
from tests.browser.conftest import Screens
from tests.customers_support import scene


def test_an_admin_finds_a_customer_merges_a_profile_and_undoes_it(console_hub: Hub, page_for: Any,
                                                                   screens: Screens) -> None:
    s = scene(console_hub)
    zoe, till = s["zoe"], s["till_profile"]
    page = page_for("ada")
    page.click("nav >> text=Customers")
    page.wait_for_url("**/customers")
    page.fill("input[name=phone]", "0151 234 56789")
    page.fill("input[name=region]", "DE")
    page.click("button:has-text('Find')")
    page.wait_for_url("**/customers?*")
    rows = page.locator("table[data-test=customers] tbody tr")
    assert rows.count() == 1 and "amazon-eu" in rows.first.inner_text()
    screens.shoot(page, "customer-search")

    rows.first.locator("a").click()
    page.wait_for_url(f"**/customers/{zoe}")
    assert page.locator("table[data-test=identities] tbody tr").count() == 2
    assert page.locator("table[data-test=orders] tbody tr").count() == 3
    value = page.locator("table[data-test=lifetime-value] tr[data-channel=online][data-currency=EUR]")
    assert value.locator("strong").inner_text() == "30.00"
    assert page.locator("[data-test=privacy]").get_attribute("href") == f"/customers/{zoe}/privacy"
    screens.shoot(page, "customer-profile")

    page.fill("[data-test=merge-form] input[name=other]", str(till))
    page.fill("[data-test=merge-form] input[name=reason]", "the same person: she said so at the till")
    page.click("[data-test=merge-form] button[data-action=merge]")
    page.wait_for_url(f"**/customers/{zoe}")
    assert f"Profile {till} merged into this one" in page.locator(".flash").inner_text()
    assert page.locator("table[data-test=orders] tbody tr").count() == 4
    assert page.locator("table[data-test=identities] tbody tr").count() == 3
    merge_row = page.locator("table[data-test=merges] tbody tr").first
    assert "she said so at the till" in merge_row.inner_text()
    screens.shoot(page, "customer-merged")

    merge_row.locator("button[data-action=undo]").click()
    page.wait_for_url(f"**/customers/{zoe}")
    assert f"profile {till} is apart from this one again" in page.locator(".flash").inner_text()
    assert page.locator("table[data-test=orders] tbody tr").count() == 3
    assert page.locator("table[data-test=merges] button[data-action=undo]").count() == 0
    assert "ada" in page.locator("table[data-test=merges] tbody tr").first.inner_text()  # undone by
    screens.shoot(page, "customer-merge-undone")

    page.goto(f"/customers/{till}")  # apart again: its own page
    page.wait_for_url(f"**/customers/{till}")
    assert "#5004" in page.locator("table[data-test=orders]").inner_text()
