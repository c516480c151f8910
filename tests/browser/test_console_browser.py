"""The console in Chromium: signing in and out, and what each role sees."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Screens


def test_sign_in_see_the_dashboard_and_sign_out(page_for: Any, screens: Screens) -> None:
    page = page_for("ada")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert "Signed in as ada (admin)." in page.locator(".flash").inner_text()
    assert page.locator("[data-test=inbox-depth]").inner_text() == "0"
    screens.shoot(page, "dashboard")
    page.click("text=Sign out")
    page.wait_for_url("**/sign-in")
    assert "Signed out." in page.locator(".flash").inner_text()
    screens.shoot(page, "signed-out")
    page.goto("/")
    assert page.url.endswith("/sign-in?next=%2F")


def test_a_wrong_password_is_refused_on_the_page(browser: Any, console: Any, screens: Screens) -> None:
    context = browser.new_context(base_url=console.url)
    page = context.new_page()
    page.goto("/sign-in")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=password]", "not her password at all")
    page.click("button[type=submit]")
    assert page.locator(".problem").inner_text() == "wrong username or password"
    screens.shoot(page, "refused")
    context.close()


def test_the_console_fits_a_tablet(page_for: Any, screens: Screens) -> None:
    page = page_for("vera", width=768)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    screens.shoot(page, "tablet")


def test_the_dashboard_draws_its_traffic_charts(console_hub: Any, page_for: Any, screens: Screens) -> None:
    from datetime import timedelta

    from orderhub.adapters.store import traffic
    from orderhub.clock import utcnow

    with console_hub.db.write() as conn:
        for m in range(1, 90):
            at = utcnow() - timedelta(minutes=m)
            traffic.add(conn, traffic.RECEIVED, {"orders/create": 40 + m % 17, "inventory_levels/update": m % 9}, at)
            traffic.add(conn, traffic.PROCESSED, {"orders/create": 35 + m % 11}, at)
    page = page_for("vera")
    page.wait_for_selector("#chart-received canvas")
    page.wait_for_selector("#chart-flow canvas")
    legend = page.locator("#chart-received .u-legend").inner_text()
    assert "orders/create" in legend and "inventory_levels/update" in legend
    assert "orders/create" in page.locator("table").nth(1).inner_text()  # received in the last 5 minutes
    screens.shoot(page, "dashboard-traffic")
