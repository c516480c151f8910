"""The console's customer pages over HTTP: search by exact keys, a profile's page (identities, orders linking to
the order pages, lifetime value, consent, merges, who read it), each read kept in the access log (the order page
too); admins merge, undo, split and set consent with the session's CSRF token; viewers only read; nothing is
unescaped."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from orderhub.adapters.store.schema import customer_access_log
from orderhub.bootstrap import Hub
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.customers_support import add_account, add_order, identity_of_order, profile_of_order, scene
from tests.e2e.test_console_http import PASSWORD, sign_in

HOSTILE = "<script>alert(1)</script>🌵"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _reads(hub: Hub, profile_id: int) -> list[tuple[str, str, str]]:
    a = customer_access_log.c
    with hub.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(a.actor, a.via, a.what).where(a.profile_id == profile_id)
                                               .order_by(a.id))]


def test_a_viewer_finds_and_reads_a_customer_and_the_reads_are_kept(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    s = scene(hub)
    shop = add_account(hub, "shopify", "other.myshopify.com")
    odd = add_order(hub, shop, 7001, customer=90, email="odd@example.com", first=HOSTILE, last="")
    with sign_in(hub_server.url, "vera") as browser:
        empty = browser.get("/customers")
        found = browser.get("/customers", params={"email": "ZOE@example.com"})
        by_phone = browser.get("/customers", params={"phone": "0151 23456789", "region": "DE"})
        bad = browser.get("/customers", params={"phone": "12"})
        none = browser.get("/customers", params={"loyalty": "L-404"})
        page = browser.get(f"/customers/{s['zoe']}")
        hostile = browser.get(f"/customers/{profile_of_order(hub, odd)}")
        order = browser.get(f"/orders/{s['web']}")
        missing = browser.get("/customers/999")
        junk = browser.get("/customers/abc")
        refused = browser.post(f"/customers/{s['zoe']}/merge", data={"csrf": _csrf(page.text),
                                                                     "other": str(s["till_profile"])})
    for shown in (empty, found, page, hostile, order):
        assert shown.status_code == 200 and "<script>alert" not in shown.text
    assert 'href="/customers" aria-current="page"' in empty.text and 'data-test="customers"' not in empty.text
    assert f'data-profile="{s["zoe"]}"' in found.text and f'data-profile="{s["zoe"]}"' in by_phone.text
    assert bad.status_code == 422 and "is not one orderhub can read" in html.unescape(bad.text)
    assert 'data-test="nothing-found"' in none.text
    text = html.unescape(page.text)
    assert 'data-test="identities"' in text and "amazon-eu" in text and "zoe-shop.myshopify.com" in text
    assert f'<a href="/orders/{s["market"]}">#5003</a>' in text and "5000 JPY" in text
    assert 'data-channel="online" data-currency="EUR"' in text and "<strong>30.00</strong>" in text
    assert 'data-test="no-consent"' in text and f'href="/customers/{s["zoe"]}/privacy"' in text
    assert "Split off" not in text and 'data-test="merge-form"' not in text  # a viewer reads only
    assert HOSTILE in html.unescape(hostile.text)
    assert f'href="/customers/{s["zoe"]}" data-test="customer-profile"' in order.text
    assert missing.status_code == 404 and "There is no customer profile 999" in missing.text
    assert junk.status_code == 404
    assert refused.status_code == 403 and "it needs admin" in html.unescape(refused.text)
    assert _reads(hub, s["zoe"]) == [("console:vera", "console", "search"), ("console:vera", "console", "search"),
                                     ("console:vera", "console", "profile"), ("console:vera", "console", "order")]
    assert _reads(hub, s["ann"]) == []


def test_an_admin_merges_undoes_splits_and_sets_consent(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    s = scene(hub)
    zoe, till = s["zoe"], s["till_profile"]
    with sign_in(hub_server.url, "ada") as browser:
        page = browser.get(f"/customers/{zoe}")
        token = _csrf(page.text)
        assert browser.post(f"/customers/{zoe}/merge", data={"other": str(till)}).status_code == 403  # no CSRF
        merged = browser.post(f"/customers/{zoe}/merge", data={"csrf": token, "other": str(till),
                                                               "reason": "same " + HOSTILE})
        assert merged.status_code == 200 and merged.url.path == f"/customers/{zoe}"
        assert f"Profile {till} merged into this one" in html.unescape(merged.text)
        assert "<script>alert" not in merged.text and "#5004" in merged.text
        followed = browser.get(f"/customers/{till}")  # the merged profile's address leads to the kept one
        assert followed.url.path == f"/customers/{zoe}" and "was merged into profile" in html.unescape(followed.text)
        itself = browser.post(f"/customers/{zoe}/merge", data={"csrf": token, "other": str(zoe)})
        assert itself.status_code == 422 and "cannot be merged into itself" in html.unescape(itself.text)
        nobody = browser.post(f"/customers/{zoe}/merge", data={"csrf": token, "other": "999"})
        assert nobody.status_code == 404
        words = browser.post(f"/customers/{zoe}/merge", data={"csrf": token, "other": "Ann"})
        assert words.status_code == 422

        merge_id = re.search(r'data-merge="(\d+)"', merged.text).group(1)  # type: ignore[union-attr]
        undone = browser.post(f"/customers/merges/{merge_id}/undo", data={"csrf": token, "back": str(zoe)})
        assert undone.url.path == f"/customers/{zoe}" and f"profile {till} is apart" in html.unescape(undone.text)
        twice = browser.post(f"/customers/merges/{merge_id}/undo", data={"csrf": token, "back": str(zoe)})
        assert twice.status_code == 409 and "was undone already" in html.unescape(twice.text)

        identity = identity_of_order(hub, s["market"])
        split = browser.post(f"/customers/identities/{identity}/split", data={"csrf": token, "back": str(zoe)})
        assert split.status_code == 200 and f"Identity {identity} is this profile now" in html.unescape(split.text)
        assert split.url.path != f"/customers/{zoe}" and "#5003" in split.text

        consent = browser.post(f"/customers/{zoe}/consent", data={
            "csrf": token, "purpose": "email_marketing", "state": "granted", "scope": "*", "note": "at the till"})
        said = html.unescape(consent.text)
        assert "Consent to email marketing set to granted on every channel; sent to zoe-shop.myshopify.com" in said
        assert 'data-purpose="email_marketing" data-scope="*"' in consent.text and "at the till" in said
        wrong = browser.post(f"/customers/{zoe}/consent", data={"csrf": token, "purpose": "mind_reading",
                                                                "state": "granted"})
        assert wrong.status_code == 422 and "unknown purpose" in html.unescape(wrong.text)


def test_the_order_list_shows_customers_and_each_is_kept_as_read(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    s = scene(hub)
    with sign_in(hub_server.url, "vera") as browser:
        listed = browser.get("/orders", params={"channel": "online"})
    assert listed.status_code == 200
    assert ("console:vera", "console", "order_list") in _reads(hub, s["zoe"])
    with hub.db.read() as conn:
        detail = conn.execute(select(customer_access_log.c.detail).where(
            customer_access_log.c.what == "order_list")).scalars().first()
    assert detail == "/orders?channel=online"
