"""The routing pages in Chromium: an admin edits a rule and dry-runs an order with it; a viewer reads
the rules and dry-runs too."""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store import routing_store
from orderhub.bootstrap import Hub
from tests.browser.conftest import Screens
from tests.e2e.test_console_routing import _waiting_order
from tests.oms_support import order


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_an_admin_edits_a_rule_then_dry_runs_an_order(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    _waiting_order(console_hub)
    page = page_for("ada")
    page.click("nav >> text=Routing")
    page.wait_for_url("**/routing")
    assert page.locator("[data-test=run-state]").inner_text() == "in use"
    screens.shoot(page, "routing")

    page.click("#rule-0-0 >> text=Edit")
    page.wait_for_url("**/routing/rule?*")
    assert page.locator("input[name=name]").input_value() == "nearest facility with everything"
    assert not page.locator(".queue-only").is_visible()  # next_rule: no queue to choose
    page.select_option("select[name=action_kind]", "queue")
    assert page.locator(".queue-only").is_visible()
    page.select_option("select[name=action_kind]", "next_rule")
    page.fill("input[name=facility_groups_out]", "munich")
    page.fill("input[name=name]", "nearest, never München 🏔")
    screens.shoot(page, "rule-edit")
    page.click("form.rule button[type=submit]")
    page.wait_for_url("**/routing?run=default#rule-0-0")
    assert "Rule “nearest, never München 🏔” saved." in page.locator(".flash").inner_text()
    rule = page.locator("#rule-0-0")
    assert "not in group munich" in rule.inner_text()
    screens.shoot(page, "routing-edited")

    page.click("text=Dry-run an order")
    page.fill("input[name=order]", "#1993")
    page.click("form.search button")
    page.wait_for_url("**/routing/dry-run?order=*")
    assert page.locator("[data-test=rule]").inner_text() == "nearest facilities, split"
    assert page.locator("table[data-test=fates] tbody tr").inner_text().split("\t")[-1].strip() == "facility WH-MUC"
    why = page.locator("[data-test=explanation]").inner_text()
    assert 'rule "nearest, never München 🏔": WH-MUC passed over: in excluded facility group munich' in why
    screens.shoot(page, "dry-run")
    # Nothing was brokered by looking.
    assert next(u for u in order(console_hub)["units"] if u["sku"] == "SKU-2")["facility"] is None

    page.goto("/routing")
    page.click("#rule-0-1 form >> text=↑")
    page.wait_for_url("**/routing?run=default#rule-0-0")
    assert page.locator("#rule-0-0").get_attribute("data-rule") == "nearest facilities, split"
    with console_hub.db.read() as conn:
        run = routing_store.get_run(conn, "default")
    assert run is not None and [r["name"] for r in run["routings"][0]["rules"]] == [
        "nearest facilities, split", "nearest, never München 🏔"]
    screens.shoot(page, "routing-moved")


def test_a_viewer_reads_the_rules_and_dry_runs_on_a_tablet(console_hub: Hub, page_for: Any,
                                                           screens: Screens) -> None:
    _waiting_order(console_hub)
    page = page_for("vera", width=768)
    page.goto("/routing")
    assert page.locator("form[action='/routing/move']").count() == 0 and page.locator("a.button-link").count() == 0
    assert _fits(page)
    screens.shoot(page, "routing-viewer-tablet")
    page.click("#rule-0-0 a")
    assert page.locator("fieldset[disabled]").count() == 1 and page.locator("text=Save rule").count() == 0
    screens.shoot(page, "rule-viewer-tablet")
    page.goto("/routing/dry-run")
    page.click("ul.waiting a")
    page.wait_for_url("**/routing/dry-run?order=*")
    assert page.locator("[data-test=rule]").inner_text() == "nearest facility with everything"
    assert _fits(page)
    screens.shoot(page, "dry-run-viewer-tablet")
