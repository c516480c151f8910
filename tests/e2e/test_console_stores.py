"""The console's store pages over HTTP: every store's day and devices, silent devices highlighted (and on the
dashboard), one store's late and flagged sales and oversells; an admin makes an enrolment code (shown once)
and revokes a device with the session's CSRF token; nothing is unescaped."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from orderhub.adapters.store import pos_devices
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.stores_support import add_oversell, add_sale, add_store, enrol

HOSTILE = "<script>alert(1)</script>🌵"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_store_pages_show_days_devices_and_problems(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    store_id = add_store(hub, name="Back Bay " + HOSTILE)
    quiet = enrol(hub, store_id, HOSTILE, synced_ago=timedelta(hours=3), queue=5)
    enrol(hub, store_id, "till-2", synced_ago=timedelta(minutes=1))
    with hub.db.write() as conn:
        sold = max(utcnow() - timedelta(seconds=20), utcnow().replace(hour=0, minute=0, second=0, microsecond=0))
        add_sale(conn, store_id, sold, "7.5", device_id=quiet.id, ref="R-" + HOSTILE, flags="clock_future")
        add_sale(conn, store_id, sold, "2.5", delay=timedelta(hours=2), ref="R-LATE")
        add_oversell(conn, store_id, "MUG-🦋", 1, note=HOSTILE)
    with sign_in(hub_server.url, "vera") as browser:
        listing = browser.get("/stores")
        page = browser.get("/stores/BOS01")
        dashboard = browser.get("/")
        missing = browser.get("/stores/NOPE")
        refused = browser.post("/stores/BOS01/device-codes", data={"csrf": _csrf(page.text)})
    for shown in (listing, page, dashboard):
        assert shown.status_code == 200 and "<script>alert" not in shown.text
    assert 'href="/stores" aria-current="page"' in listing.text
    assert 'data-store="BOS01" class="silent"' in listing.text and '<span data-currency="USD">10.00 USD</span>' in \
        listing.text
    text = html.unescape(page.text)
    assert f'data-device="{quiet.id}" class="silent"' in text and ">silent<" in text
    assert 'data-test="late-sales"' in text and "R-LATE" in text
    assert 'data-test="flagged-sales"' in text and "R-" + HOSTILE in text and "clock_future" in text
    assert 'data-test="oversells"' in text and "MUG-🦋" in text
    assert "Make an enrolment code" not in text and "Revoke" not in text  # a viewer reads only
    assert 'data-test="silent-devices"' in dashboard.text and "BOS01" in dashboard.text
    assert missing.status_code == 404 and "There is no store NOPE" in missing.text
    assert refused.status_code == 403 and "it needs admin" in html.unescape(refused.text)


def test_an_admin_makes_a_code_shown_once_and_revokes_a_device(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    store_id = add_store(hub)
    till = enrol(hub, store_id, "till-1", synced_ago=timedelta(minutes=1))
    with sign_in(hub_server.url, "ada") as browser:
        page = browser.get("/stores/BOS01")
        forged = browser.post("/stores/BOS01/device-codes", data={"csrf": "not-the-token"})
        made = browser.post("/stores/BOS01/device-codes", data={"csrf": _csrf(page.text)})
        again = browser.get("/stores/BOS01")
        revoked = browser.post(f"/stores/BOS01/devices/{till.id}/revoke", data={"csrf": _csrf(page.text)})
        wrong_store = browser.post(f"/stores/NYC02/devices/{till.id}/revoke", data={"csrf": _csrf(page.text)})
    assert forged.status_code == 403
    assert made.status_code == 201
    code = re.search(r'<span class="once">([A-Z0-9-]+)</span>', made.text)
    assert code is not None and code.group(1) not in again.text and 'data-test="new-code"' not in again.text
    with hub.db.write() as conn:
        device, _ = pos_devices.enrol(conn, code.group(1), "till-2", None)
        assert device.store == "BOS01"
        gone = pos_devices.get(conn, till.id)
    assert revoked.status_code == 200 and "Device till-1 of store BOS01 revoked" in html.unescape(revoked.text)
    assert gone is not None and gone.status == "revoked"
    assert wrong_store.status_code == 404
