"""The job manager's pages in Chromium: from the categories to a job, running it now and watching
its run end, editing a schedule, a category's webhooks, and what a viewer sees on a tablet."""

from __future__ import annotations

from typing import Any

import pytest

from orderhub.bootstrap import Hub
from orderhub.services.jobs import registry
from tests import job_support  # noqa: F401  (registers the test jobs: test-sleep takes a moment)
from tests.browser.conftest import Screens
from tests.support import add_shop

pytestmark = pytest.mark.timeout(180)


def no_overflow(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


def test_an_operator_runs_a_job_now_from_its_category(page_for: Any, screens: Screens) -> None:
    page = page_for("otto")
    page.click("header nav >> text=Jobs")
    page.wait_for_url("**/jobs")
    assert page.locator("h1").inner_text() == "Jobs"
    assert page.locator("[data-test=category-orders] [data-test=jobs]").inner_text() == str(
        len(registry.all_jobs("orders")))
    screens.shoot(page, "jobs")

    page.click("[data-test=category-orders] h2 a")
    page.wait_for_url("**/jobs/category/orders")
    line = page.locator("[data-test=line-approve-orders-hub]")
    assert "never ran" in line.inner_text()
    screens.shoot(page, "category-orders")

    line.locator("button", has_text="Run now").click()
    page.wait_for_url("**/jobs/approve-orders#runs")
    assert page.locator(".flash").inner_text() == "Run 1 of approve-orders succeeded."
    row = page.locator("[data-test=run-1]")
    assert row.get_attribute("data-status") == "succeeded"
    assert "manual" in row.inner_text()
    screens.shoot(page, "job-after-run")

    row.locator("a", has_text="#1").click()
    page.wait_for_url("**/jobs/runs/1")
    assert page.locator("[data-test=run-status]").inner_text() == "succeeded"
    screens.shoot(page, "run")


def test_a_run_that_takes_a_while_is_followed_until_it_ends(page_for: Any, screens: Screens) -> None:
    page = page_for("otto")
    page.goto("/jobs/test-sleep")
    page.fill("#run-seconds", "3")
    page.click("text=Run test-sleep now")
    page.wait_for_url("**/jobs/test-sleep#runs")
    assert page.locator(".flash").inner_text() == "Run 1 of test-sleep started; its row below follows it."
    assert page.locator("[data-test=run-1]").get_attribute("data-status") == "running"
    screens.shoot(page, "history-running")
    page.wait_for_selector("[data-test=run-1][data-status=succeeded]", timeout=15_000)  # polled, no reload
    screens.shoot(page, "history-ended")

    page.fill("#run-seconds", "3")
    page.click("text=Run test-sleep now")
    page.wait_for_url("**/jobs/test-sleep#runs")
    page.click("[data-test=run-2] >> text=#2")
    page.wait_for_url("**/jobs/runs/2")
    assert page.locator("#run-live").get_attribute("data-status") == "running"
    screens.shoot(page, "run-running")
    page.wait_for_selector("#run-live[data-status=succeeded]", timeout=15_000)
    assert page.locator("[data-test=run-status]").inner_text() == "succeeded"
    screens.shoot(page, "run-ended")


def test_an_admin_edits_a_schedule_and_manages_webhooks(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    shop = add_shop(console_hub)
    page = page_for("ada")
    page.goto("/jobs/sync-products")
    page.click(f"text=Schedule it for {shop.domain}")
    form = page.locator(f"[data-test='schedule-{shop.domain}'] form.schedule-form")
    form.locator("input[name=expression]").fill("every-6-hours")
    form.locator("input[name=timezone]").fill("America/New_York")
    form.locator("select[name=p_collections]").select_option("false")
    screens.shoot(page, "schedule-form")
    form.locator("button", has_text="Save schedule").click()
    page.wait_for_url("**/jobs/sync-products")
    assert page.locator(".flash").inner_text() == f"Schedule of sync-products for {shop.domain} saved (enabled)."
    line = page.locator(f"[data-test='schedule-{shop.domain}'] tr.line")
    assert "every-6-hours" in line.inner_text() and "collections=false" in line.inner_text()
    screens.shoot(page, "job-scheduled")

    line.locator("button", has_text="Disable").click()
    page.wait_for_url("**/jobs/sync-products")
    assert "disabled" in page.locator(f"[data-test='schedule-{shop.domain}'] tr.line").inner_text()

    page.goto("/jobs/category/products")
    hooks = page.locator(f"[data-test='hooks-{shop.domain}']")
    assert hooks.locator("input[name=address]").input_value().endswith("/webhooks/shopify")
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: declining sends nothing
    hooks.locator("button", has_text="Unsubscribe").click()
    assert page.url.endswith("/jobs/category/products")
    hooks.locator("button", has_text="Check at Shopify").click()  # htmx: the answer fills the section
    problem = hooks.locator(".hooks-state .problem")
    problem.wait_for()
    assert f"shop {shop.domain} has no access token" in problem.inner_text()
    screens.shoot(page, "category-products-webhooks")
    page.set_viewport_size({"width": 768, "height": 900})
    no_overflow(page)
    screens.shoot(page, "category-products-tablet")


def test_a_viewer_reads_the_job_pages_on_a_tablet(console_hub: Hub, page_for: Any, screens: Screens) -> None:
    add_shop(console_hub)
    page = page_for("vera", width=768)
    for path, name in (("/jobs", "jobs"), ("/jobs/category/orders", "category"),
                       ("/jobs/import-new-orders", "job")):
        page.goto(path)
        assert page.locator("button", has_text="Run now").count() == 0
        assert page.locator("text=Save schedule").count() == 0
        no_overflow(page)
        screens.shoot(page, f"viewer-{name}-tablet")
