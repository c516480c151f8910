"""The error-log pages in Chromium: hostile payloads stay text, an operator retries, edits and
dismisses, bulk dismissal shows its exact count first, and a viewer's forged POST is refused."""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store import error_log
from orderhub.bootstrap import Hub
from tests.browser.conftest import Screens
from tests.e2e.test_console_errors import ARABIC, HEBREW, IMG, SCRIPT, hostile_order, logged
from tests.support import BIG_ID, drain, order_payload


def status_of(hub: Hub, entry_id: int) -> str:
    with hub.db.read() as conn:
        return str(error_log.get(conn, entry_id).status)


def no_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_markup_in_a_payload_is_shown_as_text_and_never_runs(page_for: Any, console_hub: Hub,
                                                              screens: Screens) -> None:
    [bad, _other, _third] = logged(console_hub, hostile_order(), order_payload(BIG_ID + 10, line_items=[]),
                                   order_payload(BIG_ID + 20, currency="YYQ"))
    dialogs: list[str] = []  # an alert() that ran would open one
    for width in (1280, 768):
        page = page_for("vera", width=width)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto("/errors")
        assert SCRIPT in page.locator("table.error-list").inner_text()
        assert no_overflow(page)
        screens.shoot(page, f"list-{width}")
        page.click("text=Grouped by error")
        assert page.locator("[data-test=group-link]").count() == 2
        assert no_overflow(page)
        screens.shoot(page, f"groups-{width}")
        page.goto(f"/errors/{bad.id}")
        payload = page.locator("[data-test=payload]").inner_text()
        for text in (SCRIPT, IMG, HEBREW, ARABIC, "🦋", "Zoë Ångström"):
            assert text in payload, text
        assert SCRIPT in page.locator("[data-test=error]").inner_text()
        assert page.locator("mark.field#failing-field").inner_text() == '"currency": "XXQ"'
        assert page.locator("main img, main script").count() == 0  # nothing from the payload became an element
        assert no_overflow(page)
        screens.shoot(page, f"entry-{width}")
    assert dialogs == []


def test_an_operator_retries_edits_the_payload_and_dismisses(page_for: Any, console_hub: Hub,
                                                             screens: Screens) -> None:
    [bad, empty] = logged(console_hub, hostile_order(), order_payload(BIG_ID + 10, line_items=[]))
    page = page_for("otto")
    page.goto(f"/errors/{bad.id}")
    page.click("[data-test=retry]")
    assert f"Error {bad.id} is queued again" in page.locator(".flash").inner_text()
    assert page.locator("[data-test=status]").inner_text() == "retrying"
    drain(console_hub)  # still an unknown currency: back in the log
    page.reload()
    assert page.locator("[data-test=status]").inner_text() == "open"
    assert page.locator("table.attempts tbody tr").count() == 2

    page.click("[data-test=edit]")
    text = page.locator("#payload").input_value()
    broken = text.replace('"currency": "XXQ",', '"currency": "EUR"', 1)  # a comma lost
    page.fill("#payload", broken)
    page.click("[data-test=save-retry]")
    problem = page.locator("[data-test=problem]").inner_text()
    assert "not valid JSON" in problem and "line" in problem and "column" in problem
    assert page.locator("#payload").input_value() == broken  # nothing typed is lost
    assert page.locator("[data-test=bad-line]").is_visible()
    screens.shoot(page, "edit-invalid-json")
    page.fill("#payload", broken.replace('"currency": "EUR"', '"currency": "EUR",', 1))
    page.click("[data-test=save-retry]")
    assert "with your edited payload" in page.locator(".flash").inner_text()
    drain(console_hub)
    page.reload()
    assert page.locator("[data-test=status]").inner_text() == "resolved"
    assert '"currency": "EUR"' in page.locator("[data-test=payload]").inner_text()
    screens.shoot(page, "entry-resolved")

    page.goto(f"/errors/{empty.id}")
    page.fill("textarea[name=reason]", "test order without items 🧪 — בדיקה")
    screens.shoot(page, "entry-open-operator")
    page.click("[data-test=dismiss]")
    assert page.locator("[data-test=status]").inner_text() == "dismissed"
    assert page.locator("[data-test=dismissed-by]").inner_text() == "otto"
    assert page.locator("[data-test=dismissed-reason]").inner_text() == "test order without items 🧪 — בדיקה"
    assert status_of(console_hub, empty.id) == "dismissed"


def test_bulk_dismiss_shows_the_exact_count_first(page_for: Any, console_hub: Hub, screens: Screens) -> None:
    entries = logged(console_hub, *(order_payload(BIG_ID + 10 * i, currency="XXQ") for i in range(3)),
                     order_payload(BIG_ID + 100, line_items=[]))
    page = page_for("otto")
    page.goto("/errors?view=groups")
    page.click("a[data-test=group-link][href*='field=currency']")
    assert page.locator("[data-test=total]").inner_text().startswith("3 entries match")
    screens.shoot(page, "list-operator-filtered")
    page.click("text=Dismiss the 3 open or retrying…")
    assert page.locator("[data-test=bulk-count]").inner_text() == "3"
    assert page.locator("[data-test=confirm]").inner_text() == "Dismiss these 3 entries"
    screens.shoot(page, "bulk-confirm")
    page.fill("textarea[name=reason]", "test orders 🦋")
    page.click("[data-test=confirm]")
    assert "Dismissed 3 entries." in page.locator(".flash").inner_text()
    assert page.url.endswith("/errors?kind=validation&field=currency")
    assert page.locator("table.error-list .badge.dismissed").count() == 3
    screens.shoot(page, "bulk-done")
    assert [status_of(console_hub, e.id) for e in entries] == ["dismissed"] * 3 + ["open"]


def test_a_viewer_sees_no_actions_and_a_forged_post_is_refused(page_for: Any, console: Any, console_hub: Hub,
                                                              screens: Screens) -> None:
    [bad] = logged(console_hub, hostile_order())
    page = page_for("vera")
    page.goto(f"/errors/{bad.id}")
    assert page.locator("[data-test=retry], [data-test=dismiss]").count() == 0
    screens.shoot(page, "entry-viewer")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    answer = page.request.post(f"/errors/{bad.id}/dismiss", form={"csrf": token, "reason": "forged"},
                               headers={"Origin": console.url})
    assert answer.status == 403 and "Your role (viewer) may not do this" in answer.text()
    assert status_of(console_hub, bad.id) == "open"
