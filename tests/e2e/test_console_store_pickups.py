"""Pickups on the console's store pages over HTTP: each store's counts of pickups waiting, ready and overdue; a
store's open pickups (overdue highlighted, locked ones marked); at the counter an operator marks one ready (its
code shown once), collects it with the code (a wrong one counted, with the tries left), and an admin resets a
locked one; roles and CSRF enforced, every refusal a page that says why, nothing unescaped."""

from __future__ import annotations

import html
import re
from typing import Any

from orderhub.adapters.store import facilities, order_queries
from orderhub.bootstrap import Hub
from orderhub.domain.pickup import MAX_ATTEMPTS
from orderhub.services import fulfilment
from orderhub.services.console import accounts
from orderhub.services.fulfilment import Ctx
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.integration.test_pickups import oms  # noqa: F401 - a fixture
from tests.pickups_support import pickups_in_every_state

HOSTILE = "<script>alert(1)</script>🌵"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _row(page: str, order_id: int) -> str:
    found = re.search(rf'<tr data-order="{order_id}"(.*?)</tr>', page, re.S)
    assert found, f"no row of order {order_id}"
    return found.group(0)


def _pickup(hub: Hub, order_id: int) -> dict[str, Any]:
    with hub.db.read() as conn:
        found = order_queries.get_order(conn, order_id)
    assert found is not None
    return found["pickup"] | {"order_status": found["status"]}


def test_the_store_pages_count_and_list_open_pickups(hub: Hub, hub_server: ServerThread,
                                                     oms: Any) -> None:  # noqa: F811
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    counter = pickups_in_every_state(hub, oms)
    ids = counter.ids
    with sign_in(hub_server.url, "vera") as browser:
        listing = browser.get("/stores")
        page = browser.get("/stores/BOS01")
        refused = browser.post(f"/stores/BOS01/pickups/{ids['waiting']}/ready", data={"csrf": _csrf(page.text)})
    assert listing.status_code == 200 and page.status_code == 200
    counts = re.search(r'<td data-test="pickups">(.*?)</td>', listing.text, re.S)
    assert counts is not None and "1 waiting, 3 ready" in counts.group(1) and "1 overdue" in counts.group(1)
    text = page.text
    assert "1 waiting, 3 ready" in text and "1 overdue" in text
    assert 'class="overdue"' in _row(text, ids["overdue"]) and 'class="overdue"' not in _row(text, ids["ready"])
    assert 'data-test="locked"' in _row(text, ids["locked"]) and 'data-test="locked"' not in _row(text, ids["ready"])
    assert ">waiting<" in _row(text, ids["waiting"])
    assert f'data-order="{ids["cancelled"]}"' not in text  # cancelled before it was ready: not open
    assert "Ready for pickup" not in text and "Collect" not in text and "Reset" not in text  # a viewer reads
    assert refused.status_code == 403 and "it needs operator" in html.unescape(refused.text)
    assert counter.code not in text + listing.text


