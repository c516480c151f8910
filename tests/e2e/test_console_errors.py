"""The console's error-log pages over real HTTP, on SQLite and PostgreSQL: payloads shown as text
whatever they hold, filters in the URL, groups, retry (as it is or edited), dismiss, bulk actions on
exactly the set the operator confirmed, and roles enforced by the server."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store import error_log, shops
from orderhub.adapters.store.schema import inbox
from orderhub.bootstrap import Hub
from orderhub.services import errors as error_service
from orderhub.services.console import accounts
from orderhub.services.console import errors_view as view
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, _token, sign_in
from tests.support import BIG_ID, SHOP, add_shop, drain, order_payload, put

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HEBREW, ARABIC = "שדרות רוטשילד 1", "زهرة الياسمين"


def hostile_order(order_id: int = BIG_ID, **changes: Any) -> dict[str, Any]:
    """An order with markup, emoji and right-to-left text where customers put them, and an unknown currency."""
    return order_payload(order_id, name=SCRIPT, currency="XXQ", note=IMG, **{
        "billing_address": {"name": ARABIC, "address1": HEBREW, "address2": "🦋 " + IMG, "city": "תל אביב",
                            "country_code": "IL"}, **changes})


def logged(hub: Hub, *payloads: dict[str, Any], topic: str = "orders/create") -> list[Any]:
    """Put the orders through the real processor; returns their error-log entries, oldest first."""
    with hub.db.read() as conn:
        shop = shops.by_domain(conn, SHOP)
    shop = shop or add_shop(hub)
    for payload in payloads:
        put(hub, topic, payload, shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        return list(reversed(error_log.list_entries(conn, error_log.ErrorFilter(), limit=1000)))


def entry(hub: Hub, entry_id: int) -> Any:
    with hub.db.read() as conn:
        return error_log.get(conn, entry_id)


def users(hub: Hub) -> None:
    for name, role in (("olga", "operator"), ("vic", "viewer")):
        accounts.add_user(hub.db, name, PASSWORD, role)


def hidden_fields(page: str) -> dict[str, str]:
    return {m.group(1): html.unescape(m.group(2))
            for m in re.finditer(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">', page)}


def test_markup_emoji_and_right_to_left_text_render_as_text(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    [bad] = logged(hub, hostile_order())
    assert bad.field == "currency" and SCRIPT in bad.error
    with sign_in(hub_server.url, "vic") as client:
        pages = {"entry": client.get(f"/errors/{bad.id}").text, "list": client.get("/errors").text,
                 "groups": client.get("/errors?view=groups").text,
                 "search": client.get("/errors", params={"q": "<script>"}).text}
    for name, page in pages.items():
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
        assert "<script>alert" not in page and "<img" not in page, name
        assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", page), name  # no element carries an event handler
    shown = pages["entry"]
    assert "onerror=alert(1)&gt;" in shown and "&#34;&gt;&lt;img src=x" in shown.replace("\\&#34;", "&#34;")
    for text in (HEBREW, ARABIC, "תל אביב", "🦋", "Zoë", "Ångström"):
        assert text in shown, text
    # The failing field is marked by the template around escaped text, never by markup from the payload.
    assert '<mark class="field" id="failing-field">&#34;currency&#34;: &#34;XXQ&#34;</mark>' in shown
    assert shown.count("<mark") == 2  # that one, and the legend saying what is marked
    assert "<strong>1</strong> entry matches" in pages["search"]


def test_filters_live_in_the_url_and_search_is_literal(hub: Hub, hub_server: ServerThread,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    users(hub)
    entries = logged(hub, order_payload(BIG_ID, currency="XXQ"), order_payload(BIG_ID + 10, currency="YYQ"),
                     order_payload(BIG_ID + 20, line_items=[]),
                     order_payload(BIG_ID + 30, line_items=[{"id": 7, "sku": "S", "title": "t", "quantity": -1,
                                                             "price": "1.00"}]))
    assert [e.field for e in entries] == ["currency", "currency", "line_items", "line_items[0].quantity"]
    error_service.dismiss(hub.db, [entries[1].id], by="tester", reason="duplicate test order")

    def ids(client: httpx.Client, **params: str) -> list[int]:
        page = client.get("/errors", params=params)
        assert page.status_code == 200
        return [int(i) for i in re.findall(r'<td class="n"><a href="/errors/(\d+)">', page.text)]

    with sign_in(hub_server.url, "vic") as client:
        everything = ids(client)
        assert everything == sorted((e.id for e in entries), reverse=True)
        assert ids(client, kind="validation", field="currency") == [entries[1].id, entries[0].id]
        assert ids(client, status="open", field="currency") == [entries[0].id]
        assert ids(client, status="active") == [entries[3].id, entries[2].id, entries[0].id]
        assert ids(client, shop=SHOP, topic="orders/create", field="line_items") == [entries[2].id]
        assert ids(client, shop="other-shop.myshopify.com") == []
        assert ids(client, q="YYQ") == [entries[1].id]  # in the error text
        assert ids(client, q="negative QUANTITY") == [entries[3].id]  # any case
        assert entries[2].id in ids(client, q=f"#{entries[2].id}")  # the entry's id (and any text holding it)
        with hub.db.read() as conn:
            identity = conn.execute(select(inbox.c.identity).where(inbox.c.id == entries[0].record_id)).scalar_one()
        assert ids(client, q=identity) == [entries[0].id]  # the inbox record's identity
        assert ids(client, q="line%items") == [] and ids(client, q="currenc_") == []  # no wildcards
        assert ids(client, q="line_items") == [entries[3].id, entries[2].id]
        assert ids(client, q="Zoë") == [] and ids(client, q="Zoë", payloads="1") == everything
        assert ids(client, since="2999-01-01T00:00") == []
        assert ids(client, until="2999-01-01T00:00") == everything
        bad = client.get("/errors", params={"since": "yesterday", "status": "<b>odd</b>", "q": "x" * 500})
        assert bad.status_code == 200
        assert "since: &#39;yesterday&#39; is not a date" in bad.text and "&lt;b&gt;odd&lt;/b&gt;" in bad.text
        assert "q: at most 200 characters" in bad.text
        # A page of the list, and the links to the others, keep the filters.
        monkeypatch.setattr(view, "PAGE_SIZE", 2)
        first = client.get("/errors", params={"kind": "validation"}).text
        assert "page 1 of 2" in first and 'href="/errors?kind=validation&amp;page=2"' in first
        assert ids(client, kind="validation", page="2") == [entries[1].id, entries[0].id]
        assert ids(client, kind="validation", page="99") == [entries[1].id, entries[0].id]  # the last page
        assert client.get("/errors/123456789").status_code == 404
        assert "There is no error-log entry abc" in client.get("/errors/abc").text


def test_grouped_by_error_with_counts_and_links_to_exactly_the_group(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    entries = logged(hub, order_payload(BIG_ID, currency="XXQ"), order_payload(BIG_ID + 10, currency="YYQ"),
                     order_payload(BIG_ID + 20, line_items=[]))
    with hub.db.write() as conn:  # a failure that named no field (a destination refused it)
        nofield = error_log.record(conn, error_log.Failure(
            record_type="delivery", record_id=77, shop_id=None, topic="order.placed", source="outbox",
            kind="destination_rejected", error="HTTP 422 from erp: refused 🦋", payload='{"id": 1}'))
    with sign_in(hub_server.url, "vic") as client:
        page = client.get("/errors", params={"view": "groups"}).text
        links = re.findall(r'<a href="/errors(\?[^"]*)" data-test="group-link">(\d+)</a>', page)
        groups = {html.unescape(q): int(n) for q, n in links}
        assert groups == {"?kind=validation&field=currency": 2, "?kind=validation&field=line_items": 1,
                          "?kind=destination_rejected&nofield=1": 1}
        assert links[0][1] == "2"  # biggest first
        assert "HTTP 422 from erp: refused 🦋" in page and "YYQ" in page  # the newest error of each group
        listed = client.get("/errors?kind=destination_rejected&nofield=1").text
        assert re.findall(r'<td class="n"><a href="/errors/(\d+)">', listed) == [str(nofield)]
        narrowed = client.get("/errors", params={"view": "groups", "status": "dismissed"}).text
        assert "Nothing matches." in narrowed
    assert entries  # the groups above are of these


def test_retry_and_edit_the_payload_then_retry(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    [bad] = logged(hub, hostile_order())
    with sign_in(hub_server.url, "olga") as client:
        page = client.get(f"/errors/{bad.id}").text
        token = _token(page)
        assert 'data-test="retry"' in page and 'data-test="edit"' in page
        done = client.post(f"/errors/{bad.id}/retry", data={"csrf": token})
        assert done.status_code == 200 and f"Error {bad.id} is queued again" in done.text
        assert entry(hub, bad.id).status == "retrying"
        drain(hub)  # still an unknown currency: back in the log, a second attempt recorded
        again = client.get(f"/errors/{bad.id}").text
        assert entry(hub, bad.id).status == "open" and "Attempts (2)" in again

        edit = client.get(f"/errors/{bad.id}/edit").text
        text = html.unescape(re.search(r'<textarea id="payload"[^>]*>\n(.*?)</textarea>', edit, re.S).group(1))
        assert orjson.loads(text) == hostile_order()  # the stored payload, pretty-printed
        broken = text.replace('"currency": "XXQ",', '"currency": "EUR"', 1)  # a comma lost
        line = next(i for i, s in enumerate(broken.splitlines(), 1) if '"currency": "EUR"' in s) + 1
        refused = client.post(f"/errors/{bad.id}/edit", data={"csrf": token, "payload": broken})
        assert refused.status_code == 200  # the form again, the problem named
        assert "not valid JSON: " in refused.text and f"at line {line}, column" in refused.text
        assert "Nothing was changed; your edit is kept below." in refused.text
        kept = re.search(r'<textarea id="payload"[^>]*>\n(.*?)</textarea>', refused.text, re.S).group(1)
        assert html.unescape(kept) == broken  # nothing the operator typed is lost
        assert entry(hub, bad.id).payload == bad.payload and entry(hub, bad.id).status == "open"

        fixed = broken.replace('"currency": "EUR"', '"currency": "EUR",', 1)
        saved = client.post(f"/errors/{bad.id}/edit", data={"csrf": token, "payload": fixed})
        assert saved.status_code == 200 and "with your edited payload" in saved.text
    drain(hub)
    after = entry(hub, bad.id)
    assert after.status == "resolved" and orjson.loads(after.payload)["currency"] == "EUR"
    assert orjson.loads(after.payload)["billing_address"]["address1"] == HEBREW


def test_dismiss_needs_a_reason_and_keeps_who_and_why(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    [bad] = logged(hub, order_payload(BIG_ID, line_items=[]))
    with sign_in(hub_server.url, "olga") as client:
        token = _token(client.get(f"/errors/{bad.id}").text)
        empty = client.post(f"/errors/{bad.id}/dismiss", data={"csrf": token, "reason": "   "})
        assert empty.status_code == 200 and "A dismissal needs a reason" in empty.text
        assert entry(hub, bad.id).status == "open"
        done = client.post(f"/errors/{bad.id}/dismiss", data={"csrf": token, "reason": "test order <b>🧪</b>"})
        assert done.status_code == 200 and f"Error {bad.id} dismissed." in done.text
        assert "test order &lt;b&gt;🧪&lt;/b&gt;" in done.text and 'data-test="dismissed-by">olga<' in done.text
        assert 'data-test="retry"' not in done.text  # nothing is left to do
        twice = client.post(f"/errors/{bad.id}/dismiss", data={"csrf": token, "reason": "again"})
        assert twice.status_code == 409 and "only open or retrying entries can be dismissed" in twice.text
        refused = client.post(f"/errors/{bad.id}/retry", data={"csrf": token})
        assert refused.status_code == 409 and "only open entries can be retried" in refused.text
    after = entry(hub, bad.id)
    assert (after.status, after.dismissed_by, after.dismissed_reason) == ("dismissed", "olga", "test order <b>🧪</b>")


def test_bulk_dismiss_confirms_the_exact_count_and_touches_only_that_set(
        hub: Hub, hub_server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    users(hub)
    entries = logged(hub, *(order_payload(BIG_ID + 10 * i, currency="XXQ") for i in range(4)),
                     order_payload(BIG_ID + 100, line_items=[]))
    currency = [e.id for e in entries if e.field == "currency"]
    with sign_in(hub_server.url, "olga") as client:
        listed = client.get("/errors", params={"field": "currency"}).text
        assert "Dismiss the 4 open or retrying…" in listed
        confirm = client.get("/errors/bulk", params={"action": "dismiss", "field": "currency"})
        assert confirm.status_code == 200 and 'data-test="bulk-count">4<' in confirm.text
        form = hidden_fields(confirm.text)
        assert form["count"] == "4" and form["field"] == "currency" and form["action"] == "dismiss"

        # One of them is dismissed by someone else meanwhile: the set changed, nothing is done.
        error_service.dismiss(hub.db, [currency[0]], by="someone", reason="gone")
        changed = client.post("/errors/bulk", data={**form, "reason": "test orders"})
        assert changed.status_code == 409 and "nothing was done" in changed.text
        assert 'data-test="bulk-count">3<' in changed.text
        assert [entry(hub, i).status for i in currency[1:]] == ["open"] * 3

        # A new entry logged after the confirmation is not swept in.
        form = hidden_fields(changed.text)
        [late] = [e for e in logged(hub, order_payload(BIG_ID + 200, currency="ZZQ")) if e.id not in
                  {x.id for x in entries}]
        no_reason = client.post("/errors/bulk", data={**form, "reason": ""})
        assert no_reason.status_code == 200 and "A dismissal needs a reason" in no_reason.text
        done = client.post("/errors/bulk", data={**form, "reason": "test orders 🧪"})
        assert done.status_code == 200 and "Dismissed 3 entries." in done.text
    assert [(entry(hub, i).status, entry(hub, i).dismissed_by) for i in currency[1:]] == [("dismissed", "olga")] * 3
    assert entry(hub, late.id).status == "open" and entry(hub, entries[-1].id).status == "open"

    monkeypatch.setattr(view, "BULK_LIMIT", 1)
    with sign_in(hub_server.url, "olga") as client:
        over = client.get("/errors/bulk", params={"action": "dismiss"}).text
        assert "More than 1 open or retrying entries match" in over and 'name="digest"' not in over
        nothing = client.get("/errors/bulk", params={"action": "retry", "status": "resolved"}).text
        assert "Nothing to retry" in nothing


def test_bulk_retry_queues_exactly_the_confirmed_entries(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    entries = logged(hub, *(order_payload(BIG_ID + 10 * i, currency="XXQ") for i in range(3)),
                     order_payload(BIG_ID + 100, line_items=[]))
    with sign_in(hub_server.url, "olga") as client:
        confirm = client.get("/errors/bulk", params={"action": "retry", "field": "currency"})
        assert 'data-test="bulk-count">3<' in confirm.text
        done = client.post("/errors/bulk", data=hidden_fields(confirm.text))
        assert done.status_code == 200 and "Queued 3 of 3 entries again" in done.text
    assert [entry(hub, e.id).status for e in entries] == ["retrying"] * 3 + ["open"]


def test_a_viewer_may_read_but_a_forged_post_is_refused(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    [bad] = logged(hub, hostile_order())
    with sign_in(hub_server.url, "vic") as client:
        page = client.get(f"/errors/{bad.id}").text
        token = _token(page)  # the viewer's own, valid CSRF token
        assert 'data-test="retry"' not in page and 'data-test="dismiss"' not in page
        assert "retrying and dismissing need an operator" in page
        assert "Retry the" not in client.get("/errors").text
        assert client.get("/errors/bulk", params={"action": "dismiss"}).status_code == 403
        assert client.get(f"/errors/{bad.id}/edit").status_code == 403
        for path, data in ((f"/errors/{bad.id}/dismiss", {"reason": "forged"}), (f"/errors/{bad.id}/retry", {}),
                           (f"/errors/{bad.id}/edit", {"payload": "{}"}),
                           ("/errors/bulk", {"action": "dismiss", "reason": "forged", "count": "1",
                                             "digest": view.fingerprint([bad.id]), "upto": str(bad.id)})):
            refused = client.post(path, data={"csrf": token, **data}, follow_redirects=False)
            assert refused.status_code == 403, path
            assert "Your role (viewer) may not do this; it needs operator." in refused.text
    after = entry(hub, bad.id)
    assert (after.status, after.payload, after.attempts, after.dismissed_by) == (
        "open", bad.payload, bad.attempts, None)