def test_an_operator_makes_a_pickup_ready_and_collects_it_with_the_code(hub: Hub, hub_server: ServerThread,
                                                                        oms: Any) -> None:  # noqa: F811
    accounts.add_user(hub.db, "otto", PASSWORD, "operator")
    ids = pickups_in_every_state(hub, oms).ids
    waiting = ids["waiting"]
    with hub.db.write() as conn:
        facilities.add(conn, "NYC02", "New York", "store")
    with sign_in(hub_server.url, "otto") as browser:
        page = browser.get("/stores/BOS01")
        token = _csrf(page.text)
        assert 'action="/stores/BOS01/pickups/%d/ready"' % waiting in page.text
        assert "Reset" not in page.text and "a manager must reset it" in _row(page.text, ids["locked"])

        not_picked = browser.post(f"/stores/BOS01/pickups/{waiting}/ready", data={"csrf": token})
        forged = browser.post(f"/stores/BOS01/pickups/{waiting}/ready", data={"csrf": "not-the-token"})
        elsewhere = browser.post(f"/stores/NYC02/pickups/{waiting}/ready", data={"csrf": token})
        no_order = browser.post("/stores/BOS01/pickups/99999999/ready", data={"csrf": token})
        not_an_id = browser.post("/stores/BOS01/pickups/%F0%9F%8C%B5/ready", data={"csrf": token})
        no_store = browser.post(f"/stores/NOPE/pickups/{waiting}/ready", data={"csrf": token})
        with hub.db.write() as conn:
            fulfilment.pick(conn, waiting, Ctx("store"))
        made = browser.post(f"/stores/BOS01/pickups/{waiting}/ready", data={"csrf": token})
        again = browser.get("/stores/BOS01")

        code = re.search(r'<span class="once">([A-Z0-9]+)</span>', made.text)
        assert code is not None
        hostile = browser.post(f"/stores/BOS01/pickups/{waiting}/collect",
                               data={"csrf": token, "verification_code": HOSTILE})
        empty = browser.post(f"/stores/BOS01/pickups/{waiting}/collect",
                             data={"csrf": token, "verification_code": "  "})
        too_long = browser.post(f"/stores/BOS01/pickups/{waiting}/collect",
                                data={"csrf": token, "verification_code": "X" * 65})
        attempts = _pickup(hub, waiting)["failed_attempts"]
        reset = browser.post(f"/stores/BOS01/pickups/{ids['locked']}/reset", data={"csrf": token})
        locked = browser.post(f"/stores/BOS01/pickups/{ids['locked']}/collect",
                              data={"csrf": token, "verification_code": "ANYTHING"})
        collected = browser.post(f"/stores/BOS01/pickups/{waiting}/collect",
                                 data={"csrf": token, "verification_code": code.group(1).lower()})
        after = browser.post(f"/stores/BOS01/pickups/{waiting}/collect",
                             data={"csrf": token, "verification_code": code.group(1)})

    assert not_picked.status_code == 409 and "not picked at BOS01" in html.unescape(not_picked.text)
    assert 'data-test="pickup-problem"' in not_picked.text
    assert forged.status_code == 403
    assert elsewhere.status_code == 404 and "Store NYC02 has no pickup order" in elsewhere.text
    assert no_order.status_code == 404 and not_an_id.status_code == 404
    assert no_store.status_code == 404 and "There is no store NOPE" in no_store.text
    assert made.status_code == 200 and 'data-test="pickup-code"' in made.text
    assert code.group(1) not in again.text and 'data-test="pickup-code"' not in again.text  # shown once
    assert ">ready<" in _row(again.text, waiting) and 'name="verification_code"' in _row(again.text, waiting)

    assert hostile.status_code == 403 and f"{MAX_ATTEMPTS - 1} attempt(s) left" in hostile.text
    assert "<script>alert" not in hostile.text
    assert empty.status_code == 422 and too_long.status_code == 422 and "Type the verification code" in empty.text
    assert attempts == 1  # only the hostile code counted
    assert reset.status_code == 403 and "it needs admin" in html.unescape(reset.text)
    assert locked.status_code == 409 and "a manager must reset it" in locked.text
    assert collected.status_code == 200 and collected.url.path == "/stores/BOS01"  # after the redirect
    assert "collected at BOS01, handed over by console:otto" in html.unescape(collected.text)
    assert f'data-order="{waiting}"' not in collected.text  # collected: no longer open
    assert after.status_code == 409 and "the pickup is collected" in after.text
    done = _pickup(hub, waiting)
    assert (done["status"], done["collected_by"], done["order_status"]) == ("collected", "console:otto", "completed")


def test_wrong_codes_lock_a_pickup_until_an_admin_resets_it(hub: Hub, hub_server: ServerThread,
                                                           oms: Any) -> None:  # noqa: F811
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    counter = pickups_in_every_state(hub, oms)
    ready, locked = counter.ids["ready"], counter.ids["locked"]
    with sign_in(hub_server.url, "ada") as browser:
        token = _csrf(browser.get("/stores/BOS01").text)
        wrong = [browser.post(f"/stores/BOS01/pickups/{ready}/collect",
                              data={"csrf": token, "verification_code": "NOT-IT"}) for _ in range(MAX_ATTEMPTS)]
        page = browser.get("/stores/BOS01")
        not_locked = browser.post(f"/stores/BOS01/pickups/{counter.ids['waiting']}/reset", data={"csrf": token})
        reset = browser.post(f"/stores/BOS01/pickups/{locked}/reset", data={"csrf": token})
        collected = browser.post(f"/stores/BOS01/pickups/{locked}/collect",
                                 data={"csrf": token, "verification_code": counter.locked_code})
    assert [w.status_code for w in wrong] == [403] * (MAX_ATTEMPTS - 1) + [423]
    assert "1 attempt(s) left" in wrong[-2].text and "now locked after 5 wrong codes" in wrong[-1].text
    assert 'data-test="locked"' in _row(page.text, ready) and 'data-action="reset"' in _row(page.text, ready)
    assert not_locked.status_code == 409 and "no ready pickup to reset" in not_locked.text
    assert reset.status_code == 200 and "pickup unlocked" in reset.text
    assert collected.status_code == 200 and "collected at BOS01" in html.unescape(collected.text)
    assert _pickup(hub, locked)["status"] == "collected" and _pickup(hub, ready)["failed_attempts"] == MAX_ATTEMPTS
